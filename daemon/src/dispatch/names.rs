//! Public API names (`virDomainCreate`) for procedure numbers, as libvirt names
//! them in "read only access prevents virX" and "not supported: virX" errors.

use protocol::error::domains;
use protocol::programs::{remote_proc, LXC_PROGRAM, QEMU_PROGRAM};

/// Words the public API spells in capitals.
const UPPER_WORDS: &[&str] = &[
    "XML", "UUID", "ID", "CPU", "OS", "PM", "IO", "MAC", "SEV", "SGX", "TLS", "FD", "DHCP",
];

/// `DOMAIN_GET_XML_DESC` -> `virDomainGetXMLDesc`; `CONNECT_OPEN` -> `virConnectOpen`.
pub fn remote_api(proc_: i32) -> String {
    match remote_proc::name(proc_) {
        Some(name) => api_from_proc_name(name),
        None => format!("procedure {proc_}"),
    }
}

pub fn api_from_proc_name(name: &str) -> String {
    let mut out = String::from("vir");
    for word in name.split('_') {
        if UPPER_WORDS.contains(&word) {
            out.push_str(word);
        } else {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first);
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            }
        }
    }
    out
}

/// The error domain libvirt reports for a refused API: the area of its object.
pub fn api_error_domain(proc_: i32) -> i32 {
    let name = remote_proc::name(proc_).unwrap_or("");
    let prefixes: &[(&str, i32)] = &[
        ("DOMAIN_", domains::DOMAIN),
        ("NETWORK_", domains::NETWORK),
        ("STORAGE_", domains::STORAGE),
        ("NODE_DEVICE_", domains::NODEDEV),
        ("SECRET_", domains::SECRET),
        ("NWFILTER_", domains::NWFILTER),
        ("INTERFACE_", domains::INTERFACE),
    ];
    prefixes
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, d)| *d)
        .unwrap_or(domains::NONE)
}

/// API names of the QEMU and LXC programs' procedures.
pub fn other_program_api(prog: u32, proc_: i32) -> String {
    let name = match (prog, proc_) {
        (QEMU_PROGRAM, 1) | (QEMU_PROGRAM, 7) => "virDomainQemuMonitorCommand",
        (QEMU_PROGRAM, 2) => "virDomainQemuAttach",
        (QEMU_PROGRAM, 3) => "virDomainQemuAgentCommand",
        (QEMU_PROGRAM, 4) => "virConnectDomainQemuMonitorEventRegister",
        (QEMU_PROGRAM, 5) => "virConnectDomainQemuMonitorEventDeregister",
        (LXC_PROGRAM, 1) => "virDomainLxcOpenNamespace",
        _ => return format!("procedure {proc_}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_follow_libvirt_spelling() {
        assert_eq!(api_from_proc_name("DOMAIN_CREATE"), "virDomainCreate");
        assert_eq!(
            api_from_proc_name("DOMAIN_GET_XML_DESC"),
            "virDomainGetXMLDesc"
        );
        assert_eq!(
            api_from_proc_name("DOMAIN_LOOKUP_BY_UUID"),
            "virDomainLookupByUUID"
        );
        assert_eq!(
            api_from_proc_name("DOMAIN_SET_AUTOSTART"),
            "virDomainSetAutostart"
        );
        assert_eq!(
            api_from_proc_name("NETWORK_DEFINE_XML"),
            "virNetworkDefineXML"
        );
        assert_eq!(
            remote_api(remote_proc::DOMAIN_UNDEFINE_FLAGS),
            "virDomainUndefineFlags"
        );
    }

    #[test]
    fn refused_apis_report_their_object_domain() {
        assert_eq!(
            api_error_domain(remote_proc::DOMAIN_CREATE),
            domains::DOMAIN
        );
        assert_eq!(
            api_error_domain(remote_proc::NETWORK_DEFINE_XML),
            domains::NETWORK
        );
        assert_eq!(
            api_error_domain(remote_proc::CONNECT_GET_HOSTNAME),
            domains::NONE
        );
    }
}
