//! Live migration of running guests between two daemons, in libvirt's version 3
//! protocol with typed parameters: begin, perform and confirm on the source,
//! prepare and finish on the destination. The guest's state travels over a TCP
//! connection between the two QEMU processes, or (tunnelled) through a socket
//! pair on each side whose other ends the daemons relay over their own
//! connection; the daemons exchange the `<qemu-migration>` cookie and the
//! domain XML through the client.

mod caps;
mod conf;
mod cookie;
mod dest;
mod nbd;
mod nbd_server;
mod offline;
pub(super) mod postcopy;
mod recovery;
mod source;
pub mod tls;
mod uri;

use std::sync::{Arc, Mutex};

use serde_json::Value;

pub use conf::MigrationConf;
pub(super) use recovery::{abort_outgoing, recover};

use super::connection::QemuConnection;
use super::error::QemuError;
use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{
    domains, migrate_flags as mf, DomainHandle, DomainMigration, DomainRef, DriverError,
    DriverResult, MigrationStep, NamedParam, ParamValue,
};

/// The flags the phases accept; among them, [`refuse_unsupported`] turns away the
/// kinds of migration not implemented.
pub(super) const SUPPORTED_FLAGS: u32 = mf::LIVE
    | mf::PEER2PEER
    | mf::TUNNELLED
    | mf::PERSIST_DEST
    | mf::UNDEFINE_SOURCE
    | mf::PAUSED
    | mf::NON_SHARED_DISK
    | mf::NON_SHARED_INC
    | mf::CHANGE_PROTECTION
    | mf::UNSAFE
    | mf::OFFLINE
    | mf::COMPRESSED
    | mf::ABORT_ON_ERROR
    | mf::AUTO_CONVERGE
    | mf::POSTCOPY
    | mf::TLS;

fn refuse_unsupported(flags: u32) -> DriverResult<()> {
    if flags & mf::TUNNELLED == 0 {
        return Ok(());
    }
    for (flag, what) in [
        (nbd::STORAGE_FLAGS, "storage copy"),
        (mf::TLS, "TLS"),
        (mf::POSTCOPY, "post-copy"),
    ] {
        if flags & flag != 0 {
            return Err(DriverError::new(
                crate::api::codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                format!("{what} is not supported with tunnelled migration"),
            ));
        }
    }
    Ok(())
}

/// The calls of a direct migration given the flag of a tunnelled one.
fn refuse_tunnelled(flags: u32, api: &str) -> DriverResult<()> {
    if flags & mf::TUNNELLED != 0 {
        return Err(DriverError::new(
            crate::api::codes::ARGUMENT_UNSUPPORTED,
            domains::QEMU,
            format!("tunnelled migration is not supported by {api}"),
        ));
    }
    Ok(())
}

/// The name under which QEMU holds the descriptor of a tunnelled migration.
const TUNNEL_FD: &str = "migrate";

/// A domain name a client may give as the destination name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains('/')
        && !name.chars().any(char::is_control)
}

fn param_str<'a>(params: &'a [NamedParam], field: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|p| p.field == field)
        .and_then(|p| match &p.value {
            ParamValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

/// QEMU's migration parameter behind the compression cache calls and the
/// `compression.xbzrle.cache` migration parameter.
pub(super) const XBZRLE_CACHE_SIZE: &str = "xbzrle-cache-size";

fn param_u64(params: &[NamedParam], field: &str) -> Option<u64> {
    params
        .iter()
        .find(|p| p.field == field)
        .and_then(|p| match p.value {
            ParamValue::ULLong(v) => Some(v),
            ParamValue::UInt(v) => Some(u64::from(v)),
            _ => None,
        })
}

impl Inner {
    /// One of QEMU's current migration parameters (`query-migrate-parameters`).
    fn migration_parameter(&self, dom: &DomainRef, name: &str) -> DriverResult<u64> {
        let (monitor, _, _) = self.running_parts(dom)?;
        let params = monitor
            .execute("query-migrate-parameters", None)
            .map_err(QemuError::from)?;
        Ok(params.get(name).and_then(Value::as_u64).unwrap_or(0))
    }

    fn set_migration_parameter(&self, dom: &DomainRef, name: &str, value: u64) -> DriverResult<()> {
        let (monitor, _, _) = self.running_parts(dom)?;
        source::set_parameter(&monitor, name, value)?;
        Ok(())
    }
}

/// The incoming migrations a connection prepared and has not finished. A
/// client that goes away between prepare and finish leaves no paused QEMU
/// behind (libvirt's close callback does the same).
#[derive(Default)]
pub struct PendingIncoming(Mutex<Vec<DomainRef>>);

impl PendingIncoming {
    fn add(&self, dom: DomainRef) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(dom);
    }

    fn remove(&self, uuid: &crate::api::Uuid) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|d| &d.uuid != uuid);
    }

    pub(in super::super) fn discard_all(&self, inner: &Inner) {
        let pending = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for dom in pending {
            inner.discard_incoming(&dom);
        }
    }
}

impl DomainMigration for QemuConnection {
    fn migrate_begin(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        if flags & mf::OFFLINE != 0 {
            return self.inner.offline_begin(dom, params, flags);
        }
        self.inner.migrate_begin(dom, params, flags)
    }

    fn migrate_prepare(
        &self,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        if flags & mf::OFFLINE != 0 {
            return Arc::clone(&self.inner).offline_prepare(params, cookie, flags);
        }
        let (step, dom) = Arc::clone(&self.inner).migrate_prepare(params, cookie, flags)?;
        self.incoming.add(dom);
        Ok(step)
    }

    fn migrate_prepare_tunnel(
        &self,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
    ) -> DriverResult<(MigrationStep, std::os::unix::net::UnixStream)> {
        if flags & mf::TUNNELLED == 0 || flags & mf::OFFLINE != 0 {
            return Err(DriverError::invalid_arg(
                "tunnelled migration needs the tunnelled flag of a live migration",
            )
            .in_domain(domains::QEMU));
        }
        let (step, dom, tunnel) =
            Arc::clone(&self.inner).prepare_incoming(params, cookie, flags, true)?;
        self.incoming.add(dom);
        let tunnel = tunnel.ok_or_else(|| DriverError::internal("no migration tunnel"))?;
        Ok((step, tunnel))
    }

    fn migrate_perform_tunnel(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
        tunnel: std::os::unix::net::UnixStream,
    ) -> DriverResult<MigrationStep> {
        self.inner
            .send_guest(dom, params, cookie, flags, source::Channel::Tunnel(tunnel))
    }

    fn migrate_perform(
        &self,
        dom: &DomainRef,
        dconnuri: Option<&str>,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        if flags & mf::OFFLINE != 0 {
            // libvirt's clients skip perform; finish then gets no cookie.
            let _ = cookie;
            return Ok(MigrationStep::default());
        }
        self.inner
            .migrate_perform(dom, dconnuri, params, cookie, flags)
    }

    fn migrate_finish(
        &self,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> DriverResult<(DomainHandle, Vec<u8>)> {
        if flags & mf::OFFLINE != 0 {
            return self.inner.offline_finish(params, cookie, flags, cancelled);
        }
        let result = self.inner.migrate_finish(params, cookie, flags, cancelled);
        // A finished guest is no longer this connection's to clean up.
        if let Ok((handle, _)) = &result {
            self.incoming.remove(&handle.uuid);
        }
        result
    }

    fn migrate_confirm(
        &self,
        dom: &DomainRef,
        _params: &[NamedParam],
        _cookie: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> DriverResult<()> {
        if flags & mf::OFFLINE != 0 {
            return self.inner.offline_confirm(dom, flags, cancelled);
        }
        self.inner.migrate_confirm(dom, flags, cancelled)
    }

    fn migrate_set_max_speed(&self, dom: &DomainRef, mib: u64, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainMigrateSetMaxSpeed")?;
        if mib > (u64::MAX >> 20) {
            return Err(DriverError::new(
                crate::api::codes::OVERFLOW,
                domains::QEMU,
                format!("bandwidth must be less than {}", (u64::MAX >> 20) + 1),
            ));
        }
        self.inner
            .set_migration_parameter(dom, "max-bandwidth", mib << 20)
    }

    fn migrate_get_max_speed(&self, dom: &DomainRef, flags: u32) -> DriverResult<u64> {
        check_flags(flags, 0, "qemuDomainMigrateGetMaxSpeed")?;
        Ok(self.inner.migration_parameter(dom, "max-bandwidth")? >> 20)
    }

    fn migrate_set_max_downtime(&self, dom: &DomainRef, ms: u64, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainMigrateSetMaxDowntime")?;
        self.inner
            .set_migration_parameter(dom, "downtime-limit", ms)
    }

    fn migrate_get_max_downtime(&self, dom: &DomainRef, flags: u32) -> DriverResult<u64> {
        check_flags(flags, 0, "qemuDomainMigrateGetMaxDowntime")?;
        self.inner.migration_parameter(dom, "downtime-limit")
    }

    fn migrate_get_compression_cache(&self, dom: &DomainRef, flags: u32) -> DriverResult<u64> {
        check_flags(flags, 0, "qemuDomainMigrateGetCompressionCache")?;
        self.inner.migration_parameter(dom, XBZRLE_CACHE_SIZE)
    }

    fn migrate_set_compression_cache(
        &self,
        dom: &DomainRef,
        bytes: u64,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainMigrateSetCompressionCache")?;
        self.inner
            .set_migration_parameter(dom, XBZRLE_CACHE_SIZE, bytes)
    }

    fn migrate_start_postcopy(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.migrate_start_postcopy(dom, flags)
    }

    fn abort_job(&self, dom: &DomainRef, flags: Option<u32>) -> DriverResult<()> {
        check_flags(flags.unwrap_or(0), 0, "qemuDomainAbortJobFlags")?;
        if self.inner.backup_abort(dom)? {
            return Ok(());
        }
        self.inner.abort_migration(dom)
    }
}
