//! Lifecycle actions changed on a defined or running guest (`virsh
//! set-lifecycle-action`), IOThread polling and pool sizes (`iothreadset`), and
//! starting QEMU's dirty page rate measurement (`domdirtyrate-calc`, reported by
//! the `dirtyrate` group of `domstats`).

use serde_json::{json, Value};

use super::iothreads::iothread_ids;
use super::{CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::DomainDef;
use crate::qemu::hotplug_refusal;
use crate::qemu::lifecycle::check_flags;
use crate::qemu::Inner;

/// `virDomainLifecycle` names by value.
const LIFECYCLE_TYPES: [&str; 3] = ["poweroff", "reboot", "crash"];
/// `virDomainLifecycleAction` names by value.
const LIFECYCLE_ACTIONS: [&str; 6] = [
    "destroy",
    "restart",
    "rename-restart",
    "preserve",
    "coredump-destroy",
    "coredump-restart",
];
/// `VIR_DOMAIN_DIRTYRATE_MODE_*` flags.
const DIRTYRATE_BITMAP: u32 = 1;
const DIRTYRATE_RING: u32 = 2;
const INT_MAX: u64 = i32::MAX as u64;

fn invalid_arg(message: String) -> DriverError {
    DriverError::new(codes::INVALID_ARG, domains::QEMU, message)
}

fn operation_invalid(message: &str) -> DriverError {
    DriverError::new(codes::OPERATION_INVALID, domains::QEMU, message)
}

fn set_action(def: &mut DomainDef, kind: &str, action: &str) {
    let slot = match kind {
        "poweroff" => &mut def.on_poweroff,
        "reboot" => &mut def.on_reboot,
        _ => &mut def.on_crash,
    };
    *slot = action.to_string();
}

/// libvirt's `allowReboot` false: a guest with only destroy actions runs with
/// `-no-reboot`, whose actions cannot change while it runs.
fn reboot_disallowed(def: &DomainDef) -> bool {
    def.on_reboot == "destroy"
        && def.on_poweroff == "destroy"
        && matches!(def.on_crash.as_str(), "destroy" | "coredump-destroy")
}

/// The IOThread parameters given, checked as libvirt checks them.
#[derive(Default)]
struct IoThreadParams {
    poll: Vec<(&'static str, u64)>,
    pool: Vec<(&'static str, i64)>,
}

fn iothread_params(params: &[NamedParam]) -> DriverResult<IoThreadParams> {
    let mut out = IoThreadParams::default();
    for p in params {
        match (p.field.as_str(), &p.value) {
            ("poll_max_ns", ParamValue::ULLong(v)) => {
                if *v > INT_MAX {
                    return Err(invalid_arg(format!(
                        "poll-max-ns ({v}) must be less than or equal to {INT_MAX}"
                    )));
                }
                out.poll.push(("poll-max-ns", *v));
            }
            (name @ ("poll_grow" | "poll_shrink"), ParamValue::UInt(v)) => {
                let qom = if name == "poll_grow" {
                    "poll-grow"
                } else {
                    "poll-shrink"
                };
                if u64::from(*v) > INT_MAX {
                    return Err(invalid_arg(format!(
                        "{qom} ({v}) must be less than or equal to {INT_MAX}"
                    )));
                }
                out.poll.push((qom, u64::from(*v)));
            }
            (name @ ("thread_pool_min" | "thread_pool_max"), ParamValue::Int(v)) => {
                if *v < -1 {
                    return Err(invalid_arg(format!(
                        "{name} ({v}) must be equal to or greater than -1"
                    )));
                }
                if name == "thread_pool_max" && *v == 0 {
                    return Err(invalid_arg("thread_pool_max cannot be zero".into()));
                }
                let qom = if name == "thread_pool_min" {
                    "thread-pool-min"
                } else {
                    "thread-pool-max"
                };
                out.pool.push((qom, i64::from(*v)));
            }
            (
                "poll_max_ns" | "poll_grow" | "poll_shrink" | "thread_pool_min" | "thread_pool_max",
                _,
            ) => {
                return Err(invalid_arg(format!(
                    "invalid type for parameter '{}'",
                    p.field
                )))
            }
            (other, _) => {
                return Err(DriverError::new(
                    codes::ARGUMENT_UNSUPPORTED,
                    domains::QEMU,
                    format!("parameter '{other}' not supported"),
                ))
            }
        }
    }
    Ok(out)
}

impl Inner {
    pub(super) fn set_lifecycle_action(
        &self,
        dom: &DomainRef,
        kind: u32,
        action: u32,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetLifecycleAction")?;
        let kind_name = *LIFECYCLE_TYPES
            .get(kind as usize)
            .ok_or_else(|| invalid_arg(format!("invalid lifecycle type '{kind}'")))?;
        let action_name = *LIFECYCLE_ACTIONS
            .get(action as usize)
            .ok_or_else(|| invalid_arg(format!("invalid lifecycle action '{action}'")))?;
        if kind_name != "crash" && action_name.starts_with("coredump") {
            return Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                format!("Lifecycle event '{kind_name}' doesn't support '{action_name}' action"),
            ));
        }
        let (live, config) = self.affect(dom, flags)?;
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            if reboot_disallowed(&def) {
                return Err(operation_invalid(
                    "cannot update lifecycle action because QEMU was started with -no-reboot option",
                ));
            }
            // A reset of a guest that is to stop on reboot must reach the monitor
            // as a shutdown, which the event handler then treats as on_reboot.
            if kind_name == "reboot" {
                let mode = if action_name == "destroy" {
                    "shutdown"
                } else {
                    "reset"
                };
                monitor
                    .execute("set-action", Some(json!({ "reboot": mode })))
                    .map_err(|e| hotplug_refusal("set-action", e))?;
            }
            self.change_live(dom, |def| set_action(def, kind_name, action_name))?;
        }
        if config {
            self.change_config(dom, |def| {
                set_action(def, kind_name, action_name);
                Ok(())
            })?;
        }
        Ok(())
    }

    pub(super) fn set_iothread_params(
        &self,
        dom: &DomainRef,
        id: u32,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetIOThreadParams")?;
        let given = iothread_params(params)?;
        let (live, config) = self.affect(dom, flags)?;
        let missing = || invalid_arg(format!("cannot find IOThread '{id}' in iothreadids"));
        if config {
            let def = self.lock().get(dom)?.persistent_def().clone();
            if !iothread_ids(&def).contains(&id) {
                return Err(missing());
            }
            if !given.poll.is_empty() || !given.pool.is_empty() {
                return Err(operation_invalid(
                    "configuring persistent polling values is not supported",
                ));
            }
        }
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            if !iothread_ids(&def).contains(&id) {
                return Err(missing());
            }
            let path = format!("/objects/iothread{id}");
            let values = given
                .poll
                .iter()
                .map(|(k, v)| (*k, json!(v)))
                .chain(given.pool.iter().map(|(k, v)| (*k, json!(v))));
            for (property, value) in values {
                monitor
                    .execute(
                        "qom-set",
                        Some(json!({ "path": path, "property": property, "value": value })),
                    )
                    .map_err(|e| hotplug_refusal("qom-set", e))?;
            }
        }
        Ok(())
    }

    pub(super) fn start_dirty_rate_calc(
        &self,
        dom: &DomainRef,
        seconds: i32,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(
            flags,
            DIRTYRATE_BITMAP | DIRTYRATE_RING,
            "qemuDomainStartDirtyRateCalc",
        )?;
        if flags & DIRTYRATE_BITMAP != 0 && flags & DIRTYRATE_RING != 0 {
            return Err(invalid_arg(
                "Flags 'VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_BITMAP' and \
                 'VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_RING' are mutually exclusive"
                    .into(),
            ));
        }
        if !(1..=60).contains(&seconds) {
            return Err(invalid_arg(format!(
                "seconds={seconds} is invalid, please choose value within [1, 60]."
            )));
        }
        let (def, monitor, _) = self.live_parts(dom)?;
        let mode = if flags & DIRTYRATE_RING != 0 {
            // Only KVM's dirty ring can count per vCPU; TCG guests have none.
            if def.virt_type != "kvm" {
                return Err(DriverError::new(
                    codes::OPERATION_UNSUPPORTED,
                    domains::QEMU,
                    "dirty-ring calculation mode requires dirty-ring feature enabled.",
                ));
            }
            "dirty-ring"
        } else if flags & DIRTYRATE_BITMAP != 0 {
            "dirty-bitmap"
        } else {
            "page-sampling"
        };
        let mut args = json!({ "calc-time": seconds });
        if mode != "page-sampling" {
            args["mode"] = Value::from(mode);
        }
        monitor
            .execute("calc-dirty-rate", Some(args))
            .map_err(|e| hotplug_refusal("calc-dirty-rate", e))?;
        Ok(())
    }
}
