//! Network objects and their files: definitions with libvirt's warning header,
//! autostart links, status files of running networks; loading them at start-up
//! and on SIGHUP, re-attaching networks that kept running while the daemon was away.

use std::path::Path;

use crate::api::{codes, domains, format_uuid, DriverError, DriverResult, NetworkHandle, Uuid};
use crate::domain_xml::Element;
use crate::fsutil::{atomic_write, remove_if_exists};

use super::xml::NetworkDef;
use super::{dnsmasq, host, NetworkPaths, Networks};

/// A port: one guest NIC plugged into a running network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub uuid: Uuid,
    pub mac: String,
    pub owner_name: String,
    pub owner_uuid: Uuid,
    /// The NIC's `<bandwidth>` (`virsh net-port-dumpxml`, port parameters).
    pub bandwidth: crate::api::PortBandwidth,
}

/// One network the driver knows.
#[derive(Clone, Debug)]
pub struct NetObj {
    /// The running definition while active, else the persistent one.
    pub def: NetworkDef,
    /// The persistent definition changed while the network runs (applies at next start).
    pub new_def: Option<NetworkDef>,
    pub active: bool,
    pub persistent: bool,
    pub autostart: bool,
    pub ports: Vec<Port>,
}

impl NetObj {
    pub fn handle(&self) -> NetworkHandle {
        NetworkHandle {
            name: self.def.name().to_string(),
            uuid: self.def.uuid(),
        }
    }

    /// The definition `--inactive` shows: the pending persistent one if any.
    pub fn persistent_def(&self) -> &NetworkDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }
}

pub fn no_network_name(name: &str) -> DriverError {
    DriverError::new(
        codes::NO_NETWORK,
        domains::NETWORK,
        format!("no network with matching name '{name}'"),
    )
}

pub fn no_network_uuid(uuid: &Uuid, name: &str) -> DriverError {
    let detail = if name.is_empty() {
        format!("no network with matching uuid '{}'", format_uuid(uuid))
    } else {
        format!(
            "no network with matching uuid '{}' ({name})",
            format_uuid(uuid)
        )
    };
    DriverError::new(codes::NO_NETWORK, domains::NETWORK, detail)
}

pub fn not_active(name: &str) -> DriverError {
    DriverError::new(
        codes::OPERATION_INVALID,
        domains::NETWORK,
        format!("network '{name}' is not active"),
    )
}

const HEADER: &str = "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\nOVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n  virsh net-edit {NAME}\nor other application using the libvirt API.\n-->\n\n";

fn header(name: &str) -> String {
    HEADER.replace("{NAME}", name)
}

fn io_error(e: impl std::fmt::Display) -> DriverError {
    DriverError::new(codes::SYSTEM_ERROR, domains::NETWORK, e.to_string())
}

pub fn save_config(paths: &NetworkPaths, def: &NetworkDef) -> DriverResult<()> {
    let text = format!("{}{}", header(def.name()), def.format());
    atomic_write(&paths.config_file(def.name()), text.as_bytes()).map_err(io_error)
}

pub fn remove_config(paths: &NetworkPaths, name: &str) -> DriverResult<()> {
    remove_if_exists(&paths.autostart_link(name)).map_err(io_error)?;
    remove_if_exists(&paths.config_file(name)).map_err(io_error)
}

pub fn set_autostart_link(paths: &NetworkPaths, name: &str, on: bool) -> DriverResult<()> {
    let link = paths.autostart_link(name);
    if on {
        crate::fsutil::create_private_dir(&paths.autostart_dir).map_err(io_error)?;
        remove_if_exists(&link).map_err(io_error)?;
        std::os::unix::fs::symlink(paths.config_file(name), &link).map_err(|e| {
            io_error(format!(
                "Failed to create symlink '{}' to '{}': {e}",
                link.display(),
                paths.config_file(name).display()
            ))
        })
    } else {
        remove_if_exists(&link).map_err(io_error)
    }
}

/// The status file: libvirt's `<networkstatus>` with the running definition, plus the
/// ports plugged into it (libvirt keeps those in per-network directories).
pub fn save_status(paths: &NetworkPaths, obj: &NetObj) -> DriverResult<()> {
    let mut text = header(obj.def.name());
    text.push_str("<networkstatus>\n  <class_id bitmap='0-2'/>\n  <floor sum='0'/>\n");
    text.push_str(&obj.def.format_at(2));
    for p in &obj.ports {
        let e = Element::new("port")
            .with_attr("uuid", &format_uuid(&p.uuid))
            .with_attr("mac", &p.mac)
            .with_attr("owner", &p.owner_name)
            .with_attr("owneruuid", &format_uuid(&p.owner_uuid));
        let mut s = String::new();
        e.write(&mut s, 2);
        let bandwidth = p.bandwidth.xml(4);
        if !bandwidth.is_empty() {
            // `<port .../>` becomes `<port ...>` with the bandwidth inside.
            let open = s.trim_end().trim_end_matches("/>").to_string();
            s = format!("{open}>\n{bandwidth}  </port>\n");
        }
        text.push_str(&s);
    }
    text.push_str("</networkstatus>\n");
    atomic_write(&paths.status_file(obj.def.name()), text.as_bytes()).map_err(io_error)
}

pub fn remove_status(paths: &NetworkPaths, name: &str) {
    let _ = remove_if_exists(&paths.status_file(name));
}

/// Reads a status file: the running definition and its ports.
fn read_status(path: &Path) -> Option<(NetworkDef, Vec<Port>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc = roxmltree::Document::parse(&text).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "networkstatus" {
        return None;
    }
    let net = root.children().find(|n| n.has_tag_name("network"))?;
    let range = net.range();
    let def = NetworkDef::parse(&text[range]).ok()?;
    let ports = root
        .children()
        .filter(|n| n.has_tag_name("port"))
        .filter_map(|n| {
            Some(Port {
                uuid: crate::api::parse_uuid(n.attribute("uuid")?)?,
                mac: n.attribute("mac")?.to_string(),
                owner_name: n.attribute("owner")?.to_string(),
                owner_uuid: crate::api::parse_uuid(n.attribute("owneruuid")?)?,
                bandwidth: super::port_params::parse(n),
            })
        })
        .collect();
    Some((def, ports))
}

fn xml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "xml") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

impl Networks {
    /// (Re-)reads definitions and status files. Running networks stay as they are;
    /// a network whose status file survives but whose bridge is gone is cleaned up.
    pub(super) fn load(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut loaded: Vec<NetObj> = Vec::new();
        for file in xml_files(&self.paths.config_dir) {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("cannot read {}: {e}", file.display()));
                    continue;
                }
            };
            match NetworkDef::parse(&text) {
                Ok(mut def) => {
                    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
                    if stem.as_deref() != Some(def.name()) {
                        problems.push(format!(
                            "Network config filename '{}' does not match network name '{}'",
                            file.display(),
                            def.name()
                        ));
                        continue;
                    }
                    let had_uuid = def.root().child("uuid").is_some();
                    def.complete(&[], host::link_exists);
                    if !had_uuid {
                        let _ = save_config(&self.paths, &def);
                    }
                    let autostart = self.paths.autostart_link(def.name()).exists();
                    loaded.push(NetObj {
                        def,
                        new_def: None,
                        active: false,
                        persistent: true,
                        autostart,
                        ports: Vec::new(),
                    });
                }
                Err(e) => problems.push(format!("{}: {e}", file.display())),
            }
        }
        let mut inner = self.lock();
        // Networks already running in this daemon keep their state.
        let mut running: Vec<NetObj> = inner.nets.drain(..).filter(|n| n.active).collect();
        for obj in &mut running {
            if let Some(pos) = loaded.iter().position(|l| l.def.uuid() == obj.def.uuid()) {
                let l = loaded.remove(pos);
                obj.new_def = Some(l.def);
                obj.persistent = true;
                obj.autostart = l.autostart;
            }
        }
        let first_load = running.is_empty() && inner.nets.is_empty();
        inner.nets = running;
        for l in loaded {
            inner.nets.push(l);
        }
        if first_load {
            drop(inner);
            problems.extend(self.reattach());
        }
        problems
    }

    /// Status files left by an earlier daemon: networks whose bridge still exists are
    /// active again (their dnsmasq restarted only if it died); others are cleaned up.
    fn reattach(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for file in xml_files(&self.paths.run_dir) {
            let Some((def, ports)) = read_status(&file) else {
                problems.push(format!("cannot read status file {}", file.display()));
                continue;
            };
            let alive = def.bridge_name().is_some_and(host::link_exists)
                || !def.forward_mode().is_virtual();
            let mut inner = self.lock();
            if !alive {
                let backend = inner.backend;
                drop(inner);
                super::lifecycle::teardown(&self.paths, backend, &def);
                remove_status(&self.paths, def.name());
                continue;
            }
            let idx = match Networks::find_by_uuid(&inner, &def.uuid()) {
                Some(i) => i,
                None => {
                    inner.nets.push(NetObj {
                        def: def.clone(),
                        new_def: None,
                        active: false,
                        persistent: false,
                        autostart: false,
                        ports: Vec::new(),
                    });
                    inner.nets.len() - 1
                }
            };
            let obj = &mut inner.nets[idx];
            let persistent_def = obj.def.clone();
            obj.new_def = Some(persistent_def).filter(|_| obj.persistent);
            obj.def = def.clone();
            obj.active = true;
            obj.ports = ports.clone();
            let ports_again = ports;
            drop(inner);
            // As libvirt does, the hook hears of every port again.
            for port in &ports_again {
                let _ = super::network_hooks::run(self, &def, "port-created", "begin", Some(port));
            }
            let files = dnsmasq::files(&self.paths, def.name());
            if dnsmasq::needed(&def) && dnsmasq::running_pid(&files).is_none() {
                if let Err(e) = dnsmasq::write_files(&def, &files)
                    .and_then(|_| dnsmasq::start(&files).map(|_| ()))
                {
                    problems.push(format!(
                        "network '{}': cannot restart dnsmasq: {e}",
                        def.name()
                    ));
                }
            }
        }
        problems
    }
}
