//! Domain snapshot procedures used by the snapshot-* commands.

use super::limits::DOMAIN_SNAPSHOT_LIST_MAX;
use super::objects::{NonnullDomain, NonnullDomainSnapshot};
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainSnapshotCreateXmlArgs {
        pub dom: NonnullDomain,
        pub xml_desc: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of the calls that return one snapshot (create, lookup, current, parent).
    pub struct DomainSnapshotRet {
        pub snap: NonnullDomainSnapshot,
    }
}

xdr_struct! {
    /// Arguments of the calls about one snapshot that take only flags
    /// (XML, children count, is-current, has-metadata, parent, revert, delete).
    pub struct DomainSnapshotFlagsArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSnapshotGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct DomainSnapshotListNamesArgs {
        pub dom: NonnullDomain,
        pub maxnames: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of LIST_NAMES and LIST_CHILDREN_NAMES.
    pub struct DomainSnapshotListNamesRet {
        pub names: Vec<String> [DOMAIN_SNAPSHOT_LIST_MAX],
    }
}

xdr_struct! {
    pub struct DomainSnapshotListChildrenNamesArgs {
        pub snap: NonnullDomainSnapshot,
        pub maxnames: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainListAllSnapshotsArgs {
        pub dom: NonnullDomain,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of LIST_ALL_SNAPSHOTS and LIST_ALL_CHILDREN.
    pub struct DomainListAllSnapshotsRet {
        pub snapshots: Vec<NonnullDomainSnapshot> [DOMAIN_SNAPSHOT_LIST_MAX],
        pub ret: i32,
    }
}

xdr_struct! {
    pub struct DomainSnapshotListAllChildrenArgs {
        pub snap: NonnullDomainSnapshot,
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainSnapshotLookupByNameArgs {
        pub dom: NonnullDomain,
        pub name: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Arguments of HAS_CURRENT_SNAPSHOT and SNAPSHOT_CURRENT.
    pub struct DomainSnapshotDomFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of the calls answering one number (has-current, children count,
    /// is-current, has-metadata).
    pub struct DomainSnapshotIntRet {
        pub value: i32,
    }
}
