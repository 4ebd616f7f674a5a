//! The two traits the daemon dispatches to: a [`Driver`] per hypervisor kind and a
//! [`Connection`] per client.

use std::sync::Arc;

use super::{
    ControlInfo, DomainDevices, DomainHandle, DomainInfo, DomainLiveTuning, DomainRef,
    DomainStatistics, DriverError, DriverResult, HostCpuMap, JobProgress, NamedParam, NodeInfo,
    SecurityLabel, SecurityModel, Uuid, VcpuDetail,
};

/// A hypervisor driver: one per kind (test, qemu, lxc). Holds the state shared by all connections.
pub trait Driver: Send + Sync {
    /// URI scheme this driver serves, e.g. "test", "qemu", "lxc".
    fn scheme(&self) -> &'static str;
    /// Open a connection for a client. `uri` is the full URI the client sent (e.g.
    /// "test:///default"). Errors carry the code and message libvirt gives for a URI it
    /// cannot serve.
    fn open(&self, uri: &str, read_only: bool) -> DriverResult<Arc<dyn Connection>>;
    /// Whether the daemon must stay up even without clients: guests or
    /// containers are running, or driver start-up is still in progress. The
    /// idle timeout (`libvirtd -t`) only fires while every driver says no.
    fn inhibits_idle(&self) -> bool {
        false
    }
    /// SIGHUP: re-read what the driver keeps on disk (domain definitions). Returns
    /// problems worth logging.
    fn reload(&self) -> Vec<String> {
        Vec::new()
    }
    /// The host is going down: save, shut down or power off guests as the driver's
    /// configuration asks (blocking until done). Returns what is worth logging.
    fn host_shutdown(&self) -> Vec<String> {
        Vec::new()
    }
    /// The daemon is stopping and jobs outlived their grace period: cancel
    /// those that can be rolled back (a save: the guest resumes, the partial
    /// image goes).
    fn abort_jobs(&self) {}
    /// Whether a job of the driver's own (not a client call: an autostart,
    /// say) is running, which the daemon lets finish before exiting.
    fn jobs_running(&self) -> bool {
        false
    }
    /// The daemon exits now, with jobs possibly still running: undo what they
    /// would leave behind untracked (a started process without a status file).
    /// Returns what was done, for the log.
    fn abandon_jobs(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether [`Driver::host_shutdown`] would act on some guest, so that the daemon
    /// can warn when libvirt-guests is set up to handle the same guests.
    fn handles_host_shutdown(&self) -> bool {
        false
    }
}

/// One client's open connection. Every method but `uri` and `hv_type` has a default that
/// answers like libvirt does for a driver lacking the entry point (code 3 naming the public
/// API), so a driver implements only what it supports.
/// Which emulator, architecture, machine type and virtualization type a hypervisor
/// CPU call is about (each `None` for the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct HypervisorTarget<'a> {
    pub emulator: Option<&'a str>,
    pub arch: Option<&'a str>,
    pub machine: Option<&'a str>,
    pub virttype: Option<&'a str>,
}

pub trait Connection:
    Send
    + Sync
    + DomainStatistics
    + DomainDevices
    + DomainLiveTuning
    + super::DomainSnapshots
    + super::DomainCheckpoints
    + super::DomainBlockJobs
    + super::DomainMigration
    + super::DomainExtraCalls
{
    /// Canonical URI, e.g. "test:///default".
    fn uri(&self) -> String;
    /// Hypervisor type for `virConnectGetType`, e.g. "TEST".
    fn hv_type(&self) -> String;
    fn hv_version(&self) -> DriverResult<u64> {
        Err(DriverError::no_support("virConnectGetVersion"))
    }
    fn hostname(&self) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectGetHostname"))
    }
    fn sysinfo(&self, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectGetSysinfo"))
    }
    fn capabilities(&self) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectGetCapabilities"))
    }
    fn domain_capabilities(
        &self,
        _emulator: Option<&str>,
        _arch: Option<&str>,
        _machine: Option<&str>,
        _virttype: Option<&str>,
        _flags: u32,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectGetDomainCapabilities"))
    }
    /// CPU model names of an architecture (`virConnectGetCPUModelNames`).
    fn cpu_model_names(&self, _arch: &str, _flags: u32) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virConnectGetCPUModelNames"))
    }
    /// `virConnectCompareCPU`: a `virCPUCompareResult`.
    fn compare_cpu(&self, _xml: &str, _flags: u32) -> DriverResult<i32> {
        Err(DriverError::no_support("virConnectCompareCPU"))
    }
    /// `virConnectBaselineCPU`.
    fn baseline_cpu(&self, _xmls: &[String], _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectBaselineCPU"))
    }
    /// `virConnectCompareHypervisorCPU`.
    fn compare_hypervisor_cpu(
        &self,
        _target: HypervisorTarget<'_>,
        _xml: &str,
        _flags: u32,
    ) -> DriverResult<i32> {
        Err(DriverError::no_support("virConnectCompareHypervisorCPU"))
    }
    /// `virConnectBaselineHypervisorCPU`.
    fn baseline_hypervisor_cpu(
        &self,
        _target: HypervisorTarget<'_>,
        _xmls: &[String],
        _flags: u32,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectBaselineHypervisorCPU"))
    }
    fn node_info(&self) -> DriverResult<NodeInfo> {
        Err(DriverError::no_support("virNodeGetInfo"))
    }
    fn max_vcpus(&self, _hv_type: Option<&str>) -> DriverResult<i32> {
        Err(DriverError::no_support("virConnectGetMaxVcpus"))
    }
    fn node_free_memory(&self) -> DriverResult<u64> {
        Err(DriverError::no_support("virNodeGetFreeMemory"))
    }
    fn node_cells_free_memory(&self, _start: i32, _max: i32) -> DriverResult<Vec<u64>> {
        Err(DriverError::no_support("virNodeGetCellsFreeMemory"))
    }
    fn node_security_model(&self) -> DriverResult<SecurityModel> {
        Err(DriverError::no_support("virNodeGetSecurityModel"))
    }
    /// Whether the channel to the hypervisor is safe from eavesdropping.
    fn is_secure(&self) -> bool {
        true
    }
    /// Whether the channel to the hypervisor is encrypted.
    fn is_encrypted(&self) -> bool {
        false
    }
    /// `virDrvFeature` support, see [`super::feature`].
    fn supports_feature(&self, _feature: i32) -> bool {
        false
    }
    fn list_all_domains(&self, _flags: u32) -> DriverResult<Vec<DomainHandle>> {
        Err(DriverError::no_support("virConnectListAllDomains"))
    }
    fn list_domain_ids(&self, _max: usize) -> DriverResult<Vec<i32>> {
        Err(DriverError::no_support("virConnectListDomains"))
    }
    fn num_of_domains(&self) -> DriverResult<i32> {
        Err(DriverError::no_support("virConnectNumOfDomains"))
    }
    fn list_defined_domains(&self, _max: usize) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virConnectListDefinedDomains"))
    }
    fn num_of_defined_domains(&self) -> DriverResult<i32> {
        Err(DriverError::no_support("virConnectNumOfDefinedDomains"))
    }
    fn lookup_by_name(&self, _name: &str) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainLookupByName"))
    }
    fn lookup_by_uuid(&self, _uuid: &Uuid) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainLookupByUUID"))
    }
    fn lookup_by_id(&self, _id: i32) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainLookupByID"))
    }
    fn define_xml(&self, _xml: &str, _flags: u32) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainDefineXMLFlags"))
    }
    fn create_xml(&self, _xml: &str, _flags: u32) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainCreateXML"))
    }
    // Per-domain calls take the domain by UUID; the name in the reference only feeds messages.
    fn undefine(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainUndefineFlags"))
    }
    /// Start a defined domain; returns the handle with its new id.
    /// `virDomainCreateXMLWithFiles`: as [`Connection::create_xml`], with
    /// `fds` handed to the guest's init (lxc: from fd 3 on, LISTEN_FDS).
    fn create_xml_with_files(
        &self,
        _xml: &str,
        _fds: Vec<std::os::fd::OwnedFd>,
        _flags: u32,
    ) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainCreateXMLWithFiles"))
    }
    /// `virDomainCreateWithFiles`: as [`Connection::create`] with `fds`.
    fn create_with_files(
        &self,
        _dom: &DomainRef,
        _fds: Vec<std::os::fd::OwnedFd>,
        _flags: u32,
    ) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainCreateWithFiles"))
    }
    fn create(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<DomainHandle> {
        Err(DriverError::no_support("virDomainCreateWithFlags"))
    }
    fn destroy(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainDestroyFlags"))
    }
    fn suspend(&self, _dom: &DomainRef) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSuspend"))
    }
    fn resume(&self, _dom: &DomainRef) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainResume"))
    }
    fn shutdown(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainShutdownFlags"))
    }
    fn reboot(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainReboot"))
    }
    fn reset(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainReset"))
    }
    fn get_info(&self, _dom: &DomainRef) -> DriverResult<DomainInfo> {
        Err(DriverError::no_support("virDomainGetInfo"))
    }
    /// (state, reason).
    fn get_state(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<(i32, i32)> {
        Err(DriverError::no_support("virDomainGetState"))
    }
    fn get_xml_desc(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainGetXMLDesc"))
    }
    fn get_autostart(&self, _dom: &DomainRef) -> DriverResult<bool> {
        Err(DriverError::no_support("virDomainGetAutostart"))
    }
    fn set_autostart(&self, _dom: &DomainRef, _autostart: bool) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetAutostart"))
    }
    fn is_active(&self, _dom: &DomainRef) -> DriverResult<bool> {
        Err(DriverError::no_support("virDomainIsActive"))
    }
    fn is_persistent(&self, _dom: &DomainRef) -> DriverResult<bool> {
        Err(DriverError::no_support("virDomainIsPersistent"))
    }
    /// `virDomainSetMetadata`: description, title or an element under `<metadata>`.
    fn set_metadata(
        &self,
        _dom: &DomainRef,
        _kind: i32,
        _metadata: Option<&str>,
        _key: Option<&str>,
        _uri: Option<&str>,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetMetadata"))
    }
    /// `virDomainGetMetadata`.
    fn get_metadata(
        &self,
        _dom: &DomainRef,
        _kind: i32,
        _uri: Option<&str>,
        _flags: u32,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainGetMetadata"))
    }
    fn is_updated(&self, _dom: &DomainRef) -> DriverResult<bool> {
        Err(DriverError::no_support("virDomainIsUpdated"))
    }
    fn get_os_type(&self, _dom: &DomainRef) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainGetOSType"))
    }
    fn get_control_info(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<ControlInfo> {
        Err(DriverError::no_support("virDomainGetControlInfo"))
    }
    fn get_max_memory(&self, _dom: &DomainRef) -> DriverResult<u64> {
        Err(DriverError::no_support("virDomainGetMaxMemory"))
    }
    fn get_max_vcpus(&self, _dom: &DomainRef) -> DriverResult<i32> {
        Err(DriverError::no_support("virDomainGetMaxVcpus"))
    }
    fn get_vcpus_flags(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<i32> {
        Err(DriverError::no_support("virDomainGetVcpusFlags"))
    }
    fn has_managed_save_image(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<bool> {
        Err(DriverError::no_support("virDomainHasManagedSaveImage"))
    }
    fn snapshot_num(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<i32> {
        Err(DriverError::no_support("virDomainSnapshotNum"))
    }
    fn security_label(&self, _dom: &DomainRef) -> DriverResult<SecurityLabel> {
        Err(DriverError::no_support("virDomainGetSecurityLabel"))
    }
    fn get_messages(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virDomainGetMessages"))
    }
    fn get_hostname(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainGetHostname"))
    }
    /// A byte channel to the domain's console (`virsh console`), as a unix
    /// stream socket (a supervisor's socket, a qemu socket chardev): the
    /// daemon relays it over an RPC stream.
    fn open_console(
        &self,
        _dom: &DomainRef,
        _dev_name: Option<&str>,
        _flags: u32,
    ) -> DriverResult<std::os::unix::net::UnixStream> {
        Err(DriverError::no_support("virDomainOpenConsole"))
    }
    /// A byte channel to a guest `<channel>` (`virDomainOpenChannel`), as a
    /// unix stream socket the daemon relays over an RPC stream.
    fn open_channel(
        &self,
        _dom: &DomainRef,
        _name: Option<&str>,
        _flags: u32,
    ) -> DriverResult<std::os::unix::net::UnixStream> {
        Err(DriverError::no_support("virDomainOpenChannel"))
    }
    /// `virDomainLxcOpenNamespace` (LXC program): descriptors of the
    /// namespaces of the container's init, for a client to enter them.
    fn lxc_open_namespace(
        &self,
        _dom: &DomainRef,
        _flags: u32,
    ) -> DriverResult<Vec<std::os::fd::OwnedFd>> {
        Err(DriverError::no_support("virDomainLxcOpenNamespace"))
    }
    /// `virDomainOpenGraphicsFD`: a socket already connected to graphics
    /// device `idx`'s display server (VNC or SPICE), handed to the caller.
    fn open_graphics_fd(
        &self,
        _dom: &DomainRef,
        _idx: u32,
        _flags: u32,
    ) -> DriverResult<std::os::fd::OwnedFd> {
        Err(DriverError::no_support("virDomainOpenGraphicsFD"))
    }
    /// `virDomainOpenGraphics`: hands the caller's socket `fd` to graphics
    /// device `idx`'s display server as a new client.
    fn open_graphics(
        &self,
        _dom: &DomainRef,
        _idx: u32,
        _fd: std::os::fd::OwnedFd,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainOpenGraphics"))
    }
    /// `virDomainScreenshot`: the image's MIME type and a socket its bytes can be read
    /// from until end of file.
    fn screenshot(
        &self,
        _dom: &DomainRef,
        _screen: u32,
        _flags: u32,
    ) -> DriverResult<(String, std::os::unix::net::UnixStream)> {
        Err(DriverError::no_support("virDomainScreenshot"))
    }
    /// `virDomainSendKey`.
    fn send_key(
        &self,
        _dom: &DomainRef,
        _codeset: u32,
        _holdtime: u32,
        _keycodes: &[u32],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSendKey"))
    }
    fn managed_save(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainManagedSave"))
    }
    fn managed_save_remove(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainManagedSaveRemove"))
    }
    /// `virDomainSave(Flags)`: state and XML into `to`; the domain stops.
    fn save(
        &self,
        _dom: &DomainRef,
        _to: &str,
        _dxml: Option<&str>,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSaveFlags"))
    }
    /// `virDomainRestore(Flags)`: starts the domain saved in `from`.
    fn restore(&self, _from: &str, _dxml: Option<&str>, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainRestoreFlags"))
    }
    /// `virDomainSaveImageGetXMLDesc`: the domain XML stored in a save image.
    fn save_image_xml(&self, _file: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainSaveImageGetXMLDesc"))
    }
    /// `virDomainSaveImageDefineXML`: replaces the XML (and running state) in an image.
    fn save_image_define(&self, _file: &str, _dxml: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSaveImageDefineXML"))
    }
    /// `virDomainManagedSaveGetXMLDesc`: the XML in the domain's managed save image.
    fn managed_save_xml(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainManagedSaveGetXMLDesc"))
    }
    /// `virDomainManagedSaveDefineXML`: replaces the XML (and running state) in it.
    fn managed_save_define(
        &self,
        _dom: &DomainRef,
        _dxml: Option<&str>,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainManagedSaveDefineXML"))
    }
    /// `virDomainSetMemoryFlags` (KiB; `virDomainSetMemory` is flags 0).
    fn set_memory_flags(&self, _dom: &DomainRef, _kib: u64, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetMemoryFlags"))
    }
    /// `virDomainQemuMonitorCommandWithFiles` (QEMU program): as
    /// [`Connection::qemu_monitor_command`] with the caller's descriptors
    /// passed to QEMU along the command (`flags`: bit 0 HMP).
    fn qemu_monitor_command_with_files(
        &self,
        _dom: &DomainRef,
        _cmd: &str,
        _fds: Vec<std::os::fd::OwnedFd>,
        _flags: u32,
    ) -> DriverResult<String> {
        Err(DriverError::no_support(
            "virDomainQemuMonitorCommandWithFiles",
        ))
    }
    /// `virDomainQemuMonitorCommand` (QEMU program): QMP JSON, or HMP text when `hmp`.
    fn qemu_monitor_command(
        &self,
        _dom: &DomainRef,
        _cmd: &str,
        _hmp: bool,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainQemuMonitorCommand"))
    }
    /// `virDomainQemuAgentCommand` (QEMU program): the agent's reply text.
    fn qemu_agent_command(
        &self,
        _dom: &DomainRef,
        _cmd: &str,
        _timeout: i32,
        _flags: u32,
    ) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainQemuAgentCommand"))
    }
    /// `virNodeGetCPUMap`.
    fn node_cpu_map(&self) -> DriverResult<HostCpuMap> {
        Err(DriverError::no_support("virNodeGetCPUMap"))
    }
    /// `virDomainGetVcpus`: at most `max` vCPUs of a running domain.
    fn get_vcpus(&self, _dom: &DomainRef, _max: usize) -> DriverResult<Vec<VcpuDetail>> {
        Err(DriverError::no_support("virDomainGetVcpus"))
    }
    /// `virDomainGetVcpuPinInfo`: the host CPUs each vCPU may use.
    fn get_vcpu_pin_info(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<Vec<u32>>> {
        Err(DriverError::no_support("virDomainGetVcpuPinInfo"))
    }
    /// `virDomainGetSchedulerType`: the scheduler's name and how many parameters it has.
    fn scheduler_type(&self, _dom: &DomainRef) -> DriverResult<(String, i32)> {
        Err(DriverError::no_support("virDomainGetSchedulerType"))
    }
    /// `virDomainGetSchedulerParametersFlags`; `None` for the flag-less call.
    fn scheduler_params(
        &self,
        _dom: &DomainRef,
        flags: Option<u32>,
    ) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainGetSchedulerParametersFlags",
            None => "virDomainGetSchedulerParameters",
        }))
    }
    /// `virDomainSetSchedulerParametersFlags`; `None` for the flag-less call.
    fn set_scheduler_params(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        flags: Option<u32>,
    ) -> DriverResult<()> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainSetSchedulerParametersFlags",
            None => "virDomainSetSchedulerParameters",
        }))
    }
    /// `virDomainGetJobInfo` / `virDomainGetJobStats`: the job in progress, if any.
    /// `require_active` is the older call's refusal of an inactive domain.
    fn job_progress(
        &self,
        _dom: &DomainRef,
        require_active: bool,
    ) -> DriverResult<Option<JobProgress>> {
        Err(DriverError::no_support(if require_active {
            "virDomainGetJobInfo"
        } else {
            "virDomainGetJobStats"
        }))
    }
    /// `virDomainInterfaceAddresses`: the NICs of a running domain and their
    /// addresses from `source` (0 lease, 1 agent, 2 arp).
    fn interface_addresses(
        &self,
        _dom: &DomainRef,
        _source: u32,
        _flags: u32,
    ) -> DriverResult<Vec<super::InterfaceAddresses>> {
        Err(DriverError::no_support("virDomainInterfaceAddresses"))
    }
    /// The calls answered through the guest agent.
    fn guest_agent(&self) -> &dyn super::GuestAgentCalls {
        &super::NoGuestAgent
    }
    /// The client closed the connection (or went away).
    fn close(&self) {}
}
