//! Starting and stopping guests, and the state changes clients ask for. Each slow
//! operation holds the domain's job lock; the table lock is taken only for short
//! bookkeeping steps, never while QEMU is waited on.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::command::{build_command_line, LaunchContext};
use super::error::QemuError;
use super::fsutil::remove_if_exists;
use super::hook_calls::run_qemu_hook;
use super::monitor_events;
use super::perf_counters::PerfCounters;
use super::process::{GuestProcess, ProcessLimits};
use super::qmp::Monitor;
use super::state::Running;
use super::status::{write_status, StatusRecord};
use super::{lock_job, Inner};
use crate::api::{
    create_flags, event, reason, state, DomainHandle, DomainRef, DriverError, DriverResult, Uuid,
};
use crate::domain_xml::DomainDef;

/// How long QEMU gets to bring up its monitor.
/// A started QEMU: its process, monitor and open perf counters.
type Launched = (GuestProcess, Arc<Monitor>, PerfCounters);

const MONITOR_DEADLINE: Duration = Duration::from_secs(30);
/// SIGTERM grace period before SIGKILL, as libvirt's.
const TERM_GRACE: Duration = Duration::from_secs(10);

/// `destroy` flag: do not fall back to SIGKILL.
pub const DESTROY_GRACEFUL: u32 = 1;

pub(super) fn not_running() -> DriverError {
    QemuError::InvalidState("domain is not running".into()).into()
}

/// libvirt's flag check for an entry point of this driver.
pub(super) fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    crate::domain_list::check_flags(crate::api::domains::QEMU, flags, allowed, function)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where a start comes from: a fresh boot or a saved image (whose migration stream
/// starts `offset` bytes into the file).
pub enum StartSource {
    Boot,
    Restore(std::path::PathBuf, u64),
    /// An incoming migration: QEMU listens on this `-incoming` URI and the guest
    /// stays paused until the migration's finish phase resumes it.
    Incoming(String),
}

/// Quotes a path for the shell QEMU runs `exec:` migration commands with.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

impl Inner {
    /// Starts a defined, inactive domain.
    pub(super) fn start(
        self: &Arc<Self>,
        uuid: &Uuid,
        flags: u32,
        source: StartSource,
    ) -> DriverResult<DomainHandle> {
        let job = self
            .job_of(uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(crate::api::domains::QEMU, uuid, ""))?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let def = {
            let st = self.lock();
            let index = st
                .find_by_uuid(uuid)
                .ok_or_else(|| DriverError::no_domain_uuid(crate::api::domains::QEMU, uuid, ""))?;
            let obj = &st.domains[index];
            if obj.is_active() {
                return Err(QemuError::InvalidState("domain is already running".into()).into());
            }
            obj.def.clone()
        };
        let mut def = def;
        self.name_runtime_parts(&mut def);
        super::agent::channel::mark_disconnected(&mut def);
        // First, before anything is checked or allocated: the hook may create what
        // the guest needs (the bridge its interface names, for one).
        if let Err(e) = run_qemu_hook(self.hooks.as_ref(), &def, "prepare", "begin") {
            self.mark_start_failed(uuid);
            return Err(QemuError::from(e).into());
        }
        if let Err(e) = super::volumes::check(self, &def) {
            let _ = run_qemu_hook(self.hooks.as_ref(), &def, "release", "end");
            self.mark_start_failed(uuid);
            return Err(e);
        }
        let token = self.lock().allocate_token();
        self.in_flight.enter_start(token);
        let prepared = super::network_ports::plug(self.network.get(), &mut def).and_then(|_| {
            super::tap::create_bridge_taps(&mut def)
                .inspect_err(|_| super::network_ports::unplug(self.network.get(), &def))
        });
        if prepared.is_err() {
            let _ = run_qemu_hook(self.hooks.as_ref(), &def, "release", "end");
        }
        let launched = prepared.and_then(|_| self.launch(&def, flags, &source, token));
        match launched {
            Ok((process, monitor, perf)) => {
                let mut def = def;
                super::live_xml::fill_graphics(&mut def, &monitor);
                super::stats::apply_balloon_period(&def, &monitor);
                // Held until the status file is written: an exiting daemon
                // either waits for it or has already killed the process.
                let Some(_recording) = self.in_flight.claim_start(token) else {
                    super::tap::remove_bridge_taps(&def);
                    super::network_ports::unplug(self.network.get(), &def);
                    return Err(QemuError::Failed(
                        "the start was abandoned: the daemon is shutting down".into(),
                    )
                    .into());
                };
                Ok(self.mark_started(uuid, def, flags, &source, (process, monitor, perf), token))
            }
            Err(err) => {
                self.in_flight.forget_start(token);
                super::disk_secrets::forget(&super::disk_secrets::private_dir(
                    &self.paths.lib_dir,
                    &def.name,
                ));
                super::tap::remove_bridge_taps(&def);
                super::network_ports::unplug(self.network.get(), &def);
                if matches!(err, QemuError::StartFailed(_) | QemuError::Driver(_)) {
                    let hooks = self.hooks.as_ref();
                    let _ = run_qemu_hook(hooks, &def, "stopped", "end");
                    let _ = run_qemu_hook(hooks, &def, "release", "end");
                }
                self.mark_start_failed(uuid);
                Err(err.into())
            }
        }
    }

    /// What a start adds to the definition before QEMU's command line is built:
    /// the aliases QEMU knows the devices by, the VNC socket when qemu.conf asks
    /// for one, and the paths of UNIX channels that name none.
    pub(super) fn name_runtime_parts(&self, def: &mut DomainDef) {
        super::hotplug::alias::assign_aliases(def);
        if self.conf().vnc_auto_unix_socket {
            let socket = self.paths.vnc_socket(&def.name);
            super::live_xml::use_vnc_socket(def, &socket.display().to_string());
        }
        let channel_dir = self.paths.channel_dir(&def.name);
        super::live_xml::fill_channel_paths(def, &channel_dir.display().to_string());
    }

    /// The reason an inactive domain shows after a start that did not succeed.
    fn mark_start_failed(&self, uuid: &Uuid) {
        let mut st = self.lock();
        if let Some(index) = st.find_by_uuid(uuid) {
            st.domains[index].reason = reason::SHUTOFF_FAILED;
        }
    }

    /// Spawns QEMU, connects its monitor, opens the perf counters the definition
    /// enables and lets the CPUs run.
    fn launch(
        self: &Arc<Self>,
        def: &DomainDef,
        flags: u32,
        source: &StartSource,
        token: u64,
    ) -> Result<Launched, QemuError> {
        let paths = &self.paths;
        for dir in [&paths.run_dir, &paths.log_dir, &paths.lib_dir] {
            fs::create_dir_all(dir)
                .map_err(|e| QemuError::io("cannot create directory", dir, e))?;
        }
        let monitor_path = paths.monitor_socket(&def.name);
        remove_if_exists(&monitor_path)?;
        let monitor_text = monitor_path.display().to_string();
        let incoming = match source {
            StartSource::Restore(path, offset) if flags & create_flags::BYPASS_CACHE != 0 => {
                Some(super::direct_io::incoming_command(path, *offset))
            }
            StartSource::Restore(path, 0) => Some(format!(
                "exec:cat {}",
                shell_quote(&path.display().to_string())
            )),
            StartSource::Restore(path, offset) => Some(format!(
                "exec:tail -c +{} {}",
                offset + 1,
                shell_quote(&path.display().to_string())
            )),
            StartSource::Incoming(uri) => Some(uri.clone()),
            StartSource::Boot => None,
        };
        let conf = self.conf();
        let with_volumes =
            super::volumes::resolved(self, def).map_err(|e| QemuError::Unsupported(e.message))?;
        let channel_dir = paths.channel_dir(&def.name);
        if def.devices.iter().any(|d| d.name == "channel") {
            fs::create_dir_all(&channel_dir)
                .map_err(|e| QemuError::io("cannot create directory", &channel_dir, e))?;
        }
        let channel_dir_text = channel_dir.display().to_string();
        let disk_secrets = super::disk_secrets::prepare(
            &with_volumes,
            self.secrets.get().map(|s| s.as_ref()),
            &super::disk_secrets::private_dir(&paths.lib_dir, &def.name),
        )?;
        let argv = build_command_line(
            &with_volumes,
            &LaunchContext {
                monitor_socket: &monitor_text,
                incoming: incoming.as_deref(),
                conf: &conf,
                host: self.host(),
                channel_dir: Some(&channel_dir_text),
                disk_secrets: Some(&disk_secrets),
            },
        )?;
        let env = super::native_argv::qemu_env(&paths.lib_dir.display().to_string());
        let hooks = self.hooks.as_ref();
        if let Err(e) = run_qemu_hook(hooks, def, "start", "begin") {
            let _ = run_qemu_hook(hooks, def, "release", "end");
            return Err(e.into());
        }
        let log_path = paths.log_file(&def.name);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| QemuError::io("cannot open log file", &log_path, e))?;
        let header = log_header(&env, &argv);
        log.write_all(header.as_bytes())
            .map_err(|e| QemuError::io("cannot write log file", &log_path, e))?;
        let log_offset = log.seek(SeekFrom::End(0)).unwrap_or(0);
        let limits = ProcessLimits {
            max_processes: conf.max_processes,
            max_files: conf.max_files,
        };
        let process = GuestProcess::spawn(&argv, &env, &log, limits)
            .map_err(|e| QemuError::StartFailed(format!("cannot execute '{}': {e}", argv[0])))?;
        // QEMU's own words from the log name the problem; when the process died by
        // itself they are the whole story, as in libvirt's message.
        let fail = |process: &GuestProcess, what: &str| {
            let exited_alone = process.has_exited();
            let _ = process.signal(libc::SIGKILL);
            process.wait_exit(Some(Duration::from_secs(5)));
            process.reap();
            let _ = fs::remove_file(&monitor_path);
            let text = read_log_tail(&log_path, log_offset);
            if exited_alone {
                QemuError::StartFailed(format!(
                    "process exited while connecting to monitor: {text}"
                ))
            } else {
                QemuError::StartFailed(format!("{what}: {text}"))
            }
        };
        if !self.in_flight.spawned(token, &process) {
            return Err(fail(&process, "the daemon is shutting down"));
        }
        let watcher = process.clone();
        let handler = monitor_events::handler(Arc::downgrade(self), def.uuid, token);
        let monitor = match Monitor::connect(
            &monitor_path,
            Instant::now() + MONITOR_DEADLINE,
            move || !watcher.has_exited(),
            handler,
        ) {
            Ok(monitor) => Arc::new(monitor),
            Err(e) => {
                let what = format!("process exited while connecting to monitor ({e})");
                return Err(fail(&process, &what));
            }
        };
        if let Err(e) = super::command::set_vnc_passwords(&monitor, def, &conf) {
            return Err(fail(
                &process,
                &format!("cannot set the VNC password ({e})"),
            ));
        }
        if let StartSource::Restore(..) = source {
            if let Err(e) = wait_incoming(&monitor) {
                return Err(fail(
                    &process,
                    &format!("cannot restore the saved state ({e})"),
                ));
            }
        }
        if matches!(source, StartSource::Boot) {
            let listed = super::vcpu_list::plugged_at_start(def);
            if let Err(e) = super::live_tuning::plug_vcpus(&monitor, &listed) {
                return Err(fail(&process, &format!("cannot plug the vCPUs ({e})")));
            }
        }
        let perf = match super::live_tuning::open_perf_at_start(def, process.pid) {
            Ok(perf) => perf,
            Err(e) => {
                let _ = fail(&process, "cannot open the perf events");
                return Err(QemuError::Driver(e));
            }
        };
        if flags & create_flags::START_PAUSED == 0 {
            if let Err(e) = monitor.execute("cont", None) {
                return Err(fail(
                    &process,
                    &format!("cannot resume the guest CPUs ({e})"),
                ));
            }
        }
        if let Err(e) = run_qemu_hook(hooks, def, "started", "begin") {
            let _ = fail(&process, "started hook failed");
            let _ = run_qemu_hook(hooks, def, "stopped", "end");
            let _ = run_qemu_hook(hooks, def, "release", "end");
            return Err(e.into());
        }
        Ok((process, monitor, perf))
    }

    /// Records a successful start: state, status file, events and the exit watcher.
    #[allow(clippy::too_many_arguments)]
    fn mark_started(
        self: &Arc<Self>,
        uuid: &Uuid,
        def: DomainDef,
        flags: u32,
        source: &StartSource,
        (process, monitor, perf): Launched,
        token: u64,
    ) -> DomainHandle {
        let id = self.allocate_id();
        super::scheduler::place_guest(id, &def.name, &process, &monitor);
        super::live_tuning::apply_at_start(&def, process.pid);
        let paused = flags & create_flags::START_PAUSED != 0;
        let restored = matches!(source, StartSource::Restore(..));
        let incoming = matches!(source, StartSource::Incoming(..));
        let (handle, events) = {
            let mut st = self.lock();
            let Some(index) = st.find_by_uuid(uuid) else {
                // The domain cannot vanish while we hold its job; should it anyway,
                // the guest is not left running unseen.
                let _ = process.signal(libc::SIGKILL);
                return DomainHandle {
                    name: def.name,
                    uuid: *uuid,
                    id: -1,
                };
            };
            let obj = &mut st.domains[index];
            if obj.persistent && obj.new_def.is_none() {
                obj.new_def = Some(obj.def.clone());
            }
            // The live definition: what was started plus what QEMU chose (VNC port).
            obj.def = def;
            obj.id = id;
            obj.run = Some(Running {
                process: process.clone(),
                monitor,
                token,
                expected_stop: None,
                got_shutdown: false,
                fake_reboot: false,
                started: now_secs(),
                job: None,
                perf,
            });
            if paused {
                obj.state = state::PAUSED;
                obj.reason = if restored || incoming {
                    reason::PAUSED_MIGRATION
                } else {
                    reason::PAUSED_USER
                };
            } else {
                obj.state = state::RUNNING;
                obj.reason = if restored {
                    reason::RUNNING_RESTORED
                } else {
                    reason::RUNNING_BOOTED
                };
            }
            self.persist_status(obj);
            let detail = if incoming {
                event::STARTED_MIGRATED
            } else if restored {
                event::STARTED_RESTORED
            } else {
                event::STARTED_BOOTED
            };
            let mut events = vec![obj.lifecycle_event(event::STARTED, detail)];
            if paused && !incoming {
                let detail = if flags & super::managed_save::PAUSED_BY_IMAGE != 0 {
                    event::SUSPENDED_RESTORED
                } else {
                    event::SUSPENDED_PAUSED
                };
                events.push(obj.lifecycle_event(event::SUSPENDED, detail));
            }
            (obj.handle(), events)
        };
        self.spawn_exit_watcher(*uuid, token, process);
        self.emit(events);
        handle
    }

    /// Rewrites the status file of a running domain (after start and state changes),
    /// so a restarted daemon knows its pid, monitor, id, state and live definition.
    pub(super) fn persist_status(&self, obj: &super::state::DomainObj) {
        let Some(run) = obj.run.as_ref() else {
            return;
        };
        let record = StatusRecord {
            pid: run.process.pid,
            id: obj.id,
            state: obj.state,
            reason: obj.reason,
            monitor: self.paths.monitor_socket(&obj.def.name),
            started: run.started,
            got_shutdown: run.got_shutdown,
            fake_reboot: run.fake_reboot,
            jobs: super::blockjob::status_element(&obj.def.uuid)
                .into_iter()
                .chain(super::backup::status_element(&obj.def.uuid))
                .collect(),
            def: obj.def.clone(),
        };
        // A status file that cannot be written costs only the reason after a restart;
        // the guest itself is found again through its pid and monitor.
        let _ = write_status(&self.paths.status_file(&obj.def.name), &record);
    }

    pub(super) fn spawn_exit_watcher(
        self: &Arc<Self>,
        uuid: Uuid,
        token: u64,
        process: GuestProcess,
    ) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("qemu-exit-watch".into())
            .spawn(move || {
                process.wait_exit(None);
                if let Some(inner) = weak.upgrade() {
                    // Under the domain's job, as destroy does it: the stopped and
                    // release hooks of this run are over before the next operation
                    // on the domain (a start and its prepare hook) begins.
                    let job = inner.job_of(&uuid);
                    let _job = job.as_deref().map(lock_job);
                    inner.handle_exit(&uuid, token);
                }
            });
        if spawned.is_err() {
            // Without a watcher the exit is still noticed by destroy and on restart.
        }
    }

    /// Bookkeeping after the QEMU process of run `token` exited. Idempotent: the exit
    /// watcher and `destroy` may both call it.
    pub(super) fn handle_exit(&self, uuid: &Uuid, token: u64) {
        let (events, process, live_def, id) = {
            let mut st = self.lock();
            let Some(index) = st.find_by_uuid(uuid) else {
                return;
            };
            let obj = &st.domains[index];
            let Some(run) = obj.run.as_ref().filter(|r| r.token == token) else {
                return;
            };
            let (shutoff_reason, detail) = run.expected_stop.unwrap_or(if run.got_shutdown {
                (reason::SHUTOFF_SHUTDOWN, event::STOPPED_SHUTDOWN)
            } else {
                (reason::SHUTOFF_CRASHED, event::STOPPED_FAILED)
            });
            let name = obj.def.name.clone();
            let (live_def, obj_id) = (obj.def.clone(), obj.id);
            let _ = remove_if_exists(&self.paths.status_file(&name));
            let _ = remove_if_exists(&self.paths.monitor_socket(&name));
            super::disk_secrets::forget(&super::disk_secrets::private_dir(
                &self.paths.lib_dir,
                &name,
            ));
            let (ev, run) = st.mark_stopped(index, shutoff_reason, detail);
            (vec![ev], run.map(|r| r.process), live_def, obj_id)
        };
        if let Some(process) = process {
            process.reap();
        }
        super::blockjob::forget_guest(uuid);
        super::tap::remove_bridge_taps(&live_def);
        super::network_ports::unplug(self.network.get(), &live_def);
        super::scheduler::release_guest(id, &live_def.name);
        let hooks = self.hooks.as_ref();
        let _ = run_qemu_hook(hooks, &live_def, "stopped", "end");
        let _ = run_qemu_hook(hooks, &live_def, "release", "end");
        self.emit(events);
    }

    /// The monitor and process of a running domain, after checking it is active.
    pub(super) fn running_parts(
        &self,
        dom: &DomainRef,
    ) -> DriverResult<(Arc<Monitor>, GuestProcess, u64)> {
        let st = self.lock();
        let obj = st.get(dom)?;
        match &obj.run {
            Some(run) => Ok((Arc::clone(&run.monitor), run.process.clone(), run.token)),
            None => Err(not_running()),
        }
    }

    pub(super) fn destroy(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, DESTROY_GRACEFUL, "qemuDomainDestroyFlags")?;
        let job = self.job_of(&dom.uuid).ok_or_else(|| {
            DriverError::no_domain_uuid(crate::api::domains::QEMU, &dom.uuid, &dom.name)
        })?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let (process, token) = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let Some(run) = obj.run.as_mut() else {
                return Err(not_running());
            };
            run.expected_stop = Some((reason::SHUTOFF_DESTROYED, event::STOPPED_DESTROYED));
            (run.process.clone(), run.token)
        };
        stop_process(&process, flags & DESTROY_GRACEFUL != 0)?;
        self.handle_exit(&dom.uuid, token);
        Ok(())
    }
}

/// SIGTERM, then (unless graceful) SIGKILL after the grace period; waits for the exit.
pub(super) fn stop_process(process: &GuestProcess, graceful: bool) -> Result<(), QemuError> {
    let _ = process.signal(libc::SIGTERM);
    if process.wait_exit(Some(TERM_GRACE)) {
        return Ok(());
    }
    if graceful {
        return Err(QemuError::Failed(format!(
            "failed to terminate process {} with SIGTERM: Device or resource busy",
            process.pid
        )));
    }
    let _ = process.signal(libc::SIGKILL);
    if process.wait_exit(Some(Duration::from_secs(5))) {
        Ok(())
    } else {
        Err(QemuError::Failed(format!(
            "failed to kill process {}: Device or resource busy",
            process.pid
        )))
    }
}

/// Waits until an incoming migration (a restore) has completed.
fn wait_incoming(monitor: &Monitor) -> Result<(), QemuError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pause = Duration::from_millis(2);
    loop {
        let status = monitor
            .execute("query-migrate", None)
            .map_err(QemuError::from)?;
        match status.get("status").and_then(|s| s.as_str()) {
            Some("completed") => return Ok(()),
            Some("failed") | Some("cancelled") => {
                return Err(QemuError::Monitor("incoming migration failed".into()))
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(QemuError::Monitor("incoming migration timed out".into()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// libvirt's log header: when, who, then the environment and the command line.
fn log_header(env: &[(String, String)], argv: &[String]) -> String {
    let now = now_secs();
    let mut out = format!(
        "{}: starting up libvirt version: 9.0.0, hostname: {}\n",
        format_utc(now),
        crate::host::hostname()
    );
    for (k, v) in env {
        out.push_str(&format!("{k}={v} \\\n"));
    }
    out.push_str(&argv.join(" \\\n"));
    out.push('\n');
    out
}

/// "YYYY-MM-DD HH:MM:SS.000+0000" for a Unix time.
fn format_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil-from-days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.000+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// QEMU's own output after our header: what it said before it died.
fn read_log_tail(path: &std::path::Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_string(&mut text);
        }
    }
    let text = text.trim();
    if text.is_empty() {
        "no output from qemu".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00.000+0000");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20.000+0000");
    }
}
