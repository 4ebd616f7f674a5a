//! `virConnectGetHostname`: the host name, fully qualified when the resolver knows it.

use std::ffi::{CStr, CString};

/// glibc's flag asking getaddrinfo to convert the canonical name from IDN encoding.
const AI_CANONIDN: libc::c_int = 0x0080;

/// The short name from gethostname, lossily decoded; empty on failure.
fn short_hostname() -> String {
    nix::unistd::gethostname()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Canonical name of `name` from the resolver, if it has one.
fn canonical_name(name: &str) -> Option<String> {
    let c_name = CString::new(name).ok()?;
    // SAFETY: addrinfo is plain data; all-zero is the "no preference" hint.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME | AI_CANONIDN;
    hints.ai_family = libc::AF_UNSPEC;
    let mut result: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated name, valid hints, and an out pointer we free below.
    let rc = unsafe { libc::getaddrinfo(c_name.as_ptr(), std::ptr::null(), &hints, &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: getaddrinfo succeeded, so `result` points at a valid list; ai_canonname of
    // the first entry is NULL or a NUL-terminated string owned by the list.
    let canonical = unsafe {
        let first = &*result;
        (!first.ai_canonname.is_null()).then(|| {
            CStr::from_ptr(first.ai_canonname)
                .to_string_lossy()
                .into_owned()
        })
    };
    // SAFETY: `result` came from getaddrinfo and is freed exactly once.
    unsafe { libc::freeaddrinfo(result) };
    canonical
}

/// Picks the reported name: names that are already qualified or start with "localhost"
/// are kept; otherwise the resolver's canonical name, unless it is a localhost name.
fn choose_hostname(short: &str, resolve: impl FnOnce(&str) -> Option<String>) -> String {
    if short.starts_with("localhost") || short.contains('.') {
        return short.to_string();
    }
    match resolve(short) {
        Some(canonical) if !canonical.starts_with("localhost") => canonical,
        _ => short.to_string(),
    }
}

/// The host name as libvirt reports it.
pub fn hostname() -> String {
    choose_hostname(&short_hostname(), canonical_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualification_rules() {
        let fqdn = |_: &str| Some("vm.example.org".to_string());
        assert_eq!(choose_hostname("vm", fqdn), "vm.example.org");
        assert_eq!(choose_hostname("vm.lan", fqdn), "vm.lan");
        assert_eq!(choose_hostname("localhost", fqdn), "localhost");
        assert_eq!(
            choose_hostname("vm", |_| Some("localhost.localdomain".into())),
            "vm"
        );
        assert_eq!(choose_hostname("vm", |_| None), "vm");
    }

    #[test]
    fn real_hostname_is_the_kernel_name_or_its_canonical_form() {
        let short = short_hostname();
        // gethostname returns the UTS node name.
        let nodename = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
        assert_eq!(short, nodename.trim());
        let name = hostname();
        if short.contains('.') || short.starts_with("localhost") {
            assert_eq!(name, short);
        } else {
            let canonical = canonical_name(&short).filter(|c| !c.starts_with("localhost"));
            assert_eq!(name, canonical.unwrap_or(short));
        }
    }
}
