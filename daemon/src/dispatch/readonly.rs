//! Which remote procedures a read-only connection may call.
//!
//! libvirt refuses, in each public API that changes anything, callers on a
//! read-only connection. We enforce the same split in one place, before any
//! driver sees the call: lookups, getters, listings, `is_*`, statistics and
//! event (de)registration pass; everything else is refused with code 29.

use protocol::programs::remote_proc;

/// Getters that libvirt nevertheless refuses on read-only connections, because
/// they reach into the guest or reveal secrets.
const DENIED_GETTERS: &[i32] = &[
    remote_proc::DOMAIN_GET_TIME,
    remote_proc::DOMAIN_GET_FSINFO,
    remote_proc::DOMAIN_GET_GUEST_INFO,
    remote_proc::DOMAIN_GET_GUEST_VCPUS,
    remote_proc::DOMAIN_GET_HOSTNAME,
    remote_proc::DOMAIN_GET_LAUNCH_SECURITY_INFO,
    remote_proc::DOMAIN_AUTHORIZED_SSH_KEYS_GET,
    remote_proc::DOMAIN_SAVE_IMAGE_GET_XML_DESC,
    remote_proc::DOMAIN_MANAGED_SAVE_GET_XML_DESC,
    remote_proc::SECRET_GET_VALUE,
    remote_proc::DOMAIN_GET_JOB_INFO,
    remote_proc::DOMAIN_GET_JOB_STATS,
];

const ALLOWED_EXACT: &[i32] = &[
    remote_proc::CONNECT_OPEN,
    remote_proc::CONNECT_CLOSE,
    remote_proc::CONNECT_SUPPORTS_FEATURE,
    remote_proc::AUTH_LIST,
    remote_proc::AUTH_SASL_INIT,
    remote_proc::AUTH_SASL_START,
    remote_proc::AUTH_SASL_STEP,
    remote_proc::AUTH_POLKIT,
    remote_proc::CONNECT_REGISTER_CLOSE_CALLBACK,
    remote_proc::CONNECT_UNREGISTER_CLOSE_CALLBACK,
    remote_proc::DOMAIN_SNAPSHOT_NUM,
    remote_proc::DOMAIN_MEMORY_STATS,
    remote_proc::DOMAIN_BLOCK_STATS,
    remote_proc::DOMAIN_BLOCK_STATS_FLAGS,
    remote_proc::DOMAIN_INTERFACE_STATS,
    remote_proc::CONNECT_GET_ALL_DOMAIN_STATS,
    remote_proc::CONNECT_BASELINE_CPU,
    remote_proc::CONNECT_COMPARE_CPU,
];

/// Name fragments of procedures that only read.
const ALLOWED_PATTERNS: &[&str] = &[
    "_GET_",
    "_LOOKUP_BY_",
    "_LIST_",
    "_NUM_OF_",
    "_IS_",
    "_HAS_",
    "EVENT_REGISTER",
    "EVENT_DEREGISTER",
    "EVENT_CALLBACK_REGISTER",
    "EVENT_CALLBACK_DEREGISTER",
];

pub fn allowed(proc_: i32) -> bool {
    if ALLOWED_EXACT.contains(&proc_) {
        return true;
    }
    if DENIED_GETTERS.contains(&proc_) {
        return false;
    }
    let Some(name) = remote_proc::name(proc_) else {
        return false;
    };
    let padded = format!("_{name}");
    ALLOWED_PATTERNS.iter().any(|p| padded.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass() {
        for p in [
            remote_proc::CONNECT_GET_HOSTNAME,
            remote_proc::CONNECT_GET_CAPABILITIES,
            remote_proc::NODE_GET_INFO,
            remote_proc::DOMAIN_LOOKUP_BY_NAME,
            remote_proc::DOMAIN_GET_INFO,
            remote_proc::DOMAIN_GET_XML_DESC,
            remote_proc::CONNECT_LIST_ALL_DOMAINS,
            remote_proc::DOMAIN_IS_ACTIVE,
            remote_proc::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
            remote_proc::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
            remote_proc::DOMAIN_HAS_MANAGED_SAVE_IMAGE,
        ] {
            assert!(allowed(p), "{:?} should be allowed", remote_proc::name(p));
        }
    }

    #[test]
    fn writes_are_refused() {
        for p in [
            remote_proc::DOMAIN_SET_AUTOSTART,
            remote_proc::DOMAIN_DESTROY,
            remote_proc::DOMAIN_UNDEFINE_FLAGS,
            remote_proc::DOMAIN_MANAGED_SAVE,
            remote_proc::DOMAIN_DEFINE_XML,
            remote_proc::DOMAIN_CREATE,
            remote_proc::NETWORK_DEFINE_XML,
            remote_proc::DOMAIN_SUSPEND,
            remote_proc::DOMAIN_GET_TIME,
        ] {
            assert!(!allowed(p), "{:?} should be refused", remote_proc::name(p));
        }
    }
}
