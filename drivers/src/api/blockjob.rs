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
}
