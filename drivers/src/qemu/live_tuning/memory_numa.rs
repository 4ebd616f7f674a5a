//! `memtune` and `numatune`: `<memtune>` and `<numatune>` of the definitions, and live
//! in the guest's memory and cpuset groups ([`crate::qemu::resource_cgroup`]).

use super::{memory_limits, CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::lifecycle::check_flags;
use crate::qemu::resource_cgroup::{group_of, Controller, ResourceGroup};
use crate::qemu::Inner;

/// `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED` (KiB).
pub(super) const UNLIMITED: u64 = 9_007_199_254_740_991;
/// `VIR_TYPED_PARAM_STRING_OKAY`, which the remote client adds to getters.
const STRING_OKAY: u32 = 4;
const MEMTUNE_FIELDS: [&str; 3] = ["hard_limit", "soft_limit", "swap_hard_limit"];
const NUMA_MODES: [&str; 4] = ["strict", "preferred", "interleave", "restrictive"];

fn memtune_value(def: &DomainDef, field: &str) -> u64 {
    def.extra
        .iter()
        .find(|e| e.name == "memtune")
        .and_then(|m| m.child(field))
        .and_then(|c| c.text.as_deref())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(UNLIMITED)
}

/// Replaces the given `<memtune>` values of `def`, keeping the others.
fn store_memtune(def: &mut DomainDef, values: &[(String, u64)]) {
    let current: Vec<(String, u64)> = MEMTUNE_FIELDS
        .iter()
        .map(|f| {
            let given = values.iter().find(|(n, _)| n == f).map(|(_, v)| *v);
            (
                f.to_string(),
                given.unwrap_or_else(|| memtune_value(def, f)),
            )
        })
        .collect();
    let position = def.extra.iter().position(|e| e.name == "memtune");
    def.extra.retain(|e| e.name != "memtune");
    let mut tune = Element::new("memtune");
    for (field, value) in current.into_iter().filter(|(_, v)| *v < UNLIMITED) {
        tune.children.push(
            Element::new(&field)
                .with_attr("unit", "KiB")
                .with_text(&value.to_string()),
        );
    }
    if !tune.children.is_empty() {
        let at = position.unwrap_or(def.extra.len()).min(def.extra.len());
        def.extra.insert(at, tune);
    }
}

fn numa_memory(def: &DomainDef) -> Option<&Element> {
    def.extra
        .iter()
        .find(|e| e.name == "numatune")
        .and_then(|n| n.child("memory"))
}

fn unsupported_param(name: &str) -> DriverError {
    DriverError::new(
        codes::ARGUMENT_UNSUPPORTED,
        domains::QEMU,
        format!("parameter '{name}' not supported"),
    )
}

impl Inner {
    fn def_for(&self, dom: &DomainRef, flags: u32) -> DriverResult<(bool, DomainDef)> {
        let (live, _) = self.affect(dom, flags & (LIVE | CONFIG))?;
        let st = self.lock();
        let obj = st.get(dom)?;
        let def = if live {
            obj.def.clone()
        } else {
            obj.persistent_def().clone()
        };
        Ok((live, def))
    }

    pub(super) fn memory_params(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        check_flags(
            flags,
            LIVE | CONFIG | STRING_OKAY,
            "qemuDomainGetMemoryParameters",
        )?;
        let (live, def) = self.def_for(dom, flags)?;
        let values: Vec<u64> = if live {
            let group = self.memory_group(dom)?;
            MEMTUNE_FIELDS
                .iter()
                .map(|f| memory_limits::read(&group, f))
                .collect::<DriverResult<_>>()?
        } else {
            MEMTUNE_FIELDS
                .iter()
                .map(|f| memtune_value(&def, f))
                .collect()
        };
        Ok(MEMTUNE_FIELDS
            .iter()
            .zip(values)
            .map(|(f, v)| NamedParam::new(f, ParamValue::ULLong(v)))
            .collect())
    }

    fn memory_group(&self, dom: &DomainRef) -> DriverResult<ResourceGroup> {
        let (_, _, pid) = self.live_parts(dom)?;
        group_of(pid, Controller::Memory).ok_or_else(|| {
            DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "cgroup memory controller is not mounted",
            )
        })
    }

    pub(super) fn set_memory_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetMemoryParameters")?;
        let mut values = Vec::new();
        for p in params {
            let (true, ParamValue::ULLong(v)) =
                (MEMTUNE_FIELDS.contains(&p.field.as_str()), &p.value)
            else {
                return Err(unsupported_param(&p.field));
            };
            values.retain(|(n, _): &(String, u64)| n != &p.field);
            values.push((p.field.clone(), *v));
        }
        let (live, config) = self.affect(dom, flags)?;
        let given = |f: &str| values.iter().find(|(n, _)| n == f).map(|(_, v)| *v);
        // The hard limit may not exceed the swap hard limit (both as they would become).
        let (_, current) = self.def_for(dom, flags & (LIVE | CONFIG))?;
        if given("hard_limit").is_some() || given("swap_hard_limit").is_some() {
            let hard = given("hard_limit").unwrap_or_else(|| memtune_value(&current, "hard_limit"));
            let swap = given("swap_hard_limit")
                .unwrap_or_else(|| memtune_value(&current, "swap_hard_limit"));
            if hard < UNLIMITED && swap < UNLIMITED && hard > swap {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    "memory hard_limit tunable value must be lower than or equal to swap_hard_limit",
                ));
            }
        }
        if let Some((_, bad)) = values.iter().find(|(_, v)| *v > UNLIMITED) {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::CGROUP,
                format!("Memory '{bad}' must be less than {UNLIMITED}"),
            ));
        }
        if live {
            let group = self.memory_group(dom)?;
            let (def, _, _) = self.live_parts(dom)?;
            // libvirt's order: soft limit; a lowered hard limit before the swap limit,
            // a raised one after it.
            let mut order: Vec<&str> = vec!["soft_limit"];
            let lowering =
                given("hard_limit").is_some_and(|h| memtune_value(&def, "hard_limit") > h);
            if lowering {
                order.push("hard_limit");
            }
            order.push("swap_hard_limit");
            if !lowering {
                order.push("hard_limit");
            }
            let mut applied = Vec::new();
            let mut failure = None;
            for field in order {
                if let Some(v) = given(field) {
                    match memory_limits::write(&group, field, v) {
                        Ok(()) => applied.push((field.to_string(), v)),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            }
            self.change_live(dom, |def| store_memtune(def, &applied))?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        if config {
            self.change_config(dom, |def| {
                store_memtune(def, &values);
                Ok(())
            })?;
        }
        Ok(())
    }

    pub(super) fn numa_params(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        check_flags(
            flags,
            LIVE | CONFIG | STRING_OKAY,
            "qemuDomainGetNumaParameters",
        )?;
        let (_, def) = self.def_for(dom, flags)?;
        let memory = numa_memory(&def);
        let mode = memory
            .and_then(|m| m.attr("mode"))
            .and_then(|m| NUMA_MODES.iter().position(|n| *n == m))
            .unwrap_or(0);
        let nodeset = memory.and_then(|m| m.attr("nodeset")).unwrap_or("");
        Ok(vec![
            NamedParam::new("numa_mode", ParamValue::Int(mode as i32)),
            NamedParam::new("numa_nodeset", ParamValue::String(nodeset.to_string())),
        ])
    }

    pub(super) fn set_numa_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetNumaParameters")?;
        let (mut mode, mut nodeset) = (None, None);
        for p in params {
            match (p.field.as_str(), &p.value) {
                ("numa_mode", ParamValue::Int(m)) => {
                    let name = usize::try_from(*m).ok().and_then(|i| NUMA_MODES.get(i));
                    mode = Some(*name.ok_or_else(|| {
                        DriverError::invalid_arg(format!("unsupported numatune mode: '{m}'"))
                    })?);
                }
                ("numa_nodeset", ParamValue::String(s)) => nodeset = Some(checked_nodeset(s)?),
                (name, _) => return Err(unsupported_param(name)),
            }
        }
        let (live, config) = self.affect(dom, flags)?;
        if live {
            let (_, _, pid) = self.live_parts(dom)?;
            let group = group_of(pid, Controller::Cpuset).ok_or_else(|| {
                DriverError::operation_invalid("cgroup cpuset controller is not mounted")
                    .in_domain(domains::QEMU)
            })?;
            let (_, def) = self.def_for(dom, LIVE)?;
            let current = numa_memory(&def).and_then(|m| m.attr("mode"));
            if let Some(wanted) = mode {
                if wanted != current.unwrap_or("strict") {
                    return Err(DriverError::operation_invalid(
                        "can't change numatune mode for running domain",
                    )
                    .in_domain(domains::QEMU));
                }
            }
            if let Some(nodeset) = &nodeset {
                if current.is_some_and(|m| m != "strict" && m != "restrictive") {
                    return Err(DriverError::operation_invalid(
                        "change of nodeset for running domain requires strict or restrictive numa mode",
                    )
                    .in_domain(domains::QEMU));
                }
                set_cpuset_mems(&group, nodeset)?;
            }
            self.change_live(dom, |def| update_numatune(def, mode, nodeset.clone()))?;
        }
        if config {
            self.change_config(dom, |def| {
                update_numatune(def, mode, nodeset.clone());
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Sets `<numatune><memory>`: the given mode and nodeset, the old ones otherwise.
fn update_numatune(def: &mut DomainDef, mode: Option<&str>, nodeset: Option<String>) {
    let old = numa_memory(def).cloned();
    let mode = mode
        .or_else(|| old.as_ref().and_then(|m| m.attr("mode")))
        .unwrap_or("strict")
        .to_string();
    let nodeset = nodeset.or_else(|| {
        old.as_ref()
            .and_then(|m| m.attr("nodeset"))
            .map(str::to_string)
    });
    let position = def.extra.iter().position(|e| e.name == "numatune");
    def.extra.retain(|e| e.name != "numatune");
    let mut memory = Element::new("memory").with_attr("mode", &mode);
    if let Some(nodeset) = nodeset.filter(|n| !n.is_empty()) {
        memory.set_attr("nodeset", &nodeset);
    }
    let at = position.unwrap_or(def.extra.len()).min(def.extra.len());
    def.extra
        .insert(at, Element::new("numatune").with_child(memory));
}

/// Writes `cpuset.mems` of the guest's cpuset group and its sub-groups once every node
/// is known to exist. Sub-groups go first (a v1 child may not hold nodes its parent
/// lacks), and again after the group when they refused a widened set.
fn set_cpuset_mems(group: &ResourceGroup, nodeset: &str) -> DriverResult<()> {
    let nodes = super::affinity::parse_cpuset(nodeset).unwrap_or_default();
    if let Some(missing) = nodes
        .iter()
        .find(|n| !std::path::Path::new(&format!("/sys/devices/system/node/node{n}")).exists())
    {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::NONE,
            format!("NUMA node {missing} is unavailable"),
        ));
    }
    let subs = group.sub_groups();
    let refused: Vec<_> = subs
        .iter()
        .filter(|sub| group.write_in(sub, "cpuset.mems", nodeset).is_err())
        .collect();
    group.write("cpuset.mems", nodeset)?;
    for sub in refused {
        group.write_in(sub, "cpuset.mems", nodeset)?;
    }
    Ok(())
}

/// Applies `<memtune>` and a strict or restrictive `<numatune>` nodeset at start.
pub(super) fn apply_at_start(def: &DomainDef, pid: i32) {
    if let Some(group) = group_of(pid, Controller::Memory) {
        for field in MEMTUNE_FIELDS {
            let value = memtune_value(def, field);
            if value < UNLIMITED {
                if let Err(e) = memory_limits::write(&group, field, value) {
                    tracing::warn!("{field} of '{}' not applied: {e}", def.name);
                }
            }
        }
    }
    let Some(memory) = numa_memory(def) else {
        return;
    };
    let mode = memory.attr("mode").unwrap_or("strict");
    if let (Some(nodeset), true) = (
        memory.attr("nodeset"),
        mode == "strict" || mode == "restrictive",
    ) {
        if let Some(group) = group_of(pid, Controller::Cpuset) {
            if let Err(e) = set_cpuset_mems(&group, nodeset) {
                tracing::warn!("numatune of '{}' not applied: {e}", def.name);
            }
        }
    }
}

/// A nodeset in libvirt's canonical text.
fn checked_nodeset(text: &str) -> DriverResult<String> {
    let nodes = super::affinity::parse_cpuset(text)
        .ok_or_else(|| DriverError::invalid_arg(format!("Invalid nodeset '{text}'")))?;
    Ok(super::affinity::cpuset_text(&nodes))
}
