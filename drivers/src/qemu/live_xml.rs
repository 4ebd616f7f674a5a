//! What the live XML of a running guest shows beyond its definition: the VNC port QEMU
//! picked for `autoport` graphics and the address it listens on, or the UNIX socket
//! that `vnc_auto_unix_socket` of qemu.conf put in place of an address, and the sockets
//! of UNIX channels.

use serde_json::Value;

use super::qmp::Monitor;
use crate::domain_xml::{DomainDef, Element};

/// `vnc_auto_unix_socket = 1`: VNC graphics that name no address listen on the UNIX
/// socket `socket` instead, shown as `<listen type='socket'>` in the live XML.
pub fn use_vnc_socket(def: &mut DomainDef, socket: &str) {
    for graphics in def
        .devices
        .iter_mut()
        .filter(|d| d.name == "graphics" && d.attr("type") == Some("vnc"))
    {
        let names_address = graphics.attr("listen").is_some()
            || graphics.attr("socket").is_some()
            || graphics.children.iter().any(|c| {
                c.name == "listen"
                    && (c.attr("type") != Some("address") || c.attr("address").is_some())
            });
        if names_address {
            continue;
        }
        graphics
            .attrs
            .retain(|(k, _)| k != "port" && k != "autoport");
        graphics.set_attr("socket", socket);
        graphics.children.retain(|c| c.name != "listen");
        graphics.children.insert(
            0,
            Element::new("listen")
                .with_attr("type", "socket")
                .with_attr("socket", socket),
        );
        graphics.order_attrs(&["type", "socket"]);
    }
}

/// Gives UNIX channels that name no socket the one libvirt would make for them
/// (`<channel_dir>/<target name>`), so the live XML tells agents where to connect.
pub fn fill_channel_paths(def: &mut DomainDef, channel_dir: &str) {
    for channel in def
        .devices
        .iter_mut()
        .filter(|d| d.name == "channel" && d.attr("type") == Some("unix"))
    {
        if channel
            .child("source")
            .and_then(|s| s.attr("path"))
            .is_some()
        {
            continue;
        }
        let Some(name) = channel.child("target").and_then(|t| t.attr("name")) else {
            continue;
        };
        let source = Element::new("source")
            .with_attr("mode", "bind")
            .with_attr("path", &format!("{channel_dir}/{name}"));
        channel.children.retain(|c| c.name != "source");
        // (A `<source mode='bind'/>` without a path is what virt-manager writes.)
        channel.children.insert(0, source);
    }
}

/// Fills in the VNC port and listen address from `query-vnc`, and the SPICE port and
/// address from `query-spice`.
pub fn fill_graphics(def: &mut DomainDef, monitor: &Monitor) {
    if let Some(graphics) = def
        .devices
        .iter_mut()
        .find(|d| d.name == "graphics" && d.attr("type") == Some("spice"))
    {
        if let Ok(spice) = monitor.execute("query-spice", None) {
            apply_spice_answer(graphics, &spice);
        }
    }
    let Some(graphics) = def.devices.iter_mut().find(|d| {
        d.name == "graphics" && d.attr("type") == Some("vnc") && d.attr("socket").is_none()
    }) else {
        return;
    };
    let Ok(vnc) = monitor.execute("query-vnc", None) else {
        return;
    };
    apply_vnc_answer(graphics, &vnc);
}

fn apply_spice_answer(graphics: &mut Element, spice: &Value) {
    if spice.get("enabled").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if let Some(port) = spice.get("port").and_then(Value::as_u64) {
        graphics.set_attr("port", &port.to_string());
    }
    if graphics.attr("autoport").is_none() {
        graphics.set_attr("autoport", "yes");
    }
    if let Some(host) = spice.get("host").and_then(Value::as_str) {
        graphics.set_attr("listen", host);
        match graphics.child_mut("listen") {
            Some(listen) if listen.attr("type") == Some("address") => {
                listen.set_attr("address", host);
            }
            Some(_) => {}
            None => graphics.children.insert(
                0,
                Element::new("listen")
                    .with_attr("type", "address")
                    .with_attr("address", host),
            ),
        }
    }
    graphics.order_attrs(&["type", "port", "tlsPort", "autoport", "listen", "passwd"]);
}

fn apply_vnc_answer(graphics: &mut Element, vnc: &Value) {
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
    use crate::domain_xml::{parse_domain_xml, FormatOptions};

    #[test]
    fn auto_unix_socket_replaces_an_unnamed_address_only() {
        let xml =
            "<domain type='qemu'><name>v</name><memory>65536</memory><os><type>hvm</type></os>\
                   <devices><graphics type='vnc' autoport='yes'/>\
                   <graphics type='vnc' listen='0.0.0.0'/></devices></domain>";
        let mut def =
            parse_domain_xml(xml, &crate::qemu::defaults::parse_options()).expect("parses");
        use_vnc_socket(&mut def, "/run/v.vnc");
        let out = def.to_xml(FormatOptions::default());
        assert!(
            out.contains("<graphics type='vnc' socket='/run/v.vnc'>\n      <listen type='socket' socket='/run/v.vnc'/>"),
            "{out}"
        );
        assert!(out.contains("listen='0.0.0.0'"), "{out}");
        assert_eq!(out.matches("socket='/run/v.vnc'").count(), 2, "{out}");
    }

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
