//! Statistics of the qemu driver's guests: block counters from `query-blockstats`,
//! sizes from the image files, balloon statistics, NIC counters of tap devices,
//! CPU accounting from the guest's cgroup and the bulk `domstats` groups.

mod bulk;
mod cpu;
mod disks;
mod interfaces;
mod memory;

pub(super) use memory::apply_period as apply_balloon_period;

use std::sync::Arc;

use super::connection::QemuConnection;
use super::lifecycle::not_running;
use super::qmp::Monitor;
use crate::api::{
    domains, BlockInfo, BlockStats, DomainRef, DomainStatistics, DomainStatsRecord, DriverResult,
    InterfaceStats, NamedParam, StatsRequest,
};
use crate::domain_xml::DomainDef;

impl DomainStatistics for QemuConnection {
    fn block_stats(&self, dom: &DomainRef, path: &str) -> DriverResult<BlockStats> {
        let (def, monitor, _) = self.inner.live_parts(dom)?;
        disks::block_stats(&def, &monitor, path)
    }

    fn block_stats_flags(&self, dom: &DomainRef, path: &str) -> DriverResult<BlockStats> {
        self.block_stats(dom, path)
    }

    fn interface_stats(&self, dom: &DomainRef, path: &str) -> DriverResult<InterfaceStats> {
        let (def, _, _) = self.inner.live_parts(dom)?;
        interfaces::interface_stats(&def, path)
    }

    fn memory_stats(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<(i32, u64)>> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainMemoryStats")?;
        let (def, monitor, pid) = self.inner.live_parts(dom)?;
        Ok(memory::memory_stats(&def, &monitor, pid))
    }

    fn set_memory_stats_period(
        &self,
        dom: &DomainRef,
        period: i32,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_memory_stats_period(dom, period, flags)
    }

    fn block_info(&self, dom: &DomainRef, path: &str, flags: u32) -> DriverResult<BlockInfo> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainGetBlockInfo")?;
        let def = self.inner.lock().get(dom)?.def.clone();
        disks::block_info(&def, path)
    }

    fn disk_errors(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<(String, i32)>> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainGetDiskErrors")?;
        let (def, monitor, _) = self.inner.live_parts(dom)?;
        Ok(disks::disk_errors(&def, &monitor))
    }

    fn cpu_stats(
        &self,
        dom: &DomainRef,
        cpus: Option<(u32, u32)>,
        flags: u32,
    ) -> DriverResult<Vec<Vec<NamedParam>>> {
        // VIR_TYPED_PARAM_STRING_OKAY, which the remote client always adds.
        super::lifecycle::check_flags(flags, 1 << 2, "qemuDomainGetCPUStats")?;
        if let Some((_, 0)) = cpus {
            // How many host CPUs a per-CPU answer would cover.
            self.inner.live_parts(dom)?;
            let count = super::vcpus::host_cpu_map().cpus as usize;
            return Ok(vec![Vec::new(); count]);
        }
        let (_, _, pid) = self.inner.live_parts(dom)?;
        cpu::cpu_stats(pid, cpus)
    }

    fn all_domain_stats(&self, request: &StatsRequest) -> DriverResult<Vec<DomainStatsRecord>> {
        bulk::all_domain_stats(&self.inner, request)
    }

    fn node_cpu_stats(&self, cpu: Option<u32>, flags: u32) -> DriverResult<Vec<(String, u64)>> {
        super::lifecycle::check_flags(flags, 0, "qemuNodeGetCPUStats")?;
        crate::host::node_cpu_stats(cpu, domains::QEMU)
    }

    fn node_memory_stats(&self, cell: Option<u32>, flags: u32) -> DriverResult<Vec<(String, u64)>> {
        super::lifecycle::check_flags(flags, 0, "qemuNodeGetMemoryStats")?;
        crate::host::node_memory_stats(cell, domains::QEMU)
    }
}

impl super::Inner {
    /// The live definition, monitor and QEMU pid of a running domain.
    pub(super) fn live_parts(
        &self,
        dom: &DomainRef,
    ) -> DriverResult<(DomainDef, Arc<Monitor>, i32)> {
        let st = self.lock();
        let obj = st.get(dom)?;
        match &obj.run {
            Some(run) => Ok((obj.def.clone(), Arc::clone(&run.monitor), run.process.pid)),
            None => Err(not_running()),
        }
    }
}

/// The alias a device runs under (`<alias name>` of the live definition).
pub(super) fn alias_of(device: &crate::domain_xml::Element) -> Option<&str> {
    device.child("alias").and_then(|a| a.attr("name"))
}
