//! Deciding the host UUID at startup from `host_uuid` / `host_uuid_source`.

use std::path::Path;

use super::checks::{parse_uuid, uuid_is_usable};
use super::error::ConfigError;
use super::settings::{HostUuidSource, Settings};

/// libvirt reads at most one formatted UUID (36 characters) from the machine id file.
const MACHINE_ID_READ_LIMIT: usize = 36;

impl Settings {
    /// The host UUID the configuration asks for: `host_uuid` if set, else the machine
    /// id when `host_uuid_source = "machine-id"`, else `None` (the SMBIOS UUID is
    /// looked up when first needed). `machine_id_file` is normally
    /// [`crate::paths::Paths::machine_id_file`].
    ///
    /// A UUID whose bytes are all equal is refused here rather than when loading the
    /// file, because libvirt does the same (the stock libvirtd.conf shows the all-zero
    /// UUID as its example, and uncommenting it only fails at this step).
    pub fn resolve_host_uuid(
        &self,
        machine_id_file: &Path,
    ) -> Result<Option<[u8; 16]>, ConfigError> {
        let text = match (&self.host_uuid, self.host_uuid_source) {
            (Some(text), _) => text.clone(),
            (None, HostUuidSource::Smbios) => return Ok(None),
            (None, HostUuidSource::MachineId) => read_machine_id(machine_id_file)?,
        };
        match parse_uuid(&text) {
            Some(uuid) if uuid_is_usable(&uuid) => Ok(Some(uuid)),
            _ => Err(ConfigError::InvalidHostUuid(text)),
        }
    }
}

fn read_machine_id(path: &Path) -> Result<String, ConfigError> {
    let bytes =
        std::fs::read(path).map_err(|_| ConfigError::MachineIdUnreadable(path.to_path_buf()))?;
    let head = &bytes[..bytes.len().min(MACHINE_ID_READ_LIMIT)];
    Ok(String::from_utf8_lossy(head).into_owned())
}
