//! IOThreads (`iothreadinfo`, `iothreadadd`, `iothreaddel`): QEMU `iothread`
//! objects, kept as `<iothreads>` and `<iothreadids>` in the definition.

use serde_json::{json, Value};

use super::affinity::{check_host_cpus, set_thread_affinity, thread_affinity};
use super::pinning::{clear_pin, pinned, set_pin};
use super::{CONFIG, LIVE};
use crate::api::{DomainRef, DriverError, DriverResult};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::hotplug_refusal;
use crate::qemu::lifecycle::check_flags;
use crate::qemu::vcpus::host_cpu_map;
use crate::qemu::Inner;

/// The IOThread ids of a definition: `<iothreadids>`, else 1..=`<iothreads>`.
pub fn iothread_ids(def: &DomainDef) -> Vec<u32> {
    if let Some(ids) = def.extra.iter().find(|e| e.name == "iothreadids") {
        return ids
            .children
            .iter()
            .filter(|c| c.name == "iothread")
            .filter_map(|c| c.attr("id")?.parse().ok())
            .collect();
    }
    let count = def
        .extra
        .iter()
        .find(|e| e.name == "iothreads")
        .and_then(|e| e.text.as_deref())
        .and_then(|t| t.trim().parse::<u32>().ok())
        .unwrap_or(0);
    (1..=count).collect()
}

/// Writes `ids` as `<iothreads>` and `<iothreadids>`.
fn set_iothread_ids(def: &mut DomainDef, ids: &[u32]) {
    def.extra
        .retain(|e| e.name != "iothreads" && e.name != "iothreadids");
    if ids.is_empty() {
        return;
    }
    def.extra
        .push(Element::new("iothreads").with_text(&ids.len().to_string()));
    let mut list = Element::new("iothreadids");
    for id in ids {
        list.children
            .push(Element::new("iothread").with_attr("id", &id.to_string()));
    }
    def.extra.push(list);
}

impl Inner {
    pub(super) fn iothread_info(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<Vec<(u32, Vec<u32>)>> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainGetIOThreadInfo")?;
        let (live, _) = self.affect(dom, flags)?;
        let all = host_cpu_map().online;
        if !live {
            let def = self.lock().get(dom)?.persistent_def().clone();
            // `<iothreadpin>` of the definition, else every online CPU.
            return Ok(iothread_ids(&def)
                .into_iter()
                .map(|id| {
                    let cpus = pinned(&def, "iothreadpin", Some(id));
                    (id, cpus.unwrap_or_else(|| all.clone()))
                })
                .collect());
        }
        let (_, monitor, _) = self.live_parts(dom)?;
        let reply = monitor
            .execute("query-iothreads", None)
            .map_err(|e| hotplug_refusal("query-iothreads", e))?;
        let mut threads: Vec<(u32, Vec<u32>)> = reply
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|t| {
                        let id = t
                            .get("id")?
                            .as_str()?
                            .strip_prefix("iothread")?
                            .parse()
                            .ok()?;
                        let tid = t.get("thread-id").and_then(Value::as_i64)? as i32;
                        Some((id, thread_affinity(tid).unwrap_or_else(|| all.clone())))
                    })
                    .collect()
            })
            .unwrap_or_default();
        threads.sort_by_key(|(id, _)| *id);
        Ok(threads)
    }

    /// `virDomainPinIOThread`: the affinity of an IOThread's thread, kept as
    /// `<iothreadpin>`.
    pub(super) fn pin_iothread(
        &self,
        dom: &DomainRef,
        id: u32,
        cpus: &[u32],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainPinIOThread")?;
        let (live, config) = self.affect(dom, flags)?;
        check_host_cpus(cpus)?;
        let missing = || DriverError::invalid_arg(format!("iothread value {id} not found"));
        if live {
            let (_, monitor, _) = self.live_parts(dom)?;
            let reply = monitor
                .execute("query-iothreads", None)
                .map_err(|e| hotplug_refusal("query-iothreads", e))?;
            let name = format!("iothread{id}");
            let tid = reply
                .as_array()
                .and_then(|list| {
                    list.iter()
                        .find(|t| t.get("id").and_then(Value::as_str) == Some(name.as_str()))
                })
                .and_then(|t| t.get("thread-id").and_then(Value::as_i64))
                .ok_or_else(missing)?;
            set_thread_affinity(tid as i32, cpus)?;
            self.change_live(dom, |def| set_pin(def, "iothreadpin", Some(id), cpus))?;
        }
        if config {
            self.change_config(dom, |def| {
                if !iothread_ids(def).contains(&id) {
                    return Err(missing());
                }
                set_pin(def, "iothreadpin", Some(id), cpus);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// `virDomainAddIOThread` (`add`) and `virDomainDelIOThread`.
    pub(super) fn change_iothread(
        &self,
        dom: &DomainRef,
        id: u32,
        flags: u32,
        add: bool,
    ) -> DriverResult<()> {
        let function = if add {
            "qemuDomainAddIOThread"
        } else {
            "qemuDomainDelIOThread"
        };
        check_flags(flags, LIVE | CONFIG, function)?;
        if id == 0 {
            return Err(DriverError::invalid_arg(
                "invalid value of 0 for iothread_id",
            ));
        }
        let (live, config) = self.affect(dom, flags)?;
        let edit = |def: &mut DomainDef| -> DriverResult<()> {
            let mut ids = iothread_ids(def);
            let present = ids.contains(&id);
            if add && present {
                return Err(DriverError::invalid_arg(format!(
                    "an IOThread is already using iothread_id '{id}'"
                )));
            }
            if !add && !present {
                return Err(DriverError::invalid_arg(format!(
                    "cannot find IOThread '{id}' in iothreadids list"
                )));
            }
            if add {
                ids.push(id);
                ids.sort_unstable();
            } else {
                ids.retain(|i| *i != id);
                clear_pin(def, "iothreadpin", id);
            }
            set_iothread_ids(def, &ids);
            Ok(())
        };
        if live {
            let (mut def, monitor, _) = self.live_parts(dom)?;
            edit(&mut def)?;
            let name = format!("iothread{id}");
            let result = if add {
                monitor.execute(
                    "object-add",
                    Some(json!({"qom-type": "iothread", "id": name})),
                )
            } else {
                monitor.execute("object-del", Some(json!({ "id": name })))
            };
            result
                .map_err(|e| hotplug_refusal(if add { "object-add" } else { "object-del" }, e))?;
            self.change_live(dom, |live_def| {
                let ids = iothread_ids(&def);
                set_iothread_ids(live_def, &ids);
                if !add {
                    clear_pin(live_def, "iothreadpin", id);
                }
            })?;
        }
        if config {
            self.change_config(dom, edit)?;
        }
        Ok(())
    }
}
