//! Host perf event counters of a guest's QEMU process (`<perf>`, `virsh perf`,
//! `domstats --perf`), opened as libvirt opens them: `perf_event_open` on the
//! process (any CPU, counting threads it creates later), then enabled; read as one
//! `u64`; closed when disabled or when the guest stops.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::api::{codes, DriverError, DriverResult};
use crate::domain_xml::PERF_EVENTS;

/// `VIR_FROM_PERF`.
const FROM_PERF: i32 = 65;

/// `PERF_TYPE_HARDWARE` / `PERF_TYPE_SOFTWARE`.
const HARDWARE: u32 = 0;
const SOFTWARE: u32 = 1;
/// `PERF_EVENT_IOC_ENABLE`: `_IO('$', 0)`.
const IOC_ENABLE: libc::c_ulong = 0x2400;
/// `perf_event_attr` flag bits: `disabled`, `inherit`.
const FLAG_DISABLED: u64 = 1;
const FLAG_INHERIT: u64 = 1 << 1;
/// Where a kernel with Intel's cache QoS monitoring publishes its PMU (cmt, mbmt, mbml).
const CQM_PMU: &str = "/sys/devices/intel_cqm";

/// `struct perf_event_attr` up to `config1` (`PERF_ATTR_SIZE_VER0`, 64 bytes): the
/// kernel takes this first version and zeroes what later versions add.
#[repr(C)]
#[derive(Default)]
struct EventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// The perf counters open for one running guest, by event name.
#[derive(Debug, Default)]
pub struct PerfCounters {
    open: Vec<(&'static str, Counter)>,
}

#[derive(Debug)]
struct Counter {
    file: File,
    /// Multiplier of the raw value (cmt reports cache lines scaled to bytes).
    scale: u64,
}

impl PerfCounters {
    pub fn is_enabled(&self, name: &str) -> bool {
        self.open.iter().any(|(n, _)| *n == name)
    }

    /// Opens and enables the counter `name` on process `pid`; nothing to do if it is
    /// open already.
    pub fn enable(&mut self, name: &str, pid: i32) -> DriverResult<()> {
        if self.is_enabled(name) {
            return Ok(());
        }
        let Some(known) = PERF_EVENTS.iter().find(|e| **e == name) else {
            return Err(DriverError::new(
                codes::INTERNAL_ERROR,
                FROM_PERF,
                format!("Event '{name}' is not supported"),
            ));
        };
        let counter = open_counter(known, pid)?;
        self.open.push((known, counter));
        Ok(())
    }

    /// Closes the counter `name` (closing the descriptor stops and frees it).
    pub fn disable(&mut self, name: &str) {
        self.open.retain(|(n, _)| *n != name);
    }

    /// `(event, value)` of every open counter, in libvirt's event order.
    pub fn read_all(&self) -> DriverResult<Vec<(&'static str, u64)>> {
        let mut values = Vec::new();
        for name in PERF_EVENTS {
            if let Some((_, counter)) = self.open.iter().find(|(n, _)| *n == name) {
                let mut raw = [0u8; 8];
                (&counter.file).read_exact(&mut raw).map_err(|e| {
                    system_error(format!("Unable to read cache data: {}", describe(&e)))
                })?;
                values.push((name, u64::from_ne_bytes(raw).wrapping_mul(counter.scale)));
            }
        }
        Ok(values)
    }
}

/// Where the events counted by the CPU (`PERF_TYPE_HARDWARE`), by the kernel
/// (`PERF_TYPE_SOFTWARE`) and by the cache QoS PMU stand in [`PERF_EVENTS`]; an
/// event's place in its range is the kernel's config number (`PERF_COUNT_HW_*`,
/// `PERF_COUNT_SW_*`; the QoS events count from 1).
const CACHE_QOS_EVENTS: std::ops::Range<usize> = 0..3;
const HARDWARE_EVENTS: std::ops::Range<usize> = 3..13;
const SOFTWARE_EVENTS: std::ops::Range<usize> = 13..22;

/// The perf type and config of an event, or `None` for a cache QoS event on a host
/// without that PMU.
fn event_kind(name: &str) -> Option<(u32, u64)> {
    let place = |range: std::ops::Range<usize>| {
        PERF_EVENTS[range]
            .iter()
            .position(|e| *e == name)
            .map(|i| i as u64)
    };
    if let Some(config) = place(HARDWARE_EVENTS) {
        return Some((HARDWARE, config));
    }
    if let Some(config) = place(SOFTWARE_EVENTS) {
        return Some((SOFTWARE, config));
    }
    let config = place(CACHE_QOS_EVENTS)? + 1;
    let kind = std::fs::read_to_string(format!("{CQM_PMU}/type")).ok()?;
    Some((kind.trim().parse().ok()?, config))
}

fn open_counter(name: &str, pid: i32) -> DriverResult<Counter> {
    let Some((kind, config)) = event_kind(name) else {
        return Err(DriverError::new(
            codes::ARGUMENT_UNSUPPORTED,
            FROM_PERF,
            format!("unable to enable host cpu perf event for {name}"),
        ));
    };
    let scale = if name == "cmt" {
        let path = format!("{CQM_PMU}/events/llc_occupancy.scale");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| system_error(format!("Failed to open file '{path}': {}", describe(&e))))?;
        text.trim()
            .parse()
            .map_err(|_| system_error("failed to get cmt scaling factor".into()))?
    } else {
        1
    };
    let attr = EventAttr {
        kind,
        size: std::mem::size_of::<EventAttr>() as u32,
        config,
        flags: FLAG_DISABLED | FLAG_INHERIT,
        ..EventAttr::default()
    };
    // SAFETY: `attr` is a live, fully initialised perf_event_attr of the size it
    // declares; the kernel only reads it. The other arguments are plain integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const EventAttr,
            pid,
            -1 as libc::c_int,
            -1 as libc::c_int,
            0 as libc::c_ulong,
        )
    };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        return Err(system_error(format!(
            "unable to open host cpu perf event for {name}: {}",
            describe(&err)
        )));
    }
    // SAFETY: the syscall returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    // SAFETY: PERF_EVENT_IOC_ENABLE takes no argument and acts on the descriptor only.
    if unsafe { libc::ioctl(fd.as_raw_fd(), IOC_ENABLE as _, 0) } < 0 {
        let err = std::io::Error::last_os_error();
        return Err(system_error(format!(
            "unable to enable host cpu perf event for {name}: {}",
            describe(&err)
        )));
    }
    Ok(Counter {
        file: File::from(fd),
        scale,
    })
}

fn system_error(message: String) -> DriverError {
    DriverError::new(codes::SYSTEM_ERROR, FROM_PERF, message)
}

/// An OS error as libvirt's `virReportSystemError` words it (strerror, no "(os error N)").
fn describe(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_places_are_the_kernels_config_numbers() {
        assert_eq!(event_kind("cpu_cycles"), Some((HARDWARE, 0)));
        assert_eq!(event_kind("ref_cpu_cycles"), Some((HARDWARE, 9)));
        assert_eq!(event_kind("cpu_clock"), Some((SOFTWARE, 0)));
        assert_eq!(event_kind("context_switches"), Some((SOFTWARE, 3)));
        assert_eq!(event_kind("emulation_faults"), Some((SOFTWARE, 8)));
        assert_eq!(PERF_EVENTS[CACHE_QOS_EVENTS], ["cmt", "mbmt", "mbml"]);
    }

    #[test]
    fn attr_is_the_first_kernel_version() {
        assert_eq!(std::mem::size_of::<EventAttr>(), 64);
    }

    #[test]
    fn every_event_has_a_kind_except_cache_qos_without_its_pmu() {
        for name in PERF_EVENTS {
            let qos = ["cmt", "mbmt", "mbml"].contains(&name);
            if !qos || std::path::Path::new(CQM_PMU).exists() {
                assert!(event_kind(name).is_some(), "{name}");
            } else {
                assert!(event_kind(name).is_none(), "{name}");
            }
        }
    }

    #[test]
    fn cache_qos_without_its_pmu_is_refused_as_libvirt_does() {
        if std::path::Path::new(CQM_PMU).exists() {
            return;
        }
        let err = PerfCounters::default()
            .enable("cmt", std::process::id() as i32)
            .unwrap_err();
        assert_eq!(err.code, codes::ARGUMENT_UNSUPPORTED);
        assert_eq!(
            err.message,
            "argument unsupported: unable to enable host cpu perf event for cmt"
        );
    }
}
