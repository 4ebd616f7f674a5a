//! `virDomainCoreDump(WithFormat)` (`virsh dump --memory-only`): QEMU's
//! `dump-guest-memory` writes the guest's memory as ELF or a compressed kdump
//! file into a file the daemon created (mode 0600) and passed to it.

use std::fs::OpenOptions;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::error::QemuError;
use super::jobs::ActiveJob;
use super::lifecycle::{check_flags, stop_process};
use super::qmp::Monitor;
use super::Inner;
use crate::api::{codes, domains, event, reason, state, DomainRef, DriverError, DriverResult};

/// `VIR_DUMP_*` flags.
const DUMP_CRASH: u32 = 1;
const DUMP_LIVE: u32 = 2;
const DUMP_BYPASS_CACHE: u32 = 4;
const DUMP_RESET: u32 = 8;
const DUMP_MEMORY_ONLY: u32 = 16;
/// `VIR_DOMAIN_JOB_OPERATION_DUMP`.
const JOB_OPERATION_DUMP: i32 = 8;
/// `VIR_DOMAIN_PAUSED_DUMP`.
const PAUSED_DUMP: i32 = 4;
/// `virDomainCoreDumpFormat` names by value, as QEMU names them.
const FORMATS: [&str; 5] = ["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy", "win-dmp"];
const DUMP_FD_NAME: &str = "dump";
const DUMP_TIMEOUT: Duration = Duration::from_secs(600);

fn error(code: i32, message: String) -> DriverError {
    DriverError::new(code, domains::QEMU, message)
}

/// The formats `query-dump-guest-memory-capability` lists.
fn qemu_formats(monitor: &Monitor) -> Vec<String> {
    monitor
        .execute("query-dump-guest-memory-capability", None)
        .ok()
        .and_then(|r| r.get("formats").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

/// Waits for the detached dump to end (`query-dump`).
fn wait_dump(monitor: &Monitor) -> Result<(), DriverError> {
    let deadline = Instant::now() + DUMP_TIMEOUT;
    loop {
        let reply = monitor
            .execute("query-dump", None)
            .map_err(|e| super::hotplug_refusal("query-dump", e))?;
        match reply.get("status").and_then(Value::as_str) {
            Some("completed") => return Ok(()),
            Some("failed") => {
                return Err(error(
                    codes::OPERATION_FAILED,
                    "memory-only dump failed".to_string(),
                ))
            }
            _ if Instant::now() > deadline => {
                return Err(QemuError::Timeout("memory-only dump did not finish".into()).into())
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

impl Inner {
    pub(super) fn core_dump(
        &self,
        dom: &DomainRef,
        to: &str,
        format: u32,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(
            flags,
            DUMP_CRASH | DUMP_LIVE | DUMP_BYPASS_CACHE | DUMP_RESET | DUMP_MEMORY_ONLY,
            "qemuDomainCoreDumpWithFormat",
        )?;
        let format_name = *FORMATS
            .get(format as usize)
            .ok_or_else(|| error(codes::INVALID_ARG, format!("unknown dumpformat '{format}'")))?;
        if flags & DUMP_MEMORY_ONLY == 0 {
            if format != 0 {
                return Err(error(
                    codes::OPERATION_UNSUPPORTED,
                    "kdump-compressed format is only supported with memory-only dump".to_string(),
                ));
            }
            return Err(DriverError::no_support("virDomainCoreDump"));
        }
        if flags & DUMP_BYPASS_CACHE != 0 {
            return Err(error(
                codes::OPERATION_UNSUPPORTED,
                "bypass cache unsupported by this QEMU binary".to_string(),
            ));
        }
        let path = Path::new(to);
        if !path.is_absolute() || to.contains('\0') {
            return Err(error(
                codes::INVALID_ARG,
                format!("path '{to}' is not absolute"),
            ));
        }
        let job = self
            .job_of(&dom.uuid)
            .ok_or_else(|| DriverError::no_domain_uuid(domains::QEMU, &dom.uuid, &dom.name))?;
        let _job = super::jobs::lock_job_bounded(&job)?;
        let (monitor, process, token) = self.running_parts(dom)?;
        if !qemu_formats(&monitor).iter().any(|f| f == format_name) {
            return Err(error(
                codes::INVALID_ARG,
                format!("unsupported dumpformat '{format_name}' for this QEMU binary"),
            ));
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| QemuError::io("failed to open dump file", path, e))?;
        let previous = {
            let st = self.lock();
            let obj = st.get(dom)?;
            (obj.state, obj.reason)
        };
        let pause = flags & DUMP_LIVE == 0 && previous.0 == state::RUNNING;
        if pause {
            {
                let mut st = self.lock();
                let obj = st.get_mut(dom)?;
                obj.state = state::PAUSED;
                obj.reason = PAUSED_DUMP;
            }
            monitor
                .execute("stop", None)
                .map_err(|e| super::hotplug_refusal("stop", e))?;
        }
        self.set_job(&dom.uuid, Some(ActiveJob::new(JOB_OPERATION_DUMP)));
        let dumped = monitor
            .execute_with_fd(
                "getfd",
                Some(json!({ "fdname": DUMP_FD_NAME })),
                file.as_fd(),
            )
            .map_err(|e| super::hotplug_refusal("getfd", e))
            .and_then(|_| {
                let mut args = json!({
                    "paging": false,
                    "protocol": format!("fd:{DUMP_FD_NAME}"),
                    "detach": true,
                });
                if format != 0 {
                    args["format"] = Value::from(format_name);
                }
                monitor
                    .execute("dump-guest-memory", Some(args))
                    .map_err(|e| super::hotplug_refusal("dump-guest-memory", e))
            })
            .and_then(|_| wait_dump(&monitor));
        self.set_job(&dom.uuid, None);
        if dumped.is_err() {
            let _ = monitor.execute("closefd", Some(json!({ "fdname": DUMP_FD_NAME })));
        }
        if flags & DUMP_CRASH != 0 && dumped.is_ok() {
            {
                let mut st = self.lock();
                if let Some(run) = st.get_mut(dom)?.run.as_mut() {
                    run.expected_stop = Some((reason::SHUTOFF_CRASHED, event::STOPPED_CRASHED));
                }
            }
            stop_process(&process, false)?;
            self.handle_exit(&dom.uuid, token);
            return Ok(());
        }
        if flags & DUMP_RESET != 0 && dumped.is_ok() {
            monitor
                .execute("system_reset", None)
                .map_err(|e| super::hotplug_refusal("system_reset", e))?;
        }
        if pause {
            let resumed = monitor.execute("cont", None);
            let mut st = self.lock();
            if let Ok(obj) = st.get_mut(dom) {
                // As libvirt: running again, "unpaused".
                (obj.state, obj.reason) = if resumed.is_ok() {
                    (state::RUNNING, reason::RUNNING_UNPAUSED)
                } else {
                    (state::PAUSED, PAUSED_DUMP)
                };
                self.persist_status(obj);
            }
            resumed.map_err(|e| super::hotplug_refusal("cont", e))?;
        }
        dumped
    }
}
