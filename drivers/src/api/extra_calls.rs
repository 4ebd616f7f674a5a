//! Per-disk I/O throttling (`virsh blkdeviotune`), NIC bandwidth (`domiftune`)
//! renaming (`domrename`), NMI injection, lifecycle actions, IOThread parameters
//! dirty rate measurement, memory-only core dumps, peeks at disks and memory, and
//! host memory settings, apart from
//! [`super::Connection`] so that each driver implements them in files of their own.

use super::{DomainRef, DriverError, DriverResult, NamedParam};

pub trait DomainExtraCalls {
    /// `virDomainGetBlockIoTune`: the throttling parameters of `disk` (target
    /// name or source path); `None` only when asking for the count.
    fn block_iotune(
        &self,
        _dom: &DomainRef,
        _disk: Option<&str>,
        _flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetBlockIoTune"))
    }
    /// `virDomainSetBlockIoTune`.
    fn set_block_iotune(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetBlockIoTune"))
    }
    /// `virDomainSendProcessSignal`: `signum` (a `virDomainProcessSignal`,
    /// numbered as Linux numbers signals) to the guest's process `pid`.
    fn send_process_signal(
        &self,
        _dom: &DomainRef,
        _pid: i64,
        _signum: u32,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSendProcessSignal"))
    }
    /// `virDomainInjectNMI`.
    fn inject_nmi(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainInjectNMI"))
    }
    /// `virDomainGetInterfaceParameters`: the bandwidth of the NIC `device`
    /// (target device or MAC address).
    fn interface_params(
        &self,
        _dom: &DomainRef,
        _device: &str,
        _flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetInterfaceParameters"))
    }
    /// `virDomainSetInterfaceParameters`.
    fn set_interface_params(
        &self,
        _dom: &DomainRef,
        _device: &str,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetInterfaceParameters"))
    }
    /// `virDomainRename`.
    fn rename(&self, _dom: &DomainRef, _new_name: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainRename"))
    }
    /// `virDomainSetLifecycleAction`: `kind` a `virDomainLifecycle`, `action` a
    /// `virDomainLifecycleAction`.
    fn set_lifecycle_action(
        &self,
        _dom: &DomainRef,
        _kind: u32,
        _action: u32,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetLifecycleAction"))
    }
    /// `virDomainSetIOThreadParams`.
    fn set_iothread_params(
        &self,
        _dom: &DomainRef,
        _id: u32,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetIOThreadParams"))
    }
    /// `virDomainStartDirtyRateCalc`.
    fn start_dirty_rate_calc(
        &self,
        _dom: &DomainRef,
        _seconds: i32,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainStartDirtyRateCalc"))
    }
    /// `virDomainCoreDumpWithFormat` (`format` a `virDomainCoreDumpFormat`);
    /// `virDomainCoreDump` is the raw format.
    fn core_dump(
        &self,
        _dom: &DomainRef,
        _to: &str,
        _format: u32,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainCoreDumpWithFormat"))
    }
    /// `virDomainBlockPeek`: `size` bytes at `offset` of the disk `path`.
    fn block_peek(
        &self,
        _dom: &DomainRef,
        _path: &str,
        _offset: u64,
        _size: u32,
        _flags: u32,
    ) -> DriverResult<Vec<u8>> {
        Err(DriverError::no_support("virDomainBlockPeek"))
    }
    /// `virDomainMemoryPeek`.
    fn memory_peek(
        &self,
        _dom: &DomainRef,
        _offset: u64,
        _size: u32,
        _flags: u32,
    ) -> DriverResult<Vec<u8>> {
        Err(DriverError::no_support("virDomainMemoryPeek"))
    }
    /// `virNodeGetMemoryParameters` (kernel same-page merging).
    fn node_memory_params(&self, _flags: u32) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virNodeGetMemoryParameters"))
    }
    /// `virNodeSetMemoryParameters`.
    fn set_node_memory_params(&self, _params: &[NamedParam], _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virNodeSetMemoryParameters"))
    }
    /// `virNodeGetFreePages`: free pages of each size (KiB) in `pages`, per cell.
    fn node_free_pages(
        &self,
        _pages: &[u32],
        _start_cell: i32,
        _cell_count: u32,
        _flags: u32,
    ) -> DriverResult<Vec<u64>> {
        Err(DriverError::no_support("virNodeGetFreePages"))
    }
    /// `virNodeAllocPages`: sizes the huge page pools of each page size (KiB)
    /// on `cell_count` cells from `start_cell` (-1: system-wide); answers how
    /// many pools were sized.
    fn node_alloc_pages(
        &self,
        _sizes: &[u32],
        _counts: &[u64],
        _start_cell: i32,
        _cell_count: u32,
        _flags: u32,
    ) -> DriverResult<i32> {
        Err(DriverError::no_support("virNodeAllocPages"))
    }
    /// `virConnectDomainXMLToNative`: the hypervisor's own form of a definition.
    fn domain_xml_to_native(&self, _format: &str, _xml: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virConnectDomainXMLToNative"))
    }
}
