//! Domain checkpoints (`virDomainCheckpoint*`): named points in time whose changed
//! blocks disks track in dirty bitmaps, for incremental backups.

use super::{DomainRef, DriverError, DriverResult};

/// `virDomainCheckpointCreateFlags`.
pub mod checkpoint_create_flags {
    pub const REDEFINE: u32 = 1;
    pub const QUIESCE: u32 = 2;
    pub const REDEFINE_VALIDATE: u32 = 4;
}

/// `virDomainCheckpointXMLFlags`.
pub mod checkpoint_xml_flags {
    pub const SECURE: u32 = 1;
    pub const NO_DOMAIN: u32 = 2;
    pub const SIZE: u32 = 4;
}

/// `virDomainCheckpointListFlags`.
pub mod checkpoint_list_flags {
    /// Roots for a domain's list, every descendant for a checkpoint's children.
    pub const ROOTS_OR_DESCENDANTS: u32 = 1;
    pub const TOPOLOGICAL: u32 = 2;
    pub const LEAVES: u32 = 4;
    pub const NO_LEAVES: u32 = 8;
}

/// `virDomainCheckpointDeleteFlags`.
pub mod checkpoint_delete_flags {
    pub const CHILDREN: u32 = 1;
    pub const METADATA_ONLY: u32 = 2;
    pub const CHILDREN_ONLY: u32 = 4;
}

pub trait DomainCheckpoints {
    /// `virDomainCheckpointCreateXML`: the new (or redefined) checkpoint's name.
    fn checkpoint_create(&self, _dom: &DomainRef, _xml: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainCheckpointCreateXML"))
    }
    fn checkpoint_xml(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainCheckpointGetXMLDesc"))
    }
    /// `virDomainListAllCheckpoints`: names filtered by `VIR_DOMAIN_CHECKPOINT_LIST_*`.
    fn checkpoint_list(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virDomainListAllCheckpoints"))
    }
    /// `virDomainCheckpointListAllChildren`.
    fn checkpoint_children(
        &self,
        _dom: &DomainRef,
        _name: &str,
        _flags: u32,
    ) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support(
            "virDomainCheckpointListAllChildren",
        ))
    }
    /// `virDomainCheckpointLookupByName`: fails when there is no such checkpoint.
    fn checkpoint_lookup(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainCheckpointLookupByName"))
    }
    /// `virDomainCheckpointGetParent`; `None` for a root.
    fn checkpoint_parent(
        &self,
        _dom: &DomainRef,
        _name: &str,
        _flags: u32,
    ) -> DriverResult<Option<String>> {
        Err(DriverError::no_support("virDomainCheckpointGetParent"))
    }
    fn checkpoint_delete(&self, _dom: &DomainRef, _name: &str, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainCheckpointDelete"))
    }
    /// `virDomainBackupBegin`.
    fn backup_begin(
        &self,
        _dom: &DomainRef,
        _backup_xml: &str,
        _checkpoint_xml: Option<&str>,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainBackupBegin"))
    }
    /// `virDomainBackupGetXMLDesc`.
    fn backup_xml(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virDomainBackupGetXMLDesc"))
    }
}
