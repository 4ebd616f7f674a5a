//! Define, undefine, start and destroy. A start either completes or leaves nothing
//! behind: the bridge, rules and dnsmasq made so far are removed when a later step (or
//! the `started` hook) fails.

use crate::api::{codes, domains, format_uuid, DriverError, DriverResult, NetworkHandle};

use super::addr::IpNet;
use super::firewall::{self, Backend, RuleSet};
use super::objects::{self, not_active, NetObj};
use super::xml::{internal, ForwardMode, NetworkDef};
use super::{dnsmasq, ev, host, network_hooks, NetworkPaths, Networks};

fn rule_set<'a>(def: &'a NetworkDef, ips: &'a [IpNet]) -> Option<RuleSet<'a>> {
    Some(RuleSet {
        mode: def.forward_mode(),
        bridge: def.bridge_name()?,
        ips,
        nat_ports: def.nat_ports().unwrap_or((1024, 65535)),
        forward_dev: def.forward_dev(),
    })
}

fn ip_nets(def: &NetworkDef) -> Vec<IpNet> {
    def.ips()
        .unwrap_or_default()
        .into_iter()
        .map(|ip| ip.net)
        .collect()
}

/// Removes whatever a running (or half-started) network has on the host.
pub fn teardown(paths: &NetworkPaths, backend: Backend, def: &NetworkDef) {
    if !def.forward_mode().is_virtual() {
        return;
    }
    dnsmasq::stop(&dnsmasq::files(paths, def.name()));
    let ips = ip_nets(def);
    if let Some(set) = rule_set(def, &ips) {
        firewall::remove(backend, &set);
    }
    if let Some(bridge) = def.bridge_name() {
        let _ = host::delete_bridge(bridge);
    }
}

/// Sets up the host side of `def`: bridge, firewall, forwarding, dnsmasq.
fn bring_up(paths: &NetworkPaths, backend: Backend, def: &NetworkDef) -> Result<(), String> {
    if !def.forward_mode().is_virtual() {
        let bridge = def.bridge_name().unwrap_or("");
        if !bridge.is_empty() && !host::link_exists(bridge) {
            return Err(format!(
                "Cannot get interface MTU on '{bridge}': No such device"
            ));
        }
        return Ok(());
    }
    let ips = ip_nets(def);
    host::create_bridge(def, &ips)?;
    let result = (|| {
        if let Some(set) = rule_set(def, &ips) {
            firewall::add(backend, &set)?;
        }
        if matches!(def.forward_mode(), ForwardMode::Nat | ForwardMode::Route) {
            host::enable_forwarding(
                ips.iter().any(|i| i.is_ipv4()),
                ips.iter().any(|i| !i.is_ipv4()),
            )?;
        }
        if dnsmasq::needed(def) {
            let files = dnsmasq::files(paths, def.name());
            dnsmasq::write_files(def, &files)?;
            dnsmasq::start(&files)?;
        }
        Ok(())
    })();
    if result.is_err() {
        teardown(paths, backend, def);
    }
    result
}

impl Networks {
    /// SIGHUP (libvirt does this when firewalld reloads, which flushes its rules): the
    /// rules of every active network are removed and added again, so missing ones come
    /// back and none is doubled.
    pub(super) fn reload_firewall(&self) -> Vec<String> {
        let inner = self.lock();
        let backend = inner.backend;
        let mut problems = Vec::new();
        for obj in inner.nets.iter().filter(|n| n.active) {
            let def = &obj.def;
            if !def.forward_mode().is_virtual() {
                continue;
            }
            let ips = ip_nets(def);
            if let Some(set) = rule_set(def, &ips) {
                firewall::remove(backend, &set);
                if let Err(e) = firewall::add(backend, &set) {
                    problems.push(format!(
                        "cannot restore the firewall rules of network '{}': {e}",
                        def.name()
                    ));
                }
            }
        }
        problems
    }

    /// Bridge names of every other network (running definitions and pending ones).
    fn bridges_except(inner: &super::Inner, uuid: &crate::api::Uuid) -> Vec<String> {
        inner
            .nets
            .iter()
            .filter(|n| n.def.uuid() != *uuid)
            .flat_map(|n| [Some(&n.def), n.new_def.as_ref()])
            .flatten()
            .filter_map(|d| d.bridge_name().map(str::to_string))
            .collect()
    }

    /// Checks a new definition against the others (name, uuid, bridge) and completes it.
    fn admit(
        inner: &super::Inner,
        mut def: NetworkDef,
    ) -> DriverResult<(NetworkDef, Option<usize>)> {
        let by_name = inner.nets.iter().position(|n| n.def.name() == def.name());
        let has_uuid = def.root().child("uuid").is_some();
        if let Some(i) = by_name {
            let existing = inner.nets[i].def.uuid();
            if !has_uuid {
                def.set_uuid(&existing);
            } else if existing != def.uuid() {
                return Err(DriverError::new(
                    codes::OPERATION_FAILED,
                    domains::NETWORK,
                    format!(
                        "network '{}' is already defined with uuid {}",
                        def.name(),
                        format_uuid(&existing)
                    ),
                ));
            }
        } else if has_uuid {
            if let Some(other) = inner.nets.iter().find(|n| n.def.uuid() == def.uuid()) {
                return Err(DriverError::new(
                    codes::OPERATION_FAILED,
                    domains::NETWORK,
                    format!(
                        "network '{}' is already defined with uuid {}",
                        other.def.name(),
                        format_uuid(&def.uuid())
                    ),
                ));
            }
        }
        let uuid = match by_name {
            Some(i) => inner.nets[i].def.uuid(),
            None => def.uuid(),
        };
        let taken = Networks::bridges_except(inner, &uuid);
        if let Some(bridge) = def.bridge_name() {
            if def.forward_mode().is_virtual() && taken.iter().any(|b| b == bridge) {
                return Err(internal(format!("bridge name '{bridge}' already in use.")));
            }
        }
        // The bridge of an inactive network keeps its name when redefined.
        let keep = by_name.and_then(|i| {
            inner.nets[i]
                .persistent_def()
                .bridge_name()
                .map(str::to_string)
        });
        if def.bridge_name().is_none() && def.forward_mode().is_virtual() {
            if let Some(name) = keep.filter(|n| !taken.contains(n)) {
                def.root_mut()
                    .children
                    .push(crate::domain_xml::Element::new("bridge").with_attr("name", &name));
            }
        }
        def.complete(&taken, host::link_exists);
        Ok((def, by_name))
    }

    pub fn define(&self, xml: &str) -> DriverResult<NetworkHandle> {
        let def = NetworkDef::parse(xml)?;
        let mut inner = self.lock();
        let (def, existing) = Networks::admit(&inner, def)?;
        objects::save_config(&self.paths, &def)?;
        let handle = match existing {
            Some(i) => {
                let obj = &mut inner.nets[i];
                if obj.active {
                    obj.new_def = Some(def);
                } else {
                    obj.def = def;
                }
                obj.persistent = true;
                obj.handle()
            }
            None => {
                let obj = NetObj {
                    def,
                    new_def: None,
                    active: false,
                    persistent: true,
                    autostart: false,
                    ports: Vec::new(),
                };
                let h = obj.handle();
                inner.nets.push(obj);
                h
            }
        };
        drop(inner);
        self.emit(&handle, ev::DEFINED);
        Ok(handle)
    }

    pub fn undefine(&self, h: &NetworkHandle) -> DriverResult<()> {
        let mut inner = self.lock();
        let obj = Networks::find(&mut inner, h)?;
        if !obj.persistent {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domains::NETWORK,
                "cannot undefine transient network",
            ));
        }
        let name = obj.def.name().to_string();
        objects::remove_config(&self.paths, &name)?;
        let handle = obj.handle();
        if obj.active {
            obj.persistent = false;
            obj.autostart = false;
            obj.new_def = None;
        } else {
            inner.nets.retain(|n| n.def.uuid() != h.uuid);
        }
        drop(inner);
        self.emit(&handle, ev::UNDEFINED);
        Ok(())
    }

    /// `virNetworkCreateXML`: a transient network, started at once.
    pub fn create_transient(&self, xml: &str) -> DriverResult<NetworkHandle> {
        let def = NetworkDef::parse(xml)?;
        let handle = {
            let mut inner = self.lock();
            let (def, existing) = Networks::admit(&inner, def)?;
            if let Some(i) = existing {
                let obj = &inner.nets[i];
                if obj.active {
                    return Err(DriverError::new(
                        codes::OPERATION_INVALID,
                        domains::NETWORK,
                        format!("network is already active as '{}'", obj.def.name()),
                    ));
                }
                return Err(DriverError::new(
                    codes::OPERATION_FAILED,
                    domains::NETWORK,
                    format!("network '{}' already exists", def.name()),
                ));
            }
            let obj = NetObj {
                def,
                new_def: None,
                active: false,
                persistent: false,
                autostart: false,
                ports: Vec::new(),
            };
            let h = obj.handle();
            inner.nets.push(obj);
            h
        };
        if let Err(e) = self.start(&handle) {
            self.lock().nets.retain(|n| n.def.uuid() != handle.uuid);
            return Err(e);
        }
        Ok(handle)
    }

    /// Starts a defined network: `start` hook, subnet check, bridge, rules, dnsmasq,
    /// status file, `started` hook. Any failure undoes every step before it.
    pub fn start(&self, h: &NetworkHandle) -> DriverResult<()> {
        let mut inner = self.lock();
        let backend = inner.backend;
        let others: Vec<NetworkDef> = inner
            .nets
            .iter()
            .filter(|n| n.active && n.def.uuid() != h.uuid)
            .map(|n| n.def.clone())
            .collect();
        let obj = Networks::find(&mut inner, h)?;
        if obj.active {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domains::NETWORK,
                "network is already active",
            ));
        }
        let def = obj.def.clone();
        if def.forward_mode().is_virtual() {
            if let Some(bridge) = def.bridge_name() {
                if others.iter().any(|o| o.bridge_name() == Some(bridge))
                    || host::link_exists(bridge)
                {
                    return Err(internal(format!("bridge name '{bridge}' already in use.")));
                }
            }
            for ip in ip_nets(&def) {
                if let Some(dev) = host::route_collision(&ip) {
                    return Err(internal(format!(
                        "Network is already in use by interface {dev}"
                    )));
                }
            }
        }
        network_hooks::run(self, &def, "start", "begin", None).map_err(|e| e.with_domain())?;
        bring_up(&self.paths, backend, &def).map_err(internal)?;
        let live = def.with_live_defaults();
        obj.def = live.clone();
        obj.active = true;
        if obj.persistent {
            obj.new_def = Some(def.clone());
        }
        if let Err(e) = objects::save_status(&self.paths, obj) {
            teardown(&self.paths, backend, &live);
            obj.def = def;
            obj.new_def = None;
            obj.active = false;
            return Err(e);
        }
        if let Err(e) = network_hooks::run(self, &live, "started", "begin", None) {
            // libvirt 9.0 leaves the network up here; we undo the start.
            teardown(&self.paths, backend, &live);
            objects::remove_status(&self.paths, live.name());
            obj.def = def;
            obj.new_def = None;
            obj.active = false;
            return Err(e.with_domain());
        }
        drop(inner);
        self.emit(h, ev::STARTED);
        Ok(())
    }

    pub fn destroy(&self, h: &NetworkHandle) -> DriverResult<()> {
        let mut inner = self.lock();
        let backend = inner.backend;
        let obj = Networks::find(&mut inner, h)?;
        if !obj.active {
            return Err(not_active(obj.def.name()));
        }
        let live = obj.def.clone();
        teardown(&self.paths, backend, &live);
        objects::remove_status(&self.paths, live.name());
        let _ = network_hooks::run(self, &live, "stopped", "end", None);
        let handle = obj.handle();
        obj.active = false;
        obj.ports.clear();
        if obj.persistent {
            let persistent = obj.new_def.take().unwrap_or_else(|| strip_live(&live));
            obj.def = persistent;
        } else {
            inner.nets.retain(|n| n.def.uuid() != h.uuid);
        }
        drop(inner);
        self.emit(&handle, ev::STOPPED);
        Ok(())
    }
}

/// The persistent form of a running definition (without the NAT port range the start
/// added when the definition had none).
fn strip_live(live: &NetworkDef) -> NetworkDef {
    let text = live.format();
    let mut def = NetworkDef::parse(&text).unwrap_or_else(|_| live.clone());
    if let Some(forward) = def.root_mut().child_mut("forward") {
        if let Some(nat) = forward.child("nat") {
            let only_default_port = nat.children.len() == 1
                && nat.child("port").is_some_and(|p| {
                    p.attr("start") == Some("1024") && p.attr("end") == Some("65535")
                });
            if only_default_port {
                forward.children.retain(|c| c.name != "nat");
            }
        }
    }
    def
}
