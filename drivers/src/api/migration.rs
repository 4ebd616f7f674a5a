//! Live migration, version 3 with typed parameters: the five phases libvirt's
//! client (or a peer-to-peer source) drives across two daemons, and the tunables
//! of a migration in progress. Apart from [`super::Connection`] so that each driver
//! implements them in files of their own.

use super::{DomainHandle, DomainRef, DriverError, DriverResult, NamedParam};

/// `virDomainMigrateFlags`.
pub mod migrate_flags {
    pub const LIVE: u32 = 1;
    pub const PEER2PEER: u32 = 2;
    pub const TUNNELLED: u32 = 4;
    pub const PERSIST_DEST: u32 = 8;
    pub const UNDEFINE_SOURCE: u32 = 16;
    pub const PAUSED: u32 = 32;
    pub const NON_SHARED_DISK: u32 = 64;
    pub const NON_SHARED_INC: u32 = 128;
    pub const CHANGE_PROTECTION: u32 = 256;
    pub const UNSAFE: u32 = 512;
    pub const OFFLINE: u32 = 1024;
    pub const COMPRESSED: u32 = 2048;
    pub const ABORT_ON_ERROR: u32 = 4096;
    pub const AUTO_CONVERGE: u32 = 8192;
    pub const POSTCOPY: u32 = 1 << 15;
    pub const TLS: u32 = 1 << 16;
}

/// `VIR_MIGRATE_PARAM_*` names the driver reads.
pub mod migrate_param {
    pub const URI: &str = "migrate_uri";
    pub const DEST_NAME: &str = "destination_name";
    pub const DEST_XML: &str = "destination_xml";
    pub const PERSIST_XML: &str = "persistent_xml";
    pub const BANDWIDTH: &str = "bandwidth";
    pub const LISTEN_ADDRESS: &str = "listen_address";
    /// A compression method of a `--compressed` migration (may repeat).
    pub const COMPRESSION: &str = "compression";
    /// Size in bytes of the xbzrle page cache of a `--compressed` migration.
    pub const COMPRESSION_XBZRLE_CACHE: &str = "compression.xbzrle.cache";
}

/// What a phase hands back: the cookie for the other side and, depending on the
/// phase, the domain XML (begin) or the URI QEMU listens on (prepare).
#[derive(Clone, Debug, Default)]
pub struct MigrationStep {
    pub cookie: Vec<u8>,
    pub text: Option<String>,
}

pub trait DomainMigration {
    /// `virDomainMigrateBegin3Params` (source): the XML to send and a cookie.
    fn migrate_begin(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _flags: u32,
    ) -> DriverResult<MigrationStep> {
        Err(DriverError::no_support("virDomainMigrateBegin3Params"))
    }
    /// `virDomainMigratePrepare3Params` (destination): starts the incoming guest.
    fn migrate_prepare(
        &self,
        _params: &[NamedParam],
        _cookie: &[u8],
        _flags: u32,
    ) -> DriverResult<MigrationStep> {
        Err(DriverError::no_support("virDomainMigratePrepare3Params"))
    }
    /// `virDomainMigratePrepareTunnel3Params` (destination): starts the incoming
    /// guest reading its state from the returned socket, whose other end QEMU
    /// holds; the caller feeds it the bytes of the call's stream.
    fn migrate_prepare_tunnel(
        &self,
        _params: &[NamedParam],
        _cookie: &[u8],
        _flags: u32,
    ) -> DriverResult<(MigrationStep, std::os::unix::net::UnixStream)> {
        Err(DriverError::no_support(
            "virDomainMigratePrepareTunnel3Params",
        ))
    }
    /// Perform of a tunnelled migration (source): QEMU writes the guest's state
    /// into `tunnel`, whose other end the caller relays to the destination.
    fn migrate_perform_tunnel(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _cookie: &[u8],
        _flags: u32,
        _tunnel: std::os::unix::net::UnixStream,
    ) -> DriverResult<MigrationStep> {
        Err(DriverError::no_support("virDomainMigratePerform3Params"))
    }
    /// `virDomainMigratePerform3Params` (source): sends the guest. `dconnuri` is the
    /// destination daemon of a peer-to-peer migration.
    fn migrate_perform(
        &self,
        _dom: &DomainRef,
        _dconnuri: Option<&str>,
        _params: &[NamedParam],
        _cookie: &[u8],
        _flags: u32,
    ) -> DriverResult<MigrationStep> {
        Err(DriverError::no_support("virDomainMigratePerform3Params"))
    }
    /// `virDomainMigrateFinish3Params` (destination): runs the guest, or cleans up
    /// when `cancelled`.
    fn migrate_finish(
        &self,
        _params: &[NamedParam],
        _cookie: &[u8],
        _flags: u32,
        _cancelled: bool,
    ) -> DriverResult<(DomainHandle, Vec<u8>)> {
        Err(DriverError::no_support("virDomainMigrateFinish3Params"))
    }
    /// `virDomainMigrateConfirm3Params` (source): stops the sent guest, or resumes
    /// it when `cancelled`.
    fn migrate_confirm(
        &self,
        _dom: &DomainRef,
        _params: &[NamedParam],
        _cookie: &[u8],
        _flags: u32,
        _cancelled: bool,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainMigrateConfirm3Params"))
    }
    /// `virDomainMigrateSetMaxSpeed` (MiB/s).
    fn migrate_set_max_speed(&self, _dom: &DomainRef, _mib: u64, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainMigrateSetMaxSpeed"))
    }
    /// `virDomainMigrateGetMaxSpeed` (MiB/s).
    fn migrate_get_max_speed(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<u64> {
        Err(DriverError::no_support("virDomainMigrateGetMaxSpeed"))
    }
    /// `virDomainMigrateSetMaxDowntime` (milliseconds).
    fn migrate_set_max_downtime(
        &self,
        _dom: &DomainRef,
        _ms: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainMigrateSetMaxDowntime"))
    }
    /// `virDomainMigrateGetMaxDowntime` (milliseconds).
    fn migrate_get_max_downtime(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<u64> {
        Err(DriverError::no_support("virDomainMigrateGetMaxDowntime"))
    }
    /// `virDomainMigrateGetCompressionCache` (bytes of the xbzrle page cache).
    fn migrate_get_compression_cache(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<u64> {
        Err(DriverError::no_support(
            "virDomainMigrateGetCompressionCache",
        ))
    }
    /// `virDomainMigrateSetCompressionCache` (bytes).
    fn migrate_set_compression_cache(
        &self,
        _dom: &DomainRef,
        _bytes: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support(
            "virDomainMigrateSetCompressionCache",
        ))
    }
    /// `virDomainMigrateStartPostCopy` (source): switches a running
    /// `VIR_MIGRATE_POSTCOPY` migration to post-copy.
    fn migrate_start_postcopy(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainMigrateStartPostCopy"))
    }
    /// `virDomainAbortJob(Flags)`; `None` for the flag-less call.
    fn abort_job(&self, _dom: &DomainRef, flags: Option<u32>) -> DriverResult<()> {
        Err(DriverError::no_support(match flags {
            Some(_) => "virDomainAbortJobFlags",
            None => "virDomainAbortJob",
        }))
    }
}
