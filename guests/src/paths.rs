//! The few locations libvirt-guests needs, as a libvirt client computes them:
//! the daemon's socket directory, the client's TLS files, and the root used by
//! `LIBVIRTD_ROOT` (the daemon's "treat this directory as /"), so that the
//! program finds a daemon started under a root and its own state files there.
//!
//! Root processes use `/run/libvirt`; other users `$XDG_RUNTIME_DIR/libvirt`,
//! falling back to `$XDG_CACHE_HOME` (or `~/.cache`), as libvirt does. These
//! rules match the daemon's own layout (see libvirtd(8)).

use std::path::{Component, Path, PathBuf};

/// Environment variable naming the directory to treat as `/`.
pub const ROOT_ENV: &str = "LIBVIRTD_ROOT";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The `LIBVIRTD_ROOT` directory, if any; already applied below.
    pub root: Option<PathBuf>,
    pub privileged: bool,
    /// Where the local daemon's sockets are.
    pub sock_dir: PathBuf,
    /// `~/.pki/libvirt` of an unprivileged user (unused for root).
    pub user_pki_dir: PathBuf,
}

impl Paths {
    /// Locations for this process: reads `LIBVIRTD_ROOT`, `HOME` (falling back
    /// to the password database) and the XDG variables.
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

    /// Locations from an explicit root and environment lookup. Without `HOME`
    /// the home directory is `/`, as in GLib.
    pub fn with_root(
        root: Option<PathBuf>,
        privileged: bool,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Paths {
        let rooted = |p: &Path| apply_root(root.as_deref(), p);
        let home = env("HOME").unwrap_or_else(|| "/".to_string());
        let home = Path::new(&home);
        let user_pki_dir = rooted(&home.join(".pki/libvirt"));
        let sock_dir = if privileged {
            rooted(Path::new("/run/libvirt"))
        } else {
            // Relative or empty XDG values are ignored, as the XDG specification asks.
            let xdg = |name: &str| env(name).filter(|value| value.starts_with('/'));
            let cache = xdg("XDG_CACHE_HOME").map_or_else(|| home.join(".cache"), PathBuf::from);
            let runtime = xdg("XDG_RUNTIME_DIR").map_or(cache, PathBuf::from);
            rooted(&runtime.join("libvirt"))
        };
        Paths {
            root,
            privileged,
            sock_dir,
            user_pki_dir,
        }
    }

    /// Places an absolute default location under the root (`/etc/x` becomes
    /// `ROOT/etc/x`); unchanged without a root.
    pub fn rooted(&self, abs: &Path) -> PathBuf {
        apply_root(self.root.as_deref(), abs)
    }

    /// The monolithic daemon's read-write socket.
    pub fn rw_socket(&self) -> PathBuf {
        self.sock_dir.join("libvirt-sock")
    }
}

fn apply_root(root: Option<&Path>, path: &Path) -> PathBuf {
    match root {
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

/// The root must not depend on a later change of directory.
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

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn root_uses_run_libvirt_under_the_root() {
        let paths = Paths::with_root(Some("/r".into()), true, &env(&[("HOME", "/root")]));
        assert_eq!(
            paths.rw_socket(),
            PathBuf::from("/r/run/libvirt/libvirt-sock")
        );
        assert_eq!(paths.rooted(Path::new("/etc/x")), PathBuf::from("/r/etc/x"));
    }

    #[test]
    fn users_use_the_runtime_directory_then_the_cache() {
        let vars = [("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/7")];
        let paths = Paths::with_root(None, false, &env(&vars));
        assert_eq!(paths.sock_dir, PathBuf::from("/run/user/7/libvirt"));
        assert_eq!(paths.user_pki_dir, PathBuf::from("/home/u/.pki/libvirt"));
        let vars = [("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "relative")];
        let paths = Paths::with_root(Some("/r".into()), false, &env(&vars));
        assert_eq!(paths.sock_dir, PathBuf::from("/r/home/u/.cache/libvirt"));
    }
}
