//! Guest power management: `dompmsuspend` through the guest agent (the guest
//! suspends itself; QEMU reports it with its `SUSPEND` event) and `dompmwakeup`
//! through QMP's `system_wakeup`.

use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};
use crate::domain_xml::DomainDef;
use crate::qemu::error::QemuError;
use crate::qemu::lifecycle::{check_flags, not_running};
use crate::qemu::Inner;

/// `VIR_NODE_SUSPEND_TARGET_*`.
const TARGET_MEM: u32 = 0;
const TARGET_DISK: u32 = 1;
const TARGET_HYBRID: u32 = 2;

/// Whether `<pm>` enables (`Some(true)`), disables or leaves to the machine
/// (`None`) suspend-to-mem and suspend-to-disk.
fn pm_states(def: &DomainDef) -> (Option<bool>, Option<bool>) {
    let Some(pm) = def.extra.iter().find(|e| e.name == "pm") else {
        return (None, None);
    };
    let state = |name: &str| match pm.child(name).and_then(|e| e.attr("enabled")) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    (state("suspend-to-mem"), state("suspend-to-disk"))
}

fn unsupported(message: &str) -> DriverError {
    DriverError::new(codes::OPERATION_UNSUPPORTED, domains::QEMU, message)
}

impl Inner {
    pub(in crate::qemu) fn pm_suspend(
        &self,
        dom: &DomainRef,
        target: u32,
        duration: u64,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainPMSuspendForDuration")?;
        if duration != 0 {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                "Duration not supported. Use 0 for now",
            ));
        }
        let command = match target {
            TARGET_MEM => "guest-suspend-ram",
            TARGET_DISK => "guest-suspend-disk",
            TARGET_HYBRID => "guest-suspend-hybrid",
            _ => {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    format!("Unknown suspend target: {target}"),
                ))
            }
        };
        let (s3, s4) = {
            let st = self.lock();
            let obj = st.get(dom)?;
            if obj.run.is_none() {
                return Err(not_running());
            }
            pm_states(&obj.def)
        };
        if s3 == Some(false) && target != TARGET_DISK {
            return Err(unsupported("S3 state is disabled for this domain"));
        }
        if s4 == Some(false) && target == TARGET_DISK {
            return Err(unsupported("S4 state is disabled for this domain"));
        }
        // The agent answers nothing: the guest goes to sleep instead.
        self.agent(dom)?.send(command, None)
    }

    pub(in crate::qemu) fn pm_wakeup(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainPMWakeup")?;
        let (monitor, _, _) = self.running_parts(dom)?;
        monitor
            .execute("system_wakeup", None)
            .map_err(QemuError::from)?;
        Ok(())
    }
}
