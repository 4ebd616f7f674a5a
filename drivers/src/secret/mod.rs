//! The secret driver: secrets defined by clients, persistent ones kept as
//! `<confdir>/secrets/UUID.xml` with their value in `UUID.base64` (both 0600,
//! written atomically), ephemeral ones only in memory, as libvirt 9.0 keeps them;
//! with a key (secret.conf, as libvirt 12.1) values are written encrypted to
//! `UUID.aes256cbc` instead.

mod conf;
mod connection;
mod encryption;
mod primary;
mod xml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;

use crate::api::{
    codes, domains, format_uuid, secret_event, DriverError, DriverResult, SecretEvent,
    SecretEventKind, SecretEventSink, SecretHandle, Uuid,
};
use crate::fsutil;

pub use conf::{SecretConfig, CREDENTIAL_NAME};
pub use connection::SecretDriverHandle;
pub use encryption::EncryptionKey;
pub use primary::SecretPrimaryDriver;
pub use xml::SecretDef;

/// Where the driver keeps its files.
#[derive(Clone, Debug)]
pub struct SecretPaths {
    /// `<confdir>/secrets`: definitions and values of persistent secrets.
    pub config_dir: PathBuf,
    /// `<rundir>/secrets`.
    pub state_dir: PathBuf,
}

impl SecretPaths {
    pub fn new(config_dir: &Path, run_dir: &Path) -> Self {
        SecretPaths {
            config_dir: config_dir.join("secrets"),
            state_dir: run_dir.join("secrets"),
        }
    }
}

struct Secret {
    def: SecretDef,
    value: Option<Vec<u8>>,
}

/// A value leaves no copy behind in freed memory.
impl Drop for Secret {
    fn drop(&mut self) {
        if let Some(value) = &mut self.value {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

impl Secret {
    fn handle(&self) -> SecretHandle {
        handle_of(&self.def)
    }
}

fn handle_of(def: &SecretDef) -> SecretHandle {
    SecretHandle {
        uuid: def.uuid,
        usage_type: def.usage_type,
        usage_id: def.usage_id.clone(),
    }
}

fn system_error(e: fsutil::FsError) -> DriverError {
    DriverError::new(codes::SYSTEM_ERROR, domains::SECRET, e.to_string())
}

fn no_secret_uuid(uuid: &Uuid) -> DriverError {
    DriverError::new(
        codes::NO_SECRET,
        domains::SECRET,
        format!("no secret with matching uuid '{}'", format_uuid(uuid)),
    )
}

/// Every secret of the daemon, by UUID.
pub struct Secrets {
    paths: SecretPaths,
    /// Set: values are written encrypted with it (secret.conf).
    key: Option<Arc<EncryptionKey>>,
    list: Mutex<BTreeMap<Uuid, Secret>>,
    sink: SecretEventSink,
}

impl Secrets {
    /// Loads the persistent secrets; problems with single files are returned
    /// (the file is skipped), as libvirt logs and skips them.
    pub fn new(paths: SecretPaths, sink: SecretEventSink) -> (Arc<Secrets>, Vec<String>) {
        Self::with_config(paths, &SecretConfig::default(), sink)
    }

    /// Like [`Secrets::new`], values encrypted as `config` says.
    pub fn with_config(
        paths: SecretPaths,
        config: &SecretConfig,
        sink: SecretEventSink,
    ) -> (Arc<Secrets>, Vec<String>) {
        let secrets = Arc::new(Secrets {
            paths,
            key: config.key.clone(),
            list: Mutex::new(BTreeMap::new()),
            sink,
        });
        let mut problems = Vec::new();
        for dir in [&secrets.paths.config_dir, &secrets.paths.state_dir] {
            if let Err(e) = fsutil::create_private_dir(dir) {
                problems.push(e.to_string());
            }
        }
        problems.extend(secrets.load_all());
        (secrets, problems)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Uuid, Secret>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn xml_path(&self, uuid: &Uuid) -> PathBuf {
        self.paths
            .config_dir
            .join(format!("{}.xml", format_uuid(uuid)))
    }

    fn value_path(&self, uuid: &Uuid) -> PathBuf {
        self.paths
            .config_dir
            .join(format!("{}.base64", format_uuid(uuid)))
    }

    fn encrypted_value_path(&self, uuid: &Uuid) -> PathBuf {
        self.paths.config_dir.join(format!(
            "{}.{}",
            format_uuid(uuid),
            encryption::ENCRYPTED_SUFFIX
        ))
    }

    /// Both files a value may be stored in, encrypted first.
    fn value_paths(&self, uuid: &Uuid) -> [PathBuf; 2] {
        [self.encrypted_value_path(uuid), self.value_path(uuid)]
    }

    /// Reads every `UUID.xml` (and its value) of the config directory; secrets
    /// already known are replaced by what is on disk, ephemeral ones are kept.
    pub fn load_all(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let entries = match std::fs::read_dir(&self.paths.config_dir) {
            Ok(entries) => entries,
            Err(e) => {
                return vec![format!(
                    "cannot read '{}': {e}",
                    self.paths.config_dir.display()
                )]
            }
        };
        let mut loaded = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("xml") {
                continue;
            }
            match self.load_one(&path) {
                Ok(secret) => loaded.push(secret),
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
        let mut list = self.lock();
        for secret in loaded {
            list.insert(secret.def.uuid, secret);
        }
        problems
    }

    fn load_one(&self, path: &Path) -> Result<Secret, String> {
        let text = read_bounded(path, xml::MAX_SECRET_XML)?;
        let text = String::from_utf8(text).map_err(|_| "not UTF-8".to_string())?;
        let def = SecretDef::parse(&text).map_err(|e| e.message)?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != format_uuid(&def.uuid) {
            return Err(format!(
                "<uuid> does not match secret file name '{}'",
                path.display()
            ));
        }
        if def.ephemeral {
            return Err("an ephemeral secret is never stored".to_string());
        }
        let value = self.load_value(&def.uuid)?;
        Ok(Secret { def, value })
    }

    /// The stored value: the encrypted file, then the base64 one (which wins
    /// when both exist, as in libvirt; a write removes the other).
    fn load_value(&self, uuid: &Uuid) -> Result<Option<Vec<u8>>, String> {
        let mut value = None;
        let encrypted = self.encrypted_value_path(uuid);
        match read_bounded(&encrypted, 2 * VALUE_MAX + 64) {
            Ok(text) => {
                let text = zeroize::Zeroizing::new(text);
                let key = self.key.as_ref().ok_or_else(|| {
                    format!(
                        "'{}' holds an encrypted value but encryption of secret values is off \
                         (encrypt_data = 0 or no key)",
                        encrypted.display()
                    )
                })?;
                value = Some(key.open(&text).map_err(|e| {
                    format!("cannot decrypt the value in '{}': {e}", encrypted.display())
                })?);
            }
            Err(_) if !encrypted.exists() => {}
            Err(e) => return Err(e),
        }
        let plain = self.value_path(uuid);
        match read_bounded(&plain, 2 * VALUE_MAX + 16) {
            Ok(text) => {
                let text = zeroize::Zeroizing::new(text);
                value = Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.trim_ascii())
                        .map_err(|e| {
                            format!("invalid secret value in '{}': {e}", plain.display())
                        })?,
                );
            }
            Err(_) if !plain.exists() => {}
            Err(e) => return Err(e),
        }
        Ok(value)
    }

    fn save_config(&self, def: &SecretDef) -> DriverResult<()> {
        fsutil::atomic_write(&self.xml_path(&def.uuid), def.format().as_bytes())
            .map_err(system_error)
    }

    /// Writes the value encrypted when there is a key (base64 otherwise), then
    /// removes the file of the other format.
    fn save_value(&self, uuid: &Uuid, value: &[u8]) -> DriverResult<()> {
        let (path, text) = match &self.key {
            Some(key) => (
                self.encrypted_value_path(uuid),
                zeroize::Zeroizing::new(key.seal(value).map_err(internal)?),
            ),
            None => (
                self.value_path(uuid),
                zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(value)),
            ),
        };
        fsutil::atomic_write(&path, text.as_bytes()).map_err(system_error)?;
        for other in self.value_paths(uuid) {
            if other != path {
                let _ = fsutil::remove_if_exists(&other);
            }
        }
        Ok(())
    }

    fn remove_values(&self, uuid: &Uuid) {
        for path in self.value_paths(uuid) {
            let _ = fsutil::remove_if_exists(&path);
        }
    }

    fn delete_files(&self, uuid: &Uuid) -> DriverResult<()> {
        fsutil::remove_if_exists(&self.xml_path(uuid)).map_err(system_error)?;
        for path in self.value_paths(uuid) {
            fsutil::remove_if_exists(&path).map_err(system_error)?;
        }
        Ok(())
    }

    fn emit(&self, secret: SecretHandle, kind: SecretEventKind) {
        (self.sink)(SecretEvent { secret, kind });
    }

    pub fn handles(&self) -> Vec<(SecretHandle, bool, bool)> {
        self.lock()
            .values()
            .map(|s| (s.handle(), s.def.ephemeral, s.def.private))
            .collect()
    }

    pub fn lookup_uuid(&self, uuid: &Uuid) -> DriverResult<SecretHandle> {
        self.lock()
            .get(uuid)
            .map(Secret::handle)
            .ok_or_else(|| no_secret_uuid(uuid))
    }

    /// A usage of type "none" never matches, as in libvirt.
    pub fn lookup_usage(&self, usage_type: i32, id: &str) -> DriverResult<SecretHandle> {
        self.lock()
            .values()
            .find(|s| {
                s.def.usage_type == usage_type
                    && usage_type != crate::api::secret_usage::NONE
                    && s.def.usage_id == id
            })
            .map(Secret::handle)
            .ok_or_else(|| {
                DriverError::new(
                    codes::NO_SECRET,
                    domains::SECRET,
                    format!("no secret with matching usage '{id}'"),
                )
            })
    }

    /// Defines a new secret or redefines one with the same UUID (its value is kept).
    pub fn define(&self, xml: &str) -> DriverResult<SecretHandle> {
        let def = SecretDef::parse(xml)?;
        let uuid_text = format_uuid(&def.uuid);
        let mut list = self.lock();
        let old = list
            .get(&def.uuid)
            .map(|s| (s.def.clone(), s.value.clone()));
        match &old {
            Some((old_def, _)) => {
                if old_def.usage_type != def.usage_type || old_def.usage_id != def.usage_id {
                    return Err(internal(format!(
                        "a secret with UUID {uuid_text} is already defined for use with {}",
                        old_def.usage_id
                    )));
                }
                if old_def.private && !def.private {
                    return Err(internal("cannot change private flag on existing secret"));
                }
            }
            None => {
                if def.usage_type != crate::api::secret_usage::NONE {
                    if let Some(other) = list.values().find(|s| {
                        s.def.usage_type == def.usage_type && s.def.usage_id == def.usage_id
                    }) {
                        return Err(internal(format!(
                            "a secret with UUID {} already defined for use with {}",
                            format_uuid(&other.def.uuid),
                            def.usage_id
                        )));
                    }
                }
            }
        }
        let value = old.as_ref().and_then(|(_, v)| v.clone());
        if !def.ephemeral {
            let was_ephemeral = old.as_ref().is_some_and(|(d, _)| d.ephemeral);
            if was_ephemeral {
                if let Some(v) = &value {
                    self.save_value(&def.uuid, v)?;
                }
            }
            if let Err(e) = self.save_config(&def) {
                if was_ephemeral {
                    self.remove_values(&def.uuid);
                }
                return Err(e);
            }
        } else if old.as_ref().is_some_and(|(d, _)| !d.ephemeral) {
            self.delete_files(&def.uuid)?;
        }
        let handle = handle_of(&def);
        list.insert(def.uuid, Secret { def, value });
        drop(list);
        self.emit(
            handle.clone(),
            SecretEventKind::Lifecycle {
                event: secret_event::DEFINED,
                detail: 0,
            },
        );
        Ok(handle)
    }

    pub fn xml_desc(&self, uuid: &Uuid) -> DriverResult<String> {
        self.lock()
            .get(uuid)
            .map(|s| s.def.format())
            .ok_or_else(|| no_secret_uuid(uuid))
    }

    pub fn set_value(&self, uuid: &Uuid, value: &[u8]) -> DriverResult<()> {
        let mut list = self.lock();
        let secret = list.get_mut(uuid).ok_or_else(|| no_secret_uuid(uuid))?;
        if !secret.def.ephemeral {
            self.save_value(uuid, value)?;
        }
        if let Some(mut old) = secret.value.replace(value.to_vec()) {
            zeroize::Zeroize::zeroize(&mut old);
        }
        let handle = secret.handle();
        drop(list);
        self.emit(handle, SecretEventKind::ValueChanged);
        Ok(())
    }

    /// The value for a client: refused on a private secret, as libvirt refuses it.
    pub fn get_value(&self, uuid: &Uuid) -> DriverResult<Vec<u8>> {
        self.value(uuid, false)
    }

    /// The value for the daemons' own use (or a client holding the system
    /// identity): private secrets too.
    pub fn internal_value(&self, uuid: &Uuid) -> DriverResult<Vec<u8>> {
        self.value(uuid, true)
    }

    fn value(&self, uuid: &Uuid, internal: bool) -> DriverResult<Vec<u8>> {
        let list = self.lock();
        let secret = list.get(uuid).ok_or_else(|| no_secret_uuid(uuid))?;
        if secret.def.private && !internal {
            return Err(DriverError::new(
                codes::INVALID_SECRET,
                domains::SECRET,
                "secret is private",
            ));
        }
        secret.value.clone().ok_or_else(|| {
            DriverError::new(
                codes::NO_SECRET,
                domains::SECRET,
                format!("secret '{}' does not have a value", format_uuid(uuid)),
            )
        })
    }

    pub fn undefine(&self, uuid: &Uuid) -> DriverResult<()> {
        let mut list = self.lock();
        let handle = list
            .get(uuid)
            .map(Secret::handle)
            .ok_or_else(|| no_secret_uuid(uuid))?;
        fsutil::remove_if_exists(&self.xml_path(uuid)).map_err(system_error)?;
        self.remove_values(uuid);
        list.remove(uuid);
        drop(list);
        self.emit(
            handle,
            SecretEventKind::Lifecycle {
                event: secret_event::UNDEFINED,
                detail: 0,
            },
        );
        Ok(())
    }
}

/// Largest value (the protocol's `REMOTE_SECRET_VALUE_MAX`).
pub const VALUE_MAX: usize = 65_536;

fn internal(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::INTERNAL_ERROR, domains::SECRET, detail)
}

/// Reads a file of at most `max` bytes without following a symlink.
fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("cannot open '{}': {e}", path.display()))?;
    let mut out = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    if out.len() > max {
        return Err(format!("'{}' is too large", path.display()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
