//! Where the lxc driver keeps its files, below the daemon's base directories.

use std::path::{Path, PathBuf};

use crate::domain_list::DefinitionStore;

/// The driver's directories, following libvirt's layout for `lxc:///system`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcPaths {
    /// Persistent definitions: `<confdir>/lxc/NAME.xml`.
    pub config_dir: PathBuf,
    /// Autostart symlinks: `<confdir>/lxc/autostart/NAME.xml`.
    pub autostart_dir: PathBuf,
    /// `<confdir>/lxc.conf`.
    pub lxc_conf: PathBuf,
    /// Status files and supervisor sockets: `<rundir>/lxc`.
    pub run_dir: PathBuf,
    /// Supervisor and console logs: `<logdir>/lxc/NAME.log`.
    pub log_dir: PathBuf,
    /// The supervisor program (`libvirt_lxc`), next to the daemon binary by default.
    pub supervisor: PathBuf,
}

impl LxcPaths {
    /// Paths below the daemon's configuration, runtime and log directories; the
    /// supervisor binary is looked up next to the running daemon.
    pub fn new(config_dir: &Path, run_dir: &Path, log_dir: &Path) -> Self {
        let config = config_dir.join("lxc");
        LxcPaths {
            autostart_dir: config.join("autostart"),
            config_dir: config,
            lxc_conf: config_dir.join("lxc.conf"),
            run_dir: run_dir.join("lxc"),
            log_dir: log_dir.join("lxc"),
            supervisor: default_supervisor(),
        }
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.definitions().config_file(name)
    }

    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.definitions().autostart_link(name)
    }

    /// The definitions and autostart links.
    pub fn definitions(&self) -> DefinitionStore {
        DefinitionStore {
            config_dir: self.config_dir.clone(),
            autostart_dir: self.autostart_dir.clone(),
        }
    }

    /// Live state of a running container (`<domstatus>` around the live definition).
    pub fn status_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.xml"))
    }

    /// The supervisor's control socket.
    pub fn control_socket(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.sock"))
    }

    /// Supervisor messages and everything the container writes to its console.
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }

    /// Where the supervisor assembles the container's root before pivoting into it.
    pub fn root_staging(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.root"))
    }
}

/// Where an installed libvirt keeps `libvirt_lxc`, the last resort.
const INSTALLED_SUPERVISOR: &str = "/usr/lib/libvirt/libvirt_lxc";

/// `LIBVIRT_LXC_BIN` when set, otherwise the first existing of the
/// candidates of [`supervisor_candidates`].
fn default_supervisor() -> PathBuf {
    if let Some(path) = std::env::var_os("LIBVIRT_LXC_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().ok();
    let candidates = supervisor_candidates(exe.as_deref());
    candidates
        .iter()
        .find(|path| path.is_file())
        .or(candidates.last())
        .cloned()
        .unwrap_or_else(|| PathBuf::from(INSTALLED_SUPERVISOR))
}

/// Where the supervisor may be, in order: beside the daemon (a build tree),
/// `../lib/libvirt/` from the daemon's directory (`make install` puts the
/// daemon in `PREFIX/sbin` and the supervisor in `PREFIX/lib/libvirt`), and
/// libvirt's own location.
fn supervisor_candidates(exe: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        candidates.push(dir.join("libvirt_lxc"));
        if let Some(prefix) = dir.parent() {
            candidates.push(prefix.join("lib/libvirt/libvirt_lxc"));
        }
    }
    candidates.push(PathBuf::from(INSTALLED_SUPERVISOR));
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_libvirt() {
        let p = LxcPaths::new(
            Path::new("/r/etc/libvirt"),
            Path::new("/r/run/libvirt"),
            Path::new("/r/var/log/libvirt"),
        );
        assert_eq!(
            p.config_file("c"),
            PathBuf::from("/r/etc/libvirt/lxc/c.xml")
        );
        assert_eq!(
            p.autostart_link("c"),
            PathBuf::from("/r/etc/libvirt/lxc/autostart/c.xml")
        );
        assert_eq!(
            p.status_file("c"),
            PathBuf::from("/r/run/libvirt/lxc/c.xml")
        );
        assert_eq!(
            p.control_socket("c"),
            PathBuf::from("/r/run/libvirt/lxc/c.sock")
        );
        assert_eq!(
            p.log_file("c"),
            PathBuf::from("/r/var/log/libvirt/lxc/c.log")
        );
        assert_eq!(p.lxc_conf, PathBuf::from("/r/etc/libvirt/lxc.conf"));
    }

    #[test]
    fn supervisor_is_looked_up_beside_the_daemon_then_in_the_install_tree() {
        assert_eq!(
            supervisor_candidates(Some(Path::new("/usr/local/sbin/libvirtd"))),
            vec![
                PathBuf::from("/usr/local/sbin/libvirt_lxc"),
                PathBuf::from("/usr/local/lib/libvirt/libvirt_lxc"),
                PathBuf::from(INSTALLED_SUPERVISOR),
            ]
        );
        assert_eq!(
            supervisor_candidates(None),
            vec![PathBuf::from(INSTALLED_SUPERVISOR)]
        );
    }
}
