//! The scheduler calls (`virsh schedinfo`): libvirt's "posix" scheduler, whose live values
//! are the kernel's, read from and written to the guest's cgroup ([`super::cgroup`]).
//!
//! Where each value lives, as libvirt 9.0 reports them: `cpu_shares` and `global_*` in the
//! guest's group, `vcpu_*` in the first `vcpuN` group (written to every one),
//! `emulator_*` in `emulator`, and `iothread_*` in the guest's group, since guests here have
//! no I/O threads. Definitions carry no `<cputune>`, so the persistent values are the "not
//! set" zeros.

use super::cgroup::{GuestCgroup, V2_QUOTA_MAX};
use super::error::QemuError;
use super::process::GuestProcess;
use super::qmp::Monitor;
use super::vcpus::{check_affect_flags, vcpu_threads, AFFECT_CONFIG, AFFECT_LIVE};
use super::Inner;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};

/// `VIR_TYPED_PARAM_STRING_OKAY`.
const TYPED_PARAM_STRING_OKAY: u32 = 4;
/// The parameters libvirt's qemu driver reports for its "posix" scheduler, in its order.
const SCHED_PARAMS: [&str; 9] = [
    "cpu_shares",
    "vcpu_period",
    "vcpu_quota",
    "emulator_period",
    "emulator_quota",
    "global_period",
    "global_quota",
    "iothread_period",
    "iothread_quota",
];
/// The bounds libvirt accepts for a CFS period and quota, in µs.
const PERIOD_RANGE: (u64, u64) = (1_000, 1_000_000);
const QUOTA_RANGE: (i64, i64) = (1_000, V2_QUOTA_MAX);

/// Puts a freshly started guest in its cgroup. A host without a writable `cpu`
/// controller (an unprivileged daemon) runs the guest unplaced, as libvirt does.
pub(super) fn place_guest(id: i32, name: &str, process: &GuestProcess, monitor: &Monitor) {
    let threads = vcpu_threads(monitor);
    if let Err(e) = GuestCgroup::place(id, name, process.pid, &threads) {
        tracing::warn!("guest '{name}' is not placed in a cgroup: {e}");
    }
    super::resource_cgroup::place(id, name, process.pid);
}

/// Removes the cgroup of a guest that stopped.
pub(super) fn release_guest(id: i32, name: &str) {
    GuestCgroup::remove(id, name);
    super::resource_cgroup::remove(id, name);
}

impl Inner {
    /// `virDomainGetSchedulerType`: libvirt's qemu driver names its scheduler "posix".
    pub(super) fn scheduler_type(&self, dom: &DomainRef) -> DriverResult<(String, i32)> {
        self.lock().get(dom)?;
        Ok(("posix".to_string(), SCHED_PARAMS.len() as i32))
    }

    /// The cgroup of the running guest the call targets (`None`: the persistent
    /// definition is meant).
    fn sched_target(&self, dom: &DomainRef, flags: u32) -> DriverResult<Option<GuestCgroup>> {
        check_affect_flags(flags, "qemuDomainGetSchedulerParametersFlags")?;
        let pid = {
            let st = self.lock();
            let obj = st.get(dom)?;
            if flags & AFFECT_LIVE != 0 && !obj.is_active() {
                return Err(QemuError::InvalidState("domain is not running".into()).into());
            }
            if flags & AFFECT_CONFIG != 0 && !obj.persistent {
                return Err(QemuError::InvalidState(
                    "transient domains do not have any persistent config".into(),
                )
                .into());
            }
            match &obj.run {
                Some(run) if flags & AFFECT_CONFIG == 0 => run.process.pid,
                _ => return Ok(None),
            }
        };
        GuestCgroup::of_process(pid).map(Some).ok_or_else(|| {
            DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "cgroup CPU controller is not mounted".to_string(),
            )
        })
    }

    /// `virDomainGetSchedulerParametersFlags`: live values from the guest's cgroup.
    pub(super) fn scheduler_params(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        // Clients add VIR_TYPED_PARAM_STRING_OKAY; no parameter here is a string.
        let flags = flags & !TYPED_PARAM_STRING_OKAY;
        let Some(group) = self.sched_target(dom, flags)? else {
            return Ok(unset_params());
        };
        live_params(&group).map_err(|e| cgroup_error("read", &e))
    }

    /// `virDomainSetSchedulerParametersFlags` on a running guest: writes the cgroup
    /// files. Definitions hold no `<cputune>`, so the persistent values cannot change.
    pub(super) fn set_scheduler_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        let flags = flags & !TYPED_PARAM_STRING_OKAY;
        let Some(group) = self.sched_target(dom, flags)? else {
            return Err(DriverError::new(
                codes::OPERATION_UNSUPPORTED,
                domains::QEMU,
                "CPU tuning of the persistent definition is not supported".to_string(),
            ));
        };
        let changes = params
            .iter()
            .map(validate)
            .collect::<DriverResult<Vec<_>>>()?;
        for (field, value) in changes {
            apply(&group, &field, value).map_err(|e| cgroup_error("write", &e))?;
        }
        Ok(())
    }
}

/// A checked scheduler value: shares/periods unsigned, quotas signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SchedValue {
    Unsigned(u64),
    Signed(i64),
}

fn validate(param: &NamedParam) -> DriverResult<(String, SchedValue)> {
    let field = param.field.as_str();
    if !SCHED_PARAMS.contains(&field) {
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            format!("Parameter '{field}' not supported"),
        ));
    }
    let value = match (&param.value, field.ends_with("_quota")) {
        (ParamValue::ULLong(v), false) => SchedValue::Unsigned(*v),
        (ParamValue::LLong(v), true) => SchedValue::Signed(*v),
        _ => {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("invalid type for parameter '{field}'"),
            ))
        }
    };
    let in_range = match value {
        SchedValue::Unsigned(v) if field.ends_with("_period") => {
            v == 0 || (PERIOD_RANGE.0..=PERIOD_RANGE.1).contains(&v)
        }
        SchedValue::Signed(v) => v <= 0 || (QUOTA_RANGE.0..=QUOTA_RANGE.1).contains(&v),
        SchedValue::Unsigned(_) => true,
    };
    if !in_range {
        let (low, high) = if field.ends_with("_period") {
            (PERIOD_RANGE.0 as i64, PERIOD_RANGE.1 as i64)
        } else {
            QUOTA_RANGE
        };
        return Err(DriverError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            format!("value of '{field}' is out of range [{low}, {high}]"),
        ));
    }
    Ok((field.to_string(), value))
}

/// Writes one value; a zero period or quota means "leave unchanged", as in libvirt.
fn apply(group: &GuestCgroup, field: &str, value: SchedValue) -> std::io::Result<()> {
    if field == "cpu_shares" {
        return match value {
            SchedValue::Unsigned(v) => group.set_shares(v),
            SchedValue::Signed(_) => Ok(()),
        };
    }
    let (period, quota) = match value {
        SchedValue::Unsigned(0) | SchedValue::Signed(0) => return Ok(()),
        SchedValue::Unsigned(v) => (Some(v), None),
        SchedValue::Signed(v) => (None, Some(v)),
    };
    let dirs = match field.split('_').next() {
        Some("vcpu") => group
            .vcpu_groups()
            .iter()
            .map(|g| group.path(Some(g)))
            .collect(),
        Some("emulator") => vec![group.path(Some("emulator"))],
        _ => vec![group.path(None)],
    };
    for dir in dirs {
        group.set_bandwidth(&dir, period, quota)?;
    }
    Ok(())
}

fn live_params(group: &GuestCgroup) -> std::io::Result<Vec<NamedParam>> {
    let global = group.bandwidth(&group.path(None))?;
    let emulator = group.bandwidth(&group.path(Some("emulator")))?;
    let vcpu = match group.vcpu_groups().first() {
        Some(first) => group.bandwidth(&group.path(Some(first)))?,
        None => global,
    };
    let pairs = [
        ("vcpu", vcpu),
        ("emulator", emulator),
        ("global", global),
        ("iothread", global),
    ];
    let mut params = vec![NamedParam::new(
        "cpu_shares",
        ParamValue::ULLong(group.shares()?),
    )];
    for (prefix, bw) in pairs {
        params.push(NamedParam::new(
            &format!("{prefix}_period"),
            ParamValue::ULLong(bw.period),
        ));
        params.push(NamedParam::new(
            &format!("{prefix}_quota"),
            ParamValue::LLong(bw.quota),
        ));
    }
    Ok(params)
}

/// What a definition without `<cputune>` reports.
fn unset_params() -> Vec<NamedParam> {
    SCHED_PARAMS
        .iter()
        .map(|name| {
            let value = if name.ends_with("_quota") {
                ParamValue::LLong(0)
            } else {
                ParamValue::ULLong(0)
            };
            NamedParam::new(name, value)
        })
        .collect()
}

fn cgroup_error(what: &str, e: &std::io::Error) -> DriverError {
    DriverError::new(
        codes::SYSTEM_ERROR,
        domains::QEMU,
        format!("Unable to {what} the guest's cgroup: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_values_keep_libvirts_order_and_types() {
        let params = unset_params();
        let names: Vec<&str> = params.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(names, SCHED_PARAMS);
        assert_eq!(params[2].value, ParamValue::LLong(0));
        assert_eq!(params[0].value, ParamValue::ULLong(0));
    }

    #[test]
    fn values_are_checked_like_libvirt() {
        let ok = NamedParam::new("vcpu_quota", ParamValue::LLong(20_000));
        assert_eq!(
            validate(&ok).expect("valid"),
            ("vcpu_quota".to_string(), SchedValue::Signed(20_000))
        );
        assert!(validate(&NamedParam::new("vcpu_quota", ParamValue::LLong(-1))).is_ok());
        for bad in [
            NamedParam::new("vcpu_quota", ParamValue::LLong(10)),
            NamedParam::new("vcpu_period", ParamValue::ULLong(10)),
            NamedParam::new("vcpu_period", ParamValue::LLong(100_000)),
            NamedParam::new("weight", ParamValue::ULLong(1)),
        ] {
            let err = validate(&bad).unwrap_err();
            assert_eq!(err.code, codes::INVALID_ARG, "{bad:?}");
        }
    }
}
