//! Block device operations on running guests (`virsh blockresize`, `blockjob`),
//! apart from [`super::Connection`] so that each driver implements them in files
//! of their own.

use super::{DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_BLOCK_RESIZE_BYTES`: the size is in bytes, not KiB.
pub const BLOCK_RESIZE_BYTES: u32 = 1;

/// What `virDomainGetBlockJobInfo` reports of the job on one disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockJobInfo {
    /// `virDomainBlockJobType`.
    pub kind: i32,
    pub bandwidth: u64,
    pub cur: u64,
    pub end: u64,
}

/// The typed parameters of `virDomainBlockCopy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockCopyParams {
    /// Bytes per second; 0 is unlimited.
    pub bandwidth: u64,
    /// Dirty bitmap granularity in bytes; 0 lets QEMU choose.
    pub granularity: u32,
    /// Copy buffer size in bytes; 0 lets QEMU choose.
    pub buf_size: u64,
}

pub trait DomainBlockJobs {
    /// `virDomainBlockResize`: `size` in KiB, or bytes with [`BLOCK_RESIZE_BYTES`].
    fn block_resize(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _size: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockResize"))
    }
    /// `virDomainGetBlockJobInfo`; `None` when the disk has no job.
    fn block_job_info(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _flags: u32,
    ) -> DriverResult<Option<BlockJobInfo>> {
        Err(DriverError::no_support("virDomainGetBlockJobInfo"))
    }
    /// `virDomainBlockCommit`: `bandwidth` in MiB/s unless the flags say bytes.
    fn block_commit(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _base: Option<&str>,
        _top: Option<&str>,
        _bandwidth: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockCommit"))
    }
    /// `virDomainBlockPull`.
    fn block_pull(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _bandwidth: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockPull"))
    }
    /// `virDomainBlockJobAbort` (also the pivot of a ready job).
    fn block_job_abort(&self, _dom: &DomainRef, _disk: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockJobAbort"))
    }
    /// `virDomainBlockJobSetSpeed`.
    fn block_job_set_speed(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _bandwidth: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockJobSetSpeed"))
    }
    /// `virDomainBlockCopy` to the `<disk>` described by `destxml`.
    fn block_copy(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _destxml: &str,
        _params: &BlockCopyParams,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockCopy"))
    }
    /// `virDomainBlockRebase`: `base` is the copy's destination with the COPY flag.
    fn block_rebase(
        &self,
        _dom: &DomainRef,
        _disk: &str,
        _base: Option<&str>,
        _bandwidth: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBlockRebase"))
    }
    /// `virDomainSetBlockThreshold`: a BLOCK_THRESHOLD event once the guest
    /// writes past `threshold` bytes of `dev`.
    fn set_block_threshold(
        &self,
        _dom: &DomainRef,
        _dev: &str,
        _threshold: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetBlockThreshold"))
    }
}
