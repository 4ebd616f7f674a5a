//! Guest handling when the host goes down, inside the daemon (qemu.conf's
//! `auto_shutdown_*` keys, which libvirt added in 11.2 for hosts without
//! libvirt-guests).
//!
//! When the daemon is told the host is going down, running guests go through three
//! stages, each chosen by a scope (`none`, `persistent`, `transient`, `all`):
//! managed save (`auto_shutdown_try_save`), then an ACPI power-off with a bounded
//! wait (`auto_shutdown_try_shutdown`, `auto_shutdown_wait` seconds), then a hard
//! power-off (`auto_shutdown_poweroff`). A guest no stage covers keeps running.
//!
//! Transient guests have nowhere to keep a managed save image, so the save stage
//! only ever saves persistent guests; a transient guest in its scope goes on to the
//! next stages. With `auto_shutdown_restore = 1` the saved guests are recorded in
//! `<statedir>/qemu/auto-shutdown-saved` (the state dir, unlike the run dir,
//! survives a reboot) and the next daemon start restores them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fsutil::{atomic_write, remove_if_exists};
use super::Inner;
use crate::api::{format_uuid, parse_uuid, DomainRef, Uuid};
use crate::virconf::ConfFile;

/// Default of `auto_shutdown_wait`: seconds the guests get to power off.
const DEFAULT_WAIT_SECS: u64 = 30;
/// How often the shutdown stage looks at the guests it waits for.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Which guests a stage applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoShutdownScope {
    None,
    Persistent,
    Transient,
    All,
}

impl AutoShutdownScope {
    fn parse(text: &str) -> Option<AutoShutdownScope> {
        match text {
            "none" => Some(AutoShutdownScope::None),
            "persistent" => Some(AutoShutdownScope::Persistent),
            "transient" => Some(AutoShutdownScope::Transient),
            "all" => Some(AutoShutdownScope::All),
            _ => None,
        }
    }

    /// Whether a guest (persistent or not) is in this scope.
    pub fn covers(self, persistent: bool) -> bool {
        match self {
            AutoShutdownScope::None => false,
            AutoShutdownScope::Persistent => persistent,
            AutoShutdownScope::Transient => !persistent,
            AutoShutdownScope::All => true,
        }
    }
}

/// The `auto_shutdown_*` settings. Every stage defaults to `none`: the system
/// daemon leaves host shutdown to libvirt-guests unless told otherwise, as libvirt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoShutdownConf {
    pub try_save: AutoShutdownScope,
    pub try_shutdown: AutoShutdownScope,
    pub poweroff: AutoShutdownScope,
    pub wait_secs: u64,
    pub restore: bool,
}

impl Default for AutoShutdownConf {
    fn default() -> Self {
        AutoShutdownConf {
            try_save: AutoShutdownScope::None,
            try_shutdown: AutoShutdownScope::None,
            poweroff: AutoShutdownScope::None,
            wait_secs: DEFAULT_WAIT_SECS,
            restore: true,
        }
    }
}

impl AutoShutdownConf {
    /// Reads the keys from qemu.conf; a bad value is reported and leaves the default.
    pub fn read(file: &ConfFile, problems: &mut Vec<String>) -> AutoShutdownConf {
        let mut conf = AutoShutdownConf::default();
        for (key, slot) in [
            ("auto_shutdown_try_save", &mut conf.try_save),
            ("auto_shutdown_try_shutdown", &mut conf.try_shutdown),
            ("auto_shutdown_poweroff", &mut conf.poweroff),
        ] {
            match file.get_string(key) {
                Ok(Some(text)) => match AutoShutdownScope::parse(text) {
                    Some(scope) => *slot = scope,
                    None => problems.push(format!(
                        "unknown {key} value '{text}': expected none, persistent, transient or all"
                    )),
                },
                Ok(None) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        match file.get_ullong("auto_shutdown_wait") {
            // 0 asks for the default, as in libvirt.
            Ok(Some(0)) | Ok(None) => {}
            Ok(Some(secs)) => conf.wait_secs = secs,
            Err(e) => problems.push(e.to_string()),
        }
        match file.get_bool("auto_shutdown_restore") {
            Ok(Some(restore)) => conf.restore = restore,
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        conf
    }

    /// Whether any stage acts on some guest.
    pub fn is_enabled(&self) -> bool {
        [self.try_save, self.try_shutdown, self.poweroff]
            .iter()
            .any(|scope| *scope != AutoShutdownScope::None)
    }
}

/// The record of guests saved at host shutdown, to restore at the next start.
fn saved_list_file(inner: &Inner) -> PathBuf {
    inner.lib_dir_file("auto-shutdown-saved")
}

impl Inner {
    fn lib_dir_file(&self, name: &str) -> PathBuf {
        self.paths.lib_dir.join(name)
    }

    /// The active guests as (reference, persistent).
    fn active_guests(&self) -> Vec<(DomainRef, bool)> {
        self.lock()
            .domains
            .iter()
            .filter(|d| d.is_active())
            .map(|d| {
                (
                    DomainRef {
                        name: d.def.name.clone(),
                        uuid: d.def.uuid,
                    },
                    d.persistent,
                )
            })
            .collect()
    }

    fn is_uuid_active(&self, uuid: &Uuid) -> bool {
        let st = self.lock();
        st.find_by_uuid(uuid)
            .is_some_and(|index| st.domains[index].is_active())
    }

    /// Runs the three stages over the running guests. Returns what is worth logging.
    pub(super) fn host_shutdown(&self) -> Vec<String> {
        let conf = self.conf().auto_shutdown;
        let mut notes = Vec::new();
        if !conf.is_enabled() {
            return notes;
        }
        let mut saved = Vec::new();
        for (dom, persistent) in self.active_guests() {
            if !persistent || !conf.try_save.covers(persistent) {
                continue;
            }
            match self.managed_save(&dom, 0) {
                Ok(()) => {
                    notes.push(format!("saved guest '{}'", dom.name));
                    saved.push(dom.uuid);
                }
                Err(e) => notes.push(format!("cannot save guest '{}': {e}", dom.name)),
            }
        }
        if conf.restore && !saved.is_empty() {
            let text: String = saved
                .iter()
                .map(|uuid| format!("{}\n", format_uuid(uuid)))
                .collect();
            if let Err(e) = atomic_write(&saved_list_file(self), text.as_bytes()) {
                notes.push(format!("cannot record the saved guests: {e}"));
            }
        }
        let asked: Vec<DomainRef> = self
            .active_guests()
            .into_iter()
            .filter(|(_, persistent)| conf.try_shutdown.covers(*persistent))
            .filter_map(|(dom, _)| match self.shutdown(&dom, 0) {
                Ok(()) => Some(dom),
                Err(e) => {
                    notes.push(format!("cannot shut down guest '{}': {e}", dom.name));
                    None
                }
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(conf.wait_secs);
        while asked.iter().any(|dom| self.is_uuid_active(&dom.uuid)) && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        for (dom, persistent) in self.active_guests() {
            if !conf.poweroff.covers(persistent) {
                continue;
            }
            match self.destroy(&dom, 0) {
                Ok(()) => notes.push(format!("powered off guest '{}'", dom.name)),
                Err(e) => notes.push(format!("cannot power off guest '{}': {e}", dom.name)),
            }
        }
        notes
    }
}

/// Restores, in the background, the guests the last host shutdown saved; the record
/// is removed first so that a failing restore is not retried at every start.
pub(super) fn restore_saved(inner: &Arc<Inner>) -> Vec<String> {
    let file = saved_list_file(inner);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if let Err(e) = remove_if_exists(&file) {
        problems.push(format!("cannot remove {}: {e}", file.display()));
    }
    let wanted: Vec<DomainRef> = {
        let st = inner.lock();
        text.lines()
            .filter_map(|line| parse_uuid(line.trim()))
            .filter_map(|uuid| st.find_by_uuid(&uuid))
            .map(|index| &st.domains[index])
            .filter(|d| !d.is_active())
            .map(|d| DomainRef {
                name: d.def.name.clone(),
                uuid: d.def.uuid,
            })
            .collect()
    };
    if wanted.is_empty() {
        return problems;
    }
    let inner = Arc::clone(inner);
    let spawned = std::thread::Builder::new()
        .name("qemu-auto-restore".into())
        .spawn(move || {
            for dom in wanted {
                let image = inner.paths.managed_save_file(&dom.name);
                if !image.exists() {
                    continue;
                }
                match inner.start_from_managed_save(&dom, 0, &image) {
                    Ok(_) => {
                        let _ = remove_if_exists(&image);
                    }
                    Err(e) => tracing::error!("Failed to restore VM '{}': {e}", dom.name),
                }
            }
        });
    if let Err(e) = spawned {
        problems.push(format!("cannot start the restore of saved guests: {e}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (AutoShutdownConf, Vec<String>) {
        let path = std::env::temp_dir().join(format!(
            "auto-shutdown-{}-{}.conf",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).expect("write conf");
        let file = ConfFile::read(&path).expect("parse conf");
        let _ = std::fs::remove_file(&path);
        let mut problems = Vec::new();
        let conf = AutoShutdownConf::read(&file, &mut problems);
        (conf, problems)
    }

    #[test]
    fn defaults_leave_guests_alone() {
        let (conf, problems) = read("");
        assert!(problems.is_empty());
        assert_eq!(conf, AutoShutdownConf::default());
        assert!(!conf.is_enabled());
        assert_eq!(conf.wait_secs, 30);
        assert!(conf.restore);
    }

    #[test]
    fn reads_every_key() {
        let (conf, problems) = read(
            "auto_shutdown_try_save = \"persistent\"\nauto_shutdown_try_shutdown = \"all\"\n\
             auto_shutdown_poweroff = \"transient\"\nauto_shutdown_wait = 5\n\
             auto_shutdown_restore = 0\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(conf.try_save, AutoShutdownScope::Persistent);
        assert_eq!(conf.try_shutdown, AutoShutdownScope::All);
        assert_eq!(conf.poweroff, AutoShutdownScope::Transient);
        assert_eq!(conf.wait_secs, 5);
        assert!(!conf.restore);
        assert!(conf.is_enabled());
    }

    #[test]
    fn bad_values_are_reported_and_keep_defaults() {
        let (conf, problems) = read(
            "auto_shutdown_try_save = \"everything\"\nauto_shutdown_wait = \"long\"\n\
             auto_shutdown_wait = 0\n",
        );
        assert_eq!(conf.try_save, AutoShutdownScope::None);
        assert_eq!(conf.wait_secs, 30);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("auto_shutdown_try_save"));
        assert!(problems[0].contains("everything"));
    }

    #[test]
    fn scopes_cover_the_right_guests() {
        assert!(!AutoShutdownScope::None.covers(true));
        assert!(AutoShutdownScope::Persistent.covers(true));
        assert!(!AutoShutdownScope::Persistent.covers(false));
        assert!(AutoShutdownScope::Transient.covers(false));
        assert!(!AutoShutdownScope::Transient.covers(true));
        assert!(AutoShutdownScope::All.covers(false));
    }
}
