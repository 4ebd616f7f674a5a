//! Errors of loading and checking libvirtd.conf.

use std::path::PathBuf;

use drivers::virconf::ConfError;

/// Exit status libvirtd uses for failures while reading its configuration.
const EXIT_CONFIG: i32 = 1;
/// Exit status libvirtd uses for failures while setting up its sockets.
const EXIT_NETWORK: i32 = 6;

/// A libvirtd.conf problem. Messages follow libvirt's wording; unlike libvirt, every
/// message about a value names the file *and the line* (`u.conf:3: ...`), also for the
/// checks libvirt reports without any location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed, or a value has the wrong type.
    #[error(transparent)]
    Conf(#[from] ConfError),

    /// A value has the right type but is not acceptable for its setting.
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        message: String,
    },

    /// `host_uuid` (or the machine id it was taken from) is not a usable UUID.
    #[error("invalid host UUID: {0}")]
    InvalidHostUuid(String),

    /// `host_uuid_source = "machine-id"` but the machine id file cannot be read.
    #[error("Can't read {}", .0.display())]
    MachineIdUnreadable(PathBuf),
}

impl ConfigError {
    /// The process exit status libvirtd 9.0 ends with for this problem. Socket
    /// permission strings are only parsed when libvirt creates its sockets, so a bad
    /// one ends the daemon with the network-setup status although we detect it while
    /// loading the file.
    pub fn exit_status(&self) -> i32 {
        match self {
            ConfigError::Invalid { key, .. } if key.ends_with("_perms") => EXIT_NETWORK,
            _ => EXIT_CONFIG,
        }
    }
}
