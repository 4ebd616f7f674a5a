//! Domain checkpoints and backups (`virsh checkpoint-*`, `backup-*`): one driver
//! call each, checkpoints named on the wire by their domain reference and name.

use std::sync::Arc;

use drivers::api::{codes, domains, Connection, DriverError};
use protocol::header::Header;
use protocol::remote::*;

use super::{dom_ref, drv, job, Action};

fn wire(dom: &NonnullDomain, name: String) -> NonnullDomainCheckpoint {
    NonnullDomainCheckpoint {
        name,
        dom: dom.clone(),
    }
}

fn list_ret(dom: &NonnullDomain, names: Vec<String>, need: i32) -> DomainListAllCheckpointsRet {
    let ret = i32::try_from(names.len()).unwrap_or(i32::MAX);
    let checkpoints = if need != 0 {
        names.into_iter().map(|n| wire(dom, n)).collect()
    } else {
        Vec::new()
    };
    DomainListAllCheckpointsRet { checkpoints, ret }
}

macro_rules! checkpoint_calls {
    ($($name:ident($a:ident: $args:ty) => |$c:ident| $body:expr;)*) => {$(
        pub fn $name(conn: &Arc<dyn Connection>, h: &Header, $a: $args) -> Action {
            let $c = conn.clone();
            job(h, move || $body)
        }
    )*};
}

checkpoint_calls! {
    domain_checkpoint_create_xml(a: DomainCheckpointCreateXmlArgs) => |c| {
        drv(c.checkpoint_create(&dom_ref(&a.dom), &a.xml_desc, a.flags))
            .map(|n| DomainCheckpointRet { checkpoint: wire(&a.dom, n) })
    };
    domain_checkpoint_get_xml_desc(a: DomainCheckpointFlagsArgs) => |c| {
        drv(c.checkpoint_xml(&dom_ref(&a.checkpoint.dom), &a.checkpoint.name, a.flags))
            .map(|xml| DomainCheckpointGetXmlDescRet { xml })
    };
    domain_list_all_checkpoints(a: DomainListAllCheckpointsArgs) => |c| {
        drv(c.checkpoint_list(&dom_ref(&a.dom), a.flags))
            .map(|n| list_ret(&a.dom, n, a.need_results))
    };
    domain_checkpoint_list_all_children(a: DomainCheckpointListAllChildrenArgs) => |c| {
        drv(c.checkpoint_children(&dom_ref(&a.checkpoint.dom), &a.checkpoint.name, a.flags))
            .map(|n| list_ret(&a.checkpoint.dom, n, a.need_results))
    };
    domain_checkpoint_lookup_by_name(a: DomainCheckpointLookupByNameArgs) => |c| {
        drv(c.checkpoint_lookup(&dom_ref(&a.dom), &a.name, a.flags))
            .map(|()| DomainCheckpointRet { checkpoint: wire(&a.dom, a.name) })
    };
    domain_checkpoint_get_parent(a: DomainCheckpointFlagsArgs) => |c| {
        match drv(c.checkpoint_parent(&dom_ref(&a.checkpoint.dom), &a.checkpoint.name, a.flags))? {
            Some(n) => Ok(DomainCheckpointGetParentRet { parent: wire(&a.checkpoint.dom, n) }),
            None => drv(Err(DriverError::new(
                codes::NO_DOMAIN_CHECKPOINT,
                domains::QEMU,
                format!("checkpoint '{}' does not have a parent", a.checkpoint.name),
            ))),
        }
    };
    domain_checkpoint_delete(a: DomainCheckpointFlagsArgs) => |c| {
        drv(c.checkpoint_delete(&dom_ref(&a.checkpoint.dom), &a.checkpoint.name, a.flags))
    };
    domain_backup_begin(a: DomainBackupBeginArgs) => |c| {
        drv(c.backup_begin(&dom_ref(&a.dom), &a.backup_xml, a.checkpoint_xml.as_deref(), a.flags))
    };
    domain_backup_get_xml_desc(a: DomainBackupGetXmlDescArgs) => |c| {
        drv(c.backup_xml(&dom_ref(&a.dom), a.flags)).map(|xml| DomainBackupGetXmlDescRet { xml })
    };
}
