//! Offline migration (`--offline --persistent`): only the definition moves.
//! Begin hands out the persistent definition, prepare checks it (and runs the
//! `migrate` hook) without starting anything, there is no perform, finish
//! defines the guest and confirm undefines the source's copy when asked.
//! A running guest keeps running where it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::super::error::QemuError;
use super::super::lifecycle::check_flags;
use super::super::Inner;
use super::cookie::Cookie;
use super::{param_str, SUPPORTED_FLAGS};
use crate::api::{
    domains, migrate_flags as mf, migrate_param, DomainHandle, DomainRef, DriverError,
    DriverResult, MigrationStep, NamedParam, Uuid,
};

/// The definitions prepared and not yet finished, by UUID (after the hook).
fn prepared() -> std::sync::MutexGuard<'static, HashMap<Uuid, String>> {
    static PREPARED: OnceLock<Mutex<HashMap<Uuid, String>>> = OnceLock::new();
    PREPARED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// libvirt's checks of the flags that go with `--offline`.
fn check_offline_flags(flags: u32) -> DriverResult<()> {
    let invalid = |msg: &str| Err(QemuError::InvalidState(msg.to_string()).into());
    if flags & super::nbd::STORAGE_FLAGS != 0 {
        return invalid("offline migration cannot handle non-shared storage");
    }
    if flags & mf::PERSIST_DEST == 0 {
        return invalid("offline migration must be specified with the persistent flag set");
    }
    if flags & mf::TUNNELLED != 0 {
        return invalid("tunnelled offline migration does not make sense");
    }
    Ok(())
}

impl Inner {
    pub(super) fn offline_begin(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigrateBegin3Params")?;
        check_offline_flags(flags)?;
        let st = self.lock();
        let obj = st.get(dom)?;
        let xml = match param_str(params, migrate_param::DEST_XML) {
            Some(xml) => {
                self.parse_def(xml)?;
                xml.to_string()
            }
            None => obj.xml(true, true),
        };
        Ok(MigrationStep {
            cookie: Cookie::about(&obj.def.name, obj.def.uuid).to_bytes(),
            text: Some(xml),
        })
    }

    pub(super) fn offline_prepare(
        self: &Arc<Self>,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigratePrepare3Params")?;
        check_offline_flags(flags)?;
        Cookie::parse(cookie)?;
        let xml = param_str(params, migrate_param::DEST_XML).ok_or_else(|| {
            DriverError::internal("no domain XML passed").in_domain(domains::QEMU)
        })?;
        let sent = self.parse_def(xml)?;
        let xml = self.run_migrate_hook(&sent.name, xml)?;
        let mut def = self.parse_def(&xml)?;
        if let Some(name) = param_str(params, migrate_param::DEST_NAME) {
            if !super::valid_name(name) {
                return Err(DriverError::invalid_arg(format!(
                    "invalid destination name '{}'",
                    name.escape_default()
                ))
                .in_domain(domains::QEMU));
            }
            def.name = name.to_string();
        }
        {
            let st = self.lock();
            let same = st
                .find_by_uuid(&def.uuid)
                .map(|i| &st.domains[i])
                .filter(|obj| obj.is_active());
            if let Some(obj) = same {
                return Err(QemuError::InvalidState(format!(
                    "domain '{}' is already active",
                    obj.def.name
                ))
                .into());
            }
        }
        let persistent = match param_str(params, migrate_param::PERSIST_XML) {
            Some(xml) => {
                let mut persist = self.parse_def(xml)?;
                persist.name = def.name.clone();
                persist.to_xml(crate::domain_xml::FormatOptions {
                    id: None,
                    secure: true,
                })
            }
            None => def.to_xml(crate::domain_xml::FormatOptions {
                id: None,
                secure: true,
            }),
        };
        let reply = Cookie::about(&def.name, def.uuid);
        prepared().insert(def.uuid, persistent);
        // libvirt's clients want a URI even though nothing will connect to it.
        let conf = self.conf().migration.clone();
        let host = conf.host.clone().unwrap_or_else(crate::host::hostname);
        let port = super::dest::free_port(&conf.address, conf.port_min, conf.port_max)?;
        Ok(MigrationStep {
            cookie: reply.to_bytes(),
            text: Some(format!("tcp:{host}:{port}")),
        })
    }

    pub(super) fn offline_finish(
        &self,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> DriverResult<(DomainHandle, Vec<u8>)> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigrateFinish3Params")?;
        let cookie = Cookie::parse(cookie)?;
        let uuid = match cookie.uuid {
            Some(uuid) => uuid,
            None => {
                let xml = param_str(params, migrate_param::DEST_XML).ok_or_else(|| {
                    DriverError::internal("no domain XML passed").in_domain(domains::QEMU)
                })?;
                self.parse_def(xml)?.uuid
            }
        };
        let stored = prepared().remove(&uuid);
        if cancelled {
            return Err(QemuError::Failed(format!(
                "migration of domain {} was cancelled",
                cookie.name
            ))
            .into());
        }
        let xml = match (cookie.persistent, stored) {
            (Some(xml), _) => xml,
            (None, Some(xml)) => xml,
            (None, None) => param_str(params, migrate_param::DEST_XML)
                .ok_or_else(|| {
                    DriverError::internal("no domain XML passed").in_domain(domains::QEMU)
                })?
                .to_string(),
        };
        let handle = self.define(&xml, 0)?;
        Ok((handle.clone(), Cookie::about(&handle.name, uuid).to_bytes()))
    }

    pub(super) fn offline_confirm(
        &self,
        dom: &DomainRef,
        flags: u32,
        cancelled: bool,
    ) -> DriverResult<()> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigrateConfirm3Params")?;
        if cancelled || flags & mf::UNDEFINE_SOURCE == 0 {
            return Ok(());
        }
        let persistent = self.lock().get(dom).map(|o| o.persistent)?;
        if persistent {
            self.undefine(dom, 0)?;
        }
        Ok(())
    }
}
