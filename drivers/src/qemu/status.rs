//! The status file of a running guest, `<rundir>/qemu/NAME.xml`: what a restarted daemon
//! needs to find the process again (pid, monitor, id, state) plus the live definition.

use std::path::{Path, PathBuf};

use super::defaults::parse_options;
use super::error::QemuError;
use super::fsutil::atomic_write;
use crate::api::DomainState;
use crate::domain_list::{format_status, parse_status};
use crate::domain_xml::{escape, parse_domain_xml, DomainDef, FormatOptions};

/// Everything recorded about one running guest.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusRecord {
    pub pid: i32,
    pub id: i32,
    pub state: DomainState,
    pub reason: i32,
    pub monitor: PathBuf,
    /// Seconds since the epoch when the guest was started.
    pub started: u64,
    /// The guest powered off and the driver was about to stop it.
    pub got_shutdown: bool,
    /// `virsh reboot` asked for a fake reboot that has not happened yet: a daemon
    /// that finds the guest powered off finishes it (reset and resume).
    pub fake_reboot: bool,
    /// The jobs running on the guest (`<blockjobs>`, `<domainbackup>`), as the
    /// elements the block job and backup code write and read back.
    pub jobs: Vec<String>,
    pub def: DomainDef,
}

/// The elements below `<domstatus>` that describe jobs.
const JOB_ELEMENTS: &[&str] = &["blockjobs", "domainbackup"];

/// The text of the job elements of a status document.
fn job_elements(text: &str) -> Vec<String> {
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return Vec::new();
    };
    doc.root_element()
        .children()
        .filter(|n| n.is_element() && JOB_ELEMENTS.contains(&n.tag_name().name()))
        .map(|n| text[n.range()].to_string())
        .collect()
}

pub fn write_status(path: &Path, record: &StatusRecord) -> Result<(), QemuError> {
    let domain = record.def.to_xml(FormatOptions {
        id: Some(record.id),
        secure: true,
    });
    let monitor = format!(
        "<monitor path='{}'/>",
        escape(&record.monitor.display().to_string())
    );
    let mut children = vec![monitor];
    children.extend(record.jobs.iter().cloned());
    let text = format_status(
        &[
            ("state", record.state.wire().to_string()),
            ("reason", record.reason.to_string()),
            ("pid", record.pid.to_string()),
            ("id", record.id.to_string()),
            ("started", record.started.to_string()),
            ("shutdown", u8::from(record.got_shutdown).to_string()),
            ("fakereboot", u8::from(record.fake_reboot).to_string()),
        ],
        &children,
        &domain,
    );
    atomic_write(path, text.as_bytes())
}

/// Reads a status file; `Err` names what is wrong with it.
pub fn read_status(path: &Path) -> Result<StatusRecord, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let doc = parse_status(&text)?;
    let num = |name: &str| -> Result<i64, String> {
        doc.attribute(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("missing or bad attribute '{name}'"))
    };
    let monitor = doc
        .child_attribute("monitor", "path")
        .ok_or("missing monitor path")?;
    let def = parse_domain_xml(&doc.domain_xml, &parse_options()).map_err(|e| e.to_string())?;
    Ok(StatusRecord {
        pid: i32::try_from(num("pid")?).map_err(|e| e.to_string())?,
        id: i32::try_from(num("id")?).map_err(|e| e.to_string())?,
        state: u8::try_from(num("state")?)
            .ok()
            .and_then(DomainState::from_wire)
            .ok_or("missing or bad attribute 'state'")?,
        reason: i32::try_from(num("reason")?).map_err(|e| e.to_string())?,
        monitor: PathBuf::from(monitor),
        started: u64::try_from(num("started")?).map_err(|e| e.to_string())?,
        got_shutdown: num("shutdown").unwrap_or(0) != 0,
        fake_reboot: num("fakereboot").unwrap_or(0) != 0,
        jobs: job_elements(&text),
        def,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip() {
        let xml = "<domain type='qemu'><name>s1</name><memory>65536</memory><os><type>hvm</type></os></domain>";
        let def = parse_domain_xml(xml, &parse_options()).expect("parses");
        let record = StatusRecord {
            pid: 4242,
            id: 7,
            state: DomainState::Running,
            reason: 1,
            monitor: PathBuf::from("/run/libvirt/qemu/s1 & co.monitor"),
            started: 1_700_000_000,
            got_shutdown: false,
            fake_reboot: true,
            jobs: vec![
                "<blockjobs active='yes'><blockjob drive='drive-virtio-disk0'/></blockjobs>"
                    .to_string(),
            ],
            def,
        };
        let path = std::env::temp_dir().join(format!("qemu-status-{}.xml", std::process::id()));
        write_status(&path, &record).expect("written");
        assert_eq!(read_status(&path).expect("read"), record);
        std::fs::write(&path, "<domstatus pid='x'/>").expect("junk");
        assert!(read_status(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
