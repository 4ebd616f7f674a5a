//! A client's connection to `lxc:///system`.

use std::sync::{Arc, OnceLock};

use super::definitions::check_flags;
use super::state::DomainObj;
use super::xml::EMULATOR;
use super::Inner;
use crate::api::{
    codes, domains, feature, list_flags, xml_flags, Connection, DomainHandle, DomainInfo,
    DomainRef, DriverError, DriverResult, NodeInfo, SecurityLabel, SecurityModel,
};
use crate::domain_list::ListFacts;

pub struct LxcConnection {
    inner: Arc<Inner>,
}

impl LxcConnection {
    pub(super) fn new(inner: Arc<Inner>) -> Self {
        LxcConnection { inner }
    }

    fn with_domain<T>(&self, dom: &DomainRef, f: impl FnOnce(&DomainObj) -> T) -> DriverResult<T> {
        let st = self.inner.lock();
        st.get(dom).map(f)
    }
}

/// The kernel release as libvirt encodes it for `virConnectGetVersion` of LXC.
fn kernel_version() -> u64 {
    static VERSION: OnceLock<u64> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        parse_release(&release)
    })
}

fn parse_release(release: &str) -> u64 {
    let numeric = release
        .trim()
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or("");
    let mut parts = numeric.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let micro = parts.next().unwrap_or(0);
    major * 1_000_000 + minor * 1_000 + micro
}

/// The capabilities document: the host part, then the container guests libvirt lists.
fn capabilities() -> &'static str {
    static CAPS: OnceLock<String> = OnceLock::new();
    CAPS.get_or_init(|| {
        let uuid = crate::host::default_host_uuid(crate::host::HostUuidSource::Smbios);
        let mut options = crate::host::CapsOptions::new(uuid);
        options.security_models = vec![crate::host::CapsSecModel::none()];
        options.emulator_search_dirs.clear();
        options.native_emulator_fallbacks.clear();
        let host = crate::host::capabilities_xml(&options);
        let mut guests = String::new();
        let arch = std::env::consts::ARCH;
        let mut arches = vec![(arch, 64)];
        if arch == "x86_64" {
            arches.push(("i686", 32));
        }
        for (name, wordsize) in arches {
            guests.push_str(&format!(
                "  <guest>\n    <os_type>exe</os_type>\n    <arch name='{name}'>\n      \
                 <wordsize>{wordsize}</wordsize>\n      \
                 <emulator>{EMULATOR}</emulator>\n      \
                 <domain type='lxc'/>\n    </arch>\n  </guest>\n\n"
            ));
        }
        match host.rfind("</capabilities>") {
            Some(at) => format!("{}{}{}", &host[..at], guests, &host[at..]),
            None => host,
        }
    })
}

impl Connection for LxcConnection {
    fn uri(&self) -> String {
        "lxc:///system".to_string()
    }

    fn hv_type(&self) -> String {
        "LXC".to_string()
    }

    fn hv_version(&self) -> DriverResult<u64> {
        Ok(kernel_version())
    }

    fn hostname(&self) -> DriverResult<String> {
        Ok(crate::host::hostname())
    }

    fn sysinfo(&self, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "lxcConnectGetSysinfo")?;
        crate::host::sysinfo_xml().map_err(|e| e.to_driver_error(domains::LXC))
    }

    fn capabilities(&self) -> DriverResult<String> {
        Ok(capabilities().to_string())
    }

    fn node_info(&self) -> DriverResult<NodeInfo> {
        crate::host::node_info()
            .map(NodeInfo::from)
            .map_err(|e| DriverError::new(codes::SYSTEM_ERROR, domains::LXC, e.to_string()))
    }

    fn node_security_model(&self) -> DriverResult<SecurityModel> {
        Ok(SecurityModel {
            model: "none".to_string(),
            doi: "0".to_string(),
        })
    }

    fn supports_feature(&self, feature: i32) -> bool {
        matches!(feature, feature::TYPED_PARAM_STRING | feature::FD_PASSING)
    }

    fn list_all_domains(&self, flags: u32) -> DriverResult<Vec<DomainHandle>> {
        check_flags(flags, list_flags::ALL, "lxcConnectListAllDomains")?;
        Ok(self.inner.lock().list_all(flags, |_| ListFacts::default()))
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
        self.inner.lock().get(dom)?;
        self.inner.start(&dom.uuid, flags)
    }

    fn create_with_files(
        &self,
        dom: &DomainRef,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        self.inner.lock().get(dom)?;
        self.inner.start_with_files(&dom.uuid, flags, fds)
    }

    fn create_xml_with_files(
        &self,
        xml: &str,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> DriverResult<DomainHandle> {
        self.inner.create_xml_with_files(xml, fds, flags)
    }

    fn destroy(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.destroy(dom, flags)
    }

    fn lxc_open_namespace(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<Vec<std::os::fd::OwnedFd>> {
        check_flags(flags, 0, "lxcDomainLxcOpenNamespace")?;
        self.inner.open_namespaces(dom)
    }

    fn open_console(
        &self,
        dom: &DomainRef,
        dev_name: Option<&str>,
        flags: u32,
    ) -> DriverResult<std::os::unix::net::UnixStream> {
        // VIR_DOMAIN_CONSOLE_FORCE and _SAFE: one console client at a time anyway.
        check_flags(flags, 3, "lxcDomainOpenConsole")?;
        self.inner.open_console(dom, dev_name)
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

    fn get_info(&self, dom: &DomainRef) -> DriverResult<DomainInfo> {
        self.with_domain(dom, |d| {
            let (memory_kib, cpu_time_ns) = match &d.run {
                Some(run) => (
                    run.cgroup
                        .memory_usage_kib()
                        .unwrap_or(d.def.current_memory_kib),
                    run.cgroup.cpu_time_ns(),
                ),
                None => (d.def.current_memory_kib, 0),
            };
            DomainInfo {
                state: d.state.wire(),
                max_mem_kib: d.def.max_memory_kib,
                memory_kib,
                nr_virt_cpu: u16::try_from(d.def.vcpus()).unwrap_or(u16::MAX),
                cpu_time_ns,
            }
        })
    }

    fn get_state(&self, dom: &DomainRef, flags: u32) -> DriverResult<(i32, i32)> {
        check_flags(flags, 0, "lxcDomainGetState")?;
        self.with_domain(dom, |d| (i32::from(d.state), d.reason))
    }

    fn get_xml_desc(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        check_flags(
            flags,
            xml_flags::SECURE | xml_flags::INACTIVE | xml_flags::MIGRATABLE,
            "lxcDomainGetXMLDesc",
        )?;
        self.with_domain(dom, |d| {
            d.live_xml(
                flags & xml_flags::INACTIVE != 0,
                flags & xml_flags::SECURE != 0,
            )
        })
    }

    fn set_autostart(&self, dom: &DomainRef, autostart: bool) -> DriverResult<()> {
        self.inner.set_autostart(dom, autostart)
    }

    fn is_updated(&self, dom: &DomainRef) -> DriverResult<bool> {
        self.with_domain(dom, |d| d.new_def.is_some())
    }

    fn get_os_type(&self, dom: &DomainRef) -> DriverResult<String> {
        self.with_domain(dom, |d| d.def.os.os_type.clone())
    }

    fn security_label(&self, dom: &DomainRef) -> DriverResult<SecurityLabel> {
        self.with_domain(dom, |_| SecurityLabel {
            label: String::new(),
            enforcing: false,
        })
    }

    fn get_messages(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<String>> {
        check_flags(flags, 1 | 2, "lxcDomainGetMessages")?;
        self.with_domain(dom, |_| Vec::new())
    }
}

impl crate::api::DomainStatistics for LxcConnection {}

impl crate::api::DomainDevices for LxcConnection {}

impl crate::api::DomainLiveTuning for LxcConnection {}
impl crate::api::DomainMigration for LxcConnection {}
impl crate::api::DomainExtraCalls for LxcConnection {
    fn send_process_signal(
        &self,
        dom: &DomainRef,
        pid: i64,
        signum: u32,
        flags: u32,
    ) -> DriverResult<()> {
        super::signals::send_process_signal(&self.inner, dom, pid, signum, flags)
    }
}

impl crate::api::DomainSnapshots for LxcConnection {}

impl crate::api::DomainCheckpoints for LxcConnection {}

impl crate::api::DomainBlockJobs for LxcConnection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_release_encoding() {
        assert_eq!(parse_release("6.1.0-13-amd64\n"), 6_001_000);
        assert_eq!(parse_release("5.15.133+"), 5_015_133);
        assert_eq!(parse_release(""), 0);
    }
}
