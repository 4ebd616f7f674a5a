//! Balloon statistics (`virsh dommemstat`): the balloon size from `query-balloon`,
//! the guest's own counters from the balloon device's `guest-stats` property (once
//! a polling period is set) and the QEMU process's resident set.

use serde_json::{json, Value};

use super::super::Inner;
use crate::api::{codes, domains, memory_stat as tag, DomainRef, DriverError, DriverResult};
use crate::domain_xml::DomainDef;
use crate::qemu::error::QemuError;
use crate::qemu::qmp::Monitor;

/// QOM path of the balloon device the command line creates (`id=balloon0`).
const BALLOON_PATH: &str = "/machine/peripheral/balloon0";

fn has_balloon(def: &DomainDef) -> bool {
    def.devices
        .iter()
        .any(|d| d.name == "memballoon" && d.attr("model") == Some("virtio"))
}

/// (tag, value) pairs in libvirt's order: balloon size, guest counters, last
/// update, RSS.
pub(super) fn memory_stats(def: &DomainDef, monitor: &Monitor, pid: i32) -> Vec<(i32, u64)> {
    let mut stats = Vec::new();
    let actual = if has_balloon(def) {
        monitor
            .execute("query-balloon", None)
            .ok()
            .and_then(|v| v.get("actual").and_then(Value::as_u64))
            .map(|bytes| bytes / 1024)
    } else {
        None
    };
    stats.push((
        tag::ACTUAL_BALLOON,
        actual.unwrap_or(def.current_memory_kib),
    ));
    if has_balloon(def) {
        if let Ok(guest) = monitor.execute(
            "qom-get",
            Some(json!({ "path": BALLOON_PATH, "property": "guest-stats" })),
        ) {
            stats.extend(guest_stats(&guest));
        }
    }
    if let Some(rss) = rss_kib(pid) {
        stats.push((tag::RSS, rss));
    }
    stats
}

/// A counter the guest reported: QEMU sends -1 (as an unsigned 64-bit value) for
/// those it has not.
fn reported(stats: Option<&Value>, key: &str) -> Option<u64> {
    stats?.get(key)?.as_u64().filter(|v| *v != u64::MAX)
}

/// The guest's counters; those it does not report are left out.
fn guest_stats(guest: &Value) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let stats = guest.get("stats");
    let table: [(&str, i32, u64); 7] = [
        ("stat-swap-in", tag::SWAP_IN, 1024),
        ("stat-swap-out", tag::SWAP_OUT, 1024),
        ("stat-major-faults", tag::MAJOR_FAULT, 1),
        ("stat-minor-faults", tag::MINOR_FAULT, 1),
        ("stat-free-memory", tag::UNUSED, 1024),
        ("stat-total-memory", tag::AVAILABLE, 1024),
        ("stat-available-memory", tag::USABLE, 1024),
    ];
    for (key, t, divisor) in table {
        if let Some(v) = reported(stats, key) {
            out.push((t, v / divisor));
        }
    }
    if let Some(v) = guest.get("last-update").and_then(Value::as_u64) {
        out.push((tag::LAST_UPDATE, v));
    }
    let tail: [(&str, i32, u64); 3] = [
        ("stat-disk-caches", tag::DISK_CACHES, 1024),
        ("stat-htlb-pgalloc", tag::HUGETLB_PGALLOC, 1),
        ("stat-htlb-pgfail", tag::HUGETLB_PGFAIL, 1),
    ];
    for (key, t, divisor) in tail {
        if let Some(v) = reported(stats, key) {
            out.push((t, v / divisor));
        }
    }
    out
}

/// Resident set of the QEMU process in KiB.
fn rss_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as u64 / 1024)
}

impl Inner {
    /// `virDomainSetMemoryStatsPeriod`: how often the guest's balloon driver sends
    /// its counters; kept in `<memballoon><stats period>` of the definitions touched.
    pub(in crate::qemu) fn set_memory_stats_period(
        &self,
        dom: &DomainRef,
        period: i32,
        flags: u32,
    ) -> DriverResult<()> {
        use crate::qemu::vcpus::{AFFECT_CONFIG, AFFECT_LIVE};
        crate::qemu::lifecycle::check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG,
            "qemuDomainSetMemoryStatsPeriod",
        )?;
        if period < 0 {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                "invalid value for collection period",
            ));
        }
        let (active, persistent) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            (obj.is_active(), obj.persistent)
        };
        let (live, config) = match flags & (AFFECT_LIVE | AFFECT_CONFIG) {
            0 => (active, !active),
            f => (f & AFFECT_LIVE != 0, f & AFFECT_CONFIG != 0),
        };
        if live && !active {
            return Err(crate::qemu::lifecycle::not_running());
        }
        if config && !persistent {
            return Err(QemuError::InvalidState(
                "transient domains do not have any persistent config".into(),
            )
            .into());
        }
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            if !has_balloon(&def) {
                return Err(DriverError::new(
                    codes::OPERATION_INVALID,
                    domains::QEMU,
                    "No memory balloon device configured, can not set the collection period",
                ));
            }
            monitor
                .execute(
                    "qom-set",
                    Some(json!({
                        "path": BALLOON_PATH,
                        "property": "guest-stats-polling-interval",
                        "value": period,
                    })),
                )
                .map_err(QemuError::from)?;
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            set_period(&mut obj.def, period);
            self.persist_status(obj);
        }
        if config {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let def = obj.new_def.as_mut().unwrap_or(&mut obj.def);
            if !has_balloon(def) {
                return Err(DriverError::new(
                    codes::OPERATION_INVALID,
                    domains::QEMU,
                    "No memory balloon device configured, can not set the collection period",
                ));
            }
            set_period(def, period);
            crate::qemu::store::save_config(&self.paths, def)?;
        }
        Ok(())
    }
}

/// At start: the polling period `<memballoon><stats period>` asks for.
pub(in crate::qemu) fn apply_period(def: &DomainDef, monitor: &Monitor) {
    let period = def
        .devices
        .iter()
        .find(|d| d.name == "memballoon" && d.attr("model") == Some("virtio"))
        .and_then(|b| b.child("stats"))
        .and_then(|s| s.attr("period"))
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p > 0);
    if let Some(period) = period {
        let _ = monitor.execute(
            "qom-set",
            Some(json!({
                "path": BALLOON_PATH,
                "property": "guest-stats-polling-interval",
                "value": period,
            })),
        );
    }
}

fn set_period(def: &mut DomainDef, period: i32) {
    if let Some(balloon) = def.devices.iter_mut().find(|d| d.name == "memballoon") {
        balloon.children.retain(|c| c.name != "stats");
        if period > 0 {
            balloon.children.insert(
                0,
                crate::domain_xml::Element::new("stats").with_attr("period", &period.to_string()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_counters_in_kib_and_unreported_ones_dropped() {
        let guest = json!({"stats": {"stat-swap-in": 4096, "stat-free-memory": 2048,
            "stat-total-memory": u64::MAX, "stat-minor-faults": 7}, "last-update": 12});
        assert_eq!(
            guest_stats(&guest),
            vec![
                (tag::SWAP_IN, 4),
                (tag::MINOR_FAULT, 7),
                (tag::UNUSED, 2),
                (tag::LAST_UPDATE, 12)
            ]
        );
    }
}
