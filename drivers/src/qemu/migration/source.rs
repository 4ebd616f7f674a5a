//! The source side: begin (what to send), perform (QEMU sends the guest over TCP
//! while it keeps running) and confirm (stop the sent guest, or resume it when the
//! destination failed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::super::error::QemuError;
use super::super::jobs::{lock_job_bounded, ActiveJob};
use super::super::lifecycle::{check_flags, not_running, stop_process};
use super::super::Inner;
use super::cookie::Cookie;
use super::{param_str, param_u64, SUPPORTED_FLAGS};
use crate::api::{
    event, job_operation, migrate_flags, migrate_param, reason, state, DomainRef, DriverError,
    DriverResult, MigrationStep, NamedParam,
};

/// How long an outgoing migration may take before it is cancelled.
const PERFORM_DEADLINE: Duration = Duration::from_secs(600);

impl Inner {
    pub(in super::super) fn migrate_begin(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigrateBegin3Params")?;
        super::refuse_unsupported(flags)?;
        self.conf().migration.tls.check_forced(flags)?;
        let st = self.lock();
        let obj = st.get(dom)?;
        if obj.run.is_none() {
            return Err(not_running());
        }
        let xml = match param_str(params, migrate_param::DEST_XML) {
            Some(xml) => xml.to_string(),
            None => obj.xml(false, true),
        };
        let mut cookie = self.source_cookie(obj, flags);
        if flags & super::nbd::STORAGE_FLAGS != 0 {
            let wanted = super::nbd::wanted_disks(params);
            super::nbd::check_wanted(&obj.def, &wanted)?;
            let run = obj.run.as_ref().ok_or_else(not_running)?;
            cookie.nbd = Some(super::nbd::begin_cookie(&run.monitor, &obj.def, &wanted));
        }
        Ok(MigrationStep {
            cookie: cookie.to_bytes(),
            text: Some(xml),
        })
    }

    /// The cookie the source writes: who it is, and the definition to keep when
    /// `--persistent` asks the destination to define the guest.
    fn source_cookie(&self, obj: &super::super::state::DomainObj, flags: u32) -> Cookie {
        let persistent = (flags & migrate_flags::PERSIST_DEST != 0).then(|| {
            let def = obj.new_def.as_ref().unwrap_or(&obj.def);
            obj.xml_of(def, true, true)
        });
        Cookie {
            persistent,
            ..Cookie::about(&obj.def.name, obj.def.uuid)
        }
    }

    pub(in super::super) fn migrate_perform(
        self: &Arc<Self>,
        dom: &DomainRef,
        dconnuri: Option<&str>,
        params: &[NamedParam],
        dest_cookie: &[u8],
        flags: u32,
    ) -> DriverResult<MigrationStep> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigratePerform3Params")?;
        super::refuse_tunnelled(flags, "virDomainMigratePerform3Params without peer-to-peer")?;
        if flags & migrate_flags::PEER2PEER != 0 || dconnuri.is_some() {
            return Err(DriverError::new(
                crate::api::codes::ARGUMENT_UNSUPPORTED,
                crate::api::domains::QEMU,
                "peer-to-peer migration is not supported",
            ));
        }
        let uri = param_str(params, migrate_param::URI).ok_or_else(|| {
            DriverError::invalid_arg("migration URI is required")
                .in_domain(crate::api::domains::QEMU)
        })?;
        let (host, port) = super::uri::parse_tcp(uri)?;
        let port = port
            .ok_or_else(|| QemuError::Unsupported(format!("migration URI '{uri}' has no port")))?;
        self.send_guest(dom, params, dest_cookie, flags, Channel::Tcp(host, port))
    }

    /// Perform's work once the way to the destination is known.
    pub(super) fn send_guest(
        self: &Arc<Self>,
        dom: &DomainRef,
        params: &[NamedParam],
        dest_cookie: &[u8],
        flags: u32,
        channel: Channel,
    ) -> DriverResult<MigrationStep> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigratePerform3Params")?;
        super::refuse_unsupported(flags)?;
        let host = match &channel {
            Channel::Tcp(host, _) => host.clone(),
            Channel::Tunnel(_) => String::new(),
        };
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = lock_job_bounded(&job)?;
        let dest_cookie = Cookie::parse(dest_cookie)?;
        let (monitor, mut cookie) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let Some(run) = obj.run.as_ref() else {
                return Err(not_running());
            };
            (Arc::clone(&run.monitor), self.source_cookie(obj, flags))
        };
        if let Some(xml) = param_str(params, migrate_param::PERSIST_XML) {
            if flags & migrate_flags::PERSIST_DEST != 0 {
                self.parse_def(xml)?;
                cookie.persistent = Some(xml.to_string());
            }
        }
        if let Some(mib) = param_u64(params, migrate_param::BANDWIDTH) {
            set_parameter(&monitor, "max-bandwidth", mib.saturating_mul(1 << 20))?;
        }
        if let Some(bytes) = super::caps::xbzrle_cache(params, flags)? {
            set_parameter(&monitor, super::XBZRLE_CACHE_SIZE, bytes)?;
        }
        if let Some(mib) = param_u64(params, super::postcopy::BANDWIDTH_PARAM) {
            set_parameter(
                &monitor,
                "max-postcopy-bandwidth",
                mib.saturating_mul(1 << 20),
            )?;
        }
        super::caps::apply(&monitor, flags, super::caps::Side::Source)?;
        let tls = flags & migrate_flags::TLS != 0;
        if tls {
            let conf = self.conf().migration.tls.clone();
            super::tls::enable(&monitor, &conf, super::tls::Endpoint::Client, &host)?;
        } else {
            // A guest that came here over TLS still names its server credentials.
            super::tls::disable(&monitor);
        }
        super::postcopy::update(&dom.uuid, |p| {
            *p = super::postcopy::Phase {
                allowed: flags & migrate_flags::POSTCOPY != 0,
                ..Default::default()
            }
        });
        self.set_job(
            &dom.uuid,
            Some(ActiveJob::new(job_operation::MIGRATION_OUT)),
        );
        let copying = self.start_storage_copy(
            dom,
            &monitor,
            &host,
            dest_cookie.nbd.as_ref(),
            params,
            flags,
        );
        let copying = match copying {
            Ok(copying) => copying,
            Err(e) => {
                self.set_job(&dom.uuid, None);
                return Err(e);
            }
        };
        if copying {
            cookie.nbd = Some(Default::default());
        }
        let sent =
            start_migrate(&monitor, channel).and_then(|_| self.wait_outgoing(&dom.uuid, &monitor));
        self.set_job(&dom.uuid, None);
        if copying {
            if sent.is_err() {
                let _ = monitor.execute("migrate_cancel", None);
                super::nbd::abort_mirrors(&monitor, &dom.uuid);
            }
            super::nbd::end_storage_copy(&monitor);
        }
        if let Err(e) = sent {
            super::postcopy::forget(&dom.uuid);
            let _ = monitor.execute("migrate_cancel", None);
            if tls {
                super::tls::disable(&monitor);
            }
            // QEMU keeps the guest running until the last pass; should it have
            // paused it already, it runs again.
            if paused_by_qemu(&monitor) {
                let _ = monitor.execute("cont", None);
            }
            return Err(e.into());
        }
        let events = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let (why, detail) = super::postcopy::stop_reason(&dom.uuid);
            // The monitor's STOP event may have said it already.
            if obj.state == state::PAUSED && obj.reason == why {
                vec![]
            } else {
                obj.state = state::PAUSED;
                obj.reason = why;
                self.persist_status(obj);
                vec![obj.lifecycle_event(event::SUSPENDED, detail)]
            }
        };
        self.emit(events);
        Ok(MigrationStep {
            cookie: cookie.to_bytes(),
            text: None,
        })
    }

    /// Follows QEMU's `query-migrate` until the migration ends, recording progress
    /// for `domjobinfo`.
    fn wait_outgoing(
        &self,
        uuid: &crate::api::Uuid,
        monitor: &super::super::qmp::Monitor,
    ) -> Result<(), QemuError> {
        let deadline = Instant::now() + PERFORM_DEADLINE;
        let mut pause = Duration::from_millis(2);
        loop {
            let status = monitor.execute("query-migrate", None)?;
            self.record_migration_progress(uuid, &status);
            match status.get("status").and_then(Value::as_str) {
                Some("completed") => {
                    let figure = |name: &str| status.get(name).and_then(Value::as_u64).unwrap_or(0);
                    tracing::info!(
                        "outgoing migration completed: total {} ms, downtime {} ms",
                        figure("total-time"),
                        figure("downtime")
                    );
                    return Ok(());
                }
                Some("pre-switchover") => super::nbd::at_switchover(monitor, uuid)?,
                // The guest runs on the destination from now on; confirm waits
                // for the rest of its memory to have gone.
                Some("postcopy-active") => return Ok(()),
                Some("cancelled") | Some("cancelling") => {
                    return Err(QemuError::Aborted(
                        "migration out job: canceled by client".into(),
                    ))
                }
                Some("failed") => {
                    let detail = status
                        .get("error-desc")
                        .and_then(Value::as_str)
                        .unwrap_or("unexpectedly failed");
                    return Err(QemuError::Failed(format!("migration out job: {detail}")));
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(QemuError::Timeout("migration out job: timed out".into()));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    pub(in super::super) fn migrate_confirm(
        self: &Arc<Self>,
        dom: &DomainRef,
        flags: u32,
        cancelled: bool,
    ) -> DriverResult<()> {
        check_flags(flags, SUPPORTED_FLAGS, "qemuDomainMigrateConfirm3Params")?;
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let guard = lock_job_bounded(&job)?;
        let (monitor, process, token) = self.running_parts(dom)?;
        if cancelled {
            // The destination failed: the guest runs here again.
            let was_paused = {
                let st = self.lock();
                let obj = st.get(dom)?;
                obj.state == state::PAUSED && obj.reason == reason::PAUSED_MIGRATION
            };
            if paused_by_qemu(&monitor) || was_paused {
                monitor.execute("cont", None).map_err(QemuError::from)?;
                let events = {
                    let mut st = self.lock();
                    let obj = st.get_mut(dom)?;
                    obj.state = state::RUNNING;
                    obj.reason = reason::RUNNING_MIGRATION_CANCELED;
                    self.persist_status(obj);
                    vec![obj.lifecycle_event(event::RESUMED, event::RESUMED_MIGRATED)]
                };
                self.emit(events);
            }
            return Ok(());
        }
        self.finish_sending(dom)?;
        {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            if let Some(run) = obj.run.as_mut() {
                run.expected_stop = Some((reason::SHUTOFF_MIGRATED, event::STOPPED_MIGRATED));
            }
        }
        stop_process(&process, false)?;
        self.handle_exit(&dom.uuid, token);
        drop(guard);
        if flags & migrate_flags::UNDEFINE_SOURCE != 0 {
            let persistent = self.lock().get(dom).map(|o| o.persistent).unwrap_or(false);
            if persistent {
                self.undefine(dom, 0)?;
            }
        }
        Ok(())
    }

    /// `virDomainSuspend` while `dom` migrates out (`virsh migrate --timeout
    /// --timeout-suspend`): the CPUs stop beside perform, which holds the job,
    /// and the STOP event names it "paused (migrating)". Returns false when no
    /// migration runs.
    pub(in super::super) fn pause_outgoing(&self, dom: &DomainRef) -> DriverResult<bool> {
        let monitor = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let run = obj.run.as_ref().filter(|run| {
                run.job
                    .as_ref()
                    .is_some_and(|job| job.operation() == job_operation::MIGRATION_OUT)
            });
            match run {
                Some(run) if obj.state == state::RUNNING => Arc::clone(&run.monitor),
                Some(_) => return Ok(true),
                None => return Ok(false),
            }
        };
        monitor.execute("stop", None).map_err(QemuError::from)?;
        Ok(true)
    }

    /// `virDomainAbortJob`: cancels the outgoing migration of `dom`.
    pub(in super::super) fn abort_migration(&self, dom: &DomainRef) -> DriverResult<()> {
        // Once switched, the guest's memory is split between the hosts (until
        // confirm saw the last page go).
        if super::postcopy::phase(&dom.uuid).requested {
            return Err(
                QemuError::InvalidState("cannot abort migration in post-copy mode".into()).into(),
            );
        }
        let monitor = {
            let st = self.lock();
            let obj = st.get(dom)?;
            let Some(run) = obj.run.as_ref() else {
                return Err(not_running());
            };
            let migrating = run
                .job
                .as_ref()
                .is_some_and(|job| job.operation() == job_operation::MIGRATION_OUT);
            if !migrating {
                return Err(
                    QemuError::InvalidState("no job is active on the domain".into()).into(),
                );
            }
            Arc::clone(&run.monitor)
        };
        monitor
            .execute("migrate_cancel", None)
            .map_err(QemuError::from)?;
        Ok(())
    }
}

/// Where QEMU sends the guest: a TCP port of the destination's QEMU, or a
/// socket whose other end the daemon relays (tunnelled migration).
pub(super) enum Channel {
    Tcp(String, u16),
    Tunnel(std::os::unix::net::UnixStream),
}

/// QEMU's `migrate` towards `channel`; a tunnel's descriptor is passed first
/// (`getfd`) and closed here once QEMU holds its own copy.
fn start_migrate(monitor: &super::super::qmp::Monitor, channel: Channel) -> Result<(), QemuError> {
    let uri = match channel {
        Channel::Tcp(host, port) => format!("tcp:{host}:{port}"),
        Channel::Tunnel(tunnel) => {
            monitor.execute_with_fd(
                "getfd",
                Some(json!({ "fdname": super::TUNNEL_FD })),
                std::os::fd::AsFd::as_fd(&tunnel),
            )?;
            format!("fd:{}", super::TUNNEL_FD)
        }
    };
    monitor.execute("migrate", Some(json!({ "uri": uri })))?;
    Ok(())
}

/// Whether QEMU reports the guest's CPUs as stopped.
fn paused_by_qemu(monitor: &super::super::qmp::Monitor) -> bool {
    monitor
        .execute("query-status", None)
        .ok()
        .and_then(|s| s.get("running").and_then(Value::as_bool))
        == Some(false)
}

/// Sets one of QEMU's migration parameters.
pub(super) fn set_parameter(
    monitor: &super::super::qmp::Monitor,
    name: &str,
    value: u64,
) -> Result<(), QemuError> {
    monitor.execute("migrate-set-parameters", Some(json!({ name: value })))?;
    Ok(())
}
