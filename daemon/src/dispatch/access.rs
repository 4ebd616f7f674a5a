//! The errors the procedure table decides: a call refused on a read-only
//! connection (the row's access class) and a procedure without a handler.
//! Both name the row's libvirt API and carry its family's error domain, as
//! libvirt's public API functions report them.

use protocol::error::{codes, RemoteError};
use protocol::table::{ProcInfo, Refusal};

use super::reply::with_template;

/// "operation forbidden: read only access prevents virXxx", or the XML
/// getters' "operation forbidden: virXxx with secure flag".
pub fn read_only_error(info: &ProcInfo, refusal: Refusal) -> RemoteError {
    let detail = match refusal {
        Refusal::ReadOnly => format!("read only access prevents {}", info.api),
        Refusal::SecureFlag => format!("{} with secure flag", info.api),
    };
    with_template(
        codes::OPERATION_DENIED,
        info.family.error_domain(),
        &format!("operation forbidden: {detail}"),
        "operation forbidden: %s",
        &detail,
    )
}

/// "this function is not supported by the connection driver: virXxx".
pub fn not_supported(info: &ProcInfo) -> RemoteError {
    with_template(
        codes::NO_SUPPORT,
        info.family.error_domain(),
        &format!(
            "this function is not supported by the connection driver: {}",
            info.api
        ),
        "this function is not supported by the connection driver: %s",
        info.api,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::error::domains;
    use protocol::programs::{qemu_proc, remote_proc as p};

    #[test]
    fn refusals_name_the_api_and_its_domain() {
        let e = read_only_error(p::info(p::DOMAIN_DESTROY).unwrap(), Refusal::ReadOnly);
        assert_eq!(
            (e.code, e.domain),
            (codes::OPERATION_DENIED, domains::DOMAIN)
        );
        assert_eq!(
            e.message.as_deref(),
            Some("operation forbidden: read only access prevents virDomainDestroy")
        );
        assert_eq!(e.str1.as_deref(), Some("operation forbidden: %s"));
        assert_eq!(
            e.str2.as_deref(),
            Some("read only access prevents virDomainDestroy")
        );

        let e = read_only_error(p::info(p::NETWORK_DEFINE_XML).unwrap(), Refusal::ReadOnly);
        assert_eq!(e.domain, domains::NETWORK);
        assert!(e.message.unwrap().ends_with("virNetworkDefineXML"));

        // libvirtd 9.0 reports these two with domain 20 and 0 (recorded).
        let e = read_only_error(
            p::info(p::DOMAIN_GET_XML_DESC).unwrap(),
            Refusal::SecureFlag,
        );
        assert_eq!(e.domain, domains::DOMAIN);
        assert_eq!(
            e.message.as_deref(),
            Some("operation forbidden: virDomainGetXMLDesc with secure flag")
        );
        let e = read_only_error(
            qemu_proc::info(qemu_proc::DOMAIN_MONITOR_COMMAND).unwrap(),
            Refusal::ReadOnly,
        );
        assert_eq!(e.domain, domains::NONE);
        assert!(e.message.unwrap().ends_with("virDomainQemuMonitorCommand"));
    }

    #[test]
    fn unserved_procedures_name_their_api() {
        let e = not_supported(p::info(p::DOMAIN_MIGRATE_PREPARE).unwrap());
        assert_eq!(e.code, codes::NO_SUPPORT);
        assert_eq!(
            e.message.as_deref(),
            Some(
                "this function is not supported by the connection driver: virDomainMigratePrepare"
            )
        );
        let e = not_supported(p::info(p::NODE_GET_SEV_INFO).unwrap());
        assert!(e.message.unwrap().ends_with("virNodeGetSEVInfo"));
    }
}
