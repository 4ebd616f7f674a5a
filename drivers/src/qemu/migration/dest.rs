//! The destination side: prepare (the `migrate` hook, then a paused QEMU listening
//! for the guest on a TCP port of `migration_port_min..=max`) and finish (run the
//! guest that arrived, or remove every trace of one that did not).

use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use hooks::{consumes_output, HookDriver};
use serde_json::json;

use super::super::error::QemuError;
use super::super::jobs::lock_job_bounded;
use super::super::lifecycle::{check_flags, stop_process, StartSource};
use super::super::Inner;
use super::cookie::Cookie;
use super::{param_str, SUPPORTED_FLAGS};
use crate::api::{
    create_flags, domains, event, migrate_flags, migrate_param, reason, state, DomainHandle,
    DomainRef, DriverError, DriverResult, MigrationStep, NamedParam,
};

/// How long finish waits for QEMU to have loaded the last of the guest's state.
const INCOMING_DEADLINE: Duration = Duration::from_secs(60);

impl Inner {
    pub(in super::super) fn migrate_prepare(
        self: &Arc<Self>,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
    ) -> DriverResult<(MigrationStep, DomainRef)> {
        super::refuse_tunnelled(flags, "virDomainMigratePrepare3Params")?;
        let (step, dom, _) = self.prepare_incoming(params, cookie, flags, false)?;
        Ok((step, dom))
    }

    /// Starts the paused QEMU that receives the guest: listening on a TCP port,
    /// or (`tunnelled`) reading from a socket returned to the caller.
    pub(super) fn prepare_incoming(
        self: &Arc<Self>,
        params: &[NamedParam],
        cookie: &[u8],
        flags: u32,
        tunnelled: bool,
    ) -> DriverResult<(MigrationStep, DomainRef, Option<UnixStream>)> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigratePrepare3Params")?;
        super::refuse_unsupported(flags)?;
        let tls_conf = self.conf().migration.tls.clone();
        tls_conf.check_forced(flags)?;
        let cookie = Cookie::parse(cookie)?;
        let xml = param_str(params, migrate_param::DEST_XML).ok_or_else(|| {
            DriverError::internal("no domain XML passed").in_domain(domains::QEMU)
        })?;
        let sent = self.parse_def(xml)?;
        let xml = self.run_migrate_hook(&sent.name, xml)?;
        let mut def = self.parse_def(&xml).map_err(|err| {
            QemuError::Failed(format!(
                "the migrate hook printed an invalid domain definition: {}",
                err.message
            ))
        })?;
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
        if cookie.uuid.is_some_and(|uuid| uuid != def.uuid) {
            return Err(
                QemuError::Failed("the migration cookie names another domain".into()).into(),
            );
        }
        if tunnelled {
            return self.prepare_tunnelled(def, flags);
        }
        let conf = self.conf().migration.clone();
        let requested = param_str(params, migrate_param::URI)
            .map(super::uri::parse_tcp)
            .transpose()?;
        let listen = match param_str(params, migrate_param::LISTEN_ADDRESS) {
            Some(addr) if super::uri::valid_host(addr) => addr.to_string(),
            Some(addr) => {
                return Err(
                    QemuError::Unsupported(format!("invalid listen address '{addr}'")).into(),
                )
            }
            None => conf.address.clone(),
        };
        let port = match requested.as_ref().and_then(|(_, port)| *port) {
            Some(port) => port,
            None => free_port(&listen, conf.port_min, conf.port_max)?,
        };
        let host = match (&requested, &conf.host) {
            (Some((host, _)), _) => host.clone(),
            (None, Some(host)) => host.clone(),
            (None, None) => crate::host::hostname(),
        };
        let copy_storage = flags & super::nbd::STORAGE_FLAGS != 0 && cookie.nbd.is_some();
        if copy_storage {
            self.precreate_storage(
                &def,
                cookie.nbd.as_ref(),
                &super::nbd::wanted_disks(params),
                flags & migrate_flags::NON_SHARED_INC != 0,
            )?;
        }
        let uuid = def.uuid;
        let name = def.name.clone();
        self.lock().prepare_transient_start(def)?;
        let started = self.start(
            &uuid,
            create_flags::START_PAUSED,
            StartSource::Incoming(format!("tcp:{listen}:{port}")),
        );
        if let Err(e) = started {
            self.lock().undo_transient_start(&uuid);
            return Err(e);
        }
        let dom = DomainRef {
            name: name.clone(),
            uuid,
        };
        if let Err(e) = self.ready_for_incoming(&dom, flags, &tls_conf) {
            self.discard_incoming(&dom);
            return Err(e);
        }
        let mut reply = Cookie::about(&dom.name, uuid);
        if copy_storage {
            match self.start_nbd_server(&dom, &listen, params, flags) {
                Ok(port) => {
                    reply.nbd = Some(super::nbd::NbdCookie {
                        port,
                        disks: Vec::new(),
                    })
                }
                Err(e) => {
                    self.discard_incoming(&dom);
                    return Err(e);
                }
            }
        }
        let step = MigrationStep {
            cookie: reply.to_bytes(),
            text: Some(format!("tcp:{host}:{port}")),
        };
        Ok((step, dom, None))
    }

    /// The tunnelled prepare: QEMU waits (`-incoming defer`) and then reads
    /// the guest from one end of a socket pair (`getfd`, `migrate-incoming
    /// fd:`); the other end goes back to the caller.
    fn prepare_tunnelled(
        self: &Arc<Self>,
        def: crate::domain_xml::DomainDef,
        flags: u32,
    ) -> DriverResult<(MigrationStep, DomainRef, Option<UnixStream>)> {
        let uuid = def.uuid;
        let dom = DomainRef {
            name: def.name.clone(),
            uuid,
        };
        self.lock().prepare_transient_start(def)?;
        let started = self.start(
            &uuid,
            create_flags::START_PAUSED,
            StartSource::Incoming("defer".into()),
        );
        if let Err(e) = started {
            self.lock().undo_transient_start(&uuid);
            return Err(e);
        }
        let tls = self.conf().migration.tls.clone();
        let fed = self
            .ready_for_incoming(&dom, flags, &tls)
            .and_then(|_| self.incoming_from_socket(&dom));
        match fed {
            Ok(tunnel) => {
                tracing::info!(domain = %dom.name, "incoming migration through the tunnel");
                let step = MigrationStep {
                    cookie: Cookie::about(&dom.name, uuid).to_bytes(),
                    text: None,
                };
                Ok((step, dom, Some(tunnel)))
            }
            Err(e) => {
                self.discard_incoming(&dom);
                Err(e)
            }
        }
    }

    /// Hands QEMU one end of a new socket pair to read the incoming guest from.
    fn incoming_from_socket(&self, dom: &DomainRef) -> DriverResult<UnixStream> {
        let (monitor, _, _) = self.running_parts(dom)?;
        let (ours, qemus) = UnixStream::pair()
            .map_err(|e| QemuError::Failed(format!("cannot create the migration tunnel: {e}")))?;
        monitor
            .execute_with_fd(
                "getfd",
                Some(json!({ "fdname": super::TUNNEL_FD })),
                qemus.as_fd(),
            )
            .map_err(QemuError::from)?;
        monitor
            .execute(
                "migrate-incoming",
                Some(json!({ "uri": format!("fd:{}", super::TUNNEL_FD) })),
            )
            .map_err(QemuError::from)?;
        Ok(ours)
    }

    /// The capabilities and TLS credentials of the listening QEMU, set before
    /// the source connects.
    fn ready_for_incoming(
        &self,
        dom: &DomainRef,
        flags: u32,
        tls: &super::tls::MigrateTlsConf,
    ) -> DriverResult<()> {
        let (monitor, _, _) = self.running_parts(dom)?;
        super::caps::apply(&monitor, flags, super::caps::Side::Destination)?;
        if flags & migrate_flags::TLS != 0 {
            super::tls::enable(&monitor, tls, super::tls::Endpoint::Server, "")?;
        }
        Ok(())
    }

    /// The qemu `migrate begin -` hook: a filter over the incoming definition; its
    /// output (when not empty) replaces it, a failure refuses the migration.
    pub(super) fn run_migrate_hook(&self, name: &str, xml: &str) -> DriverResult<String> {
        let Some(hooks) = self.hooks.as_ref() else {
            return Ok(xml.to_string());
        };
        if !hooks.present(HookDriver::Qemu) {
            return Ok(xml.to_string());
        }
        let filter = consumes_output(HookDriver::Qemu, "migrate");
        let output = hooks
            .run(
                HookDriver::Qemu,
                name,
                "migrate",
                "begin",
                "-",
                Some(xml),
                filter,
            )
            .map_err(QemuError::from)?;
        Ok(output
            .filter(|text| !text.trim().is_empty())
            .unwrap_or_else(|| xml.to_string()))
    }

    pub(in super::super) fn migrate_finish(
        self: &Arc<Self>,
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
        let dom = {
            let st = self.lock();
            let index = st
                .find_by_uuid(&uuid)
                .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &uuid, &cookie.name))?;
            let obj = &st.domains[index];
            DomainRef {
                name: obj.def.name.clone(),
                uuid,
            }
        };
        let job = self
            .job_of(&uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &uuid, &dom.name))?;
        let guard = lock_job_bounded(&job)?;
        let (monitor, _, _) = self.running_parts(&dom)?;
        let arrived = if cancelled {
            Err(QemuError::Failed(format!(
                "migration of domain {} was cancelled",
                dom.name
            )))
        } else {
            super::postcopy::wait_arrival(&uuid, &monitor, INCOMING_DEADLINE)
        };
        let resumed = arrived.and_then(|_| {
            if flags & super::nbd::STORAGE_FLAGS != 0 {
                // The disks arrived with the memory; nobody writes to them now.
                let _ = monitor.execute("nbd-server-stop", None);
            }
            if flags & migrate_flags::PAUSED == 0 {
                // Running (migrated) before `cont`, as libvirt sets it: QEMU's
                // RESUME then finds nothing to report, and the one event is
                // the RESUMED_MIGRATED sent below.
                self.set_incoming_state(&dom, state::RUNNING, reason::RUNNING_MIGRATED);
                if let Err(e) = monitor.execute("cont", None) {
                    self.set_incoming_state(&dom, state::PAUSED, reason::PAUSED_MIGRATION);
                    return Err(e.into());
                }
            }
            Ok(())
        });
        if let Err(e) = resumed {
            drop(guard);
            self.discard_incoming(&dom);
            return Err(e.into());
        }
        if flags & migrate_flags::TLS != 0 {
            // As libvirt does once the guest arrived: its next migration
            // starts from clean parameters.
            super::tls::disable(&monitor);
        }
        let (handle, events) = {
            let mut st = self.lock();
            let obj = st.get_mut(&dom)?;
            let events = if flags & migrate_flags::PAUSED == 0 {
                obj.state = state::RUNNING;
                obj.reason = reason::RUNNING_MIGRATED;
                vec![obj.lifecycle_event(event::RESUMED, event::RESUMED_MIGRATED)]
            } else {
                obj.reason = reason::PAUSED_USER;
                vec![obj.lifecycle_event(event::SUSPENDED, event::SUSPENDED_PAUSED)]
            };
            self.persist_status(obj);
            (obj.handle(), events)
        };
        self.emit(events);
        drop(guard);
        if flags & migrate_flags::PERSIST_DEST != 0 {
            let xml = match cookie.persistent {
                Some(xml) => xml,
                None => {
                    let st = self.lock();
                    st.get(&dom)?.xml(true, true)
                }
            };
            self.define(&xml, 0)?;
        }
        let reply = Cookie::about(&dom.name, uuid);
        Ok((handle, reply.to_bytes()))
    }

    /// Kills the QEMU of an incoming migration that did not complete; the domain
    /// goes (or, if it was defined here before, is inactive again).
    /// The state of an incoming guest that has not run yet (post-copy moves it itself).
    fn set_incoming_state(&self, dom: &DomainRef, to: crate::api::DomainState, why: i32) {
        let mut st = self.lock();
        if let Ok(obj) = st.get_mut(dom) {
            let waiting = obj.state == state::PAUSED && obj.reason == reason::PAUSED_MIGRATION;
            let marked = obj.state == state::RUNNING && obj.reason == reason::RUNNING_MIGRATED;
            if waiting || marked {
                obj.state = to;
                obj.reason = why;
            }
        }
    }

    pub(super) fn discard_incoming(&self, dom: &DomainRef) {
        let parts = {
            let mut st = self.lock();
            let Ok(obj) = st.get_mut(dom) else {
                return;
            };
            // Only a guest still waiting for its state: never one finish ran.
            if obj.state != state::PAUSED || obj.reason != reason::PAUSED_MIGRATION {
                return;
            }
            let Some(run) = obj.run.as_mut() else {
                return;
            };
            run.expected_stop = Some((reason::SHUTOFF_FAILED, event::STOPPED_FAILED));
            (run.process.clone(), run.token)
        };
        let _ = stop_process(&parts.0, false);
        self.handle_exit(&dom.uuid, parts.1);
        self.lock().undo_transient_start(&dom.uuid);
    }
}

/// The first port of the range nothing listens on at `address`.
pub(super) fn free_port(address: &str, min: u16, max: u16) -> Result<u16, QemuError> {
    let bare = address.trim_start_matches('[').trim_end_matches(']');
    for port in min..=max {
        if TcpListener::bind((bare, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(QemuError::Failed(format!(
        "Unable to find an unused port in range 'migration' ({min}-{max})"
    )))
}
