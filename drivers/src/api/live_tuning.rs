//! Changing a domain's resources, live or in its definition (`virsh setvcpus`,
//! `vcpupin`, `emulatorpin`, `setmaxmem`, `iothreadinfo`, `iothreadadd`,
//! `iothreaddel`), apart from [`super::Connection`] so that each driver
//! implements them in files of their own.

use super::{DomainRef, DriverError, DriverResult, NamedParam};

/// `VIR_DOMAIN_VCPU_*` flags of `virDomainSetVcpusFlags` beyond the affect flags.
pub mod set_vcpu_flags {
    pub const MAXIMUM: u32 = 4;
    pub const GUEST: u32 = 8;
    pub const HOTPLUGGABLE: u32 = 16;
}

pub trait DomainLiveTuning {
    /// `virDomainSetVcpusFlags`; `None` for the flag-less `virDomainSetVcpus`.
    fn set_vcpus(&self, _dom: &DomainRef, _count: u32, flags: Option<u32>) -> DriverResult<()> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainSetVcpusFlags",
            None => "virDomainSetVcpus",
        }))
    }
    /// `virDomainSetVcpu`: enables (`enable`) or disables the vCPUs listed in
    /// `cpulist` ("1-2,4").
    fn set_vcpu(
        &self,
        _dom: &DomainRef,
        _cpulist: &str,
        _enable: bool,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetVcpu"))
    }
    /// `virDomainSetMaxMemory` (KiB).
    fn set_max_memory(&self, _dom: &DomainRef, _kib: u64) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetMaxMemory"))
    }
    /// `virDomainPinVcpuFlags`; `None` for the flag-less `virDomainPinVcpu`.
    fn pin_vcpu(
        &self,
        _dom: &DomainRef,
        _vcpu: u32,
        _cpus: &[u32],
        flags: Option<u32>,
    ) -> DriverResult<()> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainPinVcpuFlags",
            None => "virDomainPinVcpu",
        }))
    }
    fn pin_emulator(&self, _dom: &DomainRef, _cpus: &[u32], _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainPinEmulator"))
    }
    /// `virDomainGetEmulatorPinInfo`: the host CPUs the emulator threads may use.
    fn emulator_pin_info(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<u32>> {
        Err(DriverError::no_support("virDomainGetEmulatorPinInfo"))
    }
    /// `virDomainGetIOThreadInfo`: (id, host CPUs) per IOThread.
    fn iothread_info(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<(u32, Vec<u32>)>> {
        Err(DriverError::no_support("virDomainGetIOThreadInfo"))
    }
    fn pin_iothread(
        &self,
        _dom: &DomainRef,
        _id: u32,
        _cpus: &[u32],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainPinIOThread"))
    }
    fn add_iothread(&self, _dom: &DomainRef, _id: u32, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainAddIOThread"))
    }
    fn del_iothread(&self, _dom: &DomainRef, _id: u32, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainDelIOThread"))
    }
    /// `virDomainGetMemoryParameters` (`memtune`).
    fn memory_params(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetMemoryParameters"))
    }
    fn set_memory_params(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetMemoryParameters"))
    }
    /// `virDomainGetNumaParameters` (`numatune`).
    fn numa_params(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetNumaParameters"))
    }
    fn set_numa_params(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetNumaParameters"))
    }
    /// `virDomainGetBlkioParameters` (`blkiotune`).
    fn blkio_params(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetBlkioParameters"))
    }
    fn set_blkio_params(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetBlkioParameters"))
    }
    /// `virDomainGetPerfEvents` (`virsh perf`): every perf event by name, enabled or not.
    fn perf_events(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetPerfEvents"))
    }
    /// `virDomainSetPerfEvents`: booleans named after the events.
    fn set_perf_events(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetPerfEvents"))
    }
}
