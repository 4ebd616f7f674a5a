//! Plain values for the vCPU, scheduler and job calls (`virsh vcpuinfo`, `schedinfo`,
//! `domjobinfo`). The daemon turns them into wire bitmaps and typed parameters.

/// One virtual CPU of a running domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcpuDetail {
    pub number: u32,
    /// `VIR_VCPU_RUNNING` (1) for every vCPU of a live guest.
    pub state: i32,
    pub cpu_time_ns: u64,
    /// Host CPU it last ran on, -1 when unknown.
    pub cpu: i32,
    /// Host CPUs the vCPU thread may run on.
    pub affinity: Vec<u32>,
}

/// `virNodeGetCPUMap`: how many CPUs the host has and which of them are online.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCpuMap {
    pub cpus: u32,
    pub online: Vec<u32>,
}

/// A typed parameter value, as the public API's `virTypedParameter` carries it.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    /// Sent as an `int` (0 or 1).
    Boolean(bool),
    String(String),
}

/// A named typed parameter (`cpu_shares`, `time_elapsed`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedParam {
    pub field: String,
    pub value: ParamValue,
}

impl NamedParam {
    pub fn new(field: &str, value: ParamValue) -> Self {
        NamedParam {
            field: field.to_string(),
            value,
        }
    }
}

/// `VIR_DOMAIN_JOB_*` types.
pub mod job_type {
    pub const NONE: i32 = 0;
    pub const UNBOUNDED: i32 = 2;
}

/// `VIR_DOMAIN_JOB_OPERATION_*`.
pub mod job_operation {
    pub const SAVE: i32 = 2;
    pub const MIGRATION_IN: i32 = 4;
    pub const MIGRATION_OUT: i32 = 5;
    pub const BACKUP: i32 = 9;
}

/// Progress of the job running on a domain (a save, for now). Sizes in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub operation: i32,
    pub elapsed_ms: u64,
    pub data_total: u64,
    pub data_processed: u64,
    pub data_remaining: u64,
    pub mem_total: u64,
    pub mem_processed: u64,
    pub mem_remaining: u64,
    /// Transfer rate in bytes per second, 0 when QEMU has not measured it yet.
    pub mem_bps: u64,
}

impl JobProgress {
    /// The job as `virDomainGetJobStats` parameters, in libvirt's field names.
    pub fn to_params(&self) -> Vec<NamedParam> {
        let mut params = vec![
            NamedParam::new("operation", ParamValue::Int(self.operation)),
            NamedParam::new("time_elapsed", ParamValue::ULLong(self.elapsed_ms)),
            NamedParam::new("data_total", ParamValue::ULLong(self.data_total)),
            NamedParam::new("data_processed", ParamValue::ULLong(self.data_processed)),
            NamedParam::new("data_remaining", ParamValue::ULLong(self.data_remaining)),
            NamedParam::new("memory_total", ParamValue::ULLong(self.mem_total)),
            NamedParam::new("memory_processed", ParamValue::ULLong(self.mem_processed)),
            NamedParam::new("memory_remaining", ParamValue::ULLong(self.mem_remaining)),
        ];
        if self.mem_bps > 0 {
            params.push(NamedParam::new(
                "memory_bps",
                ParamValue::ULLong(self.mem_bps),
            ));
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_params_carry_libvirt_names_and_skip_unknown_rate() {
        let job = JobProgress {
            operation: job_operation::SAVE,
            elapsed_ms: 12,
            mem_total: 100,
            ..JobProgress::default()
        };
        let params = job.to_params();
        let names: Vec<&str> = params.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(names[0], "operation");
        assert!(!names.contains(&"memory_bps"));
        assert_eq!(
            params
                .iter()
                .find(|p| p.field == "memory_total")
                .map(|p| &p.value),
            Some(&ParamValue::ULLong(100))
        );
    }
}
