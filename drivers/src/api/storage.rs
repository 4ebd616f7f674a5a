//! The storage driver API (libvirt's `virtstoraged`): pools and volumes, served as a
//! secondary driver on hypervisor connections and as the primary one for `storage:///`.

use std::path::PathBuf;
use std::sync::Arc;

use super::{DriverError, DriverResult, Uuid};

/// What a client holds for a pool (libvirt's `remote_nonnull_storage_pool`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolHandle {
    pub name: String,
    pub uuid: Uuid,
}

/// What a client holds for a volume (libvirt's `remote_nonnull_storage_vol`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeHandle {
    pub pool: String,
    pub name: String,
    pub key: String,
}

/// `virStoragePoolGetInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// `VIR_STORAGE_POOL_*`: 0 inactive, 1 building, 2 running.
    pub state: u8,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

/// `virStorageVolGetInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    /// `VIR_STORAGE_VOL_*`: 0 file, 1 block, 2 dir.
    pub kind: u8,
    pub capacity: u64,
    pub allocation: u64,
}

/// What a guest disk naming a volume resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeTarget {
    pub path: PathBuf,
    /// "raw", "qcow2", ...
    pub format: String,
    /// Whether the volume is a block device (disk type='block' for the emulator).
    pub block: bool,
    /// Whether the volume is a directory (a container's filesystem can bind it).
    pub directory: bool,
}

/// Storage pool lifecycle and refresh events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolEventKind {
    /// `VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE` with its event and detail numbers.
    Lifecycle { event: i32, detail: i32 },
    /// `VIR_STORAGE_POOL_EVENT_ID_REFRESH`.
    Refresh,
}

/// One event about one pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolEvent {
    pub pool: PoolHandle,
    pub kind: PoolEventKind,
}

/// `virStoragePoolEventLifecycleType` values.
pub mod pool_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
    pub const CREATED: i32 = 4;
    pub const DELETED: i32 = 5;
}

/// Where the storage driver delivers pool events.
pub type PoolEventSink = Arc<dyn Fn(PoolEvent) + Send + Sync>;

/// Tells whether a running guest uses a volume (by pool and volume name, or by
/// its path); the answer names the guest.
pub type InUseProbe = Arc<dyn Fn(&str, &str, &std::path::Path) -> Option<String> + Send + Sync>;

/// A byte stream between a client and a volume (upload or download). The driver's side
/// runs on its own thread; the daemon relays messages.
pub enum TransferChunk {
    Data(Vec<u8>),
    /// A hole of this many bytes (sparse streams).
    Hole(u64),
}

macro_rules! unsupported {
    ($api:literal) => {
        Err(DriverError::no_support($api))
    };
}

/// One client's storage connection. Every method defaults to libvirt's "not supported".
pub trait StorageConnection: Send + Sync {
    fn list_all_pools(&self, _flags: u32) -> DriverResult<Vec<PoolHandle>> {
        unsupported!("virConnectListAllStoragePools")
    }
    fn num_of_pools(&self) -> DriverResult<i32> {
        unsupported!("virConnectNumOfStoragePools")
    }
    fn list_pools(&self, _max: i32) -> DriverResult<Vec<String>> {
        unsupported!("virConnectListStoragePools")
    }
    fn num_of_defined_pools(&self) -> DriverResult<i32> {
        unsupported!("virConnectNumOfDefinedStoragePools")
    }
    fn list_defined_pools(&self, _max: i32) -> DriverResult<Vec<String>> {
        unsupported!("virConnectListDefinedStoragePools")
    }
    fn find_pool_sources(
        &self,
        _kind: &str,
        _spec: Option<&str>,
        _flags: u32,
    ) -> DriverResult<String> {
        unsupported!("virConnectFindStoragePoolSources")
    }
    fn pool_capabilities(&self, _flags: u32) -> DriverResult<String> {
        unsupported!("virConnectGetStoragePoolCapabilities")
    }
    fn pool_lookup_by_name(&self, _name: &str) -> DriverResult<PoolHandle> {
        unsupported!("virStoragePoolLookupByName")
    }
    fn pool_lookup_by_uuid(&self, _uuid: &Uuid) -> DriverResult<PoolHandle> {
        unsupported!("virStoragePoolLookupByUUID")
    }
    fn pool_lookup_by_volume(&self, _vol: &VolumeHandle) -> DriverResult<PoolHandle> {
        unsupported!("virStoragePoolLookupByVolume")
    }
    fn pool_lookup_by_target_path(&self, _path: &str) -> DriverResult<PoolHandle> {
        unsupported!("virStoragePoolLookupByTargetPath")
    }
    fn pool_define_xml(&self, _xml: &str, _flags: u32) -> DriverResult<PoolHandle> {
        unsupported!("virStoragePoolDefineXML")
    }
    fn pool_create_xml(&self, _xml: &str, _flags: u32) -> DriverResult<PoolHandle> {
        unsupported!("virStoragePoolCreateXML")
    }
    fn pool_create(&self, _pool: &PoolHandle, _flags: u32) -> DriverResult<()> {
        unsupported!("virStoragePoolCreate")
    }
    fn pool_build(&self, _pool: &PoolHandle, _flags: u32) -> DriverResult<()> {
        unsupported!("virStoragePoolBuild")
    }
    fn pool_destroy(&self, _pool: &PoolHandle) -> DriverResult<()> {
        unsupported!("virStoragePoolDestroy")
    }
    fn pool_delete(&self, _pool: &PoolHandle, _flags: u32) -> DriverResult<()> {
        unsupported!("virStoragePoolDelete")
    }
    fn pool_undefine(&self, _pool: &PoolHandle) -> DriverResult<()> {
        unsupported!("virStoragePoolUndefine")
    }
    fn pool_refresh(&self, _pool: &PoolHandle, _flags: u32) -> DriverResult<()> {
        unsupported!("virStoragePoolRefresh")
    }
    fn pool_info(&self, _pool: &PoolHandle) -> DriverResult<PoolInfo> {
        unsupported!("virStoragePoolGetInfo")
    }
    fn pool_xml(&self, _pool: &PoolHandle, _flags: u32) -> DriverResult<String> {
        unsupported!("virStoragePoolGetXMLDesc")
    }
    fn pool_autostart(&self, _pool: &PoolHandle) -> DriverResult<bool> {
        unsupported!("virStoragePoolGetAutostart")
    }
    fn pool_set_autostart(&self, _pool: &PoolHandle, _on: bool) -> DriverResult<()> {
        unsupported!("virStoragePoolSetAutostart")
    }
    fn pool_is_active(&self, _pool: &PoolHandle) -> DriverResult<bool> {
        unsupported!("virStoragePoolIsActive")
    }
    fn pool_is_persistent(&self, _pool: &PoolHandle) -> DriverResult<bool> {
        unsupported!("virStoragePoolIsPersistent")
    }
    fn pool_num_of_volumes(&self, _pool: &PoolHandle) -> DriverResult<i32> {
        unsupported!("virStoragePoolNumOfVolumes")
    }
    fn pool_list_volumes(&self, _pool: &PoolHandle, _max: i32) -> DriverResult<Vec<String>> {
        unsupported!("virStoragePoolListVolumes")
    }
    fn pool_list_all_volumes(
        &self,
        _pool: &PoolHandle,
        _flags: u32,
    ) -> DriverResult<Vec<VolumeHandle>> {
        unsupported!("virStoragePoolListAllVolumes")
    }
    fn vol_create_xml(
        &self,
        _pool: &PoolHandle,
        _xml: &str,
        _flags: u32,
    ) -> DriverResult<VolumeHandle> {
        unsupported!("virStorageVolCreateXML")
    }
    fn vol_create_xml_from(
        &self,
        _pool: &PoolHandle,
        _xml: &str,
        _source: &VolumeHandle,
        _flags: u32,
    ) -> DriverResult<VolumeHandle> {
        unsupported!("virStorageVolCreateXMLFrom")
    }
    fn vol_lookup_by_name(&self, _pool: &PoolHandle, _name: &str) -> DriverResult<VolumeHandle> {
        unsupported!("virStorageVolLookupByName")
    }
    fn vol_lookup_by_key(&self, _key: &str) -> DriverResult<VolumeHandle> {
        unsupported!("virStorageVolLookupByKey")
    }
    fn vol_lookup_by_path(&self, _path: &str) -> DriverResult<VolumeHandle> {
        unsupported!("virStorageVolLookupByPath")
    }
    fn vol_delete(&self, _vol: &VolumeHandle, _flags: u32) -> DriverResult<()> {
        unsupported!("virStorageVolDelete")
    }
    fn vol_wipe(&self, _vol: &VolumeHandle, _algorithm: u32, _flags: u32) -> DriverResult<()> {
        unsupported!("virStorageVolWipe")
    }
    fn vol_resize(&self, _vol: &VolumeHandle, _capacity: u64, _flags: u32) -> DriverResult<()> {
        unsupported!("virStorageVolResize")
    }
    fn vol_info(&self, _vol: &VolumeHandle, _flags: u32) -> DriverResult<VolumeInfo> {
        unsupported!("virStorageVolGetInfo")
    }
    fn vol_xml(&self, _vol: &VolumeHandle, _flags: u32) -> DriverResult<String> {
        unsupported!("virStorageVolGetXMLDesc")
    }
    fn vol_path(&self, _vol: &VolumeHandle) -> DriverResult<String> {
        unsupported!("virStorageVolGetPath")
    }
    /// Opens the volume for an upload: the file to write into, at `offset`, at most
    /// `length` bytes (0: to the end).
    fn vol_upload(
        &self,
        _vol: &VolumeHandle,
        _offset: u64,
        _length: u64,
        _flags: u32,
    ) -> DriverResult<Box<dyn VolumeWriter>> {
        unsupported!("virStorageVolUpload")
    }
    /// Opens the volume for a download.
    fn vol_download(
        &self,
        _vol: &VolumeHandle,
        _offset: u64,
        _length: u64,
        _flags: u32,
    ) -> DriverResult<Box<dyn VolumeReader>> {
        unsupported!("virStorageVolDownload")
    }
}

/// The driver's end of an upload. `finish` is called only when the client finished
/// the stream; dropping without it is an abort.
pub trait VolumeWriter: Send {
    fn write(&mut self, chunk: TransferChunk) -> DriverResult<()>;
    fn finish(self: Box<Self>) -> DriverResult<()>;
}

/// The driver's end of a download: `None` at the end.
pub trait VolumeReader: Send {
    fn next_chunk(&mut self) -> DriverResult<Option<TransferChunk>>;
}

/// The storage driver: the state shared by all connections.
pub trait StorageDriver: Send + Sync {
    fn open(&self, read_only: bool) -> DriverResult<Arc<dyn StorageConnection>>;
    /// SIGHUP: re-read pool definitions. Returns problems worth logging.
    fn reload(&self) -> Vec<String> {
        Vec::new()
    }
    /// Resolves `<source pool='...' volume='...'/>` of a guest disk.
    fn resolve_volume(&self, pool: &str, volume: &str) -> DriverResult<VolumeTarget>;
    /// Installs how the driver asks whether a running guest uses a volume.
    fn set_in_use_probe(&self, _probe: InUseProbe) {}
    /// Where the passphrases of encrypted volumes come from.
    fn set_secret_driver(&self, _secrets: Arc<dyn super::SecretDriver>) {}
}
