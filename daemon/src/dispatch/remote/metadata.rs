//! Domain description, title and application metadata (`virsh desc`, `virsh metadata`).

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::{dom_ref, drv, job, Action};

pub fn domain_set_metadata(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetMetadataArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_metadata(
            &dom_ref(&a.dom),
            a.type_,
            a.metadata.as_deref(),
            a.key.as_deref(),
            a.uri.as_deref(),
            a.flags,
        ))
    })
}

pub fn domain_get_metadata(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetMetadataArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.get_metadata(&dom_ref(&a.dom), a.type_, a.uri.as_deref(), a.flags))
            .map(|metadata| DomainGetMetadataRet { metadata })
    })
}
