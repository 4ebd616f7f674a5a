//! Block jobs across a daemon restart: the jobs of a guest are kept in its status
//! file (`<blockjobs>`), read back when the daemon re-attaches to the guest, and
//! matched with QEMU's `query-block-jobs`; a job that ended while no daemon ran is
//! finished then (a pivot the guest made is followed in the definitions, a copy
//! loses its `<mirror>`), one that became ready gets `<mirror ready='yes'>`.

use serde_json::{json, Value};

use super::jobs::{
    chain, jobs, qmp_event, JobRecord, PivotTarget, JOB_ACTIVE_COMMIT, JOB_COMMIT, JOB_COPY,
    JOB_PULL,
};
use crate::api::Uuid;
use crate::domain_xml::escape;
use crate::qemu::Inner;

/// libvirt's names of the job types in its status XML.
const KINDS: &[(i32, &str)] = &[
    (JOB_PULL, "pull"),
    (JOB_COPY, "copy"),
    (JOB_COMMIT, "commit"),
    (JOB_ACTIVE_COMMIT, "active-commit"),
];

/// QEMU's job type of a libvirt job type.
fn qemu_type(kind: i32) -> &'static str {
    match kind {
        JOB_PULL => "stream",
        JOB_COPY => "mirror",
        _ => "commit",
    }
}

fn image_attrs(path: &str, format: &str) -> String {
    format!("path='{}' format='{}'", escape(path), escape(format))
}

/// The `<blockjobs>` element of the guest's status file; `None` without jobs.
pub(in crate::qemu) fn status_element(uuid: &Uuid) -> Option<String> {
    let table = jobs();
    let mut mine: Vec<_> = table.iter().filter(|((u, _), _)| u == uuid).collect();
    if mine.is_empty() {
        return None;
    }
    mine.sort_by(|a, b| a.0 .1.cmp(&b.0 .1));
    let mut out = String::from("<blockjobs active='yes'>\n");
    for ((_, drive), record) in mine {
        let kind = KINDS
            .iter()
            .find(|(k, _)| *k == record.kind)
            .map_or("pull", |(_, name)| name);
        let state = if record.pivot_requested {
            "pivoting"
        } else if record.ready {
            "ready"
        } else {
            "running"
        };
        out.push_str(&format!(
            "  <blockjob name='{}' type='{kind}' state='{state}'",
            escape(drive)
        ));
        let Some(to) = &record.pivot_to else {
            out.push_str("/>\n");
            continue;
        };
        out.push_str(&format!(
            ">\n    <target {} block='{}'",
            image_attrs(&to.path, &to.format),
            if to.block { "yes" } else { "no" }
        ));
        if to.backing.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(">\n");
            for (path, format) in &to.backing {
                out.push_str(&format!("      <backing {}/>\n", image_attrs(path, format)));
            }
            out.push_str("    </target>\n");
        }
        out.push_str("  </blockjob>\n");
    }
    out.push_str("</blockjobs>");
    Some(out)
}

/// A drive id this driver gives QEMU (`drive-<alias>`).
fn valid_drive(drive: &str) -> bool {
    drive.len() <= 128
        && drive.strip_prefix("drive-").is_some_and(|alias| {
            !alias.is_empty()
                && alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

fn valid_image(path: &str, format: &str) -> bool {
    path.starts_with('/')
        && path.len() < 4096
        && !path.chars().any(char::is_control)
        && !format.is_empty()
        && format.chars().all(|c| c.is_ascii_alphanumeric())
}

fn image_of(node: roxmltree::Node) -> Option<(String, String)> {
    let path = node.attribute("path")?;
    let format = node.attribute("format")?;
    valid_image(path, format).then(|| (path.to_string(), format.to_string()))
}

/// The jobs a `<blockjobs>` element describes: (drive, record). Entries that do
/// not make sense are left out.
fn parse(xml: &str) -> Vec<(String, JobRecord)> {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    let root = doc.root_element();
    if !root.has_tag_name("blockjobs") {
        return Vec::new();
    }
    root.children()
        .filter(|n| n.has_tag_name("blockjob"))
        .filter_map(|job| {
            let drive = job.attribute("name").filter(|d| valid_drive(d))?;
            let kind = KINDS
                .iter()
                .find(|(_, name)| Some(*name) == job.attribute("type"))?
                .0;
            let state = job.attribute("state").unwrap_or("running");
            let pivot_to = match job.children().find(|n| n.has_tag_name("target")) {
                Some(target) => {
                    let (path, format) = image_of(target)?;
                    let backing = target
                        .children()
                        .filter(|n| n.has_tag_name("backing"))
                        .map(image_of)
                        .collect::<Option<Vec<_>>>()?;
                    Some(PivotTarget {
                        path,
                        format,
                        block: target.attribute("block") == Some("yes"),
                        backing,
                    })
                }
                None => None,
            };
            let mut record = JobRecord::new(kind, pivot_to);
            record.ready = matches!(state, "ready" | "pivoting");
            record.pivot_requested = state == "pivoting";
            Some((drive.to_string(), record))
        })
        .collect()
}

/// Puts the jobs recorded in a guest's status file back into the job table.
pub(in crate::qemu) fn restore(uuid: &Uuid, elements: &[String]) {
    let restored: Vec<_> = elements.iter().flat_map(|xml| parse(xml)).collect();
    let mut table = jobs();
    for (drive, record) in restored {
        table.insert((*uuid, drive), record);
    }
}

impl Inner {
    /// Matches the guest's restored jobs with what QEMU runs now, finishing those
    /// that ended while no daemon ran and marking those that became ready.
    pub(in crate::qemu) fn reconcile_block_jobs(&self, uuid: &Uuid) {
        let mine: Vec<(String, JobRecord)> = jobs()
            .iter()
            .filter(|((u, _), _)| u == uuid)
            .map(|((_, d), r)| (d.clone(), r.clone()))
            .collect();
        if mine.is_empty() {
            return;
        }
        let monitor = {
            let st = self.lock();
            let Some(index) = st.find_by_uuid(uuid) else {
                return;
            };
            match &st.domains[index].run {
                Some(run) => std::sync::Arc::clone(&run.monitor),
                None => return,
            }
        };
        let Ok(reply) = monitor.execute("query-block-jobs", None) else {
            return;
        };
        let running: Vec<(String, bool)> = reply
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|j| {
                Some((
                    j.get("device")?.as_str()?.to_string(),
                    j.get("ready").and_then(Value::as_bool).unwrap_or(false),
                ))
            })
            .collect();
        // For the jobs QEMU no longer runs: the image the guest now writes to.
        let tops: Vec<(String, Option<String>)> = mine
            .iter()
            .filter(|(d, _)| !running.iter().any(|(r, _)| r == d))
            .map(|(d, _)| {
                let top = chain(&monitor, d)
                    .ok()
                    .and_then(|c| c.into_iter().next())
                    .map(|(p, _)| p);
                (d.clone(), top)
            })
            .collect();
        let mut events = Vec::new();
        let mut st = self.lock();
        let Some(index) = st.find_by_uuid(uuid) else {
            return;
        };
        let obj = &mut st.domains[index];
        for (drive, record) in mine {
            let key = (*uuid, drive.clone());
            if !jobs().contains_key(&key) {
                // QEMU's own event finished it meanwhile.
                continue;
            }
            let data = json!({ "device": drive, "type": qemu_type(record.kind) });
            let event = match running.iter().find(|(d, _)| *d == drive) {
                Some((_, true)) if !record.ready => "BLOCK_JOB_READY",
                Some(_) => continue,
                None => {
                    let top = tops
                        .iter()
                        .find(|(d, _)| *d == drive)
                        .and_then(|t| t.1.as_ref());
                    let pivoted = matches!(record.kind, JOB_COPY | JOB_ACTIVE_COMMIT)
                        && record.pivot_to.as_ref().map(|t| &t.path) == top;
                    if let Some(r) = jobs().get_mut(&key) {
                        r.pivot_requested = pivoted;
                    }
                    "BLOCK_JOB_COMPLETED"
                }
            };
            events.extend(qmp_event(&self.paths, uuid, obj, event, &data).0);
        }
        self.persist_status(obj);
        drop(st);
        self.emit(events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_through_the_status_element() {
        let uuid: Uuid = [7; 16];
        let mut copy = JobRecord::new(
            JOB_COPY,
            Some(PivotTarget {
                path: "/tmp/copy 'a'.qcow2".into(),
                format: "qcow2".into(),
                block: false,
                backing: vec![("/tmp/base.img".into(), "raw".into())],
            }),
        );
        copy.ready = true;
        jobs().insert((uuid, "drive-virtio-disk0".into()), copy);
        jobs().insert(
            (uuid, "drive-virtio-disk1".into()),
            JobRecord::new(JOB_PULL, None),
        );
        let xml = status_element(&uuid).expect("jobs recorded");
        jobs().retain(|(u, _), _| *u != uuid);
        let parsed = parse(&xml);
        assert_eq!(parsed.len(), 2);
        let (drive, copy) = &parsed[0];
        assert_eq!(drive, "drive-virtio-disk0");
        assert_eq!(copy.kind, JOB_COPY);
        assert!(copy.ready && !copy.pivot_requested);
        let to = copy.pivot_to.as_ref().expect("target");
        assert_eq!(to.path, "/tmp/copy 'a'.qcow2");
        assert_eq!(to.backing, vec![("/tmp/base.img".into(), "raw".into())]);
        assert_eq!(parsed[1].1.kind, JOB_PULL);
        assert!(status_element(&uuid).is_none());
    }

    #[test]
    fn hostile_entries_are_dropped() {
        let xml = "<blockjobs><blockjob name='drive-x;rm' type='copy'/>\
                   <blockjob name='drive-y' type='copy'><target path='rel' format='raw'/></blockjob>\
                   <blockjob name='drive-z' type='bogus'/>\
                   <blockjob name='drive-ok' type='pull'/></blockjobs>";
        let parsed = parse(xml);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, "drive-ok");
        assert!(parse("<blockjobs").is_empty());
    }
}
