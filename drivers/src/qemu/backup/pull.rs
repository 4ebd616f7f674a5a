//! Pull-mode backups: each disk's point-in-time view is a qcow2 scratch node whose
//! backing is the disk (a `blockdev-backup` with `sync: none` copies the old data
//! there before the guest overwrites it), exported read-only over QEMU's NBD server
//! together with a frozen copy of the checkpoint's bitmap for an incremental one.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::def::NbdServer;
use crate::api::DriverResult;
use crate::qemu::qmp::Monitor;

/// One exported disk.
#[derive(Clone, Debug)]
pub struct Export {
    pub id: String,
    pub node: String,
    pub name: String,
    pub bitmap: Option<String>,
}

/// What a pull-mode backup set up in QEMU, for its teardown.
#[derive(Clone, Debug, Default)]
pub struct PullState {
    pub exports: Vec<Export>,
    pub scratch_files: Vec<String>,
    pub server_started: bool,
}

/// The top block node of every block device, by QMP device name.
pub fn source_nodes(monitor: &Monitor) -> DriverResult<HashMap<String, String>> {
    let reply = monitor
        .execute("query-block", None)
        .map_err(super::qemu_err)?;
    Ok(reply
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|dev| {
            Some((
                dev.get("device")?.as_str()?.to_string(),
                dev.get("inserted")?.get("node-name")?.as_str()?.to_string(),
            ))
        })
        .collect())
}

/// Opens the scratch image as node `node` on top of the disk's node `backing`.
pub fn add_scratch(monitor: &Monitor, node: &str, path: &str, backing: &str) -> DriverResult<()> {
    monitor
        .execute(
            "blockdev-add",
            Some(json!({
                "driver": "qcow2",
                "node-name": node,
                "file": { "driver": "file", "filename": path },
                "backing": backing,
            })),
        )
        .map_err(super::qemu_err)?;
    Ok(())
}

/// The transaction actions of one disk: the copy-before-write job and, for an
/// incremental backup, a disabled bitmap on the scratch node holding the
/// checkpoint's changes.
pub fn actions(
    job_id: &str,
    device: &str,
    export: &Export,
    source_node: &str,
    incremental: Option<&str>,
) -> Vec<Value> {
    let mut out = vec![json!({
        "type": "blockdev-backup",
        "data": {
            "job-id": job_id,
            "device": device,
            "target": export.node,
            "sync": "none",
            "auto-dismiss": false,
        },
    })];
    if let (Some(inc), Some(bitmap)) = (incremental, &export.bitmap) {
        out.push(json!({
            "type": "block-dirty-bitmap-add",
            "data": { "node": export.node, "name": bitmap, "persistent": false, "disabled": true },
        }));
        out.push(json!({
            "type": "block-dirty-bitmap-merge",
            "data": {
                "node": export.node,
                "target": bitmap,
                "bitmaps": [{ "node": source_node, "name": inc }],
            },
        }));
    }
    out
}

/// Starts the NBD server and exports every scratch node.
pub fn start(monitor: &Monitor, server: &NbdServer, state: &mut PullState) -> DriverResult<()> {
    let addr = match server {
        // `nbd-server-start` takes the legacy form, with the address in "data".
        NbdServer::Unix(path) => json!({ "type": "unix", "data": { "path": path } }),
        NbdServer::Tcp { host, port } => {
            json!({ "type": "inet", "data": { "host": host, "port": port.to_string() } })
        }
    };
    monitor
        .execute("nbd-server-start", Some(json!({ "addr": addr })))
        .map_err(super::qemu_err)?;
    state.server_started = true;
    for export in &state.exports {
        let mut args = json!({
            "type": "nbd",
            "id": export.id,
            "node-name": export.node,
            "name": export.name,
            "writable": false,
        });
        if let Some(bitmap) = &export.bitmap {
            args["bitmaps"] = json!([bitmap]);
        }
        monitor
            .execute("block-export-add", Some(args))
            .map_err(super::qemu_err)?;
    }
    Ok(())
}

/// Removes the exports, the server and the scratch nodes (after the copy jobs
/// were dismissed) and the scratch files. Best effort: the guest may be gone.
pub fn teardown(monitor: &Monitor, state: &PullState) {
    for export in &state.exports {
        let _ = monitor.execute(
            "block-export-del",
            Some(json!({ "id": export.id, "mode": "hard" })),
        );
    }
    if state.server_started {
        let _ = monitor.execute("nbd-server-stop", None);
    }
    for export in &state.exports {
        // The export lets go of its node asynchronously.
        for _ in 0..50 {
            let gone = monitor
                .execute("blockdev-del", Some(json!({ "node-name": export.node })))
                .is_ok();
            let listed = monitor
                .execute("query-named-block-nodes", Some(json!({ "flat": true })))
                .ok()
                .and_then(|r| r.as_array().cloned())
                .is_some_and(|nodes| nodes.iter().any(|n| n["node-name"] == export.node.as_str()));
            if gone || !listed {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    for file in &state.scratch_files {
        let _ = std::fs::remove_file(file);
    }
}
