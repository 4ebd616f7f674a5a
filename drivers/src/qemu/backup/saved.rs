//! A backup across a daemon restart: its `<domainbackup>` (with the time it
//! began) is kept in the guest's status file, and a restarted daemon makes it the
//! domain's job again and follows its copies (QEMU keeps them, and the exports of a
//! pull-mode backup, while no daemon runs) until they conclude.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{def, export_of, job_id, pull, running, RunningBackup};
use crate::api::{job_operation, Uuid};
use crate::qemu::jobs::ActiveJob;
use crate::qemu::Inner;

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// The `<domainbackup>` element of the guest's status file; `None` without a backup.
pub(in crate::qemu) fn status_element(uuid: &Uuid) -> Option<String> {
    let table = running();
    let backup = table.get(uuid)?;
    Some(element(&backup.def, backup.started_ms))
}

fn element(def: &def::BackupDef, started_ms: u64) -> String {
    def.to_xml().trim_end().replacen(
        "<domainbackup ",
        &format!("<domainbackup started='{started_ms}' "),
        1,
    )
}

/// The backup a status file records: its definition and when it began.
fn parse(elements: &[String]) -> Option<(def::BackupDef, u64)> {
    let xml = elements
        .iter()
        .find(|e| e.trim_start().starts_with("<domainbackup"))?;
    let started = roxmltree::Document::parse(xml)
        .ok()?
        .root_element()
        .attribute("started")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(now_ms);
    let def = def::parse(xml).ok()?;
    Some((def, started))
}

impl Inner {
    /// Follows again the backup a previous daemon began on a guest it re-attached to.
    pub(in crate::qemu) fn restore_backup(self: &Arc<Self>, uuid: &Uuid, elements: &[String]) {
        let Some((def, started_ms)) = parse(elements) else {
            return;
        };
        let monitor = {
            let st = self.lock();
            let Some(index) = st.find_by_uuid(uuid) else {
                return;
            };
            match &st.domains[index].run {
                Some(run) => Arc::clone(&run.monitor),
                None => return,
            }
        };
        let disks: Vec<&def::BackupDisk> = def.disks.iter().filter(|d| d.backup).collect();
        let job_ids: Vec<String> = disks.iter().map(|d| job_id(&d.name)).collect();
        let pulled = if def.mode == "pull" {
            pull::PullState {
                exports: disks.iter().map(|d| export_of(d)).collect(),
                scratch_files: disks.iter().filter_map(|d| d.target.clone()).collect(),
                server_started: def.server.is_some(),
            }
        } else {
            pull::PullState::default()
        };
        let elapsed = Duration::from_millis(now_ms().saturating_sub(started_ms));
        self.set_job(
            uuid,
            Some(ActiveJob::resumed(job_operation::BACKUP, elapsed)),
        );
        running().insert(
            *uuid,
            RunningBackup {
                def,
                job_ids: job_ids.clone(),
                monitor: Arc::clone(&monitor),
                started_ms,
            },
        );
        if let Err(e) = self.watch_backup(*uuid, monitor, job_ids, pulled) {
            tracing::warn!("cannot follow the backup of a re-attached guest: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_round_trips_through_the_status_element() {
        let uuid: Uuid = [9; 16];
        let def = def::parse(
            "<domainbackup mode='pull'><server transport='unix' socket='/tmp/nbd.sock'/>\
             <disks><disk name='vda' exportname='x'><scratch file='/tmp/s.qcow2'/></disk></disks>\
             </domainbackup>",
        )
        .expect("parses");
        let element = element(&def, 1234);
        let (back, started) = parse(&[element]).expect("read back");
        assert_eq!(started, 1234);
        assert_eq!(back.disks, def.disks);
        assert_eq!(back.server, def.server);
        assert!(parse(&["<blockjobs/>".to_string()]).is_none());
        assert!(status_element(&uuid).is_none());
    }
}
