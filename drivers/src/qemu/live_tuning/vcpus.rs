//! `setvcpus`: the vCPU count of the definition (and its maximum), and vCPU hot
//! plug on a running guest through `query-hotpluggable-cpus` and `device_add`
//! (QEMU is started with `maxcpus` set to the definition's maximum).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{CONFIG, LIVE};
use crate::api::{codes, domains, set_vcpu_flags, DomainRef, DriverError, DriverResult};
use crate::qemu::hotplug_refusal;
use crate::qemu::lifecycle::check_flags;
use crate::qemu::qmp::Monitor;
use crate::qemu::vcpu_list::{self, VcpuEntry};
use crate::qemu::Inner;

/// How long an unplug waits for the guest to release its vCPUs.
const UNPLUG_WAIT: Duration = Duration::from_secs(5);

impl Inner {
    pub(super) fn set_vcpus(&self, dom: &DomainRef, count: u32, flags: u32) -> DriverResult<()> {
        let known = LIVE
            | CONFIG
            | set_vcpu_flags::MAXIMUM
            | set_vcpu_flags::GUEST
            | set_vcpu_flags::HOTPLUGGABLE;
        check_flags(flags, known, "qemuDomainSetVcpusFlags")?;
        if flags & set_vcpu_flags::GUEST != 0 {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                "QEMU guest agent is not configured",
            ));
        }
        if count == 0 {
            return Err(DriverError::invalid_arg(
                "requested vcpus must be at least 1",
            ));
        }
        let (live, config) = self.affect(dom, flags)?;
        let maximum = flags & set_vcpu_flags::MAXIMUM != 0;
        if maximum && live {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                "maximum vcpu count of a live domain can't be modified",
            ));
        }
        if live {
            self.set_live_vcpus(dom, count)?;
        }
        if config {
            self.change_config(dom, |def| {
                vcpu_list::forget(def);
                if maximum {
                    def.vcpu.max = count;
                    def.vcpu.current = def.vcpu.current.min(count);
                    return Ok(());
                }
                if count > def.vcpu.max {
                    return Err(DriverError::invalid_arg(format!(
                        "requested vcpus is greater than max allowable vcpus for the persistent domain: {count} > {}",
                        def.vcpu.max
                    )));
                }
                def.vcpu.current = count;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// `virDomainSetVcpu`: the listed vCPUs plugged or unplugged one by one on the
    /// running guest, and marked online or offline in the persistent `<vcpus>`.
    pub(super) fn set_vcpu(
        &self,
        dom: &DomainRef,
        cpulist: &str,
        enable: bool,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetVcpu")?;
        let (live, config) = self.affect(dom, flags)?;
        let vcpus = super::affinity::parse_cpuset(cpulist)
            .ok_or_else(|| DriverError::invalid_arg(format!("invalid vcpu list '{cpulist}'")))?;
        let Some(last) = vcpus.iter().max().copied() else {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                "no vcpus selected for modification",
            ));
        };
        if config {
            let st = self.lock();
            let def = st.get(dom)?.persistent_def();
            if last >= def.vcpu.max {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    format!("vcpu {last} is not present in persistent config"),
                ));
            }
            validate_config(def, &vcpus)?;
        }
        if live {
            self.set_live_vcpu(dom, &vcpus, last, enable)?;
        }
        if config {
            self.change_config(dom, |def| {
                let mut list = vcpu_list::entries(def);
                for v in list.iter_mut().filter(|v| vcpus.contains(&v.id)) {
                    v.enabled = enable;
                    v.hotpluggable = true;
                    v.order = None;
                }
                vcpu_list::store(def, &list);
                Ok(())
            })?;
        }
        Ok(())
    }

    fn set_live_vcpu(
        &self,
        dom: &DomainRef,
        vcpus: &[u32],
        last: u32,
        enable: bool,
    ) -> DriverResult<()> {
        let (def, monitor, _) = self.live_parts(dom)?;
        if last >= def.vcpu.max {
            return Err(DriverError::invalid_arg(format!(
                "vcpu {last} is not present in live config"
            )));
        }
        let slots = hotpluggable(&monitor)?;
        for vcpu in vcpus {
            let Some(slot) = slots.iter().find(|s| s.index == u64::from(*vcpu)) else {
                continue;
            };
            match (enable, slot.plugged) {
                (true, false) => {
                    let mut args = slot.props.clone();
                    args["driver"] = json!(slot.driver);
                    args["id"] = json!(format!("vcpu{}", slot.index));
                    monitor
                        .execute("device_add", Some(args))
                        .map_err(|e| hotplug_refusal("device_add", e))?;
                }
                (false, true) if slot.removable() => {
                    monitor
                        .execute(
                            "device_del",
                            Some(json!({ "id": format!("vcpu{}", slot.index) })),
                        )
                        .map_err(|e| hotplug_refusal("device_del", e))?;
                }
                (false, true) => {
                    return Err(DriverError::invalid_arg(format!(
                        "vcpu '{vcpu}' can't be hotunplugged"
                    )))
                }
                _ => {}
            }
        }
        let wanted: Vec<u64> = vcpus.iter().map(|v| u64::from(*v)).collect();
        let deadline = Instant::now() + UNPLUG_WAIT;
        loop {
            let now = hotpluggable(&monitor)?;
            let settled = now
                .iter()
                .filter(|s| wanted.contains(&s.index))
                .all(|s| s.plugged == enable || (!enable && !s.removable() && s.plugged));
            if settled || Instant::now() >= deadline {
                let list: Vec<VcpuEntry> = now
                    .iter()
                    .map(|s| VcpuEntry {
                        id: s.index as u32,
                        enabled: s.plugged,
                        hotpluggable: !s.plugged || s.removable(),
                        order: None,
                    })
                    .collect();
                return self.change_live(dom, |def| vcpu_list::store(def, &list));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn set_live_vcpus(&self, dom: &DomainRef, count: u32) -> DriverResult<()> {
        let (def, monitor, _) = self.live_parts(dom)?;
        if count > def.vcpu.max {
            return Err(DriverError::invalid_arg(format!(
                "requested vcpus is greater than max allowable vcpus for the live domain: {count} > {}",
                def.vcpu.max
            )));
        }
        let slots = hotpluggable(&monitor)?;
        let plugged = slots.iter().filter(|s| s.plugged).count() as u32;
        if count > plugged {
            for slot in slots
                .iter()
                .filter(|s| !s.plugged)
                .take((count - plugged) as usize)
            {
                let mut args = slot.props.clone();
                args["driver"] = json!(slot.driver);
                args["id"] = json!(format!("vcpu{}", slot.index));
                monitor
                    .execute("device_add", Some(args))
                    .map_err(|e| hotplug_refusal("device_add", e))?;
            }
        } else if count < plugged {
            // Only vCPUs plugged after start are devices QEMU can remove.
            let mut removable: Vec<&Slot> = slots.iter().filter(|s| s.removable()).collect();
            removable.sort_by_key(|s| std::cmp::Reverse(s.index));
            let wanted = (plugged - count) as usize;
            if removable.len() < wanted {
                return Err(DriverError::new(
                    codes::OPERATION_INVALID,
                    domains::QEMU,
                    "vcpus present at start cannot be unplugged",
                ));
            }
            for slot in removable.into_iter().take(wanted) {
                monitor
                    .execute(
                        "device_del",
                        Some(json!({ "id": format!("vcpu{}", slot.index) })),
                    )
                    .map_err(|e| hotplug_refusal("device_del", e))?;
            }
            let deadline = Instant::now() + UNPLUG_WAIT;
            while crate::qemu::vcpus::vcpu_threads(&monitor).len() as u32 > count {
                if Instant::now() >= deadline {
                    return Err(DriverError::new(
                        codes::OPERATION_FAILED,
                        domains::QEMU,
                        "vcpu unplug request timed out. Unplug result must be manually inspected in the domain",
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.change_live(dom, |def| def.vcpu.current = count)
    }
}

/// libvirt's checks of the vCPUs `setvcpu --config` may change: never vCPU 0, only
/// hot-pluggable ones.
fn validate_config(def: &crate::domain_xml::DomainDef, vcpus: &[u32]) -> DriverResult<()> {
    if vcpus.contains(&0) {
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            "vCPU '0' can't be modified",
        ));
    }
    let list = vcpu_list::entries(def);
    if let Some(fixed) = list
        .iter()
        .find(|v| vcpus.contains(&v.id) && !v.hotpluggable && v.enabled)
    {
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            format!("vCPU '{}' is not hotpluggable", fixed.id),
        ));
    }
    Ok(())
}

/// Plugs vCPUs `ids` into a guest QEMU holds paused at start.
pub(crate) fn plug_vcpus(monitor: &Monitor, ids: &[u32]) -> Result<(), String> {
    if ids.is_empty() {
        return Ok(());
    }
    let slots = hotpluggable(monitor).map_err(|e| e.message)?;
    for id in ids {
        let slot = slots
            .iter()
            .find(|s| s.index == u64::from(*id))
            .ok_or_else(|| format!("no slot for vCPU {id}"))?;
        if slot.plugged {
            continue;
        }
        let mut args = slot.props.clone();
        args["driver"] = json!(slot.driver);
        args["id"] = json!(format!("vcpu{}", slot.index));
        monitor
            .execute("device_add", Some(args))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One vCPU slot of `query-hotpluggable-cpus`.
struct Slot {
    index: u64,
    driver: String,
    props: Value,
    plugged: bool,
    qom_path: String,
}

impl Slot {
    fn removable(&self) -> bool {
        self.qom_path.starts_with("/machine/peripheral/")
    }
}

/// The slots in socket order.
fn hotpluggable(monitor: &Monitor) -> DriverResult<Vec<Slot>> {
    let reply = monitor
        .execute("query-hotpluggable-cpus", None)
        .map_err(|e| hotplug_refusal("query-hotpluggable-cpus", e))?;
    let mut slots: Vec<Slot> = reply
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|s| {
                    let props = s.get("props")?.clone();
                    let index = props.get("socket-id").and_then(Value::as_u64).unwrap_or(0);
                    let qom_path = s.get("qom-path").and_then(Value::as_str).unwrap_or("");
                    Some(Slot {
                        index,
                        driver: s.get("type")?.as_str()?.to_string(),
                        plugged: !qom_path.is_empty(),
                        qom_path: qom_path.to_string(),
                        props,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    slots.sort_by_key(|s| s.index);
    Ok(slots)
}
