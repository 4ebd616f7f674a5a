//! Migration URIs: `tcp:host:port` / `tcp://host:port` from clients, turned into
//! the `tcp:host:port` QEMU takes. Hosts are checked, since they reach QEMU's
//! command line and its monitor.

use super::super::error::QemuError;

/// A host name, IPv4 address or bracketed IPv6 address.
pub fn valid_host(host: &str) -> bool {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    !inner.is_empty()
        && inner.len() <= 253
        && !inner.starts_with('-')
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
        && (inner.contains(':') == host.starts_with('[') || !host.contains(':'))
}

/// Host and optional port of a `tcp:` URI.
pub fn parse_tcp(uri: &str) -> Result<(String, Option<u16>), QemuError> {
    let bad = || QemuError::Unsupported(format!("unsupported migration URI '{uri}'"));
    let rest = uri
        .strip_prefix("tcp://")
        .or_else(|| uri.strip_prefix("tcp:"))
        .ok_or_else(bad)?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains(']') => {
            let port: u16 = rest[i + 1..].parse().map_err(|_| bad())?;
            (&rest[..i], Some(port))
        }
        _ => (rest, None),
    };
    if !valid_host(host) {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_uris() {
        assert_eq!(
            parse_tcp("tcp://127.0.0.1:49152").unwrap(),
            ("127.0.0.1".into(), Some(49152))
        );
        assert_eq!(parse_tcp("tcp:host").unwrap(), ("host".into(), None));
        assert_eq!(parse_tcp("tcp:[::1]:5").unwrap(), ("[::1]".into(), Some(5)));
        assert!(parse_tcp("exec:rm -rf /").is_err());
        assert!(parse_tcp("tcp:a b:1").is_err());
        assert!(parse_tcp("tcp:-oops:1").is_err());
    }
}
