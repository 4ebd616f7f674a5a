//! Read-only questions about domains and the domain list, answered as libvirt 9.0's test
//! driver answers them.

use super::defaults;
use super::lifecycle::check_unsupported_flags;
use super::state::TestState;
use crate::api::{
    codes, domains, list_flags, vcpu_flags, xml_flags, ControlInfo, DomainHandle, DomainInfo,
    DomainRef, DriverError, DriverResult, SecurityLabel,
};
use crate::domain_list::ListFacts;
use crate::domain_xml::DomainDef;

fn not_running() -> DriverError {
    DriverError::operation_invalid("domain is not running")
}

/// Current time in nanoseconds at microsecond precision: the test driver reports this as
/// every domain's CPU time.
fn fake_cpu_time_ns() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let micros = u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX / 1000);
    micros.saturating_mul(1000)
}

impl TestState {
    /// `virConnectListAllDomains`.
    pub fn list_all(&self, flags: u32) -> DriverResult<Vec<DomainHandle>> {
        check_unsupported_flags(flags, list_flags::ALL, "testConnectListAllDomains")?;
        Ok((**self).list_all(flags, |d| ListFacts {
            managed_save: d.extra.has_managed_save,
            has_snapshot: d.extra.snapshot_count > 0,
            // The test driver keeps no checkpoints.
            ..ListFacts::default()
        }))
    }

    pub fn info(&self, dom: &DomainRef) -> DriverResult<DomainInfo> {
        let obj = self.get(dom)?;
        Ok(DomainInfo {
            state: obj.state.wire(),
            max_mem_kib: obj.def.max_memory_kib,
            memory_kib: obj.def.current_memory_kib,
            nr_virt_cpu: u16::try_from(obj.def.vcpus()).unwrap_or(u16::MAX),
            cpu_time_ns: fake_cpu_time_ns(),
        })
    }

    pub fn state_of(&self, dom: &DomainRef, flags: u32) -> DriverResult<(i32, i32)> {
        check_unsupported_flags(flags, 0, "testDomainGetState")?;
        let obj = self.get(dom)?;
        Ok((i32::from(obj.state), obj.reason))
    }

    /// The test driver has no jobs: a running domain is always under control.
    pub fn control_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<ControlInfo> {
        check_unsupported_flags(flags, 0, "testDomainGetControlInfo")?;
        if !self.get(dom)?.is_active() {
            return Err(not_running());
        }
        Ok(ControlInfo {
            state: ControlInfo::OK,
            details: 0,
            state_time_ms: 0,
        })
    }

    pub fn xml_desc(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        let allowed =
            xml_flags::SECURE | xml_flags::INACTIVE | xml_flags::UPDATE_CPU | xml_flags::MIGRATABLE;
        check_unsupported_flags(flags, allowed, "testDomainGetXMLDesc")?;
        let obj = self.get(dom)?;
        Ok(obj.xml(
            flags & xml_flags::INACTIVE != 0,
            flags & xml_flags::SECURE != 0,
        ))
    }

    /// The definition `virDomainGetVcpusFlags` and friends look at, chosen by the
    /// live/config flags the way libvirt's generic helper chooses it.
    fn one_def(&self, dom: &DomainRef, flags: u32) -> DriverResult<&DomainDef> {
        let obj = self.get(dom)?;
        let live = flags & vcpu_flags::LIVE != 0;
        let config = flags & vcpu_flags::CONFIG != 0;
        if live && config {
            return Err(DriverError {
                code: codes::INVALID_ARG,
                domain: domains::DOMAIN,
                message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive".to_string(),
                str1: Some("virDomainGetVcpusFlags".to_string()),
                str2: Some("ctl".to_string()),
                int1: 0,
                int2: 0,
            });
        }
        let use_live = if live || config {
            live
        } else {
            obj.is_active()
        };
        if use_live {
            if !obj.is_active() {
                return Err(not_running());
            }
            return Ok(&obj.def);
        }
        if !obj.persistent {
            return Err(DriverError::operation_invalid(
                "transient domains do not have any persistent config",
            ));
        }
        Ok(obj.persistent_def())
    }

    pub fn vcpus_flags(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        let allowed = vcpu_flags::LIVE | vcpu_flags::CONFIG | vcpu_flags::MAXIMUM;
        check_unsupported_flags(flags, allowed, "testDomainGetVcpusFlags")?;
        let def = self.one_def(dom, flags)?;
        let count = if flags & vcpu_flags::MAXIMUM != 0 {
            def.vcpu.max
        } else {
            def.vcpu.current
        };
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    pub fn max_vcpus(&self, dom: &DomainRef) -> DriverResult<i32> {
        self.vcpus_flags(dom, vcpu_flags::LIVE | vcpu_flags::MAXIMUM)
    }

    pub fn security_label(&self, dom: &DomainRef) -> DriverResult<SecurityLabel> {
        let obj = self.get(dom)?;
        Ok(if obj.is_active() {
            SecurityLabel {
                label: defaults::SECURITY_LABEL.to_string(),
                enforcing: true,
            }
        } else {
            SecurityLabel {
                label: String::new(),
                enforcing: false,
            }
        })
    }

    pub fn hostname_of(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        check_unsupported_flags(flags, 0, "testDomainGetHostname")?;
        if !self.get(dom)?.is_active() {
            return Err(not_running());
        }
        Ok(format!("{}host", dom.name))
    }

    pub fn managed_save(&self, dom: &DomainRef, flags: u32) -> DriverResult<bool> {
        check_unsupported_flags(flags, 0, "testDomainHasManagedSaveImage")?;
        Ok(self.get(dom)?.extra.has_managed_save)
    }

    pub fn snapshots(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        // Roots/descendants, topological and every snapshot filter flag.
        check_unsupported_flags(flags, 0x7ff, "testDomainSnapshotNum")?;
        Ok(i32::try_from(self.get(dom)?.extra.snapshot_count).unwrap_or(i32::MAX))
    }

    pub fn messages(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<String>> {
        // Deprecation and tainting messages; test domains carry none.
        check_unsupported_flags(flags, 1 | 2, "testDomainGetMessages")?;
        self.get(dom)?;
        Ok(Vec::new())
    }
}
