//! The status file of a running container, `<rundir>/lxc/NAME.xml`: the live definition
//! wrapped in `<domstatus>` with what a restarted daemon needs to find the container again.

use std::path::Path;

use super::error::LxcError;
use super::fsutil::atomic_write;
use crate::api::DomainState;
use crate::api::{reason, state};
use crate::domain_list as status_file;
use crate::domain_xml::{DomainDef, FormatOptions};

/// What the status file records besides the definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    pub state: DomainState,
    pub reason: i32,
    /// PID of the container's init as the host sees it (also the domain id), 0 while starting.
    pub init_pid: i32,
    /// PID of the supervisor, 0 while starting.
    pub supervisor_pid: i32,
    /// Whether the domain has a persistent definition.
    pub persistent: bool,
}

impl StatusInfo {
    pub fn starting(persistent: bool) -> Self {
        StatusInfo {
            state: state::RUNNING,
            reason: reason::RUNNING_BOOTED,
            init_pid: 0,
            supervisor_pid: 0,
            persistent,
        }
    }
}

/// The word for the state; a container is running, paused, shutting down or shut off.
fn state_name(value: DomainState) -> &'static str {
    match value {
        state::RUNNING | state::PAUSED | state::SHUTDOWN => value.name(),
        _ => state::SHUTOFF.name(),
    }
}

fn state_value(name: &str) -> DomainState {
    match DomainState::from_name(name) {
        Some(s @ (state::RUNNING | state::PAUSED | state::SHUTDOWN)) => s,
        _ => state::SHUTOFF,
    }
}

/// Formats the status document.
pub fn format_status(info: &StatusInfo, def: &DomainDef) -> String {
    let id = (info.init_pid > 0).then_some(info.init_pid);
    let domain = def.to_xml(FormatOptions { id, secure: true });
    status_file::format_status(
        &[
            ("state", state_name(info.state).to_string()),
            ("reason", info.reason.to_string()),
            ("pid", info.init_pid.to_string()),
            ("supervisor", info.supervisor_pid.to_string()),
            ("persistent", u8::from(info.persistent).to_string()),
        ],
        &[],
        &domain,
    )
}

/// Writes the status file atomically.
pub fn save_status(path: &Path, info: &StatusInfo, def: &DomainDef) -> Result<(), LxcError> {
    atomic_write(path, format_status(info, def).as_bytes())
}

/// Splits a status document into its record and the `<domain>` XML text.
pub fn parse_status(text: &str) -> Result<(StatusInfo, String), LxcError> {
    let doc = status_file::parse_status(text)
        .map_err(|e| LxcError::Failed(format!("malformed status file: {e}")))?;
    let number = |name: &str| {
        doc.attribute(name)
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let info = StatusInfo {
        state: state_value(doc.attribute("state").unwrap_or("")),
        reason: number("reason"),
        init_pid: number("pid"),
        supervisor_pid: number("supervisor"),
        persistent: number("persistent") == 1,
    };
    Ok((info, doc.domain_xml))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lxc::xml::parse_lxc_xml;

    #[test]
    fn status_round_trips() {
        let (def, _) = parse_lxc_xml(
            "<domain type='lxc'><name>c</name><memory>1024</memory>\
             <os><type>exe</type><init>/bin/sh</init></os></domain>",
        )
        .expect("valid");
        let info = StatusInfo {
            state: state::PAUSED,
            reason: reason::PAUSED_USER,
            init_pid: 4242,
            supervisor_pid: 4200,
            persistent: true,
        };
        let text = format_status(&info, &def);
        assert!(text.starts_with("<domstatus state='paused' reason='1' pid='4242'"));
        let (back, domain_xml) = parse_status(&text).expect("parses");
        assert_eq!(back, info);
        let (again, _) = parse_lxc_xml(&domain_xml).expect("inner domain parses");
        assert_eq!(again.name, "c");
        assert_eq!(again.uuid, def.uuid);
    }

    #[test]
    fn rejects_other_documents() {
        assert!(parse_status("<domain/>").is_err());
        assert!(parse_status("<domstatus").is_err());
    }
}
