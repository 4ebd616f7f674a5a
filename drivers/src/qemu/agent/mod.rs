//! The QEMU guest agent: `virsh qemu-agent-command` over the guest's
//! `org.qemu.guest_agent.0` channel (a UNIX socket QEMU listens on).

pub mod client;

use std::path::PathBuf;
use std::time::Duration;

use super::Inner;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_QEMU_AGENT_COMMAND_*` timeouts: block, default, no wait.
const TIMEOUT_BLOCK: i32 = -2;
const TIMEOUT_DEFAULT: i32 = -1;
/// libvirt's default wait for an agent answer.
const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// "Block" still ends: a guest that never answers does not hold a worker forever.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

fn wait_for(timeout: i32) -> DriverResult<Duration> {
    match timeout {
        TIMEOUT_BLOCK => Ok(LONGEST_WAIT),
        TIMEOUT_DEFAULT => Ok(DEFAULT_WAIT),
        0 => Ok(Duration::from_millis(1)),
        t if t > 0 => Ok(Duration::from_secs(t as u64).min(LONGEST_WAIT)),
        t => Err(DriverError::invalid_arg(format!(
            "unsupported timeout value {t}"
        ))),
    }
}

impl Inner {
    /// The agent channel's socket of a running domain.
    fn agent_socket(&self, dom: &DomainRef) -> DriverResult<PathBuf> {
        let st = self.lock();
        let obj = st.get(dom)?;
        if obj.run.is_none() {
            return Err(super::lifecycle::not_running());
        }
        obj.def
            .devices
            .iter()
            .filter(|d| d.name == "channel" && d.attr("type") == Some("unix"))
            .find(|d| {
                d.child("target").and_then(|t| t.attr("name")) == Some("org.qemu.guest_agent.0")
            })
            .and_then(|d| d.child("source").and_then(|s| s.attr("path")))
            .map(PathBuf::from)
            .ok_or_else(|| {
                DriverError::new(
                    codes::ARGUMENT_UNSUPPORTED,
                    domains::QEMU,
                    "QEMU guest agent is not configured",
                )
            })
    }

    pub(super) fn agent_command(
        &self,
        dom: &DomainRef,
        command: &str,
        timeout: i32,
        flags: u32,
    ) -> DriverResult<String> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainQemuAgentCommand")?;
        let wait = wait_for(timeout)?;
        let socket = self.agent_socket(dom)?;
        Ok(client::run_command(&socket, command, wait)?)
    }
}
