//! What the live XML of a running guest shows beyond its definition: the VNC port QEMU
//! picked for `autoport` graphics and the address it listens on.

use serde_json::Value;

use super::qmp::Monitor;
use crate::domain_xml::DomainDef;

/// Fills in the VNC port and listen address from `query-vnc`.
pub fn fill_graphics(def: &mut DomainDef, monitor: &Monitor) {
    let Some(graphics) = def
        .devices
        .iter_mut()
        .find(|d| d.name == "graphics" && d.attr("type") == Some("vnc"))
    else {
        return;
    };
    let Ok(vnc) = monitor.execute("query-vnc", None) else {
        return;
    };
    apply_vnc_answer(graphics, &vnc);
}

fn apply_vnc_answer(graphics: &mut crate::domain_xml::Element, vnc: &Value) {
    if vnc.get("enabled").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if let Some(port) = vnc.get("service").and_then(Value::as_str) {
        graphics.set_attr("port", port);
    }
    if let Some(host) = vnc.get("host").and_then(Value::as_str) {
        graphics.set_attr("listen", host);
        if let Some(listen) = graphics.child_mut("listen") {
            if listen.attr("type") == Some("address") {
                listen.set_attr("address", host);
            }
        }
    }
    graphics.order_attrs(&["type", "port", "tlsPort", "autoport", "websocket", "listen"]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::Element;

    #[test]
    fn autoport_gets_the_port_qemu_chose() {
        let mut g = Element::new("graphics")
            .with_attr("type", "vnc")
            .with_attr("port", "-1")
            .with_attr("autoport", "yes")
            .with_child(Element::new("listen").with_attr("type", "address"));
        let answer: Value = serde_json::from_str(
            r#"{"enabled": true, "host": "127.0.0.1", "service": "5901", "family": "ipv4", "auth": "none", "clients": []}"#,
        )
        .expect("json");
        apply_vnc_answer(&mut g, &answer);
        let mut out = String::new();
        g.write(&mut out, 0);
        assert_eq!(
            out,
            "<graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>\n  <listen type='address' address='127.0.0.1'/>\n</graphics>\n"
        );
    }
}
