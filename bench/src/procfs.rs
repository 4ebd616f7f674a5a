//! What the kernel says about a daemon process: resident memory, thread
//! count and consumed CPU time, read from /proc.

use std::fs;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("reading /proc/{pid}/{file}: {source}")]
    Read {
        pid: u32,
        file: &'static str,
        source: io::Error,
    },
    #[error("/proc/{pid}/{file} has no usable {field}")]
    Field {
        pid: u32,
        file: &'static str,
        field: &'static str,
    },
}

/// Memory and threads of a process at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySample {
    pub rss_kib: u64,
    pub threads: u64,
}

fn read(pid: u32, file: &'static str) -> Result<String, ProcError> {
    fs::read_to_string(format!("/proc/{pid}/{file}")).map_err(|source| ProcError::Read {
        pid,
        file,
        source,
    })
}

/// VmRSS and Threads from /proc/PID/status.
pub fn memory(pid: u32) -> Result<MemorySample, ProcError> {
    let text = read(pid, "status")?;
    let field = |name: &'static str| {
        status_field(&text, name).ok_or(ProcError::Field {
            pid,
            file: "status",
            field: name,
        })
    };
    Ok(MemorySample {
        rss_kib: field("VmRSS")?,
        threads: field("Threads")?,
    })
}

/// The first number after `name:` in a status file ("VmRSS:  1234 kB").
pub fn status_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// User plus system CPU time of the whole process (every thread), in clock
/// ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, ProcError> {
    let text = read(pid, "stat")?;
    stat_cpu_ticks(&text).ok_or(ProcError::Field {
        pid,
        file: "stat",
        field: "utime/stime",
    })
}

/// utime + stime from a /proc/PID/stat line. The command name in field 2
/// may contain spaces and parentheses, so fields are counted after the last
/// ')'; utime and stime are fields 14 and 15 of the line.
pub fn stat_cpu_ticks(text: &str) -> Option<u64> {
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Voluntary plus involuntary context switches of every live thread of
/// the process: how often the daemon slept or was preempted.
pub fn context_switches(pid: u32) -> Result<u64, ProcError> {
    let dir = format!("/proc/{pid}/task");
    let entries = fs::read_dir(&dir).map_err(|source| ProcError::Read {
        pid,
        file: "task",
        source,
    })?;
    let mut total = 0;
    for entry in entries.flatten() {
        // A thread may exit between listing and reading: skip it.
        let Ok(text) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        total += status_field(&text, "voluntary_ctxt_switches").unwrap_or(0);
        total += status_field(&text, "nonvoluntary_ctxt_switches").unwrap_or(0);
    }
    Ok(total)
}

/// Clock ticks per second, the unit of [`cpu_ticks`].
pub fn ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(n)) if n > 0 => n as u64,
        _ => 100,
    }
}

/// This process's own CPU time (all threads), in microseconds: used to show
/// how much of the machine the load generator itself took.
pub fn own_cpu_micros() -> u64 {
    use nix::sys::time::TimeValLike;
    let Ok(usage) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) else {
        return 0;
    };
    let micros = |t: nix::sys::time::TimeVal| t.num_microseconds().max(0) as u64;
    micros(usage.user_time()) + micros(usage.system_time())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_parsed() {
        let text = "Name:\tlibvirtd\nVmRSS:\t   25124 kB\nThreads:\t18\n";
        assert_eq!(status_field(text, "VmRSS"), Some(25124));
        assert_eq!(status_field(text, "Threads"), Some(18));
        assert_eq!(status_field(text, "VmSwap"), None);
    }

    #[test]
    fn stat_ticks_skip_a_name_with_spaces() {
        let text = "42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0";
        assert_eq!(stat_cpu_ticks(text), Some(22));
    }

    #[test]
    fn own_process_is_readable() {
        let pid = std::process::id();
        let sample = memory(pid).unwrap();
        assert!(sample.rss_kib > 0);
        assert!(sample.threads >= 1);
        assert!(cpu_ticks(pid).is_ok());
        assert!(context_switches(pid).is_ok());
        assert!(ticks_per_second() >= 1);
    }

    #[test]
    fn context_switches_of_a_sleeping_process_grow() {
        // A one-thread child that keeps blocking: its count only grows, unlike
        // this test binary's, where other tests' threads come and go.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do sleep 0.01; done"])
            .spawn()
            .expect("sh (package dash) starts");
        let pid = child.id();
        let before = context_switches(pid).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut grew = false;
        while std::time::Instant::now() < deadline {
            if context_switches(pid).unwrap() > before {
                grew = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(grew, "context switches of pid {pid} never grew");
    }
}
