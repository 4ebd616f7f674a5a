//! Domain snapshots (`virsh snapshot-*`): one driver call each, snapshots named on
//! the wire by their domain reference and name.

use std::sync::Arc;

use drivers::api::{codes, domains, Connection, DriverError};
use protocol::header::Header;
use protocol::remote::limits::DOMAIN_SNAPSHOT_LIST_MAX;
use protocol::remote::*;

use super::{dom_ref, drv, job, Action};

fn wire_snap(dom: &NonnullDomain, name: String) -> NonnullDomainSnapshot {
    NonnullDomainSnapshot {
        name,
        dom: dom.clone(),
    }
}

fn snap_ret(dom: &NonnullDomain, name: String) -> DomainSnapshotRet {
    DomainSnapshotRet {
        snap: wire_snap(dom, name),
    }
}

fn list_ret(dom: &NonnullDomain, names: Vec<String>, need: i32) -> DomainListAllSnapshotsRet {
    let ret = i32::try_from(names.len()).unwrap_or(i32::MAX);
    let snapshots = if need != 0 {
        names.into_iter().map(|n| wire_snap(dom, n)).collect()
    } else {
        Vec::new()
    };
    DomainListAllSnapshotsRet { snapshots, ret }
}

/// libvirt's check of `maxnames` against the protocol limit, then the first names.
fn first_names(
    names: Vec<String>,
    max: i32,
) -> Result<DomainSnapshotListNamesRet, protocol::error::RemoteError> {
    if max < 0 || max as usize > DOMAIN_SNAPSHOT_LIST_MAX {
        return Err(crate::dispatch::reply::rpc_error(
            protocol::error::codes::RPC,
            "maxnames > REMOTE_DOMAIN_SNAPSHOT_LIST_MAX",
        ));
    }
    Ok(DomainSnapshotListNamesRet {
        names: names.into_iter().take(max as usize).collect(),
    })
}

fn int(value: bool) -> DomainSnapshotIntRet {
    DomainSnapshotIntRet {
        value: i32::from(value),
    }
}

macro_rules! snapshot_calls {
    ($($name:ident($a:ident: $args:ty) => |$c:ident| $body:expr;)*) => {$(
        pub fn $name(conn: &Arc<dyn Connection>, h: &Header, $a: $args) -> Action {
            let $c = conn.clone();
            job(h, move || $body)
        }
    )*};
}

snapshot_calls! {
    domain_snapshot_create_xml(a: DomainSnapshotCreateXmlArgs) => |c| {
        drv(c.snapshot_create(&dom_ref(&a.dom), &a.xml_desc, a.flags)).map(|n| snap_ret(&a.dom, n))
    };
    domain_snapshot_get_xml_desc(a: DomainSnapshotFlagsArgs) => |c| {
        drv(c.snapshot_xml(&dom_ref(&a.snap.dom), &a.snap.name, a.flags))
            .map(|xml| DomainSnapshotGetXmlDescRet { xml })
    };
    domain_snapshot_list_names(a: DomainSnapshotListNamesArgs) => |c| {
        first_names(drv(c.snapshot_list(&dom_ref(&a.dom), a.flags))?, a.maxnames)
    };
    domain_list_all_snapshots(a: DomainListAllSnapshotsArgs) => |c| {
        drv(c.snapshot_list(&dom_ref(&a.dom), a.flags)).map(|n| list_ret(&a.dom, n, a.need_results))
    };
    domain_snapshot_num_children(a: DomainSnapshotFlagsArgs) => |c| {
        drv(c.snapshot_children(&dom_ref(&a.snap.dom), &a.snap.name, a.flags)).map(|n| {
            DomainSnapshotIntRet { value: i32::try_from(n.len()).unwrap_or(i32::MAX) }
        })
    };
    domain_snapshot_list_children_names(a: DomainSnapshotListChildrenNamesArgs) => |c| {
        first_names(drv(c.snapshot_children(&dom_ref(&a.snap.dom), &a.snap.name, a.flags))?, a.maxnames)
    };
    domain_snapshot_list_all_children(a: DomainSnapshotListAllChildrenArgs) => |c| {
        drv(c.snapshot_children(&dom_ref(&a.snap.dom), &a.snap.name, a.flags))
            .map(|n| list_ret(&a.snap.dom, n, a.need_results))
    };
    domain_snapshot_lookup_by_name(a: DomainSnapshotLookupByNameArgs) => |c| {
        drv(c.snapshot_lookup(&dom_ref(&a.dom), &a.name, a.flags)).map(|()| snap_ret(&a.dom, a.name))
    };
    domain_has_current_snapshot(a: DomainSnapshotDomFlagsArgs) => |c| {
        drv(c.snapshot_current(&dom_ref(&a.dom), a.flags)).map(|n| int(n.is_some()))
    };
    domain_snapshot_current(a: DomainSnapshotDomFlagsArgs) => |c| {
        match drv(c.snapshot_current(&dom_ref(&a.dom), a.flags))? {
            Some(n) => Ok(snap_ret(&a.dom, n)),
            None => drv(Err(DriverError::new(
                codes::NO_DOMAIN_SNAPSHOT,
                domains::QEMU,
                "the domain does not have a current snapshot",
            ))),
        }
    };
    domain_snapshot_get_parent(a: DomainSnapshotFlagsArgs) => |c| {
        match drv(c.snapshot_parent(&dom_ref(&a.snap.dom), &a.snap.name, a.flags))? {
            Some(n) => Ok(snap_ret(&a.snap.dom, n)),
            None => drv(Err(DriverError::new(
                codes::NO_DOMAIN_SNAPSHOT,
                domains::QEMU,
                format!("snapshot '{}' does not have a parent", a.snap.name),
            ))),
        }
    };
    domain_snapshot_is_current(a: DomainSnapshotFlagsArgs) => |c| {
        let dom = dom_ref(&a.snap.dom);
        drv(c.snapshot_lookup(&dom, &a.snap.name, 0))?;
        drv(c.snapshot_current(&dom, a.flags)).map(|n| int(n.as_deref() == Some(a.snap.name.as_str())))
    };
    domain_snapshot_has_metadata(a: DomainSnapshotFlagsArgs) => |c| {
        drv(c.snapshot_has_metadata(&dom_ref(&a.snap.dom), &a.snap.name, a.flags)).map(int)
    };
    domain_revert_to_snapshot(a: DomainSnapshotFlagsArgs) => |c| {
        drv(c.snapshot_revert(&dom_ref(&a.snap.dom), &a.snap.name, a.flags))
    };
    domain_snapshot_delete(a: DomainSnapshotFlagsArgs) => |c| {
        drv(c.snapshot_delete(&dom_ref(&a.snap.dom), &a.snap.name, a.flags))
    };
}
