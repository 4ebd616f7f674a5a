//! Live tuning of the qemu driver's guests: vCPU hot plug (`setvcpus`), the maximum
//! memory (`setmaxmem`), real CPU affinity of vCPU and emulator threads
//! (`vcpupin`, `emulatorpin`, kept as `<cputune>`), IOThreads and perf events.

mod affinity;
mod blkio;
pub(super) mod block_iotune;
mod guest_knobs;
mod interface_tune;
pub(super) mod iothreads;
mod memory_limits;
mod memory_numa;
mod perf_events;
pub(super) mod pinning;
mod vcpus;

use super::connection::QemuConnection;
use super::error::QemuError;
use super::Inner;
use crate::api::{DomainLiveTuning, DomainRef, DriverResult, NamedParam};

/// `VIR_DOMAIN_AFFECT_LIVE` / `_CONFIG`.
const LIVE: u32 = 1;
const CONFIG: u32 = 2;

impl DomainLiveTuning for QemuConnection {
    fn set_vcpus(&self, dom: &DomainRef, count: u32, flags: Option<u32>) -> DriverResult<()> {
        self.inner.set_vcpus(dom, count, flags.unwrap_or(LIVE))
    }

    fn set_vcpu(
        &self,
        dom: &DomainRef,
        cpulist: &str,
        enable: bool,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_vcpu(dom, cpulist, enable, flags)
    }

    /// As libvirt: the maximum memory of the definition in effect ("current").
    fn set_max_memory(&self, dom: &DomainRef, kib: u64) -> DriverResult<()> {
        self.inner.set_memory(dom, kib, 4)
    }

    fn pin_vcpu(
        &self,
        dom: &DomainRef,
        vcpu: u32,
        cpus: &[u32],
        flags: Option<u32>,
    ) -> DriverResult<()> {
        self.inner.pin_vcpu(dom, vcpu, cpus, flags.unwrap_or(LIVE))
    }

    fn pin_emulator(&self, dom: &DomainRef, cpus: &[u32], flags: u32) -> DriverResult<()> {
        self.inner.pin_emulator(dom, cpus, flags)
    }

    fn emulator_pin_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<u32>> {
        self.inner.emulator_pin_info(dom, flags)
    }

    fn iothread_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<(u32, Vec<u32>)>> {
        self.inner.iothread_info(dom, flags)
    }

    fn pin_iothread(&self, dom: &DomainRef, id: u32, cpus: &[u32], flags: u32) -> DriverResult<()> {
        self.inner.pin_iothread(dom, id, cpus, flags)
    }

    fn memory_params(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        self.inner.memory_params(dom, flags)
    }

    fn set_memory_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_memory_params(dom, params, flags)
    }

    fn numa_params(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        self.inner.numa_params(dom, flags)
    }

    fn set_numa_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_numa_params(dom, params, flags)
    }

    fn blkio_params(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        self.inner.blkio_params(dom, flags)
    }

    fn set_blkio_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_blkio_params(dom, params, flags)
    }

    fn perf_events(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        self.inner.perf_events(dom, flags)
    }

    fn set_perf_events(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_perf_events(dom, params, flags)
    }

    fn add_iothread(&self, dom: &DomainRef, id: u32, flags: u32) -> DriverResult<()> {
        self.inner.change_iothread(dom, id, flags, true)
    }

    fn del_iothread(&self, dom: &DomainRef, id: u32, flags: u32) -> DriverResult<()> {
        self.inner.change_iothread(dom, id, flags, false)
    }
}

impl Inner {
    /// (live, config) for affect flags, checked against the domain's state as
    /// libvirt checks them.
    fn affect(&self, dom: &DomainRef, flags: u32) -> DriverResult<(bool, bool)> {
        let st = self.lock();
        let obj = st.get(dom)?;
        let (live, config) = match flags & (LIVE | CONFIG) {
            0 => (obj.is_active(), !obj.is_active()),
            f => (f & LIVE != 0, f & CONFIG != 0),
        };
        if live && !obj.is_active() {
            return Err(super::lifecycle::not_running());
        }
        if config && !obj.persistent {
            return Err(QemuError::InvalidState(
                "transient domains do not have any persistent config".into(),
            )
            .into());
        }
        Ok((live, config))
    }

    /// Applies `change` to the persistent definition and saves it.
    fn change_config(
        &self,
        dom: &DomainRef,
        change: impl FnOnce(&mut crate::domain_xml::DomainDef) -> DriverResult<()>,
    ) -> DriverResult<()> {
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        let mut def = obj.persistent_def().clone();
        change(&mut def)?;
        super::store::save_config(&self.paths, &def)?;
        if obj.is_active() {
            obj.new_def = Some(def);
        } else {
            obj.def = def;
        }
        Ok(())
    }

    /// Applies `change` to the live definition and records it in the status file.
    fn change_live(
        &self,
        dom: &DomainRef,
        change: impl FnOnce(&mut crate::domain_xml::DomainDef),
    ) -> DriverResult<()> {
        let mut st = self.lock();
        let obj = st.get_mut(dom)?;
        change(&mut obj.def);
        self.persist_status(obj);
        Ok(())
    }
}

pub(super) use iothreads::iothread_ids;
pub(super) use perf_events::{
    open_at_start as open_perf_at_start, reopen_after_restart as reopen_perf_events,
};
pub(super) use vcpus::plug_vcpus;

/// Applies the definition's `<memtune>`, `<blkiotune>` and `<numatune>` to the cgroups of
/// a guest that just started. Best effort: what the host cannot apply is logged.
pub(super) fn apply_at_start(def: &crate::domain_xml::DomainDef, pid: i32) {
    memory_numa::apply_at_start(def, pid);
    blkio::apply_at_start(def, pid);
}
