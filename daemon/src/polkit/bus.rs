//! A blocking connection to the system message bus: address lookup,
//! `EXTERNAL` authentication with our uid, `Hello`, and one method call at a
//! time. It lives only as long as one authorization check.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use thiserror::Error;

use super::wire::{self, Call, Message, Prefix, WireError, FIXED_HEADER_LEN};

/// Where the system bus listens when `DBUS_SYSTEM_BUS_ADDRESS` is unset.
pub const DEFAULT_SYSTEM_BUS: &str = "unix:path=/var/run/dbus/system_bus_socket";

/// How long a call may take, as libvirt allows D-Bus calls (30 s).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum BusError {
    /// No connection could be made or set up; the text follows GLib's wording
    /// because libvirt passes it on to clients.
    #[error("{0}")]
    Connect(String),
    /// The call failed: a D-Bus error reply (`GDBus.Error:NAME: text`) or a
    /// broken connection.
    #[error("{0}")]
    Call(String),
}

/// The system bus address: `$DBUS_SYSTEM_BUS_ADDRESS` or the well-known
/// socket. The bus is a host service, so `LIBVIRTD_ROOT` does not move it.
pub fn system_bus_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_SYSTEM_BUS.to_string())
}

/// A socket to reach, from one entry of a D-Bus address.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint {
    Path(String),
    Abstract(String),
}

/// Parses `unix:path=...` and `unix:abstract=...` entries of a `;`-separated
/// address list (values may be %-escaped); other transports are skipped.
pub fn parse_address(address: &str) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    for entry in address.split(';').filter(|e| !e.is_empty()) {
        let Some(("unix", params)) = entry.split_once(':') else {
            continue;
        };
        for param in params.split(',') {
            match param.split_once('=') {
                Some(("path", v)) => endpoints.push(Endpoint::Path(unescape(v))),
                Some(("abstract", v)) => endpoints.push(Endpoint::Abstract(unescape(v))),
                _ => {}
            }
        }
    }
    endpoints
}

fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An authenticated, registered bus connection.
pub struct Bus {
    stream: BufReader<UnixStream>,
    serial: u32,
}

impl Bus {
    /// Connects to the first reachable endpoint of `address`.
    pub fn connect(address: &str) -> Result<Bus, BusError> {
        let endpoints = parse_address(address);
        let mut last = format!("Unsupported address '{address}'");
        for endpoint in &endpoints {
            match open(endpoint) {
                Ok(stream) => return Bus::setup(stream),
                Err(e) => last = format!("Could not connect: {}", strerror(&e)),
            }
        }
        Err(BusError::Connect(last))
    }

    fn setup(stream: UnixStream) -> Result<Bus, BusError> {
        let setup_failed = |e: std::io::Error| BusError::Connect(strerror(&e));
        stream
            .set_read_timeout(Some(CALL_TIMEOUT))
            .map_err(setup_failed)?;
        stream
            .set_write_timeout(Some(CALL_TIMEOUT))
            .map_err(setup_failed)?;
        let mut bus = Bus {
            stream: BufReader::new(stream),
            serial: 0,
        };
        bus.authenticate()?;
        bus.call(
            &Call {
                destination: "org.freedesktop.DBus",
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "Hello",
                signature: "",
            },
            &[],
        )
        .map_err(|e| BusError::Connect(e.to_string()))?;
        Ok(bus)
    }

    /// SASL `EXTERNAL`: the bus checks our uid against the socket's credentials.
    fn authenticate(&mut self) -> Result<(), BusError> {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let hex_uid: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hello = format!("\0AUTH EXTERNAL {hex_uid}\r\n");
        let failed = |e: std::io::Error| BusError::Connect(strerror(&e));
        self.stream
            .get_mut()
            .write_all(hello.as_bytes())
            .map_err(failed)?;
        let mut line = String::new();
        self.stream.read_line(&mut line).map_err(failed)?;
        if !line.starts_with("OK ") {
            let offered = line.trim_end().strip_prefix("REJECTED ").unwrap_or("");
            return Err(BusError::Connect(format!(
                "Exhausted all available authentication mechanisms (tried: EXTERNAL) (available: {})",
                offered.replace(' ', ", ")
            )));
        }
        self.stream
            .get_mut()
            .write_all(b"BEGIN\r\n")
            .map_err(failed)
    }

    /// Sends one method call and waits for its return (its signature and
    /// body) or error; signals and other messages in between are skipped.
    pub fn call(&mut self, call: &Call<'_>, body: &[u8]) -> Result<Message, BusError> {
        self.serial = self.serial.wrapping_add(1).max(1);
        let serial = self.serial;
        let failed = |e: std::io::Error| BusError::Call(strerror(&e));
        let request = wire::method_call(call, serial, body);
        self.stream.get_mut().write_all(&request).map_err(failed)?;
        loop {
            let message = self.read_message()?;
            if message.reply_serial != Some(serial) {
                continue;
            }
            match message.kind {
                wire::METHOD_RETURN => return Ok(message),
                wire::ERROR => return Err(BusError::Call(error_text(&message))),
                _ => continue,
            }
        }
    }

    fn read_message(&mut self) -> Result<Message, BusError> {
        let failed = |e: std::io::Error| BusError::Call(strerror(&e));
        let bad = |e: WireError| BusError::Call(format!("Invalid message from the bus: {e}"));
        let mut fixed = [0u8; FIXED_HEADER_LEN];
        self.stream.read_exact(&mut fixed).map_err(failed)?;
        let prefix = Prefix::parse(&fixed).map_err(bad)?;
        let mut data = vec![0u8; prefix.total_len()];
        data[..FIXED_HEADER_LEN].copy_from_slice(&fixed);
        self.stream
            .read_exact(&mut data[FIXED_HEADER_LEN..])
            .map_err(failed)?;
        wire::parse_message(&data).map_err(bad)
    }
}

/// How GLib (and so libvirt) shows a D-Bus error reply.
fn error_text(message: &Message) -> String {
    let name = message.error_name.as_deref().unwrap_or("");
    let text = if message.signature.starts_with('s') {
        wire::Reader::new(&message.body, message.little)
            .string()
            .unwrap_or_default()
    } else {
        String::new()
    };
    format!("GDBus.Error:{name}: {text}")
}

fn open(endpoint: &Endpoint) -> std::io::Result<UnixStream> {
    match endpoint {
        Endpoint::Path(path) => UnixStream::connect(path),
        Endpoint::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            UnixStream::connect_addr(&addr)
        }
    }
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
    fn addresses_keep_unix_endpoints_in_order() {
        assert_eq!(
            parse_address("tcp:host=x,port=1;unix:abstract=/tmp/a%20b;unix:path=/run/bus"),
            vec![
                Endpoint::Abstract("/tmp/a b".into()),
                Endpoint::Path("/run/bus".into())
            ]
        );
        assert_eq!(
            parse_address("unix:path=/p,guid=00ff"),
            vec![Endpoint::Path("/p".into())]
        );
        assert!(parse_address("nonsense").is_empty());
    }

    #[test]
    fn a_missing_socket_reads_like_glib() {
        let dir = tempfile::tempdir().expect("tempdir");
        let address = format!("unix:path={}/none", dir.path().display());
        match Bus::connect(&address) {
            Err(BusError::Connect(text)) => {
                assert_eq!(text, "Could not connect: No such file or directory")
            }
            Ok(_) => panic!("connected to nothing"),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn error_replies_are_shown_with_their_name() {
        let mut body = wire::Writer::default();
        body.string("The name x was not provided by any .service files");
        let message = Message {
            kind: wire::ERROR,
            reply_serial: Some(1),
            error_name: Some("org.freedesktop.DBus.Error.ServiceUnknown".into()),
            signature: "s".into(),
            little: true,
            body: body.buf,
        };
        assert_eq!(
            error_text(&message),
            "GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: \
             The name x was not provided by any .service files"
        );
    }
}
