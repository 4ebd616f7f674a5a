//! The QEMU program (`virsh qemu-monitor-command`) and the LXC program: their
//! calls pass the same authentication, decoding, open-connection and
//! read-only gates as the REMOTE program, then one match each.

use drivers::api::Connection;
use protocol::error::{codes, domains};
use protocol::header::Header;
use protocol::programs::{lxc_proc, qemu_proc};
use protocol::qemu::{
    LxcDomainOpenNamespaceArgs, QemuDomainAgentCommandArgs, QemuDomainAgentCommandRet,
    QemuDomainMonitorCommandArgs, QemuDomainMonitorCommandRet,
};
use protocol::qemu::{
    QemuConnectDomainMonitorEventDeregisterArgs, QemuConnectDomainMonitorEventRegisterArgs,
    QemuConnectDomainMonitorEventRegisterRet,
};
use protocol::table::CallCodec;
use std::sync::Arc;

use super::{decode_error, dom_ref, drv, inline, job, open_connection, reply_err, Action, Session};
use crate::context::Daemon;
use crate::dispatch::access::{not_supported, read_only_error};
use crate::dispatch::reply::{
    error_reply, fds_reply, from_driver, rpc_error, rpc_internal, rpc_operation_failed,
    with_template,
};
use crate::monitor_events::{Filter, FLAG_NOCASE, FLAG_REGEX};
use crate::server::client::Outgoing;

/// `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`.
const HMP: u32 = 1;

/// The gates before a handler: authenticated, decoded, connection open,
/// allowed on this connection.
fn admit<C: CallCodec>(
    session: &Session,
    h: &Header,
    body: &[u8],
) -> Result<(C, Arc<dyn Connection>), Action> {
    if !session.authenticated {
        return Err(reply_err(
            h,
            rpc_error(codes::RPC, "authentication required"),
        ));
    }
    let call = C::decode(h.proc_, body).map_err(|e| reply_err(h, decode_error(&e)))?;
    let conn = open_connection(session, h)?;
    if session.read_only {
        if let Err(refusal) = call.read_only_verdict() {
            return Err(reply_err(h, read_only_error(call.info(), refusal)));
        }
    }
    Ok((call, conn))
}

pub fn handle(daemon: &Daemon, session: &mut Session, h: &Header, body: &[u8]) -> Action {
    use qemu_proc::Call;
    let (call, conn) = match admit::<Call>(session, h, body) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    match call {
        Call::DomainMonitorCommand(a) => monitor_command(conn, h, a),
        Call::DomainAgentCommand(a) => agent_command(conn, h, a),
        Call::DomainMonitorCommandWithFiles(a) => {
            let fds = std::mem::take(&mut session.fds);
            monitor_command_with_files(conn, h, a, fds)
        }
        // Only the QEMU driver passes its monitor's events on, as in libvirt.
        Call::ConnectDomainMonitorEventRegister(_)
        | Call::ConnectDomainMonitorEventDeregister(_)
            if session.scheme != "qemu" =>
        {
            reply_err(h, not_supported(call.info()))
        }
        Call::ConnectDomainMonitorEventRegister(a) => monitor_event_register(daemon, session, h, a),
        Call::ConnectDomainMonitorEventDeregister(a) => {
            monitor_event_deregister(daemon, session, h, a)
        }
        Call::Unserved(u) => reply_err(h, not_supported(u.info)),
    }
}

/// `virsh qemu-monitor-event`: flags and the pattern are checked as libvirt's
/// event state does; the domain need not exist (its events simply never come).
fn monitor_event_register(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: QemuConnectDomainMonitorEventRegisterArgs,
) -> Action {
    let client = session.info.id;
    let sender = session.sender();
    inline(h, || {
        let unknown = a.flags & !(FLAG_REGEX | FLAG_NOCASE);
        if unknown != 0 {
            return Err(from_driver(drivers::api::DriverError::unsupported_flags(
                domains::NONE,
                unknown,
                "virDomainQemuMonitorEventStateRegisterID",
            )));
        }
        let filter = Filter::new(a.event.as_deref(), a.flags).map_err(|why| {
            let detail = format!(
                "failed to compile regex '{}': {why}",
                a.event.as_deref().unwrap_or("")
            );
            with_template(
                codes::INVALID_ARG,
                domains::NONE,
                &format!("invalid argument: {detail}"),
                "invalid argument: %s",
                &detail,
            )
        })?;
        let callback_id = daemon
            .events
            .monitor
            .register(client, a.dom.map(|d| d.uuid), filter, sender)
            .map_err(|e| rpc_operation_failed(&e))?;
        Ok(QemuConnectDomainMonitorEventRegisterRet { callback_id })
    })
}

fn monitor_event_deregister(
    daemon: &Daemon,
    session: &mut Session,
    h: &Header,
    a: QemuConnectDomainMonitorEventDeregisterArgs,
) -> Action {
    let client = session.info.id;
    inline(h, || {
        if daemon.events.monitor.deregister(client, a.callback_id) {
            return Ok(());
        }
        let detail = format!("qemu monitor event {} not registered", a.callback_id);
        Err(rpc_internal(&detail))
    })
}

pub fn handle_lxc(session: &mut Session, h: &Header, body: &[u8]) -> Action {
    use lxc_proc::Call;
    let (call, conn) = match admit::<Call>(session, h, body) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    match call {
        Call::DomainOpenNamespace(a) => open_namespace(session, conn, h, a),
        Call::Unserved(u) => reply_err(h, not_supported(u.info)),
    }
}

/// `virsh lxc-enter-namespace`: the namespaces of the container's init,
/// as descriptors following the reply (REPLY_WITH_FDS).
fn open_namespace(
    session: &mut Session,
    conn: Arc<dyn Connection>,
    h: &Header,
    a: LxcDomainOpenNamespaceArgs,
) -> Action {
    let out = session.sender();
    let header = *h;
    Action::Job(crate::dispatch::Job {
        header,
        run: Box::new(
            move || match conn.lxc_open_namespace(&dom_ref(&a.dom), a.flags) {
                Ok(fds) if fds.is_empty() => fds_reply(&header, &(), 0),
                Ok(fds) => {
                    let bytes = fds_reply(&header, &(), fds.len());
                    let _ = out.send(Outgoing::MessageWithFds(bytes, fds));
                    Vec::new()
                }
                Err(e) => error_reply(&header, &from_driver(e)),
            },
        ),
    })
}

/// `virsh qemu-monitor-command --pass-fds`: at most one descriptor goes to
/// QEMU with the command; none come back, so the reply is a plain one.
fn monitor_command_with_files(
    conn: Arc<dyn Connection>,
    h: &Header,
    a: QemuDomainMonitorCommandArgs,
    fds: Vec<std::os::fd::OwnedFd>,
) -> Action {
    job(h, move || {
        let hmp = a.flags & HMP != 0;
        let result =
            drv(conn.qemu_monitor_command_with_files(&dom_ref(&a.dom), &a.cmd, fds, a.flags))?;
        Ok(QemuDomainMonitorCommandRet {
            result: compact_json(&result, hmp),
        })
    })
}

fn monitor_command(
    conn: Arc<dyn Connection>,
    h: &Header,
    a: QemuDomainMonitorCommandArgs,
) -> Action {
    job(h, move || {
        let result = drv(conn.qemu_monitor_command(&dom_ref(&a.dom), &a.cmd, a.flags & HMP != 0))?;
        Ok(QemuDomainMonitorCommandRet {
            result: compact_json(&result, a.flags & HMP != 0),
        })
    })
}

/// `virsh qemu-agent-command`: the agent's reply, re-serialised like QMP replies.
fn agent_command(conn: Arc<dyn Connection>, h: &Header, a: QemuDomainAgentCommandArgs) -> Action {
    job(h, move || {
        let result = drv(conn.qemu_agent_command(&dom_ref(&a.dom), &a.cmd, a.timeout, a.flags))?;
        Ok(QemuDomainAgentCommandRet {
            result: Some(compact_json(&result, false)),
        })
    })
}

/// QMP replies are passed on without the whitespace QEMU puts between tokens, as
/// libvirt re-serialises them; HMP text is passed on unchanged.
fn compact_json(text: &str, hmp: bool) -> String {
    if hmp {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::compact_json;

    #[test]
    fn qmp_reply_is_compacted_outside_strings() {
        assert_eq!(
            compact_json(
                "{\"return\": {\"status\": \"a b\\\" c\"}, \"id\": \"libvirt-1\"}",
                false
            ),
            "{\"return\":{\"status\":\"a b\\\" c\"},\"id\":\"libvirt-1\"}"
        );
        assert_eq!(compact_json("a  b\r\n", true), "a  b\r\n");
    }
}
