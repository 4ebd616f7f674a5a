//! The connection URIs of the drivers: `qemu:///system`, `lxc:///system`,
//! `test:///default` and the transport variants (`qemu+unix://`, `?socket=`).

use crate::api::{codes, DriverError, DriverResult};

/// The path part of a driver URI ("qemu:///system" -> "/system",
/// "test://host/x?y" -> "/x"); the scheme, authority, query and fragment go.
pub fn uri_path(uri: &str) -> &str {
    let rest = uri.split_once(':').map(|(_, rest)| rest).unwrap_or(uri);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    match rest.strip_prefix("//") {
        Some(after_authority) => after_authority
            .find('/')
            .map(|i| &after_authority[i..])
            .unwrap_or(""),
        None => rest,
    }
}

/// Accepts a URI whose path is one of `accepted`; any other path gets the
/// driver's "unexpected LABEL URI path 'P', try SCHEME:///system".
pub fn open_system_uri(
    uri: &str,
    accepted: &[&str],
    label: &str,
    scheme: &str,
    error_domain: i32,
) -> DriverResult<()> {
    let path = uri_path(uri);
    if accepted.contains(&path) {
        return Ok(());
    }
    Err(DriverError::new(
        codes::INTERNAL_ERROR,
        error_domain,
        format!("unexpected {label} URI path '{path}', try {scheme}:///system"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::domains;

    #[test]
    fn uri_paths() {
        assert_eq!(uri_path("qemu:///system"), "/system");
        assert_eq!(uri_path("qemu+unix:///session"), "/session");
        assert_eq!(uri_path("qemu://host/system?x=1"), "/system");
        assert_eq!(uri_path("lxc:///"), "/");
        assert_eq!(uri_path("lxc+unix:///system?socket=/x"), "/system");
        assert_eq!(uri_path("test:///default"), "/default");
        assert_eq!(uri_path("test://"), "");
    }

    #[test]
    fn other_paths_are_refused_with_a_hint() {
        let ok = open_system_uri("lxc:///", &["", "/", "/system"], "LXC", "lxc", domains::LXC);
        assert!(ok.is_ok());
        let err = open_system_uri(
            "qemu:///session",
            &["/system"],
            "QEMU",
            "qemu",
            domains::QEMU,
        )
        .expect_err("refused");
        assert_eq!(
            (err.code, err.domain),
            (codes::INTERNAL_ERROR, domains::QEMU)
        );
        assert_eq!(
            err.message,
            "internal error: unexpected QEMU URI path '/session', try qemu:///system"
        );
    }
}
