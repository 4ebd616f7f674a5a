//! A client's connection to `test:///default`: every call locks the shared state briefly
//! and delivers the events it produced after unlocking.

use std::sync::{Arc, Mutex, MutexGuard};

use super::lifecycle::WithEvents;
use super::state::TestState;
use super::{defaults, parse_options};
use crate::api::{
    domains, feature, Connection, ControlInfo, DomainHandle, DomainInfo, DomainRef, DriverError,
    DriverResult, EventSink, NodeInfo, SecurityLabel, SecurityModel,
};
use crate::domain_xml::parse_domain_xml;

pub struct TestConnection {
    state: Arc<Mutex<TestState>>,
    events: EventSink,
}

impl TestConnection {
    pub(super) fn new(state: Arc<Mutex<TestState>>, events: EventSink) -> Self {
        TestConnection { state, events }
    }

    /// Locks the state; a panic in another call must not make the driver unusable, so a
    /// poisoned lock is recovered (every mutation leaves the state consistent).
    pub(super) fn lock(&self) -> MutexGuard<'_, TestState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a mutation under the lock, then emits its events.
    fn mutate<T>(
        &self,
        op: impl FnOnce(&mut TestState) -> DriverResult<WithEvents<T>>,
    ) -> DriverResult<T> {
        let (value, events) = {
            let mut state = self.lock();
            op(&mut state)?
        };
        for event in events {
            (self.events)(event);
        }
        Ok(value)
    }
}

impl Connection for TestConnection {
    fn uri(&self) -> String {
        defaults::DEFAULT_URI.to_string()
    }

    fn hv_type(&self) -> String {
        defaults::HV_TYPE.to_string()
    }

    fn hv_version(&self) -> DriverResult<u64> {
        Ok(defaults::HV_VERSION)
    }

    fn hostname(&self) -> DriverResult<String> {
        Ok(crate::host::hostname())
    }

    fn sysinfo(&self, flags: u32) -> DriverResult<String> {
        super::lifecycle::check_unsupported_flags(flags, 0, "testConnectGetSysinfo")?;
        Ok(defaults::SYSINFO_XML.to_string())
    }

    fn capabilities(&self) -> DriverResult<String> {
        Ok(defaults::capabilities_xml())
    }

    fn node_info(&self) -> DriverResult<NodeInfo> {
        Ok(defaults::node_info())
    }

    fn max_vcpus(&self, _hv_type: Option<&str>) -> DriverResult<i32> {
        Ok(defaults::MAX_VCPUS)
    }

    fn node_free_memory(&self) -> DriverResult<u64> {
        Ok(defaults::CELLS.iter().map(|(_, free)| free).sum())
    }

    fn node_cells_free_memory(&self, start: i32, max: i32) -> DriverResult<Vec<u64>> {
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        if start >= defaults::CELLS.len() {
            return Err(DriverError::invalid_arg("Range exceeds available cells"));
        }
        let max = usize::try_from(max).unwrap_or(0);
        Ok(defaults::CELLS[start..]
            .iter()
            .take(max)
            .map(|(memory, _)| *memory)
            .collect())
    }

    fn node_security_model(&self) -> DriverResult<SecurityModel> {
        Ok(defaults::security_model())
    }

    fn is_secure(&self) -> bool {
        true
    }

    fn is_encrypted(&self) -> bool {
        false
    }

    fn supports_feature(&self, feature: i32) -> bool {
        matches!(
            feature,
            feature::TYPED_PARAM_STRING | feature::NETWORK_UPDATE_HAS_CORRECT_ORDER
        )
    }

    fn list_all_domains(&self, flags: u32) -> DriverResult<Vec<DomainHandle>> {
        self.lock().list_all(flags)
    }

    crate::domain_list::list_queries!(lock);

    fn define_xml(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        let def = parse_domain_xml(xml, &parse_options())?;
        self.mutate(|state| state.define(def, flags))
    }

    fn create_xml(&self, xml: &str, flags: u32) -> DriverResult<DomainHandle> {
        let def = parse_domain_xml(xml, &parse_options())?;
        self.mutate(|state| state.create_xml(def, flags))
    }

    fn undefine(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.mutate(|state| state.undefine(dom, flags))
    }

    fn create(&self, dom: &DomainRef, flags: u32) -> DriverResult<DomainHandle> {
        self.mutate(|state| state.create(dom, flags))
    }

    fn destroy(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.mutate(|state| state.destroy(dom, flags))
    }

    fn suspend(&self, dom: &DomainRef) -> DriverResult<()> {
        self.mutate(|state| state.suspend(dom))
    }

    fn resume(&self, dom: &DomainRef) -> DriverResult<()> {
        self.mutate(|state| state.resume(dom))
    }

    fn shutdown(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.mutate(|state| state.shutdown(dom, flags))
    }

    fn reboot(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.mutate(|state| state.reboot(dom, flags))
    }

    fn reset(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.mutate(|state| state.reset(dom, flags))
    }

    fn get_info(&self, dom: &DomainRef) -> DriverResult<DomainInfo> {
        self.lock().info(dom)
    }

    fn get_state(&self, dom: &DomainRef, flags: u32) -> DriverResult<(i32, i32)> {
        self.lock().state_of(dom, flags)
    }

    fn get_xml_desc(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        self.lock().xml_desc(dom, flags)
    }

    fn get_control_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<ControlInfo> {
        self.lock().control_info(dom, flags)
    }

    fn set_autostart(&self, dom: &DomainRef, autostart: bool) -> DriverResult<()> {
        self.lock().get_mut(dom)?.autostart = autostart;
        Ok(())
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
        self.mutate(|st| st.set_metadata(dom, kind, metadata, key, uri, flags))
    }

    fn get_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> DriverResult<String> {
        self.lock().get_metadata(dom, kind, uri, flags)
    }

    fn is_updated(&self, _dom: &DomainRef) -> DriverResult<bool> {
        // The test driver answers "not updated" without even looking the domain up.
        Ok(false)
    }

    fn get_os_type(&self, _dom: &DomainRef) -> DriverResult<String> {
        // Likewise a constant, for any domain reference.
        Ok(defaults::DOMAIN_OS_TYPE.to_string())
    }

    fn get_max_vcpus(&self, dom: &DomainRef) -> DriverResult<i32> {
        self.lock().max_vcpus(dom)
    }

    fn get_vcpus_flags(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        self.lock().vcpus_flags(dom, flags)
    }

    fn has_managed_save_image(&self, dom: &DomainRef, flags: u32) -> DriverResult<bool> {
        self.lock().managed_save(dom, flags)
    }

    fn managed_save(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.mutate(|state| state.managed_save_domain(dom, flags))
    }

    fn managed_save_remove(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.lock().managed_save_remove(dom, flags)
    }

    fn snapshot_num(&self, dom: &DomainRef, flags: u32) -> DriverResult<i32> {
        self.lock().snapshots(dom, flags)
    }

    fn security_label(&self, dom: &DomainRef) -> DriverResult<SecurityLabel> {
        self.lock().security_label(dom)
    }

    fn get_messages(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<String>> {
        self.lock().messages(dom, flags)
    }

    fn get_hostname(&self, dom: &DomainRef, flags: u32) -> DriverResult<String> {
        self.lock().hostname_of(dom, flags)
    }
}

/// Error for a test URI other than `test:///default`.
pub(super) fn unsupported_path(path: &str) -> DriverError {
    DriverError::new(
        crate::api::codes::NO_CONNECT,
        domains::TEST,
        format!("test driver serves only test:///default; configuration files such as '{path}' are not supported"),
    )
}

impl crate::api::DomainDevices for TestConnection {}

impl crate::api::DomainLiveTuning for TestConnection {}
impl crate::api::DomainMigration for TestConnection {}
impl crate::api::DomainExtraCalls for TestConnection {}

impl crate::api::DomainSnapshots for TestConnection {}

impl crate::api::DomainCheckpoints for TestConnection {}

impl crate::api::DomainBlockJobs for TestConnection {}
