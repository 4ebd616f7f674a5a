//! What one QEMU binary offers under one accelerator, asked over QMP the way libvirt
//! probes it: CPU models and whether each is usable, their vendors and features, the
//! features of the host-model CPU (`max` under TCG, `host` under KVM), and the QOM
//! types (devices, backends) compiled in. Cached per binary, modification time and
//! accelerator: a probe starts QEMU once.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

/// A named CPU model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuModel {
    pub name: String,
    pub usable: bool,
    /// Features the model enables (QEMU's canonical names).
    pub features: BTreeSet<String>,
}

/// The answers of one probe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmulatorCaps {
    /// Unversioned models, in QEMU's order.
    pub models: Vec<CpuModel>,
    /// Vendor and features of the host-model CPU.
    pub host_vendor: String,
    pub host_features: BTreeSet<String>,
    /// Every non-abstract QOM type name.
    pub types: BTreeSet<String>,
}

impl EmulatorCaps {
    pub fn has_type(&self, name: &str) -> bool {
        self.types.contains(name)
    }
}

/// One QMP conversation over the stdio of a QEMU process.
struct Session {
    child: process::Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
    deadline: Instant,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Session {
    fn start(binary: &Path, accel: &str, timeout: Duration) -> Result<Session, String> {
        use process::{Spec, Stdio};
        let mut child = Spec::new(binary)
            .args(["-S", "-no-user-config", "-nodefaults", "-display", "none"])
            .args(["-machine", &format!("none,accel={accel}"), "-qmp", "stdio"])
            .env("LC_ALL", "C")
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Null)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut session = Session {
            child,
            stdin,
            lines: rx,
            deadline: Instant::now() + timeout,
        };
        session.execute("qmp_capabilities", None)?;
        Ok(session)
    }

    /// Sends one command and returns its `return` value.
    fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, String> {
        let mut message = json!({ "execute": command, "id": command });
        if let Some(arguments) = arguments {
            message["arguments"] = arguments;
        }
        writeln!(self.stdin, "{message}").map_err(|e| e.to_string())?;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|_| format!("QEMU did not answer {command}"))?;
            let Ok(reply) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if reply.get("id").and_then(Value::as_str) != Some(command) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                return Err(format!("{command}: {error}"));
            }
            return Ok(reply.get("return").cloned().unwrap_or(Value::Null));
        }
    }
}

/// Features a static expansion of `model` enables, and its vendor.
fn expand(session: &mut Session, model: &str) -> Result<(String, BTreeSet<String>), String> {
    let reply = session.execute(
        "query-cpu-model-expansion",
        Some(json!({ "type": "static", "model": { "name": model } })),
    )?;
    let props = reply
        .pointer("/model/props")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let vendor = props
        .get("vendor")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let features = props
        .iter()
        .filter(|(name, value)| value.as_bool() == Some(true) && is_cpuid_feature(name))
        .map(|(name, _)| name.clone())
        .collect();
    Ok((vendor, features))
}

/// Whether a property is a CPUID feature (not a hypervisor enlightenment or an
/// implementation switch).
fn is_cpuid_feature(name: &str) -> bool {
    !(name.starts_with("kvm") || name.starts_with("hv-") || name.starts_with("x-"))
}

fn run_probe(binary: &Path, accel: &str) -> Result<EmulatorCaps, String> {
    let mut session = Session::start(binary, accel, Duration::from_secs(60))?;
    let definitions = session.execute("query-cpu-definitions", None)?;
    let mut caps = EmulatorCaps::default();
    let named: Vec<(String, bool)> = definitions
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            let name = d.get("name")?.as_str()?;
            // Versioned names are QEMU's spelling of the same models; libvirt lists
            // the plain names only.
            if !super::cpu_map::is_listed_model(name) {
                return None;
            }
            let unavailable = d
                .get("unavailable-features")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            Some((name.to_string(), unavailable == 0))
        })
        .collect();
    for (name, usable) in named {
        let (_, features) = expand(&mut session, &name)?;
        caps.models.push(CpuModel {
            name,
            usable,
            features,
        });
    }
    let host = if accel == "kvm" { "host" } else { "max" };
    let (vendor, features) = expand(&mut session, host)?;
    caps.host_vendor = vendor;
    caps.host_features = features;
    let types = session.execute("qom-list-types", Some(json!({ "abstract": false })))?;
    caps.types = types
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let _ = session.execute("quit", None);
    Ok(caps)
}

type Key = (PathBuf, Option<SystemTime>, String);

/// The probe of `binary` under `accel` ("tcg" or "kvm"), from the cache when the
/// binary did not change.
pub fn probe(binary: &Path, accel: &str) -> Result<Arc<EmulatorCaps>, String> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<EmulatorCaps>>>> = OnceLock::new();
    let mtime = std::fs::metadata(binary).and_then(|m| m.modified()).ok();
    let key = (binary.to_path_buf(), mtime, accel.to_string());
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(caps) = cache.get(&key) {
        return Ok(caps.clone());
    }
    let caps = Arc::new(run_probe(binary, accel)?);
    cache.insert(key, caps.clone());
    Ok(caps)
}
