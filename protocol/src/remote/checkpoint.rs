//! Domain checkpoint and backup procedures used by the checkpoint-* and backup-*
//! commands.

use super::limits::DOMAIN_CHECKPOINT_LIST_MAX;
use super::objects::{NonnullDomain, NonnullDomainCheckpoint};
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainCheckpointCreateXmlArgs {
        pub dom: NonnullDomain,
        pub xml_desc: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of the calls that return one checkpoint (create, lookup).
    pub struct DomainCheckpointRet {
        pub checkpoint: NonnullDomainCheckpoint,
    }
}

xdr_struct! {
    /// Arguments of the calls about one checkpoint that take only flags
    /// (XML, parent, delete).
    pub struct DomainCheckpointFlagsArgs {
        pub checkpoint: NonnullDomainCheckpoint,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCheckpointGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainListAllCheckpointsArgs {
        pub dom: NonnullDomain,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of LIST_ALL_CHECKPOINTS and CHECKPOINT_LIST_ALL_CHILDREN.
    pub struct DomainListAllCheckpointsRet {
        pub checkpoints: Vec<NonnullDomainCheckpoint> [DOMAIN_CHECKPOINT_LIST_MAX],
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct DomainCheckpointListAllChildrenArgs {
        pub checkpoint: NonnullDomainCheckpoint,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCheckpointLookupByNameArgs {
        pub dom: NonnullDomain,
        pub name: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainCheckpointGetParentRet {
        pub parent: NonnullDomainCheckpoint,
    }
}

xdr_struct! {
    pub struct DomainBackupBeginArgs {
        pub dom: NonnullDomain,
        pub backup_xml: String,
        pub checkpoint_xml: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainBackupGetXmlDescArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainBackupGetXmlDescRet {
        pub xml: String,
    }
}
