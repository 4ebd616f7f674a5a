//! The QEMU program (`virsh qemu-monitor-command`): its calls pass the same
//! authentication and open-connection gates as the REMOTE program, and are refused
//! on read-only connections.

use drivers::api::Connection;
use protocol::error::{codes, domains, RemoteError};
use protocol::header::Header;
use protocol::qemu::{QemuDomainMonitorCommandArgs, QemuDomainMonitorCommandRet};
use std::sync::Arc;

use super::{dom_ref, drv, job, reply_err, Action, Session};
use crate::dispatch::names;
use crate::dispatch::reply::{rpc_error, with_template};

/// `qemu_procedure` 1.
const DOMAIN_MONITOR_COMMAND: i32 = 1;
/// `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`.
const HMP: u32 = 1;

pub fn handle(session: &Session, h: &Header, body: &[u8]) -> Action {
    if !session.authenticated {
        return reply_err(h, rpc_error(codes::RPC, "authentication required"));
    }
    let Some(conn) = session.conn.clone() else {
        return reply_err(
            h,
            with_template(
                codes::INTERNAL_ERROR,
                domains::RPC,
                "internal error: hypervisor connection not open",
                "internal error: %s",
                "hypervisor connection not open",
            ),
        );
    };
    let api = names::other_program_api(h.prog, h.proc_);
    if session.read_only {
        return reply_err(
            h,
            with_template(
                codes::OPERATION_DENIED,
                domains::DOMAIN,
                &format!("operation forbidden: read only access prevents {api}"),
                "operation forbidden: %s",
                &format!("read only access prevents {api}"),
            ),
        );
    }
    match h.proc_ {
        DOMAIN_MONITOR_COMMAND => monitor_command(conn, h, body),
        _ => reply_err(
            h,
            RemoteError::new(
                codes::NO_SUPPORT,
                domains::NONE,
                format!("this function is not supported by the connection driver: {api}"),
            ),
        ),
    }
}

fn monitor_command(conn: Arc<dyn Connection>, h: &Header, body: &[u8]) -> Action {
    job(h, body, move |a: QemuDomainMonitorCommandArgs| {
        let result = drv(conn.qemu_monitor_command(&dom_ref(&a.dom), &a.cmd, a.flags & HMP != 0))?;
        Ok(QemuDomainMonitorCommandRet {
            result: compact_json(&result, a.flags & HMP != 0),
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
