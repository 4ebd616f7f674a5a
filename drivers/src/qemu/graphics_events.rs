//! QEMU's VNC_* and SPICE_* events -> libvirt's graphics event: the phase, both
//! ends of the connection, the server's auth scheme and who the client proved to be.

use serde_json::Value;

use crate::api::{DomainEventKind, GraphicsAddress};

/// `virDomainEventGraphicsPhase`.
const CONNECT: i32 = 0;
const INITIALIZE: i32 = 1;
const DISCONNECT: i32 = 2;

/// The graphics event for QMP event `name`, or `None` when it is not a graphics
/// event or lacks an address part (libvirt drops those too).
pub fn from_qmp(name: &str, data: &Value) -> Option<DomainEventKind> {
    let (spice, phase) = match name {
        "VNC_CONNECTED" => (false, CONNECT),
        "VNC_INITIALIZED" => (false, INITIALIZE),
        "VNC_DISCONNECTED" => (false, DISCONNECT),
        "SPICE_CONNECTED" => (true, CONNECT),
        "SPICE_INITIALIZED" => (true, INITIALIZE),
        "SPICE_DISCONNECTED" => (true, DISCONNECT),
        _ => return None,
    };
    let server = data.get("server").filter(|v| v.is_object())?;
    let client = data.get("client").filter(|v| v.is_object())?;
    // SPICE names the port "port" and reports the auth scheme only once the
    // client is initialised; VNC calls it "service" and may omit "auth".
    let port_key = if spice { "port" } else { "service" };
    let auth = if spice && phase != INITIALIZE {
        None
    } else {
        text(server, "auth")
    };
    let mut subject = Vec::new();
    if !spice {
        if let Some(dname) = text(client, "x509_dname") {
            subject.push(("x509dname".to_string(), dname.to_string()));
        }
        if let Some(user) = text(client, "sasl_username") {
            subject.push(("saslUsername".to_string(), user.to_string()));
        }
    }
    Some(DomainEventKind::Graphics {
        phase,
        local: address(server, port_key)?,
        remote: address(client, port_key)?,
        auth_scheme: auth.unwrap_or("").to_string(),
        subject,
    })
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An address part: unknown families count as IPv4, as in libvirt.
fn address(v: &Value, port_key: &str) -> Option<GraphicsAddress> {
    let family = match text(v, "family")? {
        "ipv6" => 1,
        "unix" => 2,
        _ => 0,
    };
    Some(GraphicsAddress {
        family,
        node: text(v, "host")?.to_string(),
        service: text(v, port_key)?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vnc_initialised_carries_auth_and_subject() {
        let data = json!({
            "server": {"auth": "vencrypt+x509+none", "family": "ipv4", "host": "127.0.0.1",
                       "service": "5900", "websocket": false},
            "client": {"family": "ipv6", "host": "::1", "service": "40000",
                       "x509_dname": "CN=c", "websocket": false}
        });
        let Some(DomainEventKind::Graphics {
            phase,
            local,
            remote,
            auth_scheme,
            subject,
        }) = from_qmp("VNC_INITIALIZED", &data)
        else {
            panic!("a graphics event");
        };
        assert_eq!(phase, INITIALIZE);
        assert_eq!((local.family, local.service.as_str()), (0, "5900"));
        assert_eq!((remote.family, remote.node.as_str()), (1, "::1"));
        assert_eq!(auth_scheme, "vencrypt+x509+none");
        assert_eq!(subject, vec![("x509dname".to_string(), "CN=c".to_string())]);
    }

    #[test]
    fn spice_connect_has_no_auth_and_incomplete_events_are_dropped() {
        let data = json!({
            "server": {"auth": "spice", "family": "unix", "host": "/s", "port": "0"},
            "client": {"family": "ipv4", "host": "1.2.3.4", "port": "7"}
        });
        let Some(DomainEventKind::Graphics {
            local, auth_scheme, ..
        }) = from_qmp("SPICE_CONNECTED", &data)
        else {
            panic!("a graphics event");
        };
        assert_eq!((local.family, auth_scheme.as_str()), (2, ""));
        assert!(from_qmp("VNC_CONNECTED", &json!({"server": {}})).is_none());
        assert!(from_qmp("STOP", &json!({})).is_none());
    }
}
