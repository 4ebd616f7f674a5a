//! `qemu.conf`, read with the shared virConf parser.
//!
//! Re-read on SIGHUP (libvirt reads it only at start); new values apply to guests
//! started afterwards.
//!
//! Honoured: `vnc_listen` (default listen address of VNC graphics), `vnc_auto_unix_socket`
//! (VNC graphics without an address listen on `<rundir>/qemu/NAME.vnc`), `vnc_password`
//! (password of VNC graphics without `passwd`), `vnc_tls`, `vnc_tls_x509_cert_dir`,
//! `vnc_tls_x509_verify` and their `default_tls_x509_*` fallbacks (a TLS credentials
//! object for every VNC display); `vnc_sasl` and `vnc_tls_x509_secret_uuid` are read so
//! that guests with VNC graphics are refused at start rather than run without the
//! protection the administrator asked for; `auto_start_delay`
//! (milliseconds between autostarted guests), `max_processes` and `max_files` (limits
//! of each QEMU process), `save_image_format` ("raw" only; anything else is reported
//! and raw is used), `user`/`group` (guests run as the daemon's user; another value is
//! reported), `auto_shutdown_*` (see [`super::auto_shutdown`]), `migration_address`,
//! `migration_host`, `migration_port_min`/`max` (see [`super::migration`]). Every other option
//! of libvirt's qemu.conf is read for syntax and
//! otherwise ignored (security drivers, cgroups, hugepages, ...). SPICE: `spice_listen`
//! and `spice_password` are honoured; `spice_tls` and `spice_sasl` refuse SPICE guests
//! at start.

use std::path::Path;

use crate::virconf::ConfFile;

/// A password that never shows in `Debug` output (and so never in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The settings the driver uses, with libvirt's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuConf {
    pub vnc_listen: String,
    pub vnc_auto_unix_socket: bool,
    /// `vnc_password`: for VNC graphics that carry no `passwd` of their own.
    pub vnc_password: Option<Secret>,
    pub vnc_tls: bool,
    /// Holds ca-cert.pem, server-cert.pem and server-key.pem for VNC TLS.
    pub vnc_tls_x509_cert_dir: String,
    /// Whether VNC clients must present a certificate signed by the CA.
    pub vnc_tls_x509_verify: bool,
    /// Set when the key is encrypted with a libvirt secret (not supported here).
    pub vnc_tls_x509_secret_uuid: Option<String>,
    /// `vnc_sasl` (not supported here).
    pub vnc_sasl: bool,
    /// `spice_listen`: default listen address of SPICE graphics.
    pub spice_listen: String,
    /// `spice_password`: for SPICE graphics that carry no `passwd` of their own.
    pub spice_password: Option<Secret>,
    /// `spice_tls` / `spice_sasl` (not supported here: SPICE guests are refused).
    pub spice_tls: bool,
    pub spice_sasl: bool,
    pub auto_start_delay_ms: u64,
    /// 0: leave the daemon's limit.
    pub max_processes: u64,
    /// 0: leave the daemon's limit.
    pub max_files: u64,
    /// `auto_shutdown_*`: guest handling when the host goes down.
    pub auto_shutdown: super::auto_shutdown::AutoShutdownConf,
    /// `migration_*`: where incoming migrations listen.
    pub migration: super::migration::MigrationConf,
}

impl Default for QemuConf {
    fn default() -> Self {
        QemuConf {
            vnc_listen: "127.0.0.1".to_string(),
            vnc_auto_unix_socket: false,
            vnc_password: None,
            vnc_tls: false,
            vnc_tls_x509_cert_dir: "/etc/pki/qemu".to_string(),
            vnc_tls_x509_verify: true,
            vnc_tls_x509_secret_uuid: None,
            vnc_sasl: false,
            spice_listen: "127.0.0.1".to_string(),
            spice_password: None,
            spice_tls: false,
            spice_sasl: false,
            auto_start_delay_ms: 0,
            max_processes: 0,
            max_files: 0,
            auto_shutdown: Default::default(),
            migration: Default::default(),
        }
    }
}

impl QemuConf {
    /// Reads `path` (a missing file gives the defaults). Returns the settings and the
    /// problems worth logging; a file with errors leaves the defaults in place for the
    /// values it could not give.
    pub fn load(path: &Path) -> (QemuConf, Vec<String>) {
        let mut conf = QemuConf::defaults_for(path);
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
        conf.read_vnc(&file, &mut problems);
        conf.migration = super::migration::MigrationConf::read(&file, &mut problems);
        conf.migration
            .tls
            .default_dir(&QemuConf::defaults_for(path).vnc_tls_x509_cert_dir);
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

impl QemuConf {
    /// libvirt's defaults, with the TLS directory `<sysconfdir>/pki/qemu` taken relative
    /// to `<sysconfdir>/libvirt/qemu.conf` (so a daemon under `LIBVIRTD_ROOT` looks
    /// inside its root).
    pub fn defaults_for(path: &Path) -> QemuConf {
        let mut conf = QemuConf::default();
        if let Some(sysconf) = path.parent().and_then(Path::parent) {
            conf.vnc_tls_x509_cert_dir = sysconf.join("pki/qemu").display().to_string();
            conf.migration.tls.cert_dir = conf.vnc_tls_x509_cert_dir.clone();
        }
        conf
    }

    /// The VNC keys, each falling back to its `default_tls_x509_*` twin as in libvirt.
    fn read_vnc(&mut self, file: &ConfFile, problems: &mut Vec<String>) {
        let mut string = |key: &str| match file.get_string(key) {
            Ok(v) => v.map(str::to_string),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        if let Some(password) = string("vnc_password") {
            self.vnc_password = Some(Secret(password));
        }
        if let Some(password) = string("spice_password") {
            self.spice_password = Some(Secret(password));
        }
        if let Some(listen) = string("spice_listen") {
            self.spice_listen = listen;
        }
        if let Some(dir) =
            string("vnc_tls_x509_cert_dir").or_else(|| string("default_tls_x509_cert_dir"))
        {
            self.vnc_tls_x509_cert_dir = dir;
        }
        self.vnc_tls_x509_secret_uuid =
            string("vnc_tls_x509_secret_uuid").or_else(|| string("default_tls_x509_secret_uuid"));
        let mut boolean = |key: &str| match file.get_bool(key) {
            Ok(v) => v,
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        if let Some(v) = boolean("vnc_tls") {
            self.vnc_tls = v;
        }
        if let Some(v) =
            boolean("vnc_tls_x509_verify").or_else(|| boolean("default_tls_x509_verify"))
        {
            self.vnc_tls_x509_verify = v;
        }
        if let Some(v) = boolean("vnc_sasl") {
            self.vnc_sasl = v;
        }
        if let Some(v) = boolean("spice_tls") {
            self.spice_tls = v;
        }
        if let Some(v) = boolean("spice_sasl") {
            self.spice_sasl = v;
        }
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
        assert_eq!(conf, QemuConf::defaults_for(&path));
        assert_eq!(problems.len(), 1);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn reads_vnc_security_keys_with_their_fallbacks() {
        let dir = std::env::temp_dir().join(format!("qemu-conf-vnc-{}", std::process::id()));
        let path = dir.join("libvirt/qemu.conf");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let (conf, _) = QemuConf::load(&path);
        assert_eq!(
            conf.vnc_tls_x509_cert_dir,
            dir.join("pki/qemu").display().to_string()
        );
        assert!(!conf.vnc_tls && conf.vnc_tls_x509_verify && conf.vnc_password.is_none());
        std::fs::write(
            &path,
            "vnc_password = \"hunter2\"\nvnc_tls = 1\n\
             default_tls_x509_cert_dir = \"/srv/pki\"\ndefault_tls_x509_verify = 0\n\
             vnc_sasl = 1\n",
        )
        .expect("write conf");
        let (conf, problems) = QemuConf::load(&path);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(conf.vnc_password, Some(Secret("hunter2".into())));
        assert!(conf.vnc_tls && conf.vnc_sasl && !conf.vnc_tls_x509_verify);
        assert_eq!(conf.vnc_tls_x509_cert_dir, "/srv/pki");
        assert!(!format!("{conf:?}").contains("hunter2"));
        std::fs::write(
            &path,
            "vnc_tls_x509_cert_dir = \"/a\"\ndefault_tls_x509_cert_dir = \"/b\"\n",
        )
        .expect("write conf");
        assert_eq!(QemuConf::load(&path).0.vnc_tls_x509_cert_dir, "/a");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_file_gives_defaults() {
        let (conf, problems) = QemuConf::load(Path::new("/etc/libvirt/qemu.conf.nonexistent"));
        assert_eq!(conf, QemuConf::default());
        assert!(problems.is_empty());
    }
}
