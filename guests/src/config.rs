//! The libvirt-guests settings: Debian's defaults, overridden by
//! `/etc/default/libvirt-guests` (under `LIBVIRTD_ROOT` when it is set).
//!
//! Debian's script reads only that file; `/etc/sysconfig/libvirt-guests` (the
//! name other distributions use) is never read, so that one host cannot mean two
//! different things to two versions of the program. It is reported as ignored.
//!
//! libvirt's script silently treats an unexpected ON_BOOT or ON_SHUTDOWN as one of
//! the two choices; here a bad value stops the command with a message naming the
//! variable. BYPASS_CACHE and SYNC_TIME are switches exactly as in the script:
//! anything but `0` (also `yes` or an empty value) turns them on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::shell_vars::{apply_assignments, SkippedLine};

/// The configuration file that is read.
pub const CONFIG_FILE: &str = "/etc/default/libvirt-guests";
/// Read by other distributions' scripts, never by Debian's nor ours.
pub const IGNORED_FILE: &str = "/etc/sysconfig/libvirt-guests";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{variable} must be {expected}, not '{value}'")]
    BadValue {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// What `start` does with the guests recorded at the last `stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBoot {
    Start,
    Ignore,
}

/// What `stop` does with running guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnShutdown {
    /// Managed save.
    Suspend,
    /// ACPI shutdown request.
    Shutdown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Connection URIs; `default` is the default connection.
    pub uris: Vec<String>,
    pub on_boot: OnBoot,
    pub start_delay: Duration,
    pub on_shutdown: OnShutdown,
    /// Guests shut down at the same time; 0 or 1 means one after the other.
    pub parallel_shutdown: u32,
    /// Seconds; 0 waits forever. Negative values are refused when shutting down.
    pub shutdown_timeout: i64,
    pub bypass_cache: bool,
    pub sync_time: bool,
}

impl Default for Settings {
    /// Debian's defaults (upstream starts guests on boot and suspends them).
    fn default() -> Self {
        Settings {
            uris: vec!["default".to_string()],
            on_boot: OnBoot::Ignore,
            start_delay: Duration::ZERO,
            on_shutdown: OnShutdown::Shutdown,
            parallel_shutdown: 0,
            shutdown_timeout: 300,
            bypass_cache: false,
            sync_time: false,
        }
    }
}

/// The configuration file to read under `root`, if it exists.
pub fn config_file(rooted: impl Fn(&Path) -> PathBuf) -> Option<PathBuf> {
    Some(rooted(Path::new(CONFIG_FILE))).filter(|path| path.is_file())
}

/// `/etc/sysconfig/libvirt-guests` under `root` when it exists: an admin may
/// believe it is in effect, so it is worth a warning.
pub fn ignored_file(rooted: impl Fn(&Path) -> PathBuf) -> Option<PathBuf> {
    Some(rooted(Path::new(IGNORED_FILE))).filter(|path| path.exists())
}

/// Settings from `file` (defaults when `None`), plus the lines that were skipped.
pub fn load(file: Option<&Path>) -> Result<(Settings, Vec<SkippedLine>), ConfigError> {
    let Some(path) = file else {
        return Ok((Settings::default(), Vec::new()));
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut vars = HashMap::new();
    let skipped = apply_assignments(&text, &mut vars);
    Ok((from_vars(&vars)?, skipped))
}

/// Settings from variable values; absent variables keep their defaults.
pub fn from_vars(vars: &HashMap<String, String>) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    let get = |name: &str| vars.get(name).map(String::as_str);
    if let Some(uris) = get("URIS") {
        settings.uris = uris.split_whitespace().map(str::to_string).collect();
    }
    if let Some(value) = get("ON_BOOT") {
        settings.on_boot = match value {
            "start" => OnBoot::Start,
            "ignore" => OnBoot::Ignore,
            _ => return Err(bad("ON_BOOT", value, "start or ignore")),
        };
    }
    if let Some(value) = get("ON_SHUTDOWN") {
        settings.on_shutdown = match value {
            "suspend" => OnShutdown::Suspend,
            "shutdown" => OnShutdown::Shutdown,
            _ => return Err(bad("ON_SHUTDOWN", value, "suspend or shutdown")),
        };
    }
    if let Some(value) = get("START_DELAY") {
        settings.start_delay = value
            .parse::<f64>()
            .ok()
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| bad("START_DELAY", value, "a number of seconds (0 or more)"))?;
    }
    if let Some(value) = get("PARALLEL_SHUTDOWN") {
        settings.parallel_shutdown = value
            .parse()
            .map_err(|_| bad("PARALLEL_SHUTDOWN", value, "a whole number (0 or more)"))?;
    }
    if let Some(value) = get("SHUTDOWN_TIMEOUT") {
        settings.shutdown_timeout = value
            .parse()
            .map_err(|_| bad("SHUTDOWN_TIMEOUT", value, "a whole number of seconds"))?;
    }
    if let Some(value) = get("BYPASS_CACHE") {
        settings.bypass_cache = flag(value);
    }
    if let Some(value) = get("SYNC_TIME") {
        settings.sync_time = flag(value);
    }
    Ok(settings)
}

/// On unless the value is exactly `0`, as Debian's script tests it.
fn flag(value: &str) -> bool {
    value != "0"
}

fn bad(variable: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::BadValue {
        variable,
        value: value.to_string(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn debian_defaults() {
        let s = from_vars(&HashMap::new()).unwrap();
        assert_eq!(s.uris, vec!["default"]);
        assert_eq!(s.on_boot, OnBoot::Ignore);
        assert_eq!(s.on_shutdown, OnShutdown::Shutdown);
        assert_eq!(s.shutdown_timeout, 300);
        assert_eq!(s.parallel_shutdown, 0);
        assert!(!s.bypass_cache && !s.sync_time);
    }

    #[test]
    fn every_variable_is_read() {
        let s = from_vars(&vars(&[
            ("URIS", " default  qemu:///system "),
            ("ON_BOOT", "start"),
            ("START_DELAY", "1.5"),
            ("ON_SHUTDOWN", "suspend"),
            ("PARALLEL_SHUTDOWN", "3"),
            ("SHUTDOWN_TIMEOUT", "-1"),
            ("BYPASS_CACHE", "1"),
            ("SYNC_TIME", "1"),
        ]))
        .unwrap();
        assert_eq!(s.uris, vec!["default", "qemu:///system"]);
        assert_eq!(s.on_boot, OnBoot::Start);
        assert_eq!(s.start_delay, Duration::from_millis(1500));
        assert_eq!(s.on_shutdown, OnShutdown::Suspend);
        assert_eq!(s.parallel_shutdown, 3);
        assert_eq!(s.shutdown_timeout, -1);
        assert!(s.bypass_cache && s.sync_time);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("ON_BOOT", "yes"),
            ("ON_SHUTDOWN", "hibernate"),
            ("START_DELAY", "-2"),
            ("PARALLEL_SHUTDOWN", "two"),
            ("SHUTDOWN_TIMEOUT", "5m"),
        ] {
            let err = from_vars(&vars(&[(name, value)])).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(name), "{text}");
            assert!(text.contains(&format!("'{value}'")), "{text}");
        }
    }

    #[test]
    fn switches_are_on_unless_exactly_zero() {
        for value in ["1", "yes", "", "no", "00", " 0"] {
            let s = from_vars(&vars(&[("BYPASS_CACHE", value), ("SYNC_TIME", value)])).unwrap();
            assert!(s.bypass_cache && s.sync_time, "{value:?}");
        }
        let s = from_vars(&vars(&[("BYPASS_CACHE", "0"), ("SYNC_TIME", "0")])).unwrap();
        assert!(!s.bypass_cache && !s.sync_time);
    }

    #[test]
    fn only_etc_default_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let rooted = |p: &Path| dir.path().join(p.strip_prefix("/").unwrap());
        assert_eq!(config_file(rooted), None);
        assert_eq!(ignored_file(rooted), None);
        let sysconfig = dir.path().join("etc/sysconfig/libvirt-guests");
        std::fs::create_dir_all(sysconfig.parent().unwrap()).unwrap();
        std::fs::write(&sysconfig, "ON_BOOT=start\n").unwrap();
        assert_eq!(config_file(rooted), None);
        assert_eq!(ignored_file(rooted), Some(sysconfig));
        let default = dir.path().join("etc/default/libvirt-guests");
        std::fs::create_dir_all(default.parent().unwrap()).unwrap();
        std::fs::write(&default, "ON_BOOT=start\n").unwrap();
        assert_eq!(config_file(rooted), Some(default.clone()));
        let (s, skipped) = load(Some(&default)).unwrap();
        assert_eq!(s.on_boot, OnBoot::Start);
        assert!(skipped.is_empty());
    }
}
