//! The QEMU guest agent over the guest's `org.qemu.guest_agent.0` channel (a UNIX
//! socket QEMU listens on): `virsh qemu-agent-command` and the typed calls libvirt
//! makes through it. Calls to one domain's agent run one at a time.

mod calls;
pub mod channel;
pub mod client;
mod guest_info;
mod power;

pub(super) use calls::{freeze, thaw};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::Inner;
use crate::api::{codes, domains, state, DomainRef, DriverError, DriverResult, Uuid};
use crate::domain_list::lock_unpoisoned;
use crate::domain_xml::Element;

/// The agent channel's port name.
pub const AGENT_PORT: &str = "org.qemu.guest_agent.0";

/// `VIR_DOMAIN_QEMU_AGENT_COMMAND_*` / `VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_*`:
/// block, default, no wait.
const TIMEOUT_BLOCK: i32 = -2;
const TIMEOUT_DEFAULT: i32 = -1;
/// libvirt's default wait for an agent answer, and the longest wait for the
/// synchronisation that precedes every command.
const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// "Block" still ends: a guest that never answers does not hold a worker forever.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

fn wait_for(timeout: i32) -> DriverResult<Duration> {
    match timeout {
        TIMEOUT_BLOCK => Ok(LONGEST_WAIT),
        TIMEOUT_DEFAULT => Ok(DEFAULT_WAIT),
        0 => Ok(Duration::from_millis(1)),
        t if t > 0 => Ok(Duration::from_secs(t as u64).min(LONGEST_WAIT)),
        t => Err(below_minimum(t)),
    }
}

fn below_minimum(timeout: i32) -> DriverError {
    DriverError::new(
        codes::INVALID_ARG,
        domains::QEMU,
        format!("guest agent timeout '{timeout}' is less than the minimum '{TIMEOUT_BLOCK}'"),
    )
}

/// Per domain: the response timeout of typed calls (`virDomainAgentSetResponseTimeout`,
/// kept while the daemon runs) and the lock that runs its agent calls one at a time.
#[derive(Default)]
pub(crate) struct AgentTable {
    slots: Mutex<HashMap<Uuid, Arc<AgentSlot>>>,
}

struct AgentSlot {
    busy: Mutex<()>,
    timeout: Mutex<i32>,
}

impl AgentTable {
    fn slot(&self, uuid: &Uuid) -> Arc<AgentSlot> {
        let mut slots = lock_unpoisoned(&self.slots);
        Arc::clone(slots.entry(*uuid).or_insert_with(|| {
            Arc::new(AgentSlot {
                busy: Mutex::new(()),
                timeout: Mutex::new(TIMEOUT_BLOCK),
            })
        }))
    }
}

/// The agent channel of a definition.
pub fn agent_channel(devices: &[Element]) -> Option<&Element> {
    devices
        .iter()
        .filter(|d| d.name == "channel" && d.attr("type") == Some("unix"))
        .find(|d| d.child("target").and_then(|t| t.attr("name")) == Some(AGENT_PORT))
}

fn not_configured() -> DriverError {
    DriverError::new(
        codes::ARGUMENT_UNSUPPORTED,
        domains::QEMU,
        "QEMU guest agent is not configured",
    )
}

/// The agent of one running domain, ready for calls.
pub(super) struct Agent {
    socket: PathBuf,
    slot: Arc<AgentSlot>,
}

impl Agent {
    /// Runs `execute` with `arguments` and returns its `return` value.
    pub fn call(&self, execute: &str, arguments: Option<Value>) -> DriverResult<Value> {
        let request = request(execute, arguments);
        let timeout = *lock_unpoisoned(&self.slot.timeout);
        let reply_wait = wait_for(timeout)?;
        let _busy = lock_unpoisoned(&self.slot.busy);
        Ok(client::call(
            &self.socket,
            &request,
            reply_wait.min(DEFAULT_WAIT),
            reply_wait,
        )?)
    }

    /// Sends `execute` (a command the agent does not answer, `guest-shutdown`).
    pub fn send(&self, execute: &str, arguments: Option<Value>) -> DriverResult<()> {
        let request = request(execute, arguments);
        let _busy = lock_unpoisoned(&self.slot.busy);
        Ok(client::send(&self.socket, &request, DEFAULT_WAIT)?)
    }
}

fn request(execute: &str, arguments: Option<Value>) -> Value {
    match arguments {
        Some(arguments) => serde_json::json!({"execute": execute, "arguments": arguments}),
        None => serde_json::json!({ "execute": execute }),
    }
}

/// libvirt's reply check: a `return` of the wrong shape.
pub(super) fn malformed() -> DriverError {
    DriverError::new(
        codes::INTERNAL_ERROR,
        domains::QEMU,
        "malformed return value",
    )
}

impl Inner {
    /// The agent of a running domain, with libvirt's errors: not running, not
    /// configured, not connected (the guest has not opened its port).
    pub(super) fn agent(&self, dom: &DomainRef) -> DriverResult<Agent> {
        let st = self.lock();
        let obj = st.get(dom)?;
        if obj.run.is_none() || obj.state != state::RUNNING {
            return Err(super::lifecycle::not_running());
        }
        let channel = agent_channel(&obj.def.devices).ok_or_else(not_configured)?;
        if channel.child("target").and_then(|t| t.attr("state")) == Some("disconnected") {
            return Err(client::AgentError::NotConnected.into());
        }
        let socket = channel
            .child("source")
            .and_then(|s| s.attr("path"))
            .map(PathBuf::from)
            .ok_or_else(not_configured)?;
        Ok(Agent {
            socket,
            slot: self.agent_table.slot(&dom.uuid),
        })
    }

    /// Whether the domain's guest has its agent's port open.
    pub(super) fn agent_connected(&self, dom: &DomainRef) -> bool {
        let st = self.lock();
        st.get(dom).ok().is_some_and(|obj| {
            obj.run.is_some()
                && agent_channel(&obj.def.devices)
                    .and_then(|c| c.child("target"))
                    .and_then(|t| t.attr("state"))
                    == Some("connected")
        })
    }

    /// `virDomainQemuAgentCommand`: the agent's whole reply text.
    pub(super) fn agent_command(
        &self,
        dom: &DomainRef,
        command: &str,
        timeout: i32,
        flags: u32,
    ) -> DriverResult<String> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainQemuAgentCommand")?;
        let wait = wait_for(timeout)?;
        let agent = self.agent(dom)?;
        let _busy = lock_unpoisoned(&agent.slot.busy);
        Ok(client::run_command(&agent.socket, command, wait)?)
    }

    /// `virDomainAgentSetResponseTimeout`.
    pub(super) fn set_agent_timeout(
        &self,
        dom: &DomainRef,
        timeout: i32,
        flags: u32,
    ) -> DriverResult<()> {
        super::lifecycle::check_flags(flags, 0, "qemuDomainAgentSetResponseTimeout")?;
        if timeout < TIMEOUT_BLOCK {
            return Err(below_minimum(timeout));
        }
        self.lock().get(dom)?;
        *lock_unpoisoned(&self.agent_table.slot(&dom.uuid).timeout) = timeout;
        Ok(())
    }
}
