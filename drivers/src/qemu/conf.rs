//! `qemu.conf`, read with the shared virConf parser.
//!
//! Re-read on SIGHUP (libvirt reads it only at start); new values apply to guests
//! started afterwards.
//!
//! Honoured: `vnc_listen` (default listen address of VNC graphics), `vnc_auto_unix_socket`
//! (VNC graphics without an address listen on `<rundir>/qemu/NAME.vnc`), `auto_start_delay`
//! (milliseconds between autostarted guests), `max_processes` and `max_files` (limits
//! of each QEMU process), `save_image_format` ("raw" only; anything else is reported
//! and raw is used), `user`/`group` (guests run as the daemon's user; another value is
//! reported), `auto_shutdown_*` (see [`super::auto_shutdown`]). Every other option
//! of libvirt's qemu.conf is read for syntax and
//! otherwise ignored (security drivers, cgroups, TLS for VNC/SPICE, hugepages, ...);
//! `spice_listen` among them, as SPICE graphics are refused at start.

use std::path::Path;

use crate::virconf::ConfFile;

/// The settings the driver uses, with libvirt's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuConf {
    pub vnc_listen: String,
    pub vnc_auto_unix_socket: bool,
    pub auto_start_delay_ms: u64,
    /// 0: leave the daemon's limit.
    pub max_processes: u64,
    /// 0: leave the daemon's limit.
    pub max_files: u64,
    /// `auto_shutdown_*`: guest handling when the host goes down.
    pub auto_shutdown: super::auto_shutdown::AutoShutdownConf,
}

impl Default for QemuConf {
    fn default() -> Self {
        QemuConf {
            vnc_listen: "127.0.0.1".to_string(),
            vnc_auto_unix_socket: false,
            auto_start_delay_ms: 0,
            max_processes: 0,
            max_files: 0,
            auto_shutdown: Default::default(),
        }
    }
}

impl QemuConf {
    /// Reads `path` (a missing file gives the defaults). Returns the settings and the
    /// problems worth logging; a file with errors leaves the defaults in place for the
    /// values it could not give.
    pub fn load(path: &Path) -> (QemuConf, Vec<String>) {
        let mut conf = QemuConf::default();
        let mut problems = Vec::new();
        if !path.exists() {
            return (conf, problems);
        }
        let file = match ConfFile::read(path) {
            Ok(file) => file,
            Err(e) => {
                problems.push(e.to_string());
                return (conf, problems);
            }
        };
        let mut note = |r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        note(
            file.get_string("vnc_listen")
                .map(|v| {
                    if let Some(v) = v {
                        conf.vnc_listen = v.to_string();
                    }
                })
                .map_err(|e| e.to_string()),
        );
        match file.get_bool("vnc_auto_unix_socket") {
            Ok(Some(v)) => conf.vnc_auto_unix_socket = v,
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        for (key, slot) in [
            ("auto_start_delay", &mut conf.auto_start_delay_ms),
            ("max_processes", &mut conf.max_processes),
            ("max_files", &mut conf.max_files),
        ] {
            match file.get_ullong(key) {
                Ok(Some(v)) => *slot = v,
                Ok(None) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        match file.get_string("save_image_format") {
            Ok(Some(format)) if format != "raw" => problems.push(format!(
                "save_image_format '{format}' is not supported; images are written raw"
            )),
            Ok(_) => {}
            Err(e) => problems.push(e.to_string()),
        }
        for key in ["user", "group"] {
            match file.get_string(key) {
                Ok(Some(v)) if v != "root" && v != "+0" => problems.push(format!(
                    "{key} = \"{v}\" is not supported; guests run with the daemon's credentials"
                )),
                Ok(_) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        conf.auto_shutdown = super::auto_shutdown::AutoShutdownConf::read(&file, &mut problems);
        (conf, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_honoured_options_and_reports_the_rest() {
        let path = std::env::temp_dir().join(format!("qemu-conf-{}.conf", std::process::id()));
        std::fs::write(
            &path,
            "vnc_listen = \"0.0.0.0\"\nauto_start_delay = 250\nmax_files = 4096\n\
             vnc_auto_unix_socket = 1\n\
             user = \"libvirt-qemu\"\nsecurity_driver = \"none\"\n",
        )
        .expect("write conf");
        let (conf, problems) = QemuConf::load(&path);
        assert_eq!(conf.vnc_listen, "0.0.0.0");
        assert!(conf.vnc_auto_unix_socket);
        assert_eq!(conf.auto_start_delay_ms, 250);
        assert_eq!(conf.max_files, 4096);
        assert_eq!(conf.max_processes, 0);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("libvirt-qemu"));
        std::fs::write(&path, "vnc_listen = [").expect("write junk");
        let (conf, problems) = QemuConf::load(&path);
        assert_eq!(conf, QemuConf::default());
        assert_eq!(problems.len(), 1);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn missing_file_gives_defaults() {
        let (conf, problems) = QemuConf::load(Path::new("/nonexistent/qemu.conf"));
        assert_eq!(conf, QemuConf::default());
        assert!(problems.is_empty());
    }
}
