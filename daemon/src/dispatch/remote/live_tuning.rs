//! Live tuning (`virsh setvcpus`, `setmaxmem`, `vcpupin`, `emulatorpin`,
//! `iothreadinfo`, `iothreadadd`, `iothreaddel`, `perf`): on workers, since they
//! talk to QEMU or the host.

use std::sync::Arc;

use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::remote::limits::DOMAIN_MEMORY_PARAMETERS_MAX;
use protocol::remote::*;

use super::tuning::{driver_params, wire_param};
use super::{dom_ref, drv, job, Action};

const CPUMAP_MAX: usize = 2_048;

/// The CPUs whose bits are set in a client's map.
fn cpus_of(map: &Opaque) -> Vec<u32> {
    map.0
        .iter()
        .enumerate()
        .flat_map(|(byte, bits)| {
            (0..8)
                .filter(move |bit| bits & (1 << bit) != 0)
                .map(move |bit| (byte * 8 + bit) as u32)
        })
        .collect()
}

/// `len` bytes with one bit per listed CPU.
fn map_of(cpus: &[u32], len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    for &cpu in cpus {
        if let Some(b) = bytes.get_mut(cpu as usize / 8) {
            *b |= 1 << (cpu % 8);
        }
    }
    bytes
}

pub fn set_vcpus(c: &Arc<dyn Connection>, h: &Header, a: DomainSetVcpusArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_vcpus(&dom_ref(&a.dom), a.nvcpus, None))
    })
}

pub fn set_vcpus_flags(c: &Arc<dyn Connection>, h: &Header, a: DomainSetVcpusFlagsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_vcpus(&dom_ref(&a.dom), a.nvcpus, Some(a.flags)))
    })
}

pub fn set_vcpu(c: &Arc<dyn Connection>, h: &Header, a: DomainSetVcpuArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.set_vcpu(&dom_ref(&a.dom), &a.cpumap, a.state != 0, a.flags))
    })
}

pub fn set_max_memory(c: &Arc<dyn Connection>, h: &Header, a: DomainSetMaxMemoryArgs) -> Action {
    let c = c.clone();
    job(h, move || drv(c.set_max_memory(&dom_ref(&a.dom), a.memory)))
}

pub fn pin_vcpu(c: &Arc<dyn Connection>, h: &Header, a: DomainPinVcpuArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.pin_vcpu(&dom_ref(&a.dom), a.vcpu, &cpus_of(&a.cpumap), None))
    })
}

pub fn pin_vcpu_flags(c: &Arc<dyn Connection>, h: &Header, a: DomainPinVcpuFlagsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.pin_vcpu(&dom_ref(&a.dom), a.vcpu, &cpus_of(&a.cpumap), Some(a.flags)))
    })
}

pub fn pin_emulator(c: &Arc<dyn Connection>, h: &Header, a: DomainPinEmulatorArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.pin_emulator(&dom_ref(&a.dom), &cpus_of(&a.cpumap), a.flags))
    })
}

pub fn get_emulator_pin_info(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetEmulatorPinInfoArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let maplen = usize::try_from(a.maplen).unwrap_or(0);
        if maplen > CPUMAP_MAX {
            return Err(RemoteError::new(
                codes::RPC,
                domains::RPC,
                "maxinfo * maplen > REMOTE_CPUMAPS_MAX".to_string(),
            ));
        }
        let cpus = drv(c.emulator_pin_info(&dom_ref(&a.dom), a.flags))?;
        Ok(DomainGetEmulatorPinInfoRet {
            cpumaps: Opaque(map_of(&cpus, maplen)),
            ret: 1,
        })
    })
}

pub fn get_iothread_info(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetIothreadInfoArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let threads = drv(c.iothread_info(&dom_ref(&a.dom), a.flags))?;
        let len = drv(c.node_cpu_map())
            .map(|m| (m.cpus as usize).div_ceil(8))
            .unwrap_or(1)
            .clamp(1, CPUMAP_MAX);
        Ok(DomainGetIothreadInfoRet {
            ret: threads.len() as u32,
            info: threads
                .into_iter()
                .map(|(iothread_id, cpus)| DomainIothreadInfo {
                    iothread_id,
                    cpumap: Opaque(map_of(&cpus, len)),
                })
                .collect(),
        })
    })
}

pub fn pin_iothread(c: &Arc<dyn Connection>, h: &Header, a: DomainPinIothreadArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.pin_iothread(
            &dom_ref(&a.dom),
            a.iothreads_id,
            &cpus_of(&a.cpumap),
            a.flags,
        ))
    })
}

pub fn add_iothread(c: &Arc<dyn Connection>, h: &Header, a: DomainAddIothreadArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.add_iothread(&dom_ref(&a.dom), a.iothread_id, a.flags))
    })
}

pub fn del_iothread(c: &Arc<dyn Connection>, h: &Header, a: DomainDelIothreadArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.del_iothread(&dom_ref(&a.dom), a.iothread_id, a.flags))
    })
}

/// The remote driver's bound on the parameters a client asks for.
pub(super) fn check_nparams(nparams: i32, max: usize) -> Result<(), RemoteError> {
    if nparams > max as i32 {
        return Err(RemoteError::new(
            codes::RPC,
            domains::RPC,
            "nparams too large".to_string(),
        ));
    }
    Ok(())
}

/// nparams 0 asks how many parameters there are; else the first nparams.
pub(super) fn limited(
    params: Vec<drivers::api::NamedParam>,
    nparams: i32,
    max: usize,
) -> Result<(Vec<protocol::TypedParam>, i32), RemoteError> {
    check_nparams(nparams, max)?;
    if nparams <= 0 {
        return Ok((Vec::new(), params.len() as i32));
    }
    let out: Vec<protocol::TypedParam> = params
        .into_iter()
        .take(nparams as usize)
        .map(wire_param)
        .collect();
    let n = out.len() as i32;
    Ok((out, n))
}

pub fn get_memory_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetMemoryParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = drv(c.memory_params(&dom_ref(&a.dom), a.flags))?;
        let (params, nparams) = limited(params, a.nparams, DOMAIN_MEMORY_PARAMETERS_MAX)?;
        Ok(DomainGetMemoryParametersRet { params, nparams })
    })
}

pub fn set_memory_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetMemoryParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_memory_params(&dom_ref(&a.dom), &params, a.flags))
    })
}

pub fn get_numa_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetNumaParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = drv(c.numa_params(&dom_ref(&a.dom), a.flags))?;
        let (params, nparams) = limited(params, a.nparams, DOMAIN_NUMA_PARAMETERS_MAX)?;
        Ok(DomainGetNumaParametersRet { params, nparams })
    })
}

pub fn set_numa_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetNumaParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_numa_params(&dom_ref(&a.dom), &params, a.flags))
    })
}

pub fn get_blkio_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainGetBlkioParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = drv(c.blkio_params(&dom_ref(&a.dom), a.flags))?;
        let (params, nparams) = limited(params, a.nparams, DOMAIN_BLKIO_PARAMETERS_MAX)?;
        Ok(DomainGetBlkioParametersRet { params, nparams })
    })
}

pub fn set_blkio_parameters(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetBlkioParametersArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_blkio_params(&dom_ref(&a.dom), &params, a.flags))
    })
}

pub fn get_perf_events(c: &Arc<dyn Connection>, h: &Header, a: DomainGetPerfEventsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = drv(c.perf_events(&dom_ref(&a.dom), a.flags))?;
        Ok(DomainGetPerfEventsRet {
            params: params.into_iter().map(wire_param).collect(),
        })
    })
}

pub fn set_perf_events(c: &Arc<dyn Connection>, h: &Header, a: DomainSetPerfEventsArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = driver_params(a.params)?;
        drv(c.set_perf_events(&dom_ref(&a.dom), &params, a.flags))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_cpu_lists_round_trip() {
        let map = Opaque(vec![0b101, 0b1]);
        assert_eq!(cpus_of(&map), vec![0, 2, 8]);
        assert_eq!(map_of(&[0, 2, 8], 2), vec![0b101, 0b1]);
    }
}
