//! `tls_priority`: GnuTLS priority strings, of which only the protocol version
//! switches mean anything to our TLS stack.
//!
//! The keywords (`NORMAL`, `SECURE256`, `PERFORMANCE`, ...) and every cipher,
//! group, MAC or signature switch are accepted and ignored: rustls offers its
//! own fixed set of modern suites (TLS 1.3 and 1.2 AEAD suites, no CBC, no
//! RSA key exchange, nothing below TLS 1.2). What does change the server is
//! `NONE`, `-VERS-ALL`/`-VERS-TLS-ALL` (start from no version),
//! `+VERS-TLS1.2`, `+VERS-TLS1.3`, `+VERS-ALL` and their `-`/`!` forms.
//! `+VERS-TLS1.0` and `+VERS-TLS1.1` are ignored (never offered).

use rustls::SupportedProtocolVersion;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PriorityError {
    #[error("Failed to set TLS session priority to {0}: No or insufficient priorities were set.")]
    NoVersion(String),
}

/// The protocol versions `priority` leaves enabled, newest first.
pub fn protocol_versions(
    priority: &str,
) -> Result<Vec<&'static SupportedProtocolVersion>, PriorityError> {
    let mut tls13 = true;
    let mut tls12 = true;
    for (i, token) in priority.split(':').enumerate() {
        let token = token.trim();
        if i == 0 && token.eq_ignore_ascii_case("NONE") {
            tls13 = false;
            tls12 = false;
            continue;
        }
        let (enable, name) = match token.as_bytes().first() {
            Some(b'+') => (true, &token[1..]),
            Some(b'-') | Some(b'!') => (false, &token[1..]),
            _ => continue,
        };
        match name.to_ascii_uppercase().as_str() {
            "VERS-ALL" | "VERS-TLS-ALL" => {
                tls13 = enable;
                tls12 = enable;
            }
            "VERS-TLS1.3" => tls13 = enable,
            "VERS-TLS1.2" => tls12 = enable,
            _ => {}
        }
    }
    let mut versions = Vec::new();
    if tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if tls12 {
        versions.push(&rustls::version::TLS12);
    }
    if versions.is_empty() {
        return Err(PriorityError::NoVersion(priority.to_string()));
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::ProtocolVersion;

    fn names(priority: &str) -> Vec<ProtocolVersion> {
        protocol_versions(priority)
            .expect("versions")
            .iter()
            .map(|v| v.version)
            .collect()
    }

    #[test]
    fn keywords_keep_both_versions() {
        let both = vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2];
        assert_eq!(names("NORMAL"), both);
        assert_eq!(names("SECURE256:%SERVER_PRECEDENCE"), both);
        assert_eq!(names("NORMAL:-AES-128-CBC:+CHACHA20-POLY1305"), both);
    }

    #[test]
    fn version_switches_select_versions() {
        assert_eq!(names("NORMAL:-VERS-TLS1.3"), vec![ProtocolVersion::TLSv1_2]);
        assert_eq!(
            names("NORMAL:-VERS-ALL:+VERS-TLS1.3"),
            vec![ProtocolVersion::TLSv1_3]
        );
        assert_eq!(
            names("NONE:+VERS-TLS1.2:+AES-256-GCM"),
            vec![ProtocolVersion::TLSv1_2]
        );
        assert_eq!(names("NORMAL:!VERS-TLS1.2"), vec![ProtocolVersion::TLSv1_3]);
    }

    #[test]
    fn no_usable_version_is_an_error() {
        assert!(protocol_versions("NORMAL:-VERS-ALL:+VERS-TLS1.1").is_err());
        assert!(protocol_versions("NONE").is_err());
    }
}
