//! Driver start-up: load definitions, find the containers that kept running while the
//! daemon was away, and start the autostart ones once per host boot.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use super::cgroup::ContainerCgroup;
use super::control::{self, Request};
use super::fsutil::{atomic_write, remove_if_exists};
use super::hook::run_hook;
use super::process::spawn_watcher;
use super::state::{DomainObj, Running};
use super::status::parse_status;
use super::xml::{console_tty, parse_lxc_status_xml, with_console_tty};
use super::{store, Inner};
use crate::api::{reason, state};

/// Loads definitions and re-attaches to running containers; returns problems to log.
pub fn load_and_reconnect(inner: &Arc<Inner>) -> Vec<String> {
    let (loaded, mut problems) = store::load_configs(&inner.paths);
    inner.lock().add_loaded(loaded);
    for file in crate::domain_list::status_files(&inner.paths.run_dir) {
        if let Err(problem) = reconnect_one(inner, &file) {
            problems.push(format!("{}: {problem}", file.display()));
            let _ = remove_if_exists(&file);
        }
    }
    problems
}

fn reconnect_one(inner: &Arc<Inner>, file: &PathBuf) -> Result<(), String> {
    let text = fs::read_to_string(file).map_err(|e| e.to_string())?;
    let (info, domain_xml) = parse_status(&text).map_err(|e| e.to_string())?;
    let (live, _) = parse_lxc_status_xml(&domain_xml).map_err(|e| e.to_string())?;
    let name = live.name.clone();
    let socket = inner.paths.control_socket(&name);
    let alive = control::request(&socket, Request::Info)
        .ok()
        .and_then(|answer| answer.strip_prefix("running ")?.trim().parse::<i32>().ok())
        .filter(|pid| *pid == info.init_pid);
    let Some(init_pid) = alive else {
        // The container died while the daemon was away.
        let _ = remove_if_exists(file);
        let xml = live.to_xml(Default::default());
        let _ = run_hook(inner, &name, "stopped", "end", &xml);
        let _ = run_hook(inner, &name, "release", "end", &xml);
        return Ok(());
    };
    let xml = live.to_xml(Default::default());
    let cgroup = ContainerCgroup::of_process(&inner.layout, init_pid).unwrap_or_default();
    let token = {
        let mut st = inner.lock();
        let token = st.allocate_token();
        let index = match st.find_by_name(&name) {
            Some(index) => index,
            None => {
                st.domains.push(DomainObj::inactive(live.clone(), false));
                st.domains.len() - 1
            }
        };
        let obj = &mut st.domains[index];
        let console_tty = console_tty(&live);
        let live = with_console_tty(&live, None);
        if obj.persistent && obj.def != live {
            obj.new_def = Some(std::mem::replace(&mut obj.def, live));
        } else {
            obj.def = live;
        }
        obj.id = init_pid;
        obj.run = Some(Running {
            init_pid,
            supervisor_pid: info.supervisor_pid,
            cgroup,
            token,
            expected_stop: None,
            console_tty,
        });
        obj.state = if info.state == state::PAUSED {
            state::PAUSED
        } else {
            state::RUNNING
        };
        obj.reason = if info.state == state::PAUSED {
            reason::PAUSED_USER
        } else {
            info.reason
        };
        token
    };
    let uuid = {
        let st = inner.lock();
        st.find_by_name(&name).map(|i| st.domains[i].def.uuid)
    };
    if let Some(uuid) = uuid {
        spawn_watcher(inner, uuid, token, &name);
    }
    // libvirt kills a container whose reconnect hook fails (the hooks crate
    // has logged the failure).
    if let Some(uuid) = uuid {
        if run_hook(inner, &name, "reconnect", "begin", &xml).is_err() {
            let dom = crate::api::DomainRef {
                name: name.clone(),
                uuid,
            };
            let _ = inner.kill_container(
                &dom,
                (
                    crate::api::reason::SHUTOFF_FAILED,
                    crate::api::event::STOPPED_FAILED,
                ),
            );
        }
    }
    Ok(())
}

/// Starts the autostart containers in the background, once per host boot (the run
/// directory is emptied at boot, so a marker there tells a restart from a boot).
pub fn autostart_once(inner: &Arc<Inner>) {
    let marker = inner.paths.run_dir.join("autostarted");
    if marker.exists() {
        return;
    }
    let _ = atomic_write(&marker, b"");
    let wanted: Vec<[u8; 16]> = {
        let st = inner.lock();
        st.domains
            .iter()
            .filter(|d| d.autostart && !d.is_active())
            .map(|d| d.def.uuid)
            .collect()
    };
    if wanted.is_empty() {
        return;
    }
    let inner = Arc::clone(inner);
    std::thread::spawn(move || {
        for uuid in wanted {
            let _ = inner.start(&uuid, 0);
        }
    });
}

/// SIGHUP: re-reads the definitions on disk. Changed files replace the definition of an
/// inactive domain (or become the next one of a running domain), new files add domains
/// (announced with a Defined event); returns problems to log.
pub fn reload_configs(inner: &Inner) -> Vec<String> {
    let (configs, mut problems) = store::load_configs(&inner.paths);
    if let Err(e) = super::LxcConfig::load(&inner.paths.lxc_conf) {
        problems.push(e.to_string());
    }
    let (events, clashes) = inner.lock().reload_definitions(configs, true);
    problems.extend(clashes);
    inner.emit(events);
    problems
}
