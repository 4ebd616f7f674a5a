//! Domain lookups, listings and getters: quick calls answered inline.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::{dom_ref, drv, inline, wire_dom, Action};

/// Array maxima from the protocol definitions.
const DOMAIN_LIST_MAX: usize = 16384;

pub fn connect_list_all_domains(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectListAllDomainsArgs,
) -> Action {
    inline(h, || {
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
    })
}

pub fn connect_list_domains(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectListDomainsArgs,
) -> Action {
    inline(h, || {
        drv(c.list_domain_ids(a.maxids.max(0) as usize)).map(|ids| ConnectListDomainsRet { ids })
    })
}

pub fn connect_num_of_domains(c: &Arc<dyn Connection>, h: &Header) -> Action {
    inline(h, || {
        drv(c.num_of_domains()).map(|num| ConnectNumOfDomainsRet { num })
    })
}

pub fn connect_list_defined_domains(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectListDefinedDomainsArgs,
) -> Action {
    inline(h, || {
        drv(c.list_defined_domains(a.maxnames.max(0) as usize))
            .map(|names| ConnectListDefinedDomainsRet { names })
    })
}

pub fn connect_num_of_defined_domains(c: &Arc<dyn Connection>, h: &Header) -> Action {
    inline(h, || {
        drv(c.num_of_defined_domains()).map(|num| ConnectNumOfDefinedDomainsRet { num })
    })
}

pub fn domain_lookup_by_name(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainLookupByNameArgs,
) -> Action {
    inline(h, || {
        drv(c.lookup_by_name(&a.name)).map(|d| DomainLookupByNameRet { dom: wire_dom(d) })
    })
}

pub fn domain_lookup_by_uuid(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainLookupByUuidArgs,
) -> Action {
    inline(h, || {
        drv(c.lookup_by_uuid(&a.uuid)).map(|d| DomainLookupByUuidRet { dom: wire_dom(d) })
    })
}

pub fn domain_lookup_by_id(c: &Arc<dyn Connection>, h: &Header, a: DomainLookupByIdArgs) -> Action {
    inline(h, || {
        drv(c.lookup_by_id(a.id)).map(|d| DomainLookupByIdRet { dom: wire_dom(d) })
    })
}

pub fn domain_get_info(c: &Arc<dyn Connection>, h: &Header, a: DomainGetInfoArgs) -> Action {
    inline(h, || {
        drv(c.get_info(&dom_ref(&a.dom))).map(|i| DomainGetInfoRet {
            state: i.state,
            max_mem: i.max_mem_kib,
            memory: i.memory_kib,
            nr_virt_cpu: i.nr_virt_cpu,
            cpu_time: i.cpu_time_ns,
        })
    })
}

pub fn domain_get_state(c: &Arc<dyn Connection>, h: &Header, a: DomainGetStateArgs) -> Action {
    inline(h, || {
        drv(c.get_state(&dom_ref(&a.dom), a.flags))
            .map(|(state, reason)| DomainGetStateRet { state, reason })
    })
}

pub fn domain_get_xml_desc(c: &Arc<dyn Connection>, h: &Header, a: DomainGetXmlDescArgs) -> Action {
    inline(h, || {
        drv(c.get_xml_desc(&dom_ref(&a.dom), a.flags)).map(|xml| DomainGetXmlDescRet { xml })
    })
}

pub fn domain_get_autostart(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetAutostartArgs,
) -> Action {
    inline(h, || {
        drv(c.get_autostart(&dom_ref(&a.dom))).map(|v| DomainGetAutostartRet {
            autostart: v as i32,
        })
    })
}

pub fn domain_is_active(c: &Arc<dyn Connection>, h: &Header, a: DomainIsActiveArgs) -> Action {
    inline(h, || {
        drv(c.is_active(&dom_ref(&a.dom))).map(|v| DomainIsActiveRet { active: v as i32 })
    })
}

pub fn domain_is_persistent(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainIsPersistentArgs,
) -> Action {
    inline(h, || {
        drv(c.is_persistent(&dom_ref(&a.dom))).map(|v| DomainIsPersistentRet {
            persistent: v as i32,
        })
    })
}

pub fn domain_is_updated(c: &Arc<dyn Connection>, h: &Header, a: DomainIsUpdatedArgs) -> Action {
    inline(h, || {
        drv(c.is_updated(&dom_ref(&a.dom))).map(|v| DomainIsUpdatedRet { updated: v as i32 })
    })
}

pub fn domain_get_os_type(c: &Arc<dyn Connection>, h: &Header, a: DomainGetOsTypeArgs) -> Action {
    inline(h, || {
        drv(c.get_os_type(&dom_ref(&a.dom))).map(|type_| DomainGetOsTypeRet { type_ })
    })
}

pub fn domain_get_control_info(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetControlInfoArgs,
) -> Action {
    inline(h, || {
        drv(c.get_control_info(&dom_ref(&a.dom), a.flags)).map(|i| DomainGetControlInfoRet {
            state: i.state,
            details: i.details,
            state_time: i.state_time_ms,
        })
    })
}

pub fn domain_get_max_memory(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetMaxMemoryArgs,
) -> Action {
    inline(h, || {
        drv(c.get_max_memory(&dom_ref(&a.dom))).map(|memory| DomainGetMaxMemoryRet { memory })
    })
}

pub fn domain_get_max_vcpus(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetMaxVcpusArgs,
) -> Action {
    inline(h, || {
        drv(c.get_max_vcpus(&dom_ref(&a.dom))).map(|num| DomainGetMaxVcpusRet { num })
    })
}

pub fn domain_get_vcpus_flags(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetVcpusFlagsArgs,
) -> Action {
    inline(h, || {
        drv(c.get_vcpus_flags(&dom_ref(&a.dom), a.flags)).map(|num| DomainGetVcpusFlagsRet { num })
    })
}

pub fn domain_has_managed_save_image(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainHasManagedSaveImageArgs,
) -> Action {
    inline(h, || {
        drv(c.has_managed_save_image(&dom_ref(&a.dom), a.flags))
            .map(|v| DomainHasManagedSaveImageRet { result: v as i32 })
    })
}

pub fn domain_snapshot_num(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSnapshotNumArgs,
) -> Action {
    inline(h, || {
        drv(c.snapshot_num(&dom_ref(&a.dom), a.flags)).map(|num| DomainSnapshotNumRet { num })
    })
}

pub fn domain_get_security_label(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetSecurityLabelArgs,
) -> Action {
    inline(h, || {
        drv(c.security_label(&dom_ref(&a.dom))).map(|l| DomainGetSecurityLabelRet {
            label: CharArray::with_nul(&l.label),
            enforcing: l.enforcing as i32,
        })
    })
}

pub fn domain_get_messages(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetMessagesArgs,
) -> Action {
    inline(h, || {
        drv(c.get_messages(&dom_ref(&a.dom), a.flags)).map(|msgs| DomainGetMessagesRet { msgs })
    })
}

pub fn domain_get_hostname(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetHostnameArgs,
) -> Action {
    inline(h, || {
        drv(c.get_hostname(&dom_ref(&a.dom), a.flags))
            .map(|hostname| DomainGetHostnameRet { hostname })
    })
}
