//! A short-lived, blocking connection to the system message bus (through
//! `zbus`), and the GLib wording of its failures that libvirt passes on to
//! clients.

use std::time::Duration;

use zbus::blocking::connection::Builder;
use zbus::blocking::Connection;

/// Where the system bus listens when `DBUS_SYSTEM_BUS_ADDRESS` is unset.
pub const DEFAULT_SYSTEM_BUS: &str = "unix:path=/var/run/dbus/system_bus_socket";

/// How long a call may take, as libvirt allows D-Bus calls (30 s).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The system bus address: `$DBUS_SYSTEM_BUS_ADDRESS` or the well-known
/// socket. The bus is a host service, so `LIBVIRTD_ROOT` does not move it.
pub fn system_bus_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_SYSTEM_BUS.to_string())
}

/// Connects (authenticates and registers) to the bus at `address`; the
/// error is worded as GLib words it.
pub fn connect(address: &str) -> Result<Connection, String> {
    Builder::address(address)
        .and_then(|b| b.method_timeout(CALL_TIMEOUT).build())
        .map_err(|e| connect_error_text(&e))
}

/// GLib's text for a failed connection.
fn connect_error_text(e: &zbus::Error) -> String {
    // zbus reports a socket that cannot be reached as
    // "Failed to connect to address `ADDR`: STRERROR (os error N)".
    let text = e.to_string();
    if text.starts_with("Failed to connect to address") {
        let reason = text.rsplit_once("`: ").map_or(text.as_str(), |(_, r)| r);
        let reason = reason.split(" (os error").next().unwrap_or(reason);
        return format!("Could not connect: {reason}");
    }
    match e {
        zbus::Error::InputOutput(io) => format!("Could not connect: {}", strerror(io)),
        zbus::Error::Address(_) => format!("Unsupported address: {e}"),
        zbus::Error::Handshake(text) => text.clone(),
        other => call_error_text(other),
    }
}

/// GLib's text for a failed call: a D-Bus error reply shows as
/// `GDBus.Error:NAME: text`.
pub fn call_error_text(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, text, _) => {
            method_error_text(name.as_str(), text.as_deref())
        }
        zbus::Error::FDO(fdo) => {
            let name = zbus::DBusError::name(fdo.as_ref());
            method_error_text(name.as_str(), zbus::DBusError::description(fdo.as_ref()))
        }
        zbus::Error::InputOutput(io) => strerror(io),
        other => other.to_string(),
    }
}

fn method_error_text(name: &str, text: Option<&str>) -> String {
    format!("GDBus.Error:{name}: {}", text.unwrap_or(""))
}

/// The C library's text for an I/O error, without Rust's "(os error N)".
fn strerror(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut {
        return "Timeout was reached".to_string();
    }
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return "Connection closed by the bus".to_string();
    }
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_socket_reads_like_glib() {
        let dir = tempfile::tempdir().expect("tempdir");
        let address = format!("unix:path={}/none", dir.path().display());
        match connect(&address) {
            Err(text) => assert_eq!(text, "Could not connect: No such file or directory"),
            Ok(_) => panic!("connected to nothing"),
        }
    }

    #[test]
    fn error_replies_are_shown_with_their_name() {
        assert_eq!(
            method_error_text(
                "org.freedesktop.DBus.Error.ServiceUnknown",
                Some("The name x was not provided by any .service files")
            ),
            "GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: \
             The name x was not provided by any .service files"
        );
    }
}
