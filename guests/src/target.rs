//! Where a connection URI leads: which socket to dial and which name to send in
//! CONNECT_OPEN. This follows libvirt's remote driver: a `+transport` suffix of the
//! scheme picks the transport (a host without one means TLS, no host means the local
//! UNIX socket), and the name sent to the daemon drops the transport, the host part
//! and the query parameters that only steer the client (`socket`, `mode`, ...).

use std::path::{Path, PathBuf};

use super::tls::ClientPki;
use crate::paths::Paths;

/// Port of libvirtd's plain TCP listener.
pub const DEFAULT_TCP_PORT: u16 = 16509;
/// Port of libvirtd's TLS listener.
pub const DEFAULT_TLS_PORT: u16 = 16514;

/// Query parameters meant for the client's transport, never sent to the daemon.
const CLIENT_ONLY_PARAMS: &[&str] = &[
    "name",
    "command",
    "socket",
    "auth",
    "netcat",
    "keyfile",
    "no_verify",
    "no_tty",
    "pkipath",
    "known_hosts",
    "known_hosts_verify",
    "sshauth",
    "mode",
    "proxy",
    "tls_priority",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("malformed connection URI '{0}'")]
    Malformed(String),
    #[error("invalid port in connection URI '{0}'")]
    BadPort(String),
    #[error("transport '{transport}' of URI '{uri}' is not supported by libvirt-guests (use unix, tcp or tls)")]
    UnsupportedTransport { transport: String, uri: String },
}

/// How to reach the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
    },
    Tls {
        host: String,
        port: u16,
        pki: ClientPki,
        /// False with `no_verify=1`.
        verify_server: bool,
    },
}

/// A resolved connection target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub transport: Transport,
    /// The URI for CONNECT_OPEN; `None` lets the daemon choose its default driver.
    pub open_name: Option<String>,
}

/// Resolves `uri`, where `"default"` means the default connection: `LIBVIRT_DEFAULT_URI`
/// when set (as virsh without `-c`), else the daemon's default driver on the local socket.
pub fn resolve(uri: &str, paths: &Paths) -> Result<Target, TargetError> {
    if uri == "default" {
        return match std::env::var("LIBVIRT_DEFAULT_URI") {
            Ok(value) if !value.is_empty() => parse(&value, paths),
            _ => Ok(Target {
                transport: Transport::Unix(local_socket(paths, None)),
                open_name: None,
            }),
        };
    }
    parse(uri, paths)
}

/// Resolves an explicit URI.
pub fn parse(uri: &str, paths: &Paths) -> Result<Target, TargetError> {
    let (scheme_full, rest) = uri
        .split_once("://")
        .or_else(|| uri.split_once(":"))
        .ok_or_else(|| TargetError::Malformed(uri.to_string()))?;
    if scheme_full.is_empty() {
        return Err(TargetError::Malformed(uri.to_string()));
    }
    let (driver, transport) = match scheme_full.split_once('+') {
        Some((driver, transport)) => (driver, Some(transport)),
        None => (scheme_full, None),
    };
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (rest, None),
    };
    let (authority_path, query) = match before_fragment.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (before_fragment, None),
    };
    let has_authority = uri.contains("://");
    let (authority, path) = if has_authority {
        match authority_path.find('/') {
            Some(i) => (&authority_path[..i], &authority_path[i..]),
            None => (authority_path, ""),
        }
    } else {
        ("", authority_path)
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = split_host_port(host_port, uri)?;

    let params: Vec<(&str, &str)> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let kept: Vec<String> = params
        .iter()
        .filter(|(key, _)| !CLIENT_ONLY_PARAMS.contains(key))
        .map(|(key, value)| {
            if value.is_empty() {
                key.to_string()
            } else {
                format!("{key}={value}")
            }
        })
        .collect();
    let mut open_name = format!("{driver}://{path}");
    if !kept.is_empty() {
        open_name.push('?');
        open_name.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        open_name.push('#');
        open_name.push_str(fragment);
    }

    let transport_name = transport.unwrap_or(if host.is_empty() { "unix" } else { "tls" });
    let transport = match transport_name {
        "unix" => {
            let socket = params
                .iter()
                .find(|(key, _)| *key == "socket")
                .map(|(_, value)| PathBuf::from(percent_decode(value)));
            Transport::Unix(socket.unwrap_or_else(|| local_socket(paths, Some(driver))))
        }
        "tcp" => Transport::Tcp {
            host: host_or_localhost(host),
            port: port.unwrap_or(DEFAULT_TCP_PORT),
        },
        "tls" => {
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| percent_decode(value))
            };
            Transport::Tls {
                host: host_or_localhost(host),
                port: port.unwrap_or(DEFAULT_TLS_PORT),
                pki: match param("pkipath") {
                    Some(dir) => ClientPki::in_directory(Path::new(&dir)),
                    None => super::tls::default_pki(paths),
                },
                verify_server: param("no_verify").as_deref() != Some("1"),
            }
        }
        other => {
            return Err(TargetError::UnsupportedTransport {
                transport: other.to_string(),
                uri: uri.to_string(),
            })
        }
    };
    Ok(Target {
        transport,
        open_name: Some(open_name),
    })
}

fn host_or_localhost(host: &str) -> String {
    if host.is_empty() {
        "localhost".to_string()
    } else {
        host.to_string()
    }
}

fn split_host_port<'a>(
    host_port: &'a str,
    uri: &str,
) -> Result<(&'a str, Option<u16>), TargetError> {
    // "[::1]:16509" keeps its brackets out of the host name.
    if let Some(rest) = host_port.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| TargetError::Malformed(uri.to_string()))?;
        let port = match after.strip_prefix(':') {
            Some(p) if !p.is_empty() => Some(
                p.parse()
                    .map_err(|_| TargetError::BadPort(uri.to_string()))?,
            ),
            _ => None,
        };
        return Ok((host, port));
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() => {
            let port = port
                .parse()
                .map_err(|_| TargetError::BadPort(uri.to_string()))?;
            Ok((host, Some(port)))
        }
        Some((host, _)) => Ok((host, None)),
        None => Ok((host_port, None)),
    }
}

/// The local daemon socket for `driver`: the monolithic daemon's `libvirt-sock` when it
/// exists, else the per-driver daemon's (`virtqemud-sock`), as libvirt's client picks.
fn local_socket(paths: &Paths, driver: Option<&str>) -> PathBuf {
    let monolithic = paths.rw_socket();
    match driver {
        Some(driver) if !monolithic.exists() && matches!(driver, "qemu" | "lxc") => {
            let modular = socket_dir(&monolithic).join(format!("virt{driver}d-sock"));
            if modular.exists() {
                modular
            } else {
                monolithic
            }
        }
        _ => monolithic,
    }
}

fn socket_dir(socket: &Path) -> PathBuf {
    socket.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Decodes `%XX` escapes of a URI query value.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths::with_root(Some(PathBuf::from("/r")), true, &|_| None)
    }

    #[test]
    fn unix_uri_with_socket_parameter() {
        let t = parse("test+unix:///default?socket=/tmp/a%20b/sock", &paths()).unwrap();
        assert_eq!(t.transport, Transport::Unix(PathBuf::from("/tmp/a b/sock")));
        assert_eq!(t.open_name.as_deref(), Some("test:///default"));
    }

    #[test]
    fn local_uri_uses_the_rooted_default_socket() {
        let t = parse("qemu:///system", &paths()).unwrap();
        assert_eq!(
            t.transport,
            Transport::Unix(PathBuf::from("/r/run/libvirt/libvirt-sock"))
        );
        assert_eq!(t.open_name.as_deref(), Some("qemu:///system"));
    }

    #[test]
    fn tcp_uri_drops_the_host_from_the_name_and_keeps_other_parameters() {
        let t = parse(
            "test+tcp://127.0.0.1:1234/default?mode=direct&x=1",
            &paths(),
        )
        .unwrap();
        assert_eq!(
            t.transport,
            Transport::Tcp {
                host: "127.0.0.1".to_string(),
                port: 1234
            }
        );
        assert_eq!(t.open_name.as_deref(), Some("test:///default?x=1"));
        let t = parse("qemu+tcp://host/system", &paths()).unwrap();
        assert_eq!(
            t.transport,
            Transport::Tcp {
                host: "host".to_string(),
                port: DEFAULT_TCP_PORT
            }
        );
    }

    #[test]
    fn host_without_transport_means_tls() {
        let t = parse("qemu://host/system", &paths()).unwrap();
        assert_eq!(
            t.transport,
            Transport::Tls {
                host: "host".to_string(),
                port: DEFAULT_TLS_PORT,
                pki: ClientPki {
                    ca_cert: PathBuf::from("/r/etc/pki/CA/cacert.pem"),
                    client_cert: PathBuf::from("/r/etc/pki/libvirt/clientcert.pem"),
                    client_key: PathBuf::from("/r/etc/pki/libvirt/private/clientkey.pem"),
                },
                verify_server: true,
            }
        );
        let t = parse("test+tls://h:99/default?pkipath=/p&no_verify=1", &paths()).unwrap();
        assert_eq!(t.open_name.as_deref(), Some("test:///default"));
        assert!(matches!(
            t.transport,
            Transport::Tls { ref pki, verify_server: false, port: 99, .. }
                if pki.ca_cert == Path::new("/p/cacert.pem")
        ));
    }

    #[test]
    fn ssh_is_refused() {
        let err = parse("qemu+ssh://host/system", &paths()).unwrap_err();
        assert!(
            matches!(err, TargetError::UnsupportedTransport { ref transport, .. } if transport == "ssh")
        );
    }

    #[test]
    fn malformed_uris_are_refused() {
        assert_eq!(
            parse("nonsense", &paths()),
            Err(TargetError::Malformed("nonsense".to_string()))
        );
        assert_eq!(
            parse("test+tcp://h:port/x", &paths()),
            Err(TargetError::BadPort("test+tcp://h:port/x".to_string()))
        );
    }
}
