//! `vcpupin` and `emulatorpin`: the affinity of the vCPU threads (from
//! `query-cpus-fast`) and of every other QEMU thread, set with
//! `sched_setaffinity` and recorded in `<cputune>`.

use super::affinity::{
    check_host_cpus, cpuset_text, parse_cpuset, set_thread_affinity, thread_affinity, threads_of,
};
use super::{CONFIG, LIVE};
use crate::api::{DomainRef, DriverError, DriverResult};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::lifecycle::check_flags;
use crate::qemu::vcpus::{host_cpu_map, vcpu_threads};
use crate::qemu::Inner;

/// The attribute naming what a pin of `<cputune>` is for.
fn key_attr(name: &str) -> &'static str {
    if name == "iothreadpin" {
        "iothread"
    } else {
        "vcpu"
    }
}

/// Sets one pin of `<cputune>` (`vcpupin`, `emulatorpin`, `iothreadpin`).
pub(super) fn set_pin(def: &mut DomainDef, name: &str, vcpu: Option<u32>, cpus: &[u32]) {
    let key = key_attr(name);
    if !def.extra.iter().any(|e| e.name == "cputune") {
        def.extra.push(Element::new("cputune"));
    }
    let Some(tune) = def.extra.iter_mut().find(|e| e.name == "cputune") else {
        return;
    };
    let vcpu_text = vcpu.map(|v| v.to_string());
    tune.children
        .retain(|c| !(c.name == name && c.attr(key).map(str::to_string) == vcpu_text));
    let mut pin = Element::new(name);
    if let Some(v) = &vcpu_text {
        pin.set_attr(key, v);
    }
    pin.set_attr("cpuset", &cpuset_text(cpus));
    // vcpupin entries in vCPU order, then emulatorpin, then iothreadpin entries
    // in IOThread order, as libvirt prints them.
    let rank = |n: &str| match n {
        "vcpupin" => 0,
        "emulatorpin" => 1,
        "iothreadpin" => 2,
        _ => 3,
    };
    let at = tune
        .children
        .iter()
        .position(|c| {
            rank(&c.name) > rank(name)
                || (c.name == name && c.attr(key).and_then(|v| v.parse::<u32>().ok()) > vcpu)
        })
        .unwrap_or(tune.children.len());
    tune.children.insert(at, pin);
}

/// Drops a pin of `<cputune>` (and `<cputune>` once empty).
pub(super) fn clear_pin(def: &mut DomainDef, name: &str, id: u32) {
    let key = key_attr(name);
    let id = id.to_string();
    for tune in def.extra.iter_mut().filter(|e| e.name == "cputune") {
        tune.children
            .retain(|c| !(c.name == name && c.attr(key) == Some(id.as_str())));
    }
    def.extra
        .retain(|e| e.name != "cputune" || !e.children.is_empty());
}

/// The CPUs a pin of `<cputune>` names, if there is one.
pub(in crate::qemu) fn pinned(def: &DomainDef, name: &str, vcpu: Option<u32>) -> Option<Vec<u32>> {
    let tune = def.extra.iter().find(|e| e.name == "cputune")?;
    let vcpu_text = vcpu.map(|v| v.to_string());
    let key = key_attr(name);
    tune.children
        .iter()
        .find(|c| c.name == name && c.attr(key).map(str::to_string) == vcpu_text)
        .and_then(|c| c.attr("cpuset"))
        .and_then(parse_cpuset)
}

impl Inner {
    pub(super) fn pin_vcpu(
        &self,
        dom: &DomainRef,
        vcpu: u32,
        cpus: &[u32],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainPinVcpuFlags")?;
        let (live, config) = self.affect(dom, flags)?;
        check_host_cpus(cpus)?;
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            if vcpu >= def.vcpu.current {
                return Err(DriverError::invalid_arg(format!(
                    "vcpu {vcpu} is out of range of live cpu count {}",
                    def.vcpu.current
                )));
            }
            let tid = vcpu_threads(&monitor)
                .into_iter()
                .find(|(index, _)| *index == vcpu)
                .map(|(_, tid)| tid)
                .ok_or_else(|| {
                    DriverError::internal(format!("cannot find the thread of vcpu {vcpu}"))
                })?;
            set_thread_affinity(tid, cpus)?;
            self.change_live(dom, |def| set_pin(def, "vcpupin", Some(vcpu), cpus))?;
        }
        if config {
            self.change_config(dom, |def| {
                if vcpu >= def.vcpu.max {
                    return Err(DriverError::invalid_arg(format!(
                        "vcpu {vcpu} is out of range of persistent cpu count {}",
                        def.vcpu.max
                    )));
                }
                set_pin(def, "vcpupin", Some(vcpu), cpus);
                Ok(())
            })?;
        }
        Ok(())
    }

    pub(super) fn pin_emulator(
        &self,
        dom: &DomainRef,
        cpus: &[u32],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainPinEmulator")?;
        let (live, config) = self.affect(dom, flags)?;
        check_host_cpus(cpus)?;
        if live {
            let (_, monitor, pid) = self.live_parts(dom)?;
            let vcpu_tids: Vec<i32> = vcpu_threads(&monitor).into_iter().map(|(_, t)| t).collect();
            for tid in threads_of(pid)
                .into_iter()
                .filter(|t| !vcpu_tids.contains(t))
            {
                set_thread_affinity(tid, cpus)?;
            }
            self.change_live(dom, |def| set_pin(def, "emulatorpin", None, cpus))?;
        }
        if config {
            self.change_config(dom, |def| {
                set_pin(def, "emulatorpin", None, cpus);
                Ok(())
            })?;
        }
        Ok(())
    }

    pub(super) fn emulator_pin_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<u32>> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainGetEmulatorPinInfo")?;
        let (live, _) = self.affect(dom, flags)?;
        if live {
            let (_, _, pid) = self.live_parts(dom)?;
            return Ok(thread_affinity(pid).unwrap_or_else(|| host_cpu_map().online));
        }
        let def = self.lock().get(dom)?.persistent_def().clone();
        Ok(pinned(&def, "emulatorpin", None).unwrap_or_else(|| host_cpu_map().online))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> DomainDef {
        crate::domain_xml::parse_domain_xml(
            "<domain type='qemu'><name>p</name><memory>1024</memory><vcpu>4</vcpu>\
             <os><type>hvm</type></os></domain>",
            &crate::qemu::defaults::parse_options(),
        )
        .expect("parses")
    }

    #[test]
    fn pins_are_kept_in_vcpu_order_before_the_emulator_pin() {
        let mut d = def();
        set_pin(&mut d, "emulatorpin", None, &[1]);
        set_pin(&mut d, "vcpupin", Some(2), &[0, 1]);
        set_pin(&mut d, "vcpupin", Some(0), &[3]);
        set_pin(&mut d, "vcpupin", Some(2), &[2]);
        let tune = d
            .extra
            .iter()
            .find(|e| e.name == "cputune")
            .expect("cputune");
        let order: Vec<(String, Option<&str>, Option<&str>)> = tune
            .children
            .iter()
            .map(|c| (c.name.clone(), c.attr("vcpu"), c.attr("cpuset")))
            .collect();
        assert_eq!(
            order,
            vec![
                ("vcpupin".to_string(), Some("0"), Some("3")),
                ("vcpupin".to_string(), Some("2"), Some("2")),
                ("emulatorpin".to_string(), None, Some("1")),
            ]
        );
        assert_eq!(pinned(&d, "vcpupin", Some(2)), Some(vec![2]));
    }
}
