//! Daemon start-up: load the persistent definitions, re-attach to guests that kept
//! running while the daemon was away (status file + pidfd + QMP), and start the
//! autostart guests once per host boot.

use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::defaults::HostFacts;
use super::fsutil::{atomic_write, remove_if_exists};
use super::hook_calls::run_qemu_hook;
use super::lifecycle::StartSource;
use super::monitor_events;
use super::process::GuestProcess;
use super::qmp::Monitor;
use super::state::{DomainObj, Running};
use super::status::{read_status, StatusRecord};
use super::{store, Inner};
use crate::api::{event, reason, state};

/// Definitions on disk already carry the qemu defaults; loading them must not probe
/// QEMU binaries (that would slow every daemon start).
fn load_facts() -> HostFacts {
    HostFacts {
        emulator: "/usr/bin/qemu-system-x86_64".to_string(),
        machine_aliases: Vec::new(),
    }
}

/// Fills the domain table; returns the problems worth logging.
pub fn load_and_reconnect(inner: &Arc<Inner>) -> Vec<String> {
    let (configs, mut problems) = store::load_configs(&inner.paths, &load_facts());
    let mut domains: Vec<DomainObj> = configs
        .into_iter()
        .map(|c| {
            let mut obj = DomainObj::inactive(c.def, true);
            obj.autostart = c.autostart;
            obj
        })
        .collect();
    let mut last_id = fs::read_to_string(inner.paths.id_counter_file())
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .unwrap_or(0);
    let mut revived: Vec<(usize, GuestProcess, u64)> = Vec::new();
    // The jobs recorded in the status files of the guests found again.
    let mut saved_jobs: Vec<(crate::api::Uuid, Vec<String>)> = Vec::new();
    let mut next_token = 0u64;
    for path in status_files(inner) {
        let record = match read_status(&path) {
            Ok(record) => record,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                let _ = remove_if_exists(&path);
                continue;
            }
        };
        last_id = last_id.max(record.id);
        next_token += 1;
        let index = match domains.iter().position(|d| d.def.uuid == record.def.uuid) {
            Some(index) => index,
            None => {
                domains.push(DomainObj::inactive(record.def.clone(), false));
                domains.len() - 1
            }
        };
        match reattach(inner, &record, next_token) {
            Ok(found) => {
                let obj = &mut domains[index];
                if obj.persistent {
                    obj.new_def = Some(std::mem::replace(&mut obj.def, record.def.clone()));
                }
                super::hotplug::alias::adopt_unnamed_ids(&mut obj.def);
                obj.id = record.id;
                (obj.state, obj.reason) = found.run_state;
                let process = found.process;
                let perf = super::live_tuning::reopen_perf_events(&mut obj.def, process.pid);
                // Channels the guest opened or closed while no daemon listened.
                super::agent::channel::refresh(&mut obj.def, &found.monitor);
                obj.run = Some(Running {
                    process: process.clone(),
                    monitor: found.monitor,
                    token: next_token,
                    expected_stop: found.expected_stop,
                    got_shutdown: found.got_shutdown,
                    fake_reboot: found.fake_reboot,
                    started: record.started,
                    job: None,
                    perf,
                });
                if found.expected_stop.is_some() {
                    // Finishing the shutdown the guest did while no daemon ran: the
                    // exit watcher records the stop.
                    let _ = process.signal(libc::SIGTERM);
                }
                revived.push((index, process, next_token));
                if !record.jobs.is_empty() {
                    super::blockjob::restore(&record.def.uuid, &record.jobs);
                    saved_jobs.push((record.def.uuid, record.jobs.clone()));
                }
            }
            Err(lost) => {
                problems.push(match lost {
                    Lost::Gone => format!(
                        "guest '{}' (pid {}) is gone; marking it shut off",
                        record.def.name, record.pid
                    ),
                    Lost::Refused => format!(
                        "the reconnect hook refused guest '{}'; it was killed",
                        record.def.name
                    ),
                });
                let _ = remove_if_exists(&path);
                let _ = remove_if_exists(&record.monitor);
                super::tap::remove_bridge_taps(&record.def);
                if lost == Lost::Refused {
                    // As libvirt stops a guest it gave up on: the stop hooks run.
                    let hooks = inner.hooks.as_ref();
                    let _ = run_qemu_hook(hooks, &record.def, "stopped", "end");
                    let _ = run_qemu_hook(hooks, &record.def, "release", "end");
                }
                if domains[index].persistent {
                    domains[index].reason = match lost {
                        Lost::Gone => reason::SHUTOFF_CRASHED,
                        // libvirt's reason for a guest it stopped itself.
                        Lost::Refused => reason::SHUTOFF_DAEMON,
                    };
                } else {
                    domains.remove(index);
                    revived.retain(|(i, _, _)| *i != index);
                    for entry in revived.iter_mut() {
                        if entry.0 > index {
                            entry.0 -= 1;
                        }
                    }
                }
            }
        }
    }
    let watchers: Vec<_> = revived
        .into_iter()
        .map(|(index, process, token)| (domains[index].def.uuid, token, process))
        .collect();
    {
        let mut st = inner.lock();
        st.domains = domains;
        st.last_id = last_id;
        st.next_token = next_token;
    }
    {
        // What reconnecting changed (a finished fake reboot, a new state) is what
        // the next daemon must find.
        let st = inner.lock();
        for (uuid, _, _) in &watchers {
            if let Some(index) = st.find_by_uuid(uuid) {
                inner.persist_status(&st.domains[index]);
            }
        }
    }
    for (uuid, token, process) in watchers {
        inner.spawn_exit_watcher(uuid, token, process);
    }
    // Block jobs and backups that ran on while no daemon did, as libvirt follows them.
    for (uuid, jobs) in saved_jobs {
        inner.reconcile_block_jobs(&uuid);
        inner.restore_backup(&uuid, &jobs);
    }
    problems
}

/// Re-reads the definitions on disk: new files add domains, changed files replace the
/// persistent definition (of a running domain too, taking effect at its next start).
/// Domains whose file went away stay, as in libvirt.
pub fn reload_configs(inner: &Inner) -> Vec<String> {
    let (configs, mut problems) = store::load_configs(&inner.paths, &load_facts());
    problems.extend(inner.reload_conf());
    // Definitions added on disk are picked up without an event, as before.
    let (_, clashes) = inner.lock().reload_definitions(configs, false);
    problems.extend(clashes);
    problems
}

fn status_files(inner: &Inner) -> Vec<std::path::PathBuf> {
    crate::domain_list::status_files(&inner.paths.run_dir)
}

/// Why a recorded guest is not running any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lost {
    /// Gone (or not the process the record names).
    Gone,
    /// The reconnect hook refused it, and it was killed.
    Refused,
}

/// A re-attached guest: its process and monitor, and what the driver knows of it.
struct Reattached {
    process: GuestProcess,
    monitor: Arc<Monitor>,
    run_state: (state::DomainState, i32),
    got_shutdown: bool,
    /// The fake reboot asked for is still to come (the guest has not powered off yet).
    fake_reboot: bool,
    /// The guest powered off while no daemon ran and is to be stopped now.
    expected_stop: Option<(i32, i32)>,
}

/// Finds the process of a status record and reconnects its monitor.
fn reattach(inner: &Arc<Inner>, record: &StatusRecord, token: u64) -> Result<Reattached, Lost> {
    let process = GuestProcess::attach(record.pid).ok_or(Lost::Gone)?;
    let cmdline = process.cmdline();
    let ours = cmdline.contains(&format!("guest={},", record.def.name))
        && cmdline.contains(&crate::api::format_uuid(&record.def.uuid));
    if !ours {
        return Err(Lost::Gone);
    }
    let watcher = process.clone();
    let monitor = Monitor::connect(
        &record.monitor,
        Instant::now() + Duration::from_secs(10),
        move || !watcher.has_exited(),
        monitor_events::handler(Arc::downgrade(inner), record.def.uuid, token),
    )
    .map_err(|_| Lost::Gone)?;
    let status = monitor
        .execute("query-status", None)
        .map_err(|_| Lost::Gone)?;
    if run_qemu_hook(inner.hooks.as_ref(), &record.def, "reconnect", "begin").is_err() {
        // As libvirt: a guest the reconnect hook refuses is not kept.
        let _ = process.signal(libc::SIGKILL);
        return Err(Lost::Refused);
    }
    let mut found = Reattached {
        process,
        monitor: Arc::new(monitor),
        run_state: (state::PAUSED, reason::PAUSED_UNKNOWN),
        got_shutdown: record.got_shutdown,
        fake_reboot: record.fake_reboot,
        expected_stop: None,
    };
    let powered_off = status.get("status").and_then(|s| s.as_str()) == Some("shutdown");
    let mut running = status.get("running").and_then(|r| r.as_bool()) == Some(true);
    // A power-off the previous daemon saw may already have been answered with the
    // reset (QEMU then waits in "prelaunch" for the resume).
    let halted = powered_off || (record.got_shutdown && !running);
    if record.fake_reboot && record.got_shutdown && running {
        // The previous daemon finished the reboot but not its record.
        found.got_shutdown = false;
        found.fake_reboot = false;
    } else if record.fake_reboot && halted {
        // The reboot asked of the previous daemon: the guest's power-off becomes a
        // reset, and the domain never leaves the running state.
        let resumed = found
            .monitor
            .execute("system_reset", None)
            .and_then(|_| found.monitor.execute("cont", None));
        if resumed.is_ok() {
            running = true;
            found.got_shutdown = false;
            found.fake_reboot = false;
        }
    } else if powered_off && record.def.on_poweroff != "preserve" {
        // The guest shut down while no daemon ran: the shutdown is finished.
        found.got_shutdown = true;
        found.fake_reboot = false;
        found.expected_stop = Some((reason::SHUTOFF_SHUTDOWN, event::STOPPED_SHUTDOWN));
        found.run_state = (state::SHUTDOWN, reason::SHUTDOWN_UNKNOWN);
        return Ok(found);
    }
    found.run_state = if running {
        let recorded_running = record.state == state::RUNNING;
        (
            state::RUNNING,
            if recorded_running {
                record.reason
            } else {
                reason::RUNNING_UNPAUSED
            },
        )
    } else {
        let recorded_paused = record.state == state::PAUSED;
        (
            state::PAUSED,
            if recorded_paused {
                record.reason
            } else {
                reason::PAUSED_UNKNOWN
            },
        )
    };
    Ok(found)
}

/// Starts the autostart guests, once per host boot: the marker in the run dir (emptied
/// at boot) tells a restarted daemon that this was done already.
pub fn autostart_once(inner: &Arc<Inner>) {
    let marker = inner.paths.autostart_marker();
    if marker.exists() {
        return;
    }
    let wanted: Vec<_> = {
        let st = inner.lock();
        st.domains
            .iter()
            .filter(|d| d.autostart && !d.is_active())
            .map(|d| (d.def.uuid, d.def.name.clone()))
            .collect()
    };
    if atomic_write(&marker, b"").is_err() {
        return;
    }
    if wanted.is_empty() {
        return;
    }
    let inner = Arc::clone(inner);
    let _ = std::thread::Builder::new()
        .name("qemu-autostart".into())
        .spawn(move || {
            for (n, (uuid, name)) in wanted.into_iter().enumerate() {
                if n > 0 && inner.conf().auto_start_delay_ms > 0 {
                    // qemu.conf's auto_start_delay: spread the boot load.
                    std::thread::sleep(Duration::from_millis(inner.conf().auto_start_delay_ms));
                }
                let save = inner.paths.managed_save_file(&name);
                let result = if save.exists() {
                    let dom = crate::api::DomainRef {
                        name: name.clone(),
                        uuid,
                    };
                    inner.start_from_managed_save(&dom, 0, &save)
                } else {
                    inner.start(&uuid, 0, StartSource::Boot)
                };
                match result {
                    Ok(_) if save.exists() => {
                        let _ = remove_if_exists(&save);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!("Failed to autostart VM '{name}': {e}"),
                }
            }
        });
}
