//! `virsh perf`: which host perf events are counted for a guest, live (counters
//! open on its QEMU process, recorded in the live `<perf>`) and in the persistent
//! definition, as libvirt 9.0's qemu driver answers `virDomainGetPerfEvents` and
//! `virDomainSetPerfEvents`.

use super::{CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::{DomainDef, PERF_EVENTS};
use crate::qemu::lifecycle::{check_flags, not_running};
use crate::qemu::perf_counters::PerfCounters;
use crate::qemu::Inner;

/// `VIR_TYPED_PARAM_STRING_OKAY`, which the remote client adds to getters.
const STRING_OKAY: u32 = 4;

/// Opens the counters a definition enables on a guest that is starting; any that
/// cannot be opened fails the start, as in libvirt.
pub(crate) fn open_at_start(def: &DomainDef, pid: i32) -> DriverResult<PerfCounters> {
    let mut counters = PerfCounters::default();
    for name in def.enabled_perf_events() {
        counters.enable(name, pid)?;
    }
    Ok(counters)
}

/// Reopens the counters of a guest found running after a daemon restart. An event
/// that cannot be reopened is recorded as disabled instead, as libvirt does.
pub(crate) fn reopen_after_restart(def: &mut DomainDef, pid: i32) -> PerfCounters {
    let mut counters = PerfCounters::default();
    for name in def.enabled_perf_events() {
        if let Err(e) = counters.enable(name, pid) {
            tracing::warn!("perf event {name} of '{}' not reopened: {e}", def.name);
            def.set_perf_event(name, false);
        }
    }
    counters
}

/// The requested `(event, enabled)` pairs, checked as libvirt's
/// `virTypedParamsValidate` checks them (its errors carry no error domain).
fn requested(params: &[NamedParam]) -> DriverResult<Vec<(&'static str, bool)>> {
    let mut wanted: Vec<(&'static str, bool)> = Vec::new();
    for p in params {
        let Some(name) = PERF_EVENTS.iter().find(|e| **e == p.field) else {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::NONE,
                format!("parameter '{}' not supported", p.field),
            ));
        };
        let ParamValue::Boolean(enabled) = p.value else {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::NONE,
                format!(
                    "invalid type '{}' for parameter '{name}', expected 'boolean'",
                    type_name(&p.value)
                ),
            ));
        };
        if wanted.iter().any(|(n, _)| n == name) {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::NONE,
                format!("parameter '{name}' occurs multiple times"),
            ));
        }
        wanted.push((name, enabled));
    }
    Ok(wanted)
}

/// libvirt's domain config code refuses both affect flags with `virReportInvalidArg`:
/// the text alone as message, the function and argument as its extra strings.
fn both_affect_flags() -> DriverError {
    DriverError {
        code: codes::INVALID_ARG,
        domain: domains::DOMAIN,
        message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually \
                  exclusive"
            .to_string(),
        str1: Some("virDomainObjGetOneDefState".to_string()),
        str2: Some("flags".to_string()),
        int1: 0,
        int2: 0,
    }
}

fn type_name(value: &ParamValue) -> &'static str {
    match value {
        ParamValue::Int(_) => "int",
        ParamValue::UInt(_) => "uint",
        ParamValue::LLong(_) => "llong",
        ParamValue::ULLong(_) => "ullong",
        ParamValue::Boolean(_) => "boolean",
        ParamValue::String(_) => "string",
    }
}

impl Inner {
    pub(super) fn perf_events(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        check_flags(
            flags,
            LIVE | CONFIG | STRING_OKAY,
            "qemuDomainGetPerfEvents",
        )?;
        if flags & (LIVE | CONFIG) == LIVE | CONFIG {
            return Err(both_affect_flags());
        }
        // Refuses live on an inactive domain and config on a transient one.
        self.affect(dom, flags & (LIVE | CONFIG))?;
        let st = self.lock();
        let obj = st.get(dom)?;
        let enabled: Vec<bool> = match &obj.run {
            Some(run) if flags & CONFIG == 0 => PERF_EVENTS
                .iter()
                .map(|name| run.perf.is_enabled(name))
                .collect(),
            _ => obj
                .persistent_def()
                .perf_events()
                .iter()
                .map(|state| *state == Some(true))
                .collect(),
        };
        Ok(PERF_EVENTS
            .iter()
            .zip(enabled)
            .map(|(name, on)| NamedParam::new(name, ParamValue::Boolean(on)))
            .collect())
    }

    pub(super) fn set_perf_events(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetPerfEvents")?;
        let wanted = requested(params)?;
        let (live, config) = self.affect(dom, flags)?;
        if live {
            let mut st = self.lock();
            let obj = st.get_mut(dom)?;
            let Some(run) = obj.run.as_mut() else {
                return Err(not_running());
            };
            let pid = run.process.pid;
            let mut failure = None;
            for (name, enabled) in &wanted {
                if *enabled {
                    if let Err(e) = run.perf.enable(name, pid) {
                        failure = Some(e);
                        break;
                    }
                } else {
                    run.perf.disable(name);
                }
                obj.def.set_perf_event(name, *enabled);
            }
            self.persist_status(obj);
            if let Some(e) = failure {
                return Err(e);
            }
        }
        if config {
            self.change_config(dom, |def| {
                for (name, enabled) in &wanted {
                    def.set_perf_event(name, *enabled);
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_validated_as_libvirt_validates_them() {
        let on = |name: &str| NamedParam::new(name, ParamValue::Boolean(true));
        assert_eq!(
            requested(&[
                on("cpu_clock"),
                NamedParam::new("cmt", ParamValue::Boolean(false))
            ])
            .unwrap(),
            [("cpu_clock", true), ("cmt", false)]
        );
        let unknown = requested(&[on("cycles")]).unwrap_err();
        assert_eq!(unknown.code, codes::ARGUMENT_UNSUPPORTED);
        assert_eq!(
            unknown.message,
            "argument unsupported: parameter 'cycles' not supported"
        );
        let typed = requested(&[NamedParam::new("cpu_clock", ParamValue::Int(1))]).unwrap_err();
        assert_eq!(
            typed.message,
            "invalid argument: invalid type 'int' for parameter 'cpu_clock', expected 'boolean'"
        );
        assert!(requested(&[on("cpu_clock"), on("cpu_clock")]).is_err());
    }
}
