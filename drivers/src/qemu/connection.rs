//! A client's connection to `qemu:///system`.

use std::sync::{Arc, OnceLock};

use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{
    codes, domains, feature, list_flags, vcpu_flags, xml_flags, Connection, ControlInfo,
    DomainHandle, DomainInfo, DomainRef, DriverError, DriverResult, HostCpuMap, HypervisorTarget,
    JobProgress, NamedParam, NodeInfo, SecurityLabel, SecurityModel, VcpuDetail,
};
use crate::domain_list::ListFacts;

pub struct QemuConnection {
    pub(super) inner: Arc<Inner>,
    /// Incoming migrations this connection prepared and has not finished:
    /// their paused QEMUs go when the connection closes.
    pub(super) incoming: super::migration::PendingIncoming,
}

impl QemuConnection {
    pub(super) fn new(inner: Arc<Inner>) -> Self {
        QemuConnection {
            inner,
            incoming: Default::default(),
        }
    }
}

/// QEMU's version as libvirt encodes it (major * 1e6 + minor * 1e3 + micro), from
/// `qemu-system-x86_64 --version`, asked once.
fn qemu_version(emulator: &str) -> u64 {
    static VERSION: OnceLock<u64> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let output = process::Spec::new(emulator).arg("--version").output();
        let text = output
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        parse_version(&text).unwrap_or(0)
    })
}

fn parse_version(text: &str) -> Option<u64> {
    let rest = text.split("version ").nth(1)?;
    let number = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?;
    let mut parts = number.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let micro = parts.next().flatten().unwrap_or(0);
    Some(major * 1_000_000 + minor * 1_000 + micro)
}

impl Connection for QemuConnection {
    fn uri(&self) -> String {
        "qemu:///system".to_string()
    }

    fn hv_type(&self) -> String {
        "QEMU".to_string()
    }

    fn hv_version(&self) -> DriverResult<u64> {
        Ok(qemu_version(&self.inner.host().emulator))
    }

    fn hostname(&self) -> DriverResult<String> {
        Ok(crate::host::hostname())
    }

    fn sysinfo(&self, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "qemuConnectGetSysinfo")?;
        crate::host::sysinfo_xml().map_err(|e| e.to_driver_error(domains::QEMU))
    }

    fn capabilities(&self) -> DriverResult<String> {
        Ok(self.inner.capabilities().to_string())
    }

    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(flags, 0, "qemuConnectGetDomainCapabilities")?;
        super::domcaps::domain_capabilities(
            self.inner.capabilities(),
            &super::domcaps::Request {
                emulator,
                arch,
                machine,
                virttype,
            },
        )
    }

    fn cpu_model_names(&self, arch: &str, flags: u32) -> DriverResult<Vec<String>> {
        check_flags(flags, 0, "virConnectGetCPUModelNames")?;
        super::domcaps::cpu_model_names(arch)
    }

    fn compare_cpu(&self, xml: &str, flags: u32) -> DriverResult<i32> {
        check_flags(flags, 1 | 2, "qemuConnectCompareCPU")?;
        super::domcaps::compare_cpu(self.inner.capabilities(), xml, flags)
    }

    fn baseline_cpu(&self, xmls: &[String], flags: u32) -> DriverResult<String> {
        check_flags(flags, 1 | 2, "qemuConnectBaselineCPU")?;
        super::domcaps::baseline_cpu(self.inner.capabilities(), xmls, flags)
    }

    fn compare_hypervisor_cpu(
        &self,
        target: HypervisorTarget<'_>,
        xml: &str,
        flags: u32,
    ) -> DriverResult<i32> {
        check_flags(flags, 1 | 2, "qemuConnectCompareHypervisorCPU")?;
        super::domcaps::compare_hypervisor_cpu(
            self.inner.capabilities(),
            &request(target),
            xml,
            flags,
        )
    }

    fn baseline_hypervisor_cpu(
        &self,
        target: HypervisorTarget<'_>,
        xmls: &[String],
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(flags, 1 | 2, "qemuConnectBaselineHypervisorCPU")?;
        super::domcaps::baseline_hypervisor_cpu(
            self.inner.capabilities(),
            &request(target),
            xmls,
            flags,
        )
    }

    fn node_info(&self) -> DriverResult<NodeInfo> {
        crate::host::node_info()
            .map(NodeInfo::from)
            .map_err(|e| DriverError::new(codes::SYSTEM_ERROR, domains::QEMU, e.to_string()))
    }

    fn max_vcpus(&self, hv_type: Option<&str>) -> DriverResult<i32> {
        super::vcpus::connect_max_vcpus(hv_type)
    }

    fn node_security_model(&self) -> DriverResult<SecurityModel> {
        Ok(SecurityModel {
            model: "none".to_string(),
            doi: "0".to_string(),
        })
    }

    fn close(&self) {
        self.incoming.discard_all(&self.inner);
    }

    fn supports_feature(&self, feature: i32) -> bool {
        matches!(
            feature,
            feature::TYPED_PARAM_STRING
                | feature::XML_MIGRATABLE
                | feature::NETWORK_UPDATE_HAS_CORRECT_ORDER
                | feature::FD_PASSING
                | feature::MIGRATION_V3
                | feature::MIGRATION_P2P
                | feature::MIGRATION_OFFLINE
                | feature::MIGRATION_PARAMS
                | feature::MIGRATE_CHANGE_PROTECTION
        )
    }

    fn list_all_domains(&self, flags: u32) -> DriverResult<Vec<DomainHandle>> {
        check_flags(flags, list_flags::ALL, "qemuConnectListAllDomains")?;
        // The image is looked for only when the filter asks about it.
        let asks_save = flags & (list_flags::MANAGEDSAVE | list_flags::NO_MANAGEDSAVE) != 0;
        let asks_snapshot = flags & (list_flags::HAS_SNAPSHOT | list_flags::NO_SNAPSHOT) != 0;
        Ok(self.inner.lock().list_all(flags, |d| ListFacts {
            managed_save: asks_save && self.inner.has_managed_save(&d.def.name),
            has_snapshot: asks_snapshot
                && super::snapshot::has_snapshots(&self.inner.paths.lib_dir, &d.def.name),
            ..ListFacts::default()
        }))
    }

    crate::domain_list::list_queries!(inner.lock);

    fn define_xml(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        self.inner.define(xml, flags)
    }

    fn create_xml(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        self.inner.create_xml(xml, flags)
    }

    fn undefine(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.undefine(dom, flags)
    }

    fn create(&self, dom: &DomainRef, flags: u32) -> DriverResult<DomainHandle> {
        self.inner.create_defined(dom, flags)
    }

    fn destroy(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.destroy(dom, flags)
    }

    fn suspend(&self, dom: &DomainRef) -> DriverResult<()> {
        self.inner.set_paused(dom, true)
    }

    fn resume(&self, dom: &DomainRef) -> DriverResult<()> {
        self.inner.set_paused(dom, false)
    }

    fn shutdown(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.shutdown(dom, flags)
    }

    fn reboot(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.reboot(dom, flags)
    }

    fn reset(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.reset(dom, flags)
    }

    fn get_info(&self, dom: &DomainRef) -> DriverResult<DomainInfo> {
        let st = self.inner.lock();
        let obj = st.get(dom)?;
        let cpu_time_ns = obj
            .run
            .as_ref()
            .map(|r| r.process.cpu_time_ns())
            .unwrap_or(0);
        Ok(DomainInfo {
            state: obj.state.wire(),
            max_mem_kib: obj.def.max_memory_kib,
            memory_kib: obj.def.current_memory_kib,
            nr_virt_cpu: u16::try_from(obj.def.vcpus()).unwrap_or(u16::MAX),
            cpu_time_ns,
        })
    }

    fn get_state(&self, dom: &DomainRef, flags: u32) -> DriverResult<(i32, i32)> {
        check_flags(flags, 0, "qemuDomainGetState")?;
        let st = self.inner.lock();
        let obj = st.get(dom)?;
        Ok((i32::from(obj.state), obj.reason))
    }

    fn interface_addresses(
        &self,
        dom: &DomainRef,
        source: u32,
        flags: u32,
    ) -> DriverResult<Vec<crate::api::InterfaceAddresses>> {
        check_flags(flags, 0, "qemuDomainInterfaceAddresses")?;
        let def = {
            let st = self.inner.lock();
            let obj = st.get(dom)?;
            if obj.run.is_none() {
                return Err(super::lifecycle::not_running());
            }
            obj.def.clone()
        };
        match source {
            0 => Ok(super::network_ports::lease_addresses(
                self.inner.network.get(),
                &def,
            )),
            1 => self.inner.agent_interfaces(dom),
            2 => Err(crate::api::DriverError::new(
                crate::api::codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                "address source 'arp' is not supported by this daemon",
            )),
            other => Err(crate::api::DriverError::new(
                crate::api::codes::INVALID_ARG,
                domains::QEMU,
                format!("Unknown IP address data source {other}"),
            )),
        }
    }

    fn get_xml_desc(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        let allowed =
            xml_flags::SECURE | xml_flags::INACTIVE | xml_flags::UPDATE_CPU | xml_flags::MIGRATABLE;
        check_flags(flags, allowed, "qemuDomainGetXMLDesc")?;
        let st = self.inner.lock();
        let obj = st.get(dom)?;
        Ok(obj.xml(
            flags & xml_flags::INACTIVE != 0,
            flags & xml_flags::SECURE != 0,
        ))
    }

    fn set_autostart(&self, dom: &DomainRef, autostart: bool) -> DriverResult<()> {
        self.inner.set_autostart(dom, autostart)
    }

    fn set_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner
            .set_metadata(dom, kind, metadata, key, uri, flags)
    }

    fn get_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<String> {
        self.inner.get_metadata(dom, kind, uri, flags)
    }

    fn screenshot(
        &self,
        dom: &DomainRef,
        screen: u32,
        flags: u32,
    ) -> DriverResult<(String, std::os::unix::net::UnixStream)> {
        self.inner.screenshot(dom, screen, flags)
    }

    fn open_graphics_fd(
        &self,
        dom: &DomainRef,
        idx: u32,
        flags: u32,
    ) -> DriverResult<std::os::fd::OwnedFd> {
        self.inner.open_graphics_fd(dom, idx, flags)
    }

    fn open_graphics(
        &self,
        dom: &DomainRef,
        idx: u32,
        fd: std::os::fd::OwnedFd,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.open_graphics(dom, idx, fd, flags)
    }

    fn send_key(
        &self,
        dom: &DomainRef,
        codeset: u32,
        holdtime: u32,
        keycodes: &[u32],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.send_key(dom, codeset, holdtime, keycodes, flags)
    }

    fn is_updated(&self, dom: &DomainRef) -> DriverResult<bool> {
        let st = self.inner.lock();
        let obj = st.get(dom)?;
        Ok(obj.is_active() && obj.new_def.as_ref().is_some_and(|n| *n != obj.def))
    }

    fn get_os_type(&self, dom: &DomainRef) -> DriverResult<String> {
        Ok(self.inner.lock().get(dom)?.def.os.os_type.clone())
    }

    fn get_max_vcpus(&self, dom: &DomainRef) -> DriverResult<i32> {
        self.get_vcpus_flags(dom, vcpu_flags::LIVE | vcpu_flags::MAXIMUM)
    }

    fn get_vcpus_flags(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        let allowed =
            vcpu_flags::LIVE | vcpu_flags::CONFIG | vcpu_flags::MAXIMUM | vcpu_flags::GUEST;
        check_flags(flags, allowed, "qemuDomainGetVcpusFlags")?;
        let st = self.inner.lock();
        let obj = st.get(dom)?;
        let live = flags & vcpu_flags::LIVE != 0;
        let config = flags & vcpu_flags::CONFIG != 0;
        let def = if live || (!config && obj.is_active()) {
            if !obj.is_active() {
                return Err(DriverError::new(
                    codes::OPERATION_INVALID,
                    domains::QEMU,
                    "domain is not running",
                ));
            }
            &obj.def
        } else {
            obj.persistent_def()
        };
        let count = if flags & vcpu_flags::MAXIMUM != 0 {
            def.vcpu.max
        } else {
            def.vcpu.current
        };
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    fn has_managed_save_image(&self, dom: &DomainRef, flags: u32) -> DriverResult<bool> {
        check_flags(flags, 0, "qemuDomainHasManagedSaveImage")?;
        let name = self.inner.lock().get(dom)?.def.name.clone();
        Ok(self.inner.has_managed_save(&name))
    }

    fn managed_save(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.managed_save(dom, flags)
    }

    fn managed_save_remove(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.managed_save_remove(dom, flags)
    }

    fn snapshot_num(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        self.inner.snapshot_count(dom, flags)
    }

    fn security_label(&self, dom: &DomainRef) -> DriverResult<SecurityLabel> {
        self.inner.lock().get(dom)?;
        Ok(SecurityLabel {
            label: String::new(),
            enforcing: false,
        })
    }

    fn get_messages(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<String>> {
        check_flags(flags, 1 | 2, "qemuDomainGetMessages")?;
        self.inner.lock().get(dom)?;
        Ok(Vec::new())
    }

    fn save(&self, dom: &DomainRef, to: &str, dxml: Option<&str>, flags: u32) -> DriverResult<()> {
        self.inner.save(dom, to, dxml, flags)
    }

    fn restore(&self, from: &str, dxml: Option<&str>, flags: u32) -> DriverResult<()> {
        self.inner.restore(from, dxml, flags)
    }

    fn save_image_xml(&self, file: &str, flags: u32) -> DriverResult<String> {
        self.inner.save_image_xml(file, flags)
    }

    fn save_image_define(&self, file: &str, dxml: &str, flags: u32) -> DriverResult<()> {
        self.inner.save_image_define(file, dxml, flags)
    }

    fn managed_save_xml(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        self.inner.managed_save_xml(dom, flags)
    }

    fn managed_save_define(
        &self,
        dom: &DomainRef,
        dxml: Option<&str>,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.managed_save_define(dom, dxml, flags)
    }

    fn set_memory_flags(&self, dom: &DomainRef, kib: u64, flags: u32) -> DriverResult<()> {
        self.inner.set_memory(dom, kib, flags)
    }

    fn node_cpu_map(&self) -> DriverResult<HostCpuMap> {
        Ok(super::vcpus::host_cpu_map())
    }

    fn get_vcpus(&self, dom: &DomainRef, max: usize) -> DriverResult<Vec<VcpuDetail>> {
        self.inner.vcpu_details(dom, max)
    }

    fn get_vcpu_pin_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<Vec<u32>>> {
        self.inner.vcpu_pin_info(dom, flags)
    }

    fn scheduler_type(&self, dom: &DomainRef) -> DriverResult<(String, i32)> {
        self.inner.scheduler_type(dom)
    }

    fn scheduler_params(
        &self,
        dom: &DomainRef,
        flags: Option<u32>,
    ) -> DriverResult<Vec<NamedParam>> {
        self.inner.scheduler_params(dom, flags.unwrap_or(0))
    }

    fn set_scheduler_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: Option<u32>,
    ) -> DriverResult<()> {
        self.inner
            .set_scheduler_params(dom, params, flags.unwrap_or(0))
    }

    fn job_progress(
        &self,
        dom: &DomainRef,
        require_active: bool,
    ) -> DriverResult<Option<JobProgress>> {
        self.inner.job_progress(dom, require_active)
    }

    /// A running save or restore is a job, reported with how long it has run,
    /// as libvirt's qemu driver does for its asynchronous jobs.
    fn get_control_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<ControlInfo> {
        check_flags(flags, 0, "qemuDomainGetControlInfo")?;
        Ok(match self.inner.job_progress(dom, true)? {
            Some(job) => ControlInfo {
                state: ControlInfo::JOB,
                details: 0,
                state_time_ms: job.elapsed_ms,
            },
            None => ControlInfo {
                state: ControlInfo::OK,
                details: 0,
                state_time_ms: 0,
            },
        })
    }

    fn qemu_monitor_command(&self, dom: &DomainRef, cmd: &str, hmp: bool) -> DriverResult<String> {
        self.inner.monitor_command(dom, cmd, hmp)
    }

    fn qemu_monitor_command_with_files(
        &self,
        dom: &DomainRef,
        cmd: &str,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(flags, 1, "qemuDomainQemuMonitorCommandWithFiles")?;
        if fds.len() > 1 {
            return Err(crate::api::DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                "at most 1 fd can be passed to qemu along with a command",
            ));
        }
        let fd = fds.into_iter().next();
        self.inner
            .monitor_command_passing(dom, cmd, flags & 1 != 0, fd)
    }

    fn guest_agent(&self) -> &dyn crate::api::GuestAgentCalls {
        self
    }

    fn get_hostname(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        self.inner.hostname_of(dom, flags)
    }

    fn qemu_agent_command(
        &self,
        dom: &DomainRef,
        cmd: &str,
        timeout: i32,
        flags: u32,
    ) -> DriverResult<String> {
        self.inner.agent_command(dom, cmd, timeout, flags)
    }

    fn open_console(
        &self,
        dom: &DomainRef,
        dev_name: Option<&str>,
        flags: u32,
    ) -> DriverResult<std::os::unix::net::UnixStream> {
        // VIR_DOMAIN_CONSOLE_FORCE and _SAFE are accepted; one relay per call.
        check_flags(flags, 3, "qemuDomainOpenConsole")?;
        self.inner.open_console(dom, dev_name)
    }

    fn open_channel(
        &self,
        dom: &DomainRef,
        name: Option<&str>,
        flags: u32,
    ) -> DriverResult<std::os::unix::net::UnixStream> {
        check_flags(
            flags,
            super::channel_stream::CHANNEL_FORCE,
            "qemuDomainOpenChannel",
        )?;
        self.inner.open_channel(dom, name, flags)
    }
}

fn request(target: HypervisorTarget<'_>) -> super::domcaps::Request<'_> {
    super::domcaps::Request {
        emulator: target.emulator,
        arch: target.arch,
        machine: target.machine,
        virttype: target.virttype,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parsing() {
        assert_eq!(
            parse_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)\n"),
            Some(7_002_022)
        );
        assert_eq!(parse_version("nonsense"), None);
    }
}
