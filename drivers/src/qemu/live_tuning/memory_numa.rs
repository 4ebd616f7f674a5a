//! `memtune` and `numatune`: `<memtune>` and `<numatune>` of the definitions.
//! Limits are not enforced on running guests: this driver places guests in the
//! cpu controller only, so live changes are refused as libvirt refuses them
//! without the memory or cpuset controller.

use super::{CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::lifecycle::check_flags;
use crate::qemu::Inner;

/// `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED` (KiB).
const UNLIMITED: u64 = 9_007_199_254_740_991;
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
        let (_, def) = self.def_for(dom, flags)?;
        Ok(MEMTUNE_FIELDS
            .iter()
            .map(|f| NamedParam::new(f, ParamValue::ULLong(memtune_value(&def, f))))
            .collect())
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
            values.push((p.field.clone(), *v));
        }
        let (live, config) = self.affect(dom, flags)?;
        if live {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "cgroup memory controller is not mounted",
            ));
        }
        if config {
            self.change_config(dom, |def| {
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
                    def.extra.push(tune);
                }
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
            let (_, def) = self.def_for(dom, LIVE)?;
            let current = numa_memory(&def)
                .and_then(|m| m.attr("mode"))
                .unwrap_or("strict");
            if mode.is_some_and(|m| m != current) {
                return Err(DriverError::operation_invalid(
                    "can't change numatune mode for running domain",
                ));
            }
            let message = if mode == Some("strict") {
                "can't change nodeset for strict mode for running domain"
            } else {
                "cgroup cpuset controller is not mounted"
            };
            if nodeset.is_some() {
                return Err(DriverError::operation_invalid(message));
            }
        }
        if config {
            self.change_config(dom, |def| {
                let old = numa_memory(def).cloned();
                let mode = mode
                    .or_else(|| old.as_ref().and_then(|m| m.attr("mode")))
                    .unwrap_or("strict")
                    .to_string();
                let nodeset = nodeset.clone().or_else(|| {
                    old.as_ref()
                        .and_then(|m| m.attr("nodeset"))
                        .map(str::to_string)
                });
                def.extra.retain(|e| e.name != "numatune");
                let mut memory = Element::new("memory").with_attr("mode", &mode);
                if let Some(nodeset) = nodeset.filter(|n| !n.is_empty()) {
                    memory.set_attr("nodeset", &nodeset);
                }
                def.extra.push(Element::new("numatune").with_child(memory));
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// A nodeset in libvirt's canonical text.
fn checked_nodeset(text: &str) -> DriverResult<String> {
    let nodes = super::affinity::parse_cpuset(text)
        .ok_or_else(|| DriverError::invalid_arg(format!("Invalid nodeset '{text}'")))?;
    Ok(super::affinity::cpuset_text(&nodes))
}
