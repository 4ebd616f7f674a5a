//! Machine types of a QEMU binary, asked over QMP (`query-machines`, which unlike
//! `-machine help` also gives the CPU limit and deprecation), ordered and expanded the
//! way libvirt lists them under `<guest><arch>`.
//!
//! Probing starts the binary once per path and modification time, with a deadline, and
//! the answer (or the failure) is cached for the life of the process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

// QMP replies are read with serde_json (its recursion limit guards against
// hostile nesting).
use serde_json::Value as Json;

/// One machine type as QEMU reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MachineType {
    pub(crate) name: String,
    pub(crate) alias: Option<String>,
    pub(crate) max_cpus: i64,
    pub(crate) is_default: bool,
    pub(crate) deprecated: bool,
}

/// What a binary told us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EmulatorProbe {
    /// `query-target` architecture ("x86_64", "i386", ...), if answered.
    pub(crate) target: Option<String>,
    /// Machine types in QEMU's order (not yet reordered).
    pub(crate) machines: Vec<MachineType>,
}

/// Why a binary could not be probed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ProbeError {
    #[error("cannot start {binary}: {reason}")]
    Spawn { binary: PathBuf, reason: String },
    #[error("{binary} did not answer query-machines within {timeout:?}")]
    Timeout { binary: PathBuf, timeout: Duration },
    #[error("{binary} closed its monitor before answering query-machines")]
    NoAnswer { binary: PathBuf },
}

/// QMP input: negotiate, ask, quit. Replies are matched by id.
const QMP_SCRIPT: &str = concat!(
    "{\"execute\":\"qmp_capabilities\"}\n",
    "{\"execute\":\"query-target\",\"id\":\"target\"}\n",
    "{\"execute\":\"query-machines\",\"id\":\"machines\"}\n",
    "{\"execute\":\"quit\"}\n",
);

/// Extracts the machine list from one reply line, if it is the `query-machines` reply.
fn machines_from_reply(reply: &Json) -> Option<Vec<MachineType>> {
    if reply.get("id").and_then(Json::as_str) != Some("machines") {
        return None;
    }
    let list = reply.get("return")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|m| {
                Some(MachineType {
                    name: m.get("name")?.as_str()?.to_string(),
                    alias: m.get("alias").and_then(Json::as_str).map(str::to_string),
                    max_cpus: m.get("cpu-max").and_then(Json::as_i64).unwrap_or(0),
                    is_default: m.get("is-default").and_then(Json::as_bool).unwrap_or(false),
                    deprecated: m.get("deprecated").and_then(Json::as_bool).unwrap_or(false),
                })
            })
            .collect(),
    )
}

fn target_from_reply(reply: &Json) -> Option<String> {
    if reply.get("id").and_then(Json::as_str) != Some("target") {
        return None;
    }
    Some(reply.get("return")?.get("arch")?.as_str()?.to_string())
}

/// Kills and reaps the probe process whatever happened.
struct ReapOnDrop(process::Child);

impl Drop for ReapOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` with a QMP monitor on stdio and reads the answers, giving up at
/// `timeout`.
pub(crate) fn run_probe(binary: &Path, timeout: Duration) -> Result<EmulatorProbe, ProbeError> {
    use process::{Spec, Stdio};
    let spawn_err = |reason: String| ProbeError::Spawn {
        binary: binary.to_path_buf(),
        reason,
    };
    let mut child = ReapOnDrop(
        Spec::new(binary)
            .args(["-S", "-no-user-config", "-nodefaults", "-display", "none"])
            .args(["-machine", "none", "-qmp", "stdio"])
            .env("LC_ALL", "C")
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Null)
            .spawn()
            .map_err(|e| spawn_err(e.to_string()))?,
    );
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| spawn_err("no stdout".into()))?;
    if let Some(mut stdin) = child.0.stdin.take() {
        // A binary that exits at once closes the pipe; that shows up as "no answer".
        let _ = stdin.write_all(QMP_SCRIPT.as_bytes());
    }

    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + timeout;
    let mut target = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match lines_rx.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(ProbeError::Timeout {
                    binary: binary.to_path_buf(),
                    timeout,
                })
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ProbeError::NoAnswer {
                    binary: binary.to_path_buf(),
                })
            }
        };
        let Ok(reply) = serde_json::from_str::<Json>(&line) else {
            continue;
        };
        if let Some(arch) = target_from_reply(&reply) {
            target = Some(arch);
        }
        if let Some(machines) = machines_from_reply(&reply) {
            return Ok(EmulatorProbe { target, machines });
        }
    }
}

type ProbeCache = HashMap<PathBuf, (Option<SystemTime>, Result<Arc<EmulatorProbe>, ProbeError>)>;

fn cache() -> &'static Mutex<ProbeCache> {
    static CACHE: OnceLock<Mutex<ProbeCache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Probes `binary` unless an answer for the same file version is cached. The lock is
/// held while probing so concurrent callers never start the same binary twice.
pub(crate) fn probe_cached(
    binary: &Path,
    timeout: Duration,
) -> Result<Arc<EmulatorProbe>, ProbeError> {
    let mtime = std::fs::metadata(binary).and_then(|m| m.modified()).ok();
    let mut cache = cache()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached_mtime, result)) = cache.get(binary) {
        if *cached_mtime == mtime {
            return result.clone();
        }
    }
    let result = run_probe(binary, timeout).map(Arc::new);
    cache.insert(binary.to_path_buf(), (mtime, result.clone()));
    result
}

/// Drops "none", then moves libvirt's preferred machine (by name or alias) to the front,
/// or failing that QEMU's default.
pub(crate) fn order_machines(
    machines: &[MachineType],
    preferred: Option<&str>,
) -> Vec<MachineType> {
    let mut list: Vec<MachineType> = machines
        .iter()
        .filter(|m| m.name != "none")
        .cloned()
        .collect();
    let preferred_idx = preferred.and_then(|p| {
        list.iter()
            .rposition(|m| m.name == p || m.alias.as_deref() == Some(p))
    });
    let default_idx = list.iter().rposition(|m| m.is_default);
    if let Some(idx) = preferred_idx.or(default_idx) {
        let chosen = list.remove(idx);
        list.insert(0, chosen);
    }
    list
}

/// A `<machine>` line of the capabilities document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CapsMachine {
    pub(crate) name: String,
    pub(crate) canonical: Option<String>,
    pub(crate) max_cpus: i64,
    pub(crate) deprecated: bool,
}

/// Machines listed as libvirt lists them: an aliased machine appears under its alias
/// with `canonical=`, preceded by its own entry when no other entry carries its name.
pub(crate) fn caps_machines(ordered: &[MachineType]) -> Vec<CapsMachine> {
    let mut list: Vec<CapsMachine> = ordered
        .iter()
        .map(|m| CapsMachine {
            name: m.alias.clone().unwrap_or_else(|| m.name.clone()),
            canonical: m.alias.as_ref().map(|_| m.name.clone()),
            max_cpus: m.max_cpus,
            deprecated: m.deprecated,
        })
        .collect();
    let mut i = 0;
    while i < list.len() {
        if let Some(canonical) = list[i].canonical.clone() {
            if !list.iter().any(|m| m.name == canonical) {
                let entry = CapsMachine {
                    name: canonical,
                    canonical: None,
                    max_cpus: list[i].max_cpus,
                    deprecated: list[i].deprecated,
                };
                list.insert(i, entry);
                i += 1;
            }
        }
        i += 1;
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(name: &str, alias: Option<&str>, max: i64, default: bool) -> MachineType {
        MachineType {
            name: name.into(),
            alias: alias.map(str::to_string),
            max_cpus: max,
            is_default: default,
            deprecated: false,
        }
    }

    fn qemu_list() -> Vec<MachineType> {
        vec![
            machine("pc-q35-5.2", None, 288, false),
            machine("none", None, 1, false),
            machine("pc-q35-7.2", Some("q35"), 288, false),
            machine("pc-i440fx-7.2", Some("pc"), 255, true),
            machine("isapc", None, 1, false),
        ]
    }

    #[test]
    fn preferred_machine_goes_first_and_aliases_expand() {
        let ordered = order_machines(&qemu_list(), Some("pc"));
        let names: Vec<_> = ordered.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["pc-i440fx-7.2", "pc-q35-5.2", "pc-q35-7.2", "isapc"]
        );
        let caps = caps_machines(&ordered);
        let shown: Vec<_> = caps
            .iter()
            .map(|m| (m.name.as_str(), m.canonical.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("pc-i440fx-7.2", None),
                ("pc", Some("pc-i440fx-7.2")),
                ("pc-q35-5.2", None),
                ("pc-q35-7.2", None),
                ("q35", Some("pc-q35-7.2")),
                ("isapc", None),
            ]
        );
    }

    #[test]
    fn qemu_default_is_used_without_preferred_match() {
        let ordered = order_machines(&qemu_list(), Some("virt"));
        assert_eq!(ordered[0].name, "pc-i440fx-7.2");
        let ordered = order_machines(&[machine("a", None, 1, false)], None);
        assert_eq!(ordered[0].name, "a");
    }

    #[test]
    fn replies_are_matched_by_id() {
        let reply = serde_json::from_str::<Json>(
            r#"{"return": [{"name": "virt", "cpu-max": 512, "deprecated": true}], "id": "machines"}"#,
        )
        .expect("json");
        let machines = machines_from_reply(&reply).expect("machines reply");
        assert_eq!(machines.len(), 1);
        assert!(machines[0].deprecated);
        assert_eq!(machines[0].max_cpus, 512);
        let other = serde_json::from_str::<Json>(r#"{"return": {}}"#).expect("json");
        assert_eq!(machines_from_reply(&other), None);
        let target =
            serde_json::from_str::<Json>(r#"{"return": {"arch": "i386"}, "id": "target"}"#)
                .expect("json");
        assert_eq!(target_from_reply(&target).as_deref(), Some("i386"));
    }

    #[test]
    fn missing_binary_fails_to_spawn() {
        let err = run_probe(Path::new("/nonexistent/qemu"), Duration::from_secs(5));
        assert!(matches!(err, Err(ProbeError::Spawn { .. })));
    }
}
