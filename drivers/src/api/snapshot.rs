//! Domain snapshots (`virsh snapshot-*`), apart from [`super::Connection`] so that
//! each driver implements them in files of their own. A snapshot is named by its
//! domain and its name, as on the wire.

use super::{DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_SNAPSHOT_CREATE_*`.
pub mod snapshot_create_flags {
    pub const REDEFINE: u32 = 1;
    pub const CURRENT: u32 = 2;
    pub const NO_METADATA: u32 = 4;
    pub const HALT: u32 = 8;
    pub const DISK_ONLY: u32 = 16;
    pub const REUSE_EXT: u32 = 32;
    pub const QUIESCE: u32 = 64;
    pub const ATOMIC: u32 = 128;
    pub const LIVE: u32 = 256;
    pub const VALIDATE: u32 = 512;
}

/// `VIR_DOMAIN_SNAPSHOT_LIST_*` (also used by the children listings, where the
/// first bit means "descendants" instead of "roots").
pub mod snapshot_list_flags {
    pub const ROOTS_OR_DESCENDANTS: u32 = 1;
    pub const METADATA: u32 = 2;
    pub const LEAVES: u32 = 4;
    pub const NO_LEAVES: u32 = 8;
    pub const NO_METADATA: u32 = 16;
    pub const INACTIVE: u32 = 32;
    pub const ACTIVE: u32 = 64;
    pub const DISK_ONLY: u32 = 128;
    pub const INTERNAL: u32 = 256;
    pub const EXTERNAL: u32 = 512;
    pub const TOPOLOGICAL: u32 = 1024;
}

/// `VIR_DOMAIN_SNAPSHOT_REVERT_*`.
pub mod snapshot_revert_flags {
    pub const RUNNING: u32 = 1;
    pub const PAUSED: u32 = 2;
    pub const FORCE: u32 = 4;
    pub const RESET_NVRAM: u32 = 8;
}

/// `VIR_DOMAIN_SNAPSHOT_DELETE_*`.
pub mod snapshot_delete_flags {
    pub const CHILDREN: u32 = 1;
    pub const METADATA_ONLY: u32 = 2;
    pub const CHILDREN_ONLY: u32 = 4;
}

pub trait DomainSnapshots {
    /// `virDomainSnapshotCreateXML`: the new (or redefined) snapshot's name.
    fn snapshot_create(&self, _dom: &DomainRef, _xml: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainSnapshotCreateXML"))
    }
    fn snapshot_xml(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainSnapshotGetXMLDesc"))
    }
    /// `virDomainListAllSnapshots` and `virDomainSnapshotListNames`: names in
    /// creation order, filtered by `VIR_DOMAIN_SNAPSHOT_LIST_*`.
    fn snapshot_list(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virDomainListAllSnapshots"))
    }
    /// The children (or descendants) of one snapshot, filtered like [`Self::snapshot_list`].
    fn snapshot_children(
        &self,
        _dom: &DomainRef,
        _name: &str,
        _flags: u32,
    ) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virDomainSnapshotListAllChildren"))
    }
    /// `virDomainSnapshotLookupByName`: fails when there is no such snapshot.
    fn snapshot_lookup(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSnapshotLookupByName"))
    }
    /// `virDomainSnapshotCurrent`; `None` when the domain has no current snapshot.
    fn snapshot_current(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Option<String>> {
        Err(DriverError::no_support("virDomainSnapshotCurrent"))
    }
    /// `virDomainSnapshotGetParent`; `None` for a root.
    fn snapshot_parent(
        &self,
        _dom: &DomainRef,
        _name: &str,
        _flags: u32,
    ) -> DriverResult<Option<String>> {
        Err(DriverError::no_support("virDomainSnapshotGetParent"))
    }
    /// `virDomainSnapshotHasMetadata`.
    fn snapshot_has_metadata(
        &self,
        _dom: &DomainRef,
        _name: &str,
        _flags: u32,
    ) -> DriverResult<bool> {
        Err(DriverError::no_support("virDomainSnapshotHasMetadata"))
    }
    fn snapshot_revert(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainRevertToSnapshot"))
    }
    fn snapshot_delete(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSnapshotDelete"))
    }
}
