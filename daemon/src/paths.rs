//! Every default file and directory location of the daemon, in one value.
//!
//! Two layouts exist, as in libvirt 9.0:
//!
//! * root: `/etc/libvirt`, `/run/libvirt`, `/var/lib/libvirt`, `/var/log/libvirt`,
//!   `/var/cache/libvirt`, pid file `/run/libvirtd.pid`, TLS files under `/etc/pki`;
//! * other users (XDG base directories, like libvirt through GLib): configuration in
//!   `$XDG_CONFIG_HOME/libvirt` (default `$HOME/.config/libvirt`), sockets and pid
//!   file in `$XDG_RUNTIME_DIR/libvirt` (falling back to the cache directory when
//!   unset), cache in `$XDG_CACHE_HOME/libvirt` (default `$HOME/.cache/libvirt`),
//!   daemon log in its `log` subdirectory, persistent driver state under the
//!   configuration directory (where libvirt's session drivers keep it), TLS files in
//!   `$HOME/.pki/libvirt` with the root locations as per-file fallback. Hook scripts
//!   are always looked up in `/etc/libvirt/hooks`. Relative or empty XDG values are
//!   ignored, as the XDG specification asks.
//!
//! `LIBVIRTD_ROOT=DIR` is our addition: the daemon then treats `DIR` as `/` for
//! every default location, in both layouts. For other users the XDG/`$HOME`
//! locations are computed as usual and then placed under `DIR` too
//! (`DIR/home/u/.config/libvirt/...`), so that nothing outside `DIR` is ever read
//! or written by default. Locations given explicitly (`-f`, `-p`, `unix_sock_dir`,
//! `key_file`, ...) are used as given.

use std::path::{Component, Path, PathBuf};

/// Environment variable naming the directory to treat as `/`.
pub const ROOT_ENV: &str = "LIBVIRTD_ROOT";

/// Name of the daemon the default locations are first computed for.
const DAEMON_NAME: &str = "libvirtd";

/// Which daemon this process is. The same binary runs as the monolithic
/// `libvirtd` or as a modular per-driver daemon, chosen by the program name
/// (`argv[0]`), as libvirt installs one binary per daemon. The name picks the
/// configuration file, pid file, socket names, socket activation names and
/// the drivers served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DaemonName {
    /// Every driver, and the only one that may listen on TCP/TLS.
    #[default]
    Libvirtd,
    /// Only the `qemu` driver, on UNIX sockets.
    Virtqemud,
    /// Only the `lxc` driver, on UNIX sockets.
    Virtlxcd,
    /// Only the network driver (`network:///system`), on UNIX sockets.
    Virtnetworkd,
    /// Only the storage driver, on UNIX sockets.
    Virtstoraged,
    /// Only the `secret` driver, on UNIX sockets.
    Virtsecretd,
    /// Only the `nodedev` driver, on UNIX sockets.
    Virtnodedevd,
    /// Only the host interface driver, on UNIX sockets.
    Virtinterfaced,
    /// No driver: forwards each client to the per-driver daemon of its URI,
    /// on libvirtd's socket names and, with `--listen`, TCP and TLS.
    Virtproxyd,
}

impl DaemonName {
    /// The daemon named by the last component of `program` (`/usr/sbin/virtqemud`
    /// is `virtqemud`); any other name runs the monolithic daemon.
    pub fn from_program(program: &std::ffi::OsStr) -> DaemonName {
        let base = Path::new(program)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        match base.as_str() {
            "virtqemud" => DaemonName::Virtqemud,
            "virtlxcd" => DaemonName::Virtlxcd,
            "virtnetworkd" => DaemonName::Virtnetworkd,
            "virtstoraged" => DaemonName::Virtstoraged,
            "virtsecretd" => DaemonName::Virtsecretd,
            "virtnodedevd" => DaemonName::Virtnodedevd,
            "virtinterfaced" => DaemonName::Virtinterfaced,
            "virtproxyd" => DaemonName::Virtproxyd,
            _ => DaemonName::Libvirtd,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DaemonName::Libvirtd => "libvirtd",
            DaemonName::Virtqemud => "virtqemud",
            DaemonName::Virtlxcd => "virtlxcd",
            DaemonName::Virtnetworkd => "virtnetworkd",
            DaemonName::Virtstoraged => "virtstoraged",
            DaemonName::Virtsecretd => "virtsecretd",
            DaemonName::Virtnodedevd => "virtnodedevd",
            DaemonName::Virtinterfaced => "virtinterfaced",
            DaemonName::Virtproxyd => "virtproxyd",
        }
    }

    /// Start of the socket file names: `libvirt` for libvirtd (`libvirt-sock`)
    /// and virtproxyd, which stands in for it, the daemon name otherwise
    /// (`virtqemud-sock`), as clients expect.
    pub fn socket_prefix(self) -> &'static str {
        match self {
            DaemonName::Libvirtd | DaemonName::Virtproxyd => "libvirt",
            other => other.as_str(),
        }
    }

    /// Start of the admin socket's name: virtproxyd has its own
    /// (`virtproxyd-admin-sock`) beside libvirtd's client sockets.
    pub fn admin_socket_prefix(self) -> &'static str {
        match self {
            DaemonName::Virtproxyd => "virtproxyd",
            other => other.socket_prefix(),
        }
    }

    /// A per-driver daemon: no `--listen`, no TCP or TLS sockets.
    pub fn is_modular(self) -> bool {
        !matches!(self, DaemonName::Libvirtd | DaemonName::Virtproxyd)
    }

    /// The proxy daemon: clients are forwarded to the per-driver daemons.
    pub fn is_proxy(self) -> bool {
        self == DaemonName::Virtproxyd
    }

    /// Whether this daemon runs the driver for URI scheme `scheme`.
    pub fn serves_scheme(self, scheme: &str) -> bool {
        match self {
            DaemonName::Libvirtd => true,
            DaemonName::Virtqemud => scheme == "qemu",
            DaemonName::Virtlxcd => scheme == "lxc",
            DaemonName::Virtnetworkd => scheme == "network",
            DaemonName::Virtstoraged => scheme == "storage",
            DaemonName::Virtsecretd => scheme == "secret",
            DaemonName::Virtnodedevd => scheme == "nodedev",
            DaemonName::Virtinterfaced => scheme == "interface",
            DaemonName::Virtproxyd => false,
        }
    }
}

/// The TLS server credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    pub ca_cert: PathBuf,
    /// Optional: used only when the file exists.
    pub ca_crl: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl PkiPaths {
    fn system(paths_root: &Rooter) -> PkiPaths {
        PkiPaths {
            ca_cert: paths_root.apply("/etc/pki/CA/cacert.pem"),
            ca_crl: paths_root.apply("/etc/pki/CA/cacrl.pem"),
            server_cert: paths_root.apply("/etc/pki/libvirt/servercert.pem"),
            server_key: paths_root.apply("/etc/pki/libvirt/private/serverkey.pem"),
        }
    }

    fn in_directory(dir: &Path) -> PkiPaths {
        PkiPaths {
            ca_cert: dir.join("cacert.pem"),
            ca_crl: dir.join("cacrl.pem"),
            server_cert: dir.join("servercert.pem"),
            server_key: dir.join("serverkey.pem"),
        }
    }
}

/// The daemon's default locations. Build it once at startup and pass it around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The `LIBVIRTD_ROOT` directory, if any; already applied to every field below.
    pub root: Option<PathBuf>,
    /// The daemon whose file names are used (see [`Paths::for_daemon`]).
    pub daemon: DaemonName,
    pub privileged: bool,
    pub config_dir: PathBuf,
    /// `libvirtd.conf` used when no `-f` is given.
    pub config_file: PathBuf,
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    pub log_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Pid file used when no `-p` is given.
    pub pid_file: PathBuf,
    /// Directory of the UNIX sockets when `unix_sock_dir` is not set.
    pub sock_dir: PathBuf,
    pub hooks_dir: PathBuf,
    /// Read by `host_uuid_source = "machine-id"`.
    pub machine_id_file: PathBuf,
    /// Preferred TLS file locations.
    pub pki: PkiPaths,
    /// Per-file fallback for an unprivileged daemon: the root locations.
    pub pki_fallback: Option<PkiPaths>,
}

/// The UNIX socket paths of one daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocketPaths {
    pub rw: PathBuf,
    /// Only a privileged daemon has a read-only socket.
    pub ro: Option<PathBuf>,
    pub admin: Option<PathBuf>,
}

impl Paths {
    /// Locations for this process: reads `LIBVIRTD_ROOT`, `HOME` (falling back to the
    /// password database) and the XDG variables.
    pub fn from_env(privileged: bool) -> Paths {
        let root = std::env::var_os(ROOT_ENV)
            .filter(|value| !value.is_empty())
            .map(|value| absolute(PathBuf::from(value)));
        let env = |name: &str| match std::env::var(name) {
            Ok(value) if !value.is_empty() => Some(value),
            _ if name == "HOME" => home_from_passwd(),
            _ => None,
        };
        Paths::with_root(root, privileged, &env)
    }

    /// Locations computed from an explicit root and environment lookup, for tests and
    /// for callers that already hold these values. Without `HOME` the home directory
    /// is `/`, as in GLib.
    pub fn with_root(
        root: Option<PathBuf>,
        privileged: bool,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Paths {
        let rooter = Rooter { root: root.clone() };
        let system_pki = PkiPaths::system(&rooter);
        let machine_id_file = rooter.apply("/etc/machine-id");
        let hooks_dir = rooter.apply("/etc/libvirt/hooks");
        if privileged {
            let config_dir = rooter.apply("/etc/libvirt");
            let run_dir = rooter.apply("/run/libvirt");
            return Paths {
                root,
                daemon: DaemonName::Libvirtd,
                privileged,
                config_file: config_dir.join(format!("{DAEMON_NAME}.conf")),
                config_dir,
                sock_dir: run_dir.clone(),
                run_dir,
                state_dir: rooter.apply("/var/lib/libvirt"),
                log_dir: rooter.apply("/var/log/libvirt"),
                cache_dir: rooter.apply("/var/cache/libvirt"),
                pid_file: rooter.apply(format!("/run/{DAEMON_NAME}.pid")),
                hooks_dir,
                machine_id_file,
                pki: system_pki,
                pki_fallback: None,
            };
        }

        let xdg = |name: &str| env(name).filter(|value| value.starts_with('/'));
        let home = env("HOME").unwrap_or_else(|| "/".to_string());
        let home = Path::new(&home);
        let config_home =
            xdg("XDG_CONFIG_HOME").map_or_else(|| home.join(".config"), PathBuf::from);
        let cache_home = xdg("XDG_CACHE_HOME").map_or_else(|| home.join(".cache"), PathBuf::from);
        let runtime_home = xdg("XDG_RUNTIME_DIR").map_or_else(|| cache_home.clone(), PathBuf::from);

        let config_dir = rooter.apply(config_home.join("libvirt"));
        let cache_dir = rooter.apply(cache_home.join("libvirt"));
        let run_dir = rooter.apply(runtime_home.join("libvirt"));
        Paths {
            root,
            daemon: DaemonName::Libvirtd,
            privileged,
            config_file: config_dir.join(format!("{DAEMON_NAME}.conf")),
            state_dir: config_dir.clone(),
            config_dir,
            log_dir: cache_dir.join("log"),
            cache_dir,
            pid_file: run_dir.join(format!("{DAEMON_NAME}.pid")),
            sock_dir: run_dir.clone(),
            run_dir,
            hooks_dir,
            machine_id_file,
            pki: PkiPaths::in_directory(&rooter.apply(home.join(".pki/libvirt"))),
            pki_fallback: Some(system_pki),
        }
    }

    /// The same locations with the file names of `daemon`: `virtqemud.conf`,
    /// `virtqemud.pid` and the `virtqemud-sock` family instead of libvirtd's.
    /// Directories are shared by all daemons, as in libvirt.
    pub fn for_daemon(mut self, daemon: DaemonName) -> Paths {
        let name = daemon.as_str();
        self.config_file = self.config_file.with_file_name(format!("{name}.conf"));
        self.pid_file = self.pid_file.with_file_name(format!("{name}.pid"));
        self.daemon = daemon;
        self
    }

    /// Places an absolute default location under the root (`/etc/x` becomes
    /// `ROOT/etc/x`); unchanged without a root.
    pub fn rooted(&self, abs: &Path) -> PathBuf {
        Rooter {
            root: self.root.clone(),
        }
        .apply(abs)
    }

    /// The socket paths, as libvirt derives them: `libvirt-sock`, `libvirt-sock-ro`
    /// and `libvirt-admin-sock` (`virtqemud-sock`, ... for a modular daemon) in
    /// `unix_sock_dir` or [`Paths::sock_dir`]. An
    /// unprivileged daemon has no read-only socket, and (a libvirt 9.0 quirk we keep)
    /// no admin socket either when `unix_sock_dir` is set.
    pub fn unix_sockets(&self, unix_sock_dir: Option<&Path>) -> UnixSocketPaths {
        let dir = unix_sock_dir.unwrap_or(&self.sock_dir);
        let admin_wanted = self.privileged || unix_sock_dir.is_none();
        let prefix = self.daemon.socket_prefix();
        UnixSocketPaths {
            rw: dir.join(format!("{prefix}-sock")),
            ro: self
                .privileged
                .then(|| dir.join(format!("{prefix}-sock-ro"))),
            admin: admin_wanted
                .then(|| dir.join(format!("{}-admin-sock", self.daemon.admin_socket_prefix()))),
        }
    }

    /// The TLS files to use when the config names none: for each file the preferred
    /// location if it exists, else the fallback (libvirt decides file by file).
    pub fn locate_pki(&self) -> PkiPaths {
        let Some(fallback) = &self.pki_fallback else {
            return self.pki.clone();
        };
        let pick = |preferred: &PathBuf, other: &PathBuf| {
            if preferred.exists() {
                preferred.clone()
            } else {
                other.clone()
            }
        };
        PkiPaths {
            ca_cert: pick(&self.pki.ca_cert, &fallback.ca_cert),
            ca_crl: pick(&self.pki.ca_crl, &fallback.ca_crl),
            server_cert: pick(&self.pki.server_cert, &fallback.server_cert),
            server_key: pick(&self.pki.server_key, &fallback.server_key),
        }
    }
}

/// Maps absolute paths under an optional root directory.
struct Rooter {
    root: Option<PathBuf>,
}

impl Rooter {
    fn apply(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match &self.root {
            None => path.to_path_buf(),
            Some(root) => {
                let relative: PathBuf = path
                    .components()
                    .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
                    .collect();
                root.join(relative)
            }
        }
    }
}

/// The root must stay valid after the daemon changes directory (`--daemon` does).
fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => path,
    }
}

/// The home directory of the effective user from the password database.
fn home_from_passwd() -> Option<String> {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid()).ok()??;
    user.dir
        .to_str()
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn paths(root: Option<&str>, privileged: bool, vars: &[(&str, &str)]) -> Paths {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Paths::with_root(root.map(PathBuf::from), privileged, &|name: &str| {
            vars.get(name).cloned()
        })
    }

    fn p(text: &str) -> PathBuf {
        PathBuf::from(text)
    }

    #[test]
    fn root_layout_matches_libvirt() {
        let paths = paths(None, true, &[("HOME", "/root"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(paths.config_dir, p("/etc/libvirt"));
        assert_eq!(paths.config_file, p("/etc/libvirt/libvirtd.conf"));
        assert_eq!(paths.run_dir, p("/run/libvirt"));
        assert_eq!(paths.sock_dir, p("/run/libvirt"));
        assert_eq!(paths.state_dir, p("/var/lib/libvirt"));
        assert_eq!(paths.log_dir, p("/var/log/libvirt"));
        assert_eq!(paths.cache_dir, p("/var/cache/libvirt"));
        assert_eq!(paths.pid_file, p("/run/libvirtd.pid"));
        assert_eq!(paths.hooks_dir, p("/etc/libvirt/hooks"));
        assert_eq!(paths.machine_id_file, p("/etc/machine-id"));
        assert_eq!(paths.pki.ca_cert, p("/etc/pki/CA/cacert.pem"));
        assert_eq!(paths.pki.ca_crl, p("/etc/pki/CA/cacrl.pem"));
        assert_eq!(paths.pki.server_cert, p("/etc/pki/libvirt/servercert.pem"));
        assert_eq!(
            paths.pki.server_key,
            p("/etc/pki/libvirt/private/serverkey.pem")
        );
        assert_eq!(paths.pki_fallback, None);
        assert_eq!(paths.root, None);
    }

    #[test]
    fn root_sockets_include_read_only_and_admin() {
        let paths = paths(None, true, &[]);
        let expected = UnixSocketPaths {
            rw: p("/run/libvirt/libvirt-sock"),
            ro: Some(p("/run/libvirt/libvirt-sock-ro")),
            admin: Some(p("/run/libvirt/libvirt-admin-sock")),
        };
        assert_eq!(paths.unix_sockets(None), expected);
        let custom = paths.unix_sockets(Some(Path::new("/tmp/s")));
        assert_eq!(custom.ro, Some(p("/tmp/s/libvirt-sock-ro")));
        assert_eq!(custom.admin, Some(p("/tmp/s/libvirt-admin-sock")));
    }

    #[test]
    fn user_layout_follows_xdg_variables() {
        let paths = paths(
            None,
            false,
            &[
                ("HOME", "/home/u"),
                ("XDG_CONFIG_HOME", "/cfg"),
                ("XDG_CACHE_HOME", "/cache"),
                ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ],
        );
        assert_eq!(paths.config_file, p("/cfg/libvirt/libvirtd.conf"));
        assert_eq!(paths.state_dir, p("/cfg/libvirt"));
        assert_eq!(paths.cache_dir, p("/cache/libvirt"));
        assert_eq!(paths.log_dir, p("/cache/libvirt/log"));
        assert_eq!(paths.run_dir, p("/run/user/1000/libvirt"));
        assert_eq!(paths.pid_file, p("/run/user/1000/libvirt/libvirtd.pid"));
        assert_eq!(paths.hooks_dir, p("/etc/libvirt/hooks"));
        assert_eq!(
            paths.pki.server_key,
            p("/home/u/.pki/libvirt/serverkey.pem")
        );
        assert_eq!(paths.pki.ca_crl, p("/home/u/.pki/libvirt/cacrl.pem"));
        let fallback = paths.pki_fallback.clone().expect("user daemons fall back");
        assert_eq!(fallback.ca_cert, p("/etc/pki/CA/cacert.pem"));
        let sockets = paths.unix_sockets(None);
        assert_eq!(sockets.rw, p("/run/user/1000/libvirt/libvirt-sock"));
        assert_eq!(sockets.ro, None);
        assert_eq!(
            sockets.admin,
            Some(p("/run/user/1000/libvirt/libvirt-admin-sock"))
        );
        // libvirt 9.0 creates only the rw socket in a configured directory.
        let custom = paths.unix_sockets(Some(Path::new("/tmp/s")));
        assert_eq!(
            (custom.rw, custom.ro, custom.admin),
            (p("/tmp/s/libvirt-sock"), None, None)
        );
    }

    #[test]
    fn user_layout_defaults_without_xdg_variables() {
        let paths = paths(
            None,
            false,
            &[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "rel")],
        );
        assert_eq!(paths.config_dir, p("/home/u/.config/libvirt"));
        assert_eq!(paths.cache_dir, p("/home/u/.cache/libvirt"));
        // Without XDG_RUNTIME_DIR the runtime files go to the cache directory.
        assert_eq!(paths.run_dir, p("/home/u/.cache/libvirt"));
        assert_eq!(paths.pid_file, p("/home/u/.cache/libvirt/libvirtd.pid"));
        let homeless = paths_without_home();
        assert_eq!(homeless.config_dir, p("/.config/libvirt"));
    }

    fn paths_without_home() -> Paths {
        paths(None, false, &[])
    }

    #[test]
    fn root_directory_is_applied_to_every_default() {
        let paths = paths(Some("/t"), true, &[]);
        assert_eq!(paths.root, Some(p("/t")));
        assert_eq!(paths.config_file, p("/t/etc/libvirt/libvirtd.conf"));
        assert_eq!(paths.pid_file, p("/t/run/libvirtd.pid"));
        assert_eq!(paths.sock_dir, p("/t/run/libvirt"));
        assert_eq!(paths.state_dir, p("/t/var/lib/libvirt"));
        assert_eq!(paths.log_dir, p("/t/var/log/libvirt"));
        assert_eq!(paths.cache_dir, p("/t/var/cache/libvirt"));
        assert_eq!(paths.hooks_dir, p("/t/etc/libvirt/hooks"));
        assert_eq!(paths.machine_id_file, p("/t/etc/machine-id"));
        assert_eq!(
            paths.pki.server_cert,
            p("/t/etc/pki/libvirt/servercert.pem")
        );
        assert_eq!(paths.rooted(Path::new("/etc/x")), p("/t/etc/x"));
        assert_eq!(paths.rooted(Path::new("y")), p("/t/y"));
    }

    #[test]
    fn root_directory_also_holds_the_user_layout() {
        let paths = paths(
            Some("/t"),
            false,
            &[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/7")],
        );
        assert_eq!(
            paths.config_file,
            p("/t/home/u/.config/libvirt/libvirtd.conf")
        );
        assert_eq!(paths.run_dir, p("/t/run/user/7/libvirt"));
        assert_eq!(paths.pki.ca_cert, p("/t/home/u/.pki/libvirt/cacert.pem"));
        let fallback = paths.pki_fallback.clone().expect("fallback");
        assert_eq!(fallback.ca_cert, p("/t/etc/pki/CA/cacert.pem"));
        assert_eq!(paths.hooks_dir, p("/t/etc/libvirt/hooks"));
    }

    #[test]
    fn without_root_rooted_is_identity() {
        let paths = paths(None, true, &[]);
        assert_eq!(paths.rooted(Path::new("/etc/x")), p("/etc/x"));
    }

    #[test]
    fn user_pki_files_fall_back_one_by_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_str().expect("utf-8 temp path");
        let paths = paths(Some(root), false, &[("HOME", "/home/u")]);
        let user_ca = paths.pki.ca_cert.clone();
        std::fs::create_dir_all(user_ca.parent().expect("parent")).expect("mkdir");
        std::fs::write(&user_ca, "ca").expect("write");
        let located = paths.locate_pki();
        let fallback = paths.pki_fallback.clone().expect("fallback");
        assert_eq!(located.ca_cert, user_ca);
        assert_eq!(located.server_cert, fallback.server_cert);
        assert_eq!(located.server_key, fallback.server_key);
        assert_eq!(located.ca_crl, fallback.ca_crl);
    }

    #[test]
    fn modular_daemons_use_their_own_file_names() {
        let name = DaemonName::from_program(std::ffi::OsStr::new("/usr/sbin/virtqemud"));
        assert_eq!(name, DaemonName::Virtqemud);
        let qemu = paths(Some("/t"), true, &[]).for_daemon(name);
        assert_eq!(qemu.config_file, p("/t/etc/libvirt/virtqemud.conf"));
        assert_eq!(qemu.pid_file, p("/t/run/virtqemud.pid"));
        let sockets = qemu.unix_sockets(None);
        assert_eq!(sockets.rw, p("/t/run/libvirt/virtqemud-sock"));
        assert_eq!(sockets.ro, Some(p("/t/run/libvirt/virtqemud-sock-ro")));
        assert_eq!(
            sockets.admin,
            Some(p("/t/run/libvirt/virtqemud-admin-sock"))
        );
        let user = paths(None, false, &[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/r")])
            .for_daemon(DaemonName::Virtlxcd);
        assert_eq!(user.config_file, p("/h/.config/libvirt/virtlxcd.conf"));
        assert_eq!(user.pid_file, p("/r/libvirt/virtlxcd.pid"));
        assert_eq!(user.unix_sockets(None).rw, p("/r/libvirt/virtlxcd-sock"));
    }

    #[test]
    fn program_name_chooses_the_daemon() {
        let of = |text: &str| DaemonName::from_program(std::ffi::OsStr::new(text));
        assert_eq!(of("virtlxcd"), DaemonName::Virtlxcd);
        assert_eq!(of("virtsecretd"), DaemonName::Virtsecretd);
        assert_eq!(of("virtnodedevd"), DaemonName::Virtnodedevd);
        assert_eq!(of("virtinterfaced"), DaemonName::Virtinterfaced);
        assert_eq!(of("virtproxyd"), DaemonName::Virtproxyd);
        assert!(!DaemonName::Virtproxyd.is_modular());
        assert_eq!(DaemonName::Virtproxyd.socket_prefix(), "libvirt");
        assert_eq!(DaemonName::Virtproxyd.admin_socket_prefix(), "virtproxyd");
        assert!(DaemonName::Virtsecretd.serves_scheme("secret"));
        assert!(!DaemonName::Virtsecretd.serves_scheme("qemu"));
        assert_eq!(of("./target/debug/libvirtd"), DaemonName::Libvirtd);
        assert_eq!(of("virtqemud-old"), DaemonName::Libvirtd);
        assert_eq!(of(""), DaemonName::Libvirtd);
        assert!(DaemonName::Virtqemud.serves_scheme("qemu"));
        assert!(!DaemonName::Virtqemud.serves_scheme("lxc"));
        assert!(DaemonName::Libvirtd.serves_scheme("test"));
        assert_eq!(DaemonName::Libvirtd.socket_prefix(), "libvirt");
        assert!(!DaemonName::Libvirtd.is_modular());
    }

    #[test]
    fn from_env_reads_the_process_environment() {
        // Only reads: the result must agree with an explicit lookup of the same values.
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let root = env(ROOT_ENV).map(|r| absolute(PathBuf::from(r)));
        assert_eq!(Paths::from_env(true), Paths::with_root(root, true, &env));
    }
}
