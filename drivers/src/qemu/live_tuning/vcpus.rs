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

    /// `virDomainSetVcpu` on the running guest: the listed vCPUs plugged or
    /// unplugged one by one. Individual vCPUs of the persistent definition
    /// (`<vcpus>`) are not modelled, so `--config` is refused.
    pub(super) fn set_vcpu(
        &self,
        dom: &DomainRef,
        cpulist: &str,
        enable: bool,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetVcpu")?;
        let (live, config) = self.affect(dom, flags)?;
        if config {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                "changing individual vCPUs of the persistent definition is not supported; use setvcpus --config",
            ));
        }
        let vcpus = super::affinity::parse_cpuset(cpulist)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| DriverError::invalid_arg(format!("invalid vcpu list '{cpulist}'")))?;
        if !live {
            return Ok(());
        }
        let (def, monitor, _) = self.live_parts(dom)?;
        if let Some(bad) = vcpus.iter().find(|v| **v >= def.vcpu.max) {
            return Err(DriverError::invalid_arg(format!(
                "vcpu {bad} is not present in live config"
            )));
        }
        let slots = hotpluggable(&monitor)?;
        for vcpu in &vcpus {
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
        let count = crate::qemu::vcpus::vcpu_threads(&monitor).len() as u32;
        self.change_live(dom, |def| def.vcpu.current = count)
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
