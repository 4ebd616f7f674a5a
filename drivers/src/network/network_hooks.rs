//! The network hook script (`/etc/libvirt/hooks/network` and `network.d/`): argv
//! `NAME OP SUBOP -`, stdin `<hookData>` with the network (and the port for port
//! operations), as libvirt 9.0 writes it. Whether a failure aborts is the hooks crate's table.

use hooks::{aborts_on_failure, HookDriver};

use crate::api::{format_uuid, DriverError};
use crate::domain_list::hook_error;
use crate::domain_xml::Element;

use super::objects::Port;
use super::xml::NetworkDef;
use super::Networks;

/// A hook failure that aborts the operation.
pub struct Refused(DriverError);

impl Refused {
    pub fn with_domain(self) -> DriverError {
        self.0
    }
}

/// libvirt's `<networkport>` document of a port on `bridge`.
pub fn port_xml(port: &Port, bridge: &str, indent: usize) -> String {
    let mut e = Element::new("networkport");
    e.children
        .push(Element::new("uuid").with_text(&format_uuid(&port.uuid)));
    e.children.push(
        Element::new("owner")
            .with_child(Element::new("name").with_text(&port.owner_name))
            .with_child(Element::new("uuid").with_text(&format_uuid(&port.owner_uuid))),
    );
    e.children
        .push(Element::new("mac").with_attr("address", &port.mac));
    let plug = Element::new("plug")
        .with_attr("type", "network")
        .with_attr("bridge", bridge);
    let mut out = String::new();
    e.write(&mut out, indent);
    // The bandwidth sits between the MAC and the plug, as libvirt writes it.
    let bandwidth = port.bandwidth.xml(indent + 2);
    let mut plug_text = String::new();
    plug.write(&mut plug_text, indent + 2);
    let close = format!("{}</networkport>\n", " ".repeat(indent));
    if let Some(body) = out.strip_suffix(&close) {
        out = format!("{body}{bandwidth}{plug_text}{close}");
    }
    out
}

/// Runs the network hook for `op`; `Err` only when its failure must abort `op`.
pub fn run(
    driver: &Networks,
    def: &NetworkDef,
    op: &str,
    subop: &str,
    port: Option<&Port>,
) -> Result<(), Refused> {
    let Some(hooks) = driver.hooks.as_ref() else {
        return Ok(());
    };
    if !hooks.present(HookDriver::Network) {
        return Ok(());
    }
    let mut input = String::from("<hookData>\n");
    input.push_str(&def.format_at(2));
    if let Some(p) = port {
        input.push_str(&port_xml(p, def.bridge_name().unwrap_or(""), 2));
    }
    input.push_str("</hookData>\n");
    match hooks.run(
        HookDriver::Network,
        def.name(),
        op,
        subop,
        "-",
        Some(&input),
        false,
    ) {
        Ok(_) => Ok(()),
        Err(err) if aborts_on_failure(HookDriver::Network, op) => Err(Refused(hook_error(&err))),
        Err(_) => Ok(()),
    }
}
