//! Where the qemu driver keeps its files, derived from the daemon's base directories.

use std::path::{Path, PathBuf};

use crate::domain_list::{DefinitionStore, ManagedSave};

/// The driver's directories (libvirt's layout below the daemon's config, run, state and
/// log directories).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuPaths {
    /// Persistent definitions: `<confdir>/qemu/NAME.xml`.
    pub config_dir: PathBuf,
    /// Autostart symlinks: `<confdir>/qemu/autostart/NAME.xml`.
    pub autostart_dir: PathBuf,
    /// `<confdir>/qemu.conf`.
    pub qemu_conf: PathBuf,
    /// Status files, monitor sockets, id counter and autostart marker: `<rundir>/qemu`.
    pub run_dir: PathBuf,
    /// Guest logs: `<logdir>/qemu/NAME.log`.
    pub log_dir: PathBuf,
    /// Managed save images: `<statedir>/qemu/save/NAME.save`.
    pub save_dir: PathBuf,
    /// Per-guest HOME and other state: `<statedir>/qemu`.
    pub lib_dir: PathBuf,
}

impl QemuPaths {
    /// Paths below the daemon's configuration, runtime, state and log directories
    /// (`/etc/libvirt`, `/run/libvirt`, `/var/lib/libvirt`, `/var/log/libvirt` for root).
    pub fn new(config_dir: &Path, run_dir: &Path, state_dir: &Path, log_dir: &Path) -> Self {
        let config = config_dir.join("qemu");
        QemuPaths {
            autostart_dir: config.join("autostart"),
            config_dir: config,
            qemu_conf: config_dir.join("qemu.conf"),
            run_dir: run_dir.join("qemu"),
            log_dir: log_dir.join("qemu"),
            save_dir: state_dir.join("qemu").join("save"),
            lib_dir: state_dir.join("qemu"),
        }
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.definitions().config_file(name)
    }

    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.definitions().autostart_link(name)
    }

    pub fn status_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.xml"))
    }

    pub fn monitor_socket(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.monitor"))
    }

    /// The VNC socket of a guest under `vnc_auto_unix_socket`.
    pub fn vnc_socket(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.vnc"))
    }

    /// Where the sockets of a guest's UNIX channels go when the definition names no
    /// path (libvirt's `channel/target` directory of the driver's state).
    pub fn channel_dir(&self, name: &str) -> PathBuf {
        self.lib_dir
            .join("channel")
            .join("target")
            .join(format!("domain-{name}"))
    }

    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }

    pub fn managed_save_file(&self, name: &str) -> PathBuf {
        self.managed_saves().image(name)
    }

    /// The managed save images, with libvirt's start-from-image policy.
    pub fn managed_saves(&self) -> ManagedSave {
        ManagedSave::new(&self.save_dir)
    }

    /// The definitions and autostart links.
    pub fn definitions(&self) -> DefinitionStore {
        DefinitionStore {
            config_dir: self.config_dir.clone(),
            autostart_dir: self.autostart_dir.clone(),
        }
    }

    /// Highest domain id handed out, kept so ids keep counting up across restarts.
    pub fn id_counter_file(&self) -> PathBuf {
        self.run_dir.join("last-domain-id")
    }

    /// Present once autostart ran in this host boot (the run dir is emptied at boot).
    pub fn autostart_marker(&self) -> PathBuf {
        self.run_dir.join("autostarted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_libvirt() {
        let p = QemuPaths::new(
            Path::new("/r/etc/libvirt"),
            Path::new("/r/run/libvirt"),
            Path::new("/r/var/lib/libvirt"),
            Path::new("/r/var/log/libvirt"),
        );
        assert_eq!(
            p.config_file("a"),
            PathBuf::from("/r/etc/libvirt/qemu/a.xml")
        );
        assert_eq!(
            p.autostart_link("a"),
            PathBuf::from("/r/etc/libvirt/qemu/autostart/a.xml")
        );
        assert_eq!(
            p.status_file("a"),
            PathBuf::from("/r/run/libvirt/qemu/a.xml")
        );
        assert_eq!(
            p.log_file("a"),
            PathBuf::from("/r/var/log/libvirt/qemu/a.log")
        );
        assert_eq!(
            p.managed_save_file("a"),
            PathBuf::from("/r/var/lib/libvirt/qemu/save/a.save")
        );
    }
}
