//! CPU model procedures: the model names a CPU driver knows (`virsh cpu-models`),
//! comparison with the host's or the hypervisor's CPU, and baselines.

use std::sync::Arc;

use drivers::api::{Connection, HypervisorTarget};
use protocol::header::Header;
use protocol::remote::*;

use super::{drv, job, Action};

pub fn connect_get_cpu_model_names(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectGetCpuModelNamesArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.cpu_model_names(&a.arch, a.flags)).map(|models| ConnectGetCpuModelNamesRet {
            ret: models.len() as i32,
            models: if a.need_results != 0 {
                models
            } else {
                Vec::new()
            },
        })
    })
}

pub fn connect_compare_cpu(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectCompareCpuArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.compare_cpu(&a.xml, a.flags)).map(|result| ConnectCompareCpuRet { result })
    })
}

pub fn connect_baseline_cpu(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectBaselineCpuArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.baseline_cpu(&a.xml_cpus, a.flags)).map(|cpu| ConnectBaselineCpuRet { cpu })
    })
}

pub fn connect_compare_hypervisor_cpu(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectCompareHypervisorCpuArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        let target = HypervisorTarget {
            emulator: a.emulator.as_deref(),
            arch: a.arch.as_deref(),
            machine: a.machine.as_deref(),
            virttype: a.virttype.as_deref(),
        };
        drv(conn.compare_hypervisor_cpu(target, &a.xml_cpu, a.flags))
            .map(|result| ConnectCompareCpuRet { result })
    })
}

pub fn connect_baseline_hypervisor_cpu(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectBaselineHypervisorCpuArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        let target = HypervisorTarget {
            emulator: a.emulator.as_deref(),
            arch: a.arch.as_deref(),
            machine: a.machine.as_deref(),
            virttype: a.virttype.as_deref(),
        };
        drv(conn.baseline_hypervisor_cpu(target, &a.xml_cpus, a.flags))
            .map(|cpu| ConnectBaselineCpuRet { cpu })
    })
}
