//! `virDomainSetBlockThreshold`: QMP `block-set-write-threshold` on the protocol
//! node of a disk's image, and the BLOCK_THRESHOLD event made of QEMU's
//! BLOCK_WRITE_THRESHOLD (which fires once, so the registration goes with it).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use serde_json::{json, Value};

use super::find_disk;
use crate::api::{DomainEvent, DomainEventKind, DomainRef, DriverError, DriverResult, Uuid};
use crate::qemu::error::QemuError;
use crate::qemu::qmp::Monitor;
use crate::qemu::state::DomainObj;
use crate::qemu::Inner;

/// Thresholds waiting to fire, by domain and node name: (target, source path).
type ThresholdTable = HashMap<(Uuid, String), (String, Option<String>)>;

/// Registrations kept per domain at most (one per node, so only a guest with
/// very many disks could reach it).
const MAX_PER_DOMAIN: usize = 256;

fn thresholds() -> MutexGuard<'static, ThresholdTable> {
    static TABLE: LazyLock<Mutex<ThresholdTable>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn forget_guest(uuid: &Uuid) {
    thresholds().retain(|(u, _), _| u != uuid);
}

/// The node QEMU opened `path` with (its protocol layer), else the format node of
/// `drive`.
fn node_of(monitor: &Monitor, drive: &str, path: Option<&str>) -> DriverResult<String> {
    let nodes = monitor
        .execute("query-named-block-nodes", None)
        .map_err(QemuError::from)?;
    let protocol = nodes.as_array().into_iter().flatten().find(|n| {
        matches!(
            n.get("drv").and_then(Value::as_str),
            Some("file" | "host_device")
        ) && path.is_some()
            && n.get("file").and_then(Value::as_str) == path
    });
    if let Some(name) = protocol
        .and_then(|n| n.get("node-name"))
        .and_then(Value::as_str)
    {
        return Ok(name.to_string());
    }
    let blocks = monitor
        .execute("query-block", None)
        .map_err(QemuError::from)?;
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b.get("device").and_then(Value::as_str) == Some(drive))
        .and_then(|b| b.get("inserted")?.get("node-name")?.as_str())
        .map(str::to_string)
        .ok_or_else(|| DriverError::internal(format!("no block node for '{drive}'")))
}

impl Inner {
    pub(in crate::qemu) fn set_block_threshold(
        &self,
        dom: &DomainRef,
        dev: &str,
        threshold: u64,
        flags: u32,
    ) -> DriverResult<()> {
        crate::qemu::lifecycle::check_flags(flags, 0, "qemuDomainSetBlockThreshold")?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let def = self.lock().get(dom)?.def.clone();
        let disk = find_disk(&def, dev)
            .ok()
            .filter(|d| d.child("target").and_then(|t| t.attr("dev")) == Some(dev))
            .ok_or_else(|| DriverError::invalid_arg(format!("failed to find disk '{dev}'")))?;
        let (drive, _) = super::drive_of(&def, dev)?;
        let path = disk
            .child("source")
            .and_then(|s| s.attr("file").or(s.attr("dev")))
            .map(str::to_string);
        let node = node_of(&monitor, &drive, path.as_deref())?;
        monitor
            .execute(
                "block-set-write-threshold",
                Some(json!({"node-name": node, "write-threshold": threshold})),
            )
            .map_err(QemuError::from)?;
        let mut table = thresholds();
        let key = (dom.uuid, node);
        if threshold == 0 {
            table.remove(&key);
        } else if table.contains_key(&key)
            || table.keys().filter(|(u, _)| *u == dom.uuid).count() < MAX_PER_DOMAIN
        {
            table.insert(key, (dev.to_string(), path));
        }
        Ok(())
    }
}

/// The BLOCK_THRESHOLD event for QEMU's BLOCK_WRITE_THRESHOLD, on the monitor thread.
pub fn qmp_threshold_event(uuid: &Uuid, obj: &DomainObj, data: &Value) -> Option<DomainEvent> {
    let node = data.get("node-name").and_then(Value::as_str)?;
    let (dev, path) = thresholds().remove(&(*uuid, node.to_string()))?;
    let number = |key: &str| data.get(key).and_then(Value::as_u64).unwrap_or_default();
    Some(DomainEvent {
        domain: obj.handle(),
        kind: DomainEventKind::BlockThreshold {
            dev,
            path,
            threshold: number("write-threshold"),
            excess: number("amount-exceeded"),
        },
    })
}
