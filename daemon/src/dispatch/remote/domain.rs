//! Domain lookups, listings and getters: quick calls answered inline.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains};
use protocol::header::Header;
use protocol::programs::remote_proc as p;
use protocol::remote::*;

use super::{dom_ref, drv, inline, reply_err, wire_dom, Action, Session};
use crate::dispatch::reply::with_template;

/// VIR_DOMAIN_XML_SECURE.
const XML_SECURE: u32 = 1;

/// Array maxima from the protocol definitions.
const DOMAIN_LIST_MAX: usize = 16384;

const SERVED: &[i32] = &[
    p::CONNECT_LIST_ALL_DOMAINS,
    p::CONNECT_LIST_DOMAINS,
    p::CONNECT_NUM_OF_DOMAINS,
    p::CONNECT_LIST_DEFINED_DOMAINS,
    p::CONNECT_NUM_OF_DEFINED_DOMAINS,
    p::DOMAIN_LOOKUP_BY_NAME,
    p::DOMAIN_LOOKUP_BY_UUID,
    p::DOMAIN_LOOKUP_BY_ID,
    p::DOMAIN_GET_INFO,
    p::DOMAIN_GET_STATE,
    p::DOMAIN_GET_XML_DESC,
    p::DOMAIN_GET_AUTOSTART,
    p::DOMAIN_IS_ACTIVE,
    p::DOMAIN_IS_PERSISTENT,
    p::DOMAIN_IS_UPDATED,
    p::DOMAIN_GET_OS_TYPE,
    p::DOMAIN_GET_MAX_MEMORY,
    p::DOMAIN_GET_MAX_VCPUS,
    p::DOMAIN_GET_VCPUS_FLAGS,
    p::DOMAIN_HAS_MANAGED_SAVE_IMAGE,
    p::DOMAIN_SNAPSHOT_NUM,
    p::DOMAIN_GET_SECURITY_LABEL,
    p::DOMAIN_GET_MESSAGES,
    p::DOMAIN_GET_HOSTNAME,
];

pub fn serves(proc_: i32) -> bool {
    SERVED.contains(&proc_)
}

pub fn handle(session: &Session, conn: &Arc<dyn Connection>, h: &Header, body: &[u8]) -> Action {
    let c = conn;
    match h.proc_ {
        p::CONNECT_LIST_ALL_DOMAINS => inline(h, body, |a: ConnectListAllDomainsArgs| {
            let list = drv(c.list_all_domains(a.flags))?;
            let count = list.len() as u32;
            let domains = if a.need_results != 0 {
                list.into_iter()
                    .take(DOMAIN_LIST_MAX)
                    .map(wire_dom)
                    .collect()
            } else {
                Vec::new()
            };
            Ok(ConnectListAllDomainsRet {
                domains,
                ret: count,
            })
        }),
        p::CONNECT_LIST_DOMAINS => inline(h, body, |a: ConnectListDomainsArgs| {
            drv(c.list_domain_ids(a.maxids.max(0) as usize))
                .map(|ids| ConnectListDomainsRet { ids })
        }),
        p::CONNECT_NUM_OF_DOMAINS => inline(h, body, |(): ()| {
            drv(c.num_of_domains()).map(|num| ConnectNumOfDomainsRet { num })
        }),
        p::CONNECT_LIST_DEFINED_DOMAINS => inline(h, body, |a: ConnectListDefinedDomainsArgs| {
            drv(c.list_defined_domains(a.maxnames.max(0) as usize))
                .map(|names| ConnectListDefinedDomainsRet { names })
        }),
        p::CONNECT_NUM_OF_DEFINED_DOMAINS => inline(h, body, |(): ()| {
            drv(c.num_of_defined_domains()).map(|num| ConnectNumOfDefinedDomainsRet { num })
        }),
        p::DOMAIN_LOOKUP_BY_NAME => inline(h, body, |a: DomainLookupByNameArgs| {
            drv(c.lookup_by_name(&a.name)).map(|d| DomainLookupByNameRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_LOOKUP_BY_UUID => inline(h, body, |a: DomainLookupByUuidArgs| {
            drv(c.lookup_by_uuid(&a.uuid)).map(|d| DomainLookupByUuidRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_LOOKUP_BY_ID => inline(h, body, |a: DomainLookupByIdArgs| {
            drv(c.lookup_by_id(a.id)).map(|d| DomainLookupByIdRet { dom: wire_dom(d) })
        }),
        p::DOMAIN_GET_INFO => inline(h, body, |a: DomainGetInfoArgs| {
            drv(c.get_info(&dom_ref(&a.dom))).map(|i| DomainGetInfoRet {
                state: i.state,
                max_mem: i.max_mem_kib,
                memory: i.memory_kib,
                nr_virt_cpu: i.nr_virt_cpu,
                cpu_time: i.cpu_time_ns,
            })
        }),
        p::DOMAIN_GET_STATE => inline(h, body, |a: DomainGetStateArgs| {
            drv(c.get_state(&dom_ref(&a.dom), a.flags))
                .map(|(state, reason)| DomainGetStateRet { state, reason })
        }),
        p::DOMAIN_GET_XML_DESC => inline(h, body, |a: DomainGetXmlDescArgs| {
            if session.read_only && a.flags & XML_SECURE != 0 {
                return Err(with_template(
                    codes::OPERATION_DENIED,
                    domains::NONE,
                    "operation forbidden: virDomainGetXMLDesc with secure flag",
                    "operation forbidden: %s",
                    "virDomainGetXMLDesc with secure flag",
                ));
            }
            drv(c.get_xml_desc(&dom_ref(&a.dom), a.flags)).map(|xml| DomainGetXmlDescRet { xml })
        }),
        p::DOMAIN_GET_AUTOSTART => inline(h, body, |a: DomainGetAutostartArgs| {
            drv(c.get_autostart(&dom_ref(&a.dom))).map(|v| DomainGetAutostartRet {
                autostart: v as i32,
            })
        }),
        p::DOMAIN_IS_ACTIVE => inline(h, body, |a: DomainIsActiveArgs| {
            drv(c.is_active(&dom_ref(&a.dom))).map(|v| DomainIsActiveRet { active: v as i32 })
        }),
        p::DOMAIN_IS_PERSISTENT => inline(h, body, |a: DomainIsPersistentArgs| {
            drv(c.is_persistent(&dom_ref(&a.dom))).map(|v| DomainIsPersistentRet {
                persistent: v as i32,
            })
        }),
        p::DOMAIN_IS_UPDATED => inline(h, body, |a: DomainIsUpdatedArgs| {
            drv(c.is_updated(&dom_ref(&a.dom))).map(|v| DomainIsUpdatedRet { updated: v as i32 })
        }),
        p::DOMAIN_GET_OS_TYPE => inline(h, body, |a: DomainGetOsTypeArgs| {
            drv(c.get_os_type(&dom_ref(&a.dom))).map(|type_| DomainGetOsTypeRet { type_ })
        }),
        p::DOMAIN_GET_MAX_MEMORY => inline(h, body, |a: DomainGetMaxMemoryArgs| {
            drv(c.get_max_memory(&dom_ref(&a.dom))).map(|memory| DomainGetMaxMemoryRet { memory })
        }),
        p::DOMAIN_GET_MAX_VCPUS => inline(h, body, |a: DomainGetMaxVcpusArgs| {
            drv(c.get_max_vcpus(&dom_ref(&a.dom))).map(|num| DomainGetMaxVcpusRet { num })
        }),
        p::DOMAIN_GET_VCPUS_FLAGS => inline(h, body, |a: DomainGetVcpusFlagsArgs| {
            drv(c.get_vcpus_flags(&dom_ref(&a.dom), a.flags))
                .map(|num| DomainGetVcpusFlagsRet { num })
        }),
        p::DOMAIN_HAS_MANAGED_SAVE_IMAGE => inline(h, body, |a: DomainHasManagedSaveImageArgs| {
            drv(c.has_managed_save_image(&dom_ref(&a.dom), a.flags))
                .map(|v| DomainHasManagedSaveImageRet { result: v as i32 })
        }),
        p::DOMAIN_SNAPSHOT_NUM => inline(h, body, |a: DomainSnapshotNumArgs| {
            drv(c.snapshot_num(&dom_ref(&a.dom), a.flags)).map(|num| DomainSnapshotNumRet { num })
        }),
        p::DOMAIN_GET_SECURITY_LABEL => inline(h, body, |a: DomainGetSecurityLabelArgs| {
            drv(c.security_label(&dom_ref(&a.dom))).map(|l| DomainGetSecurityLabelRet {
                label: CharArray::with_nul(&l.label),
                enforcing: l.enforcing as i32,
            })
        }),
        p::DOMAIN_GET_MESSAGES => inline(h, body, |a: DomainGetMessagesArgs| {
            drv(c.get_messages(&dom_ref(&a.dom), a.flags)).map(|msgs| DomainGetMessagesRet { msgs })
        }),
        p::DOMAIN_GET_HOSTNAME => inline(h, body, |a: DomainGetHostnameArgs| {
            drv(c.get_hostname(&dom_ref(&a.dom), a.flags))
                .map(|hostname| DomainGetHostnameRet { hostname })
        }),
        other => reply_err(
            h,
            protocol::error::RemoteError::new(
                codes::INTERNAL_ERROR,
                domains::RPC,
                format!("unrouted procedure {other}"),
            ),
        ),
    }
}
