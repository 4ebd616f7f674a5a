//! Starting and stopping containers, pausing them through the freezer, and what happens
//! when a container's init exits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cgroup::ContainerCgroup;
use super::control::{self, ExitNotice, Request};
use super::definitions::{check_flags, invalid};
use super::fsutil::remove_if_exists;
use super::hook::run_hook;
use super::network_ports;
use super::process::{spawn_supervisor, spawn_watcher};
use super::state::{mark_stopped, not_running, DomainObj, Running};
use super::status::{save_status, StatusInfo};
use super::xml::container_spec;
use super::{lock_job, Inner};
use crate::api::{
    codes, create_flags, domains, event, reason, state, DomainEvent, DomainEventKind, DomainHandle,
    DomainRef, DriverError, DriverResult, Uuid,
};

/// How long destroy waits for the supervisor to report the container gone.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// `virDomainShutdownFlagValues` the LXC driver accepts.
const SHUTDOWN_INITCTL: u32 = 4;
const SHUTDOWN_SIGNAL: u32 = 8;

impl Inner {
    /// Rewrites the status file of a running domain (state, pids, persistence).
    pub(super) fn save_status_of(&self, obj: &DomainObj) {
        let Some(run) = &obj.run else {
            return;
        };
        let info = StatusInfo {
            state: obj.state,
            reason: obj.reason,
            init_pid: run.init_pid,
            supervisor_pid: run.supervisor_pid,
            persistent: obj.persistent,
        };
        let _ = save_status(
            &self.paths.status_file(&obj.def.name),
            &info,
            &obj.live_def(),
        );
    }

    /// Starts a defined domain (also used by create_xml and autostart).
    pub(super) fn start(self: &Arc<Self>, uuid: &Uuid, flags: u32) -> DriverResult<DomainHandle> {
        self.start_with_files(uuid, flags, Vec::new())
    }

    /// Starts the container; `fds` become its init's descriptors 3 and up
    /// (LISTEN_FDS), as libvirt's `virsh start --pass-fds`.
    pub(super) fn start_with_files(
        self: &Arc<Self>,
        uuid: &Uuid,
        flags: u32,
        fds: Vec<std::os::fd::OwnedFd>,
    ) -> DriverResult<DomainHandle> {
        check_flags(
            flags,
            create_flags::START_PAUSED | create_flags::AUTODESTROY | create_flags::FORCE_BOOT,
            "lxcDomainCreateWithFiles",
        )?;
        let job = self.job_of(uuid).ok_or_else(|| no_domain(uuid))?;
        let _job = lock_job(&job);
        let (def, persistent) = {
            let st = self.lock();
            let index = st.find_by_uuid(uuid).ok_or_else(|| no_domain(uuid))?;
            let obj = &st.domains[index];
            if obj.is_active() {
                return Err(invalid("Domain is already running"));
            }
            (obj.def.clone(), obj.persistent)
        };
        let name = def.name.clone();
        let mut def = super::volumes::resolved(self, &def)?;
        let spec = container_spec(&def)?;
        let xml = def.to_xml(Default::default());
        run_hook(self, &name, "prepare", "begin", &xml)?;
        let network = self.network.get();
        let started = run_hook(self, &name, "start", "begin", &xml).and_then(|()| {
            network_ports::plug(network, &mut def)?;
            let status = self.paths.status_file(&name);
            let spawned = save_status(&status, &StatusInfo::starting(persistent), &def)
                .map_err(DriverError::from)
                .and_then(|()| {
                    spawn_supervisor(&self.paths, &name, fds).map_err(|e| {
                        DriverError::new(
                            codes::INTERNAL_ERROR,
                            domains::LXC,
                            format!("guest failed to start: {e}"),
                        )
                    })
                });
            if spawned.is_err() {
                network_ports::unplug(network, &def);
            }
            spawned
        });
        let started = match started {
            Ok(started) => started,
            Err(e) => {
                let _ = remove_if_exists(&self.paths.status_file(&name));
                let _ = run_hook(self, &name, "stopped", "end", &xml);
                let _ = run_hook(self, &name, "release", "end", &xml);
                return Err(e);
            }
        };
        let cgroup =
            ContainerCgroup::of_process(&self.layout, started.init_pid).unwrap_or_default();
        let paused = flags & create_flags::START_PAUSED != 0;
        if paused {
            let _ = cgroup.set_frozen(true);
        }
        let (handle, events, token) = {
            let mut st = self.lock();
            let token = st.allocate_token();
            let index = st.find_by_uuid(uuid).ok_or_else(|| no_domain(uuid))?;
            let obj = &mut st.domains[index];
            obj.id = started.init_pid;
            obj.run = Some(Running {
                init_pid: started.init_pid,
                supervisor_pid: started.supervisor_pid,
                cgroup,
                token,
                expected_stop: None,
                console_tty: started.console_tty.clone(),
            });
            let mut live = obj.def.clone();
            if network_ports::copy_bridges(&def, &mut live) {
                if obj.persistent && obj.new_def.is_none() {
                    obj.new_def = Some(obj.def.clone());
                }
                obj.def = live;
            }
            obj.state = state::RUNNING;
            obj.reason = reason::RUNNING_BOOTED;
            let mut events = vec![obj.lifecycle_event(event::STARTED, event::STARTED_BOOTED)];
            if paused {
                obj.state = state::PAUSED;
                obj.reason = reason::PAUSED_USER;
                events.push(obj.lifecycle_event(event::SUSPENDED, event::SUSPENDED_PAUSED));
            }
            self.save_status_of(obj);
            (obj.handle(), events, token)
        };
        spawn_watcher(self, *uuid, token, &name);
        debug_assert_eq!(spec.name, name);
        if let Err(e) = run_hook(self, &name, "started", "begin", &xml) {
            let _ = self.destroy(&DomainRef::from(&handle), 0);
            return Err(e);
        }
        self.emit(events);
        Ok(handle)
    }

    /// SIGKILL to the whole container; returns once it is gone.
    pub(super) fn destroy(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 1, "lxcDomainDestroyFlags")?;
        self.kill_container(dom, (reason::SHUTOFF_DESTROYED, event::STOPPED_DESTROYED))
    }

    /// Kills the container and records `stop` (shut-off reason, stopped event
    /// detail) as the cause.
    pub(super) fn kill_container(&self, dom: &DomainRef, stop: (i32, i32)) -> DriverResult<()> {
        let job = self.job_of(&dom.uuid).ok_or_else(|| no_domain(&dom.uuid))?;
        let _job = lock_job(&job);
        let (name, token, cgroup) = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let name = obj.def.name.clone();
            let run = obj.run.as_mut().ok_or_else(not_running)?;
            run.expected_stop = Some(stop);
            (name, run.token, run.cgroup.clone())
        };
        let socket = self.paths.control_socket(&name);
        if control::request(&socket, Request::Destroy).is_err() {
            // The supervisor is gone: clean up what it left and record the stop here.
            cgroup.kill_all();
            let _ = cgroup.remove();
            let _ = container_exited(self, &dom.uuid, token, None);
        }
        self.wait_stopped(&dom.uuid, token)
    }

    fn wait_stopped(&self, uuid: &Uuid, token: u64) -> DriverResult<()> {
        let deadline = Instant::now() + STOP_TIMEOUT;
        let mut st = self.lock();
        loop {
            let still_running = st
                .find_by_uuid(uuid)
                .and_then(|i| st.domains[i].run.as_ref())
                .is_some_and(|r| r.token == token);
            if !still_running {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(DriverError::new(
                    codes::OPERATION_FAILED,
                    domains::LXC,
                    "the container did not stop in time",
                ));
            }
            st = self
                .stopped
                .wait_timeout(st, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// The name of a running container, or "domain is not running".
    fn running_name(&self, dom: &DomainRef) -> DriverResult<String> {
        let st = self.lock();
        let obj = st.get(dom)?;
        if !obj.is_active() {
            return Err(not_running());
        }
        Ok(obj.def.name.clone())
    }

    /// Asks init to terminate (SIGTERM); the stop is reported when it exits.
    pub(super) fn shutdown(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(
            flags,
            SHUTDOWN_INITCTL | SHUTDOWN_SIGNAL,
            "lxcDomainShutdownFlags",
        )?;
        let name = self.running_name(dom)?;
        control::request(&self.paths.control_socket(&name), Request::Shutdown)?;
        Ok(())
    }

    /// The namespaces of the container's init that can be opened, in
    /// libvirt's order: user, ipc, uts, net, pid, mnt.
    pub(super) fn open_namespaces(
        &self,
        dom: &DomainRef,
    ) -> DriverResult<Vec<std::os::fd::OwnedFd>> {
        let init_pid = {
            let st = self.lock();
            let obj = st.get(dom)?;
            obj.run.as_ref().ok_or_else(not_running)?.init_pid
        };
        if init_pid <= 0 {
            return Err(invalid("Init pid is not yet available"));
        }
        Ok(["user", "ipc", "uts", "net", "pid", "mnt"]
            .iter()
            .filter_map(|ns| std::fs::File::open(format!("/proc/{init_pid}/ns/{ns}")).ok())
            .map(std::os::fd::OwnedFd::from)
            .collect())
    }

    /// A byte channel to the container's console, relayed by its supervisor.
    pub(super) fn open_console(
        &self,
        dom: &DomainRef,
        dev_name: Option<&str>,
    ) -> DriverResult<std::os::unix::net::UnixStream> {
        let name = self.running_name(dom)?;
        if let Some(dev) = dev_name.filter(|d| !d.is_empty() && *d != "console0" && *d != "serial0")
        {
            return Err(crate::api::DriverError::new(
                crate::api::codes::INTERNAL_ERROR,
                crate::api::domains::LXC,
                format!("cannot find console device '{dev}'"),
            ));
        }
        Ok(control::console(&self.paths.control_socket(&name))?)
    }

    /// Asks init to reboot (SIGHUP); the supervisor reports the exit and the container is
    /// started again with the same definition.
    pub(super) fn reboot(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, SHUTDOWN_INITCTL | SHUTDOWN_SIGNAL, "lxcDomainReboot")?;
        let name = self.running_name(dom)?;
        control::request(&self.paths.control_socket(&name), Request::Reboot)?;
        Ok(())
    }

    /// Freezes (`pause`) or thaws every process of the container.
    pub(super) fn set_paused(&self, dom: &DomainRef, pause: bool) -> DriverResult<()> {
        let ev = {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let run = obj.run.as_ref().ok_or_else(not_running)?;
            if pause && obj.state == state::PAUSED {
                return Ok(());
            }
            if !pause && obj.state != state::PAUSED {
                return Err(invalid("domain is not paused"));
            }
            run.cgroup.set_frozen(pause)?;
            let ev = if pause {
                obj.state = state::PAUSED;
                obj.reason = reason::PAUSED_USER;
                obj.lifecycle_event(event::SUSPENDED, event::SUSPENDED_PAUSED)
            } else {
                obj.state = state::RUNNING;
                obj.reason = reason::RUNNING_UNPAUSED;
                obj.lifecycle_event(event::RESUMED, event::RESUMED_UNPAUSED)
            };
            self.save_status_of(obj);
            ev
        };
        self.emit(vec![ev]);
        Ok(())
    }
}

fn no_domain(uuid: &Uuid) -> DriverError {
    DriverError::no_domain_uuid(domains::LXC, uuid, "")
}

/// Init of the run `token` is gone (`notice` is None when the supervisor vanished without
/// a word): mark the domain stopped, drop its status file, run the stop hooks. Returns
/// true when init ended the way a reboot ends it (SIGHUP, not asked for by destroy or
/// shutdown) and the caller should start the container again.
pub fn container_exited(
    inner: &Inner,
    uuid: &Uuid,
    token: u64,
    notice: Option<ExitNotice>,
) -> bool {
    let stopped = {
        let mut st = inner.lock();
        let Some(index) = st.find_by_uuid(uuid) else {
            return false;
        };
        let obj = &mut st.domains[index];
        let Some(run) = obj.run.as_ref().filter(|r| r.token == token) else {
            return false;
        };
        if notice.is_none() {
            run.cgroup.kill_all();
            let _ = run.cgroup.remove();
        }
        let reboot =
            run.expected_stop.is_none() && notice.is_some_and(|n| n.signal == libc::SIGHUP);
        let (shutoff_reason, detail) = run.expected_stop.unwrap_or(match notice {
            Some(n) if n.signal != 0 && n.signal != libc::SIGTERM && !reboot => {
                (reason::SHUTOFF_CRASHED, event::STOPPED_CRASHED)
            }
            _ => (reason::SHUTOFF_SHUTDOWN, event::STOPPED_SHUTDOWN),
        });
        let name = obj.def.name.clone();
        network_ports::unplug(inner.network.get(), &obj.def);
        let xml = obj.live_def().to_xml(Default::default());
        let _ = remove_if_exists(&inner.paths.status_file(&name));
        let ev = if reboot {
            // Keep the domain (even a transient one) for the restart; only the reboot
            // event is sent, the restart then reports itself as started.
            let ev = DomainEvent {
                domain: obj.handle(),
                kind: DomainEventKind::Reboot,
            };
            obj.run = None;
            obj.id = -1;
            obj.state = state::SHUTOFF;
            obj.reason = reason::SHUTOFF_SHUTDOWN;
            ev
        } else {
            mark_stopped(&mut st, index, shutoff_reason, detail)
        };
        (name, xml, ev, reboot)
    };
    inner.stopped.notify_all();
    let (name, xml, ev, reboot) = stopped;
    inner.emit(vec![ev]);
    let _ = run_hook(inner, &name, "stopped", "end", &xml);
    let _ = run_hook(inner, &name, "release", "end", &xml);
    reboot
}
