//! `secret.conf`, as libvirt 12.1 reads it: `encrypt_data` (values encrypted
//! at rest) and `secrets_encryption_key` (the key file). Unset, encryption is on
//! when a key file is named or systemd passed the credential
//! `secrets-encryption-key` (`$CREDENTIALS_DIRECTORY`); `encrypt_data = 1`
//! without either reads `<rundir>/secrets/encryption-key`. A key that cannot
//! be read stops start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::encryption::EncryptionKey;
use crate::virconf::ConfFile;

/// Name of the systemd credential holding the key.
pub const CREDENTIAL_NAME: &str = "secrets-encryption-key";

/// What the secret driver takes from `secret.conf` and the environment.
#[derive(Debug, Clone, Default)]
pub struct SecretConfig {
    /// The key new values are encrypted with (and encrypted values read
    /// with); `None`: encryption is off, values are written as base64.
    pub key: Option<Arc<EncryptionKey>>,
    /// Where the key came from (for logs; never its content).
    pub key_path: Option<PathBuf>,
}

impl SecretConfig {
    /// Reads `<config_dir>/secret.conf` (absent is fine) and, when encryption
    /// is on, the key. `credentials_dir` is `$CREDENTIALS_DIRECTORY`.
    pub fn load(
        config_dir: &Path,
        run_dir: &Path,
        credentials_dir: Option<&Path>,
    ) -> Result<SecretConfig, String> {
        let path = config_dir.join("secret.conf");
        let (encrypt_data, mut key_path) = match ConfFile::read(&path) {
            Ok(conf) => (
                conf.get_bool("encrypt_data").map_err(|e| e.to_string())?,
                conf.get_string("secrets_encryption_key")
                    .map_err(|e| e.to_string())?
                    .map(PathBuf::from),
            ),
            Err(e) if e.is_not_found() => (None, None),
            Err(e) => return Err(e.to_string()),
        };
        if key_path.is_none() {
            key_path = credentials_dir
                .map(|dir| dir.join(CREDENTIAL_NAME))
                .filter(|p| p.exists());
        }
        let encrypt = match encrypt_data {
            None => key_path.is_some(),
            Some(false) => false,
            Some(true) => {
                key_path.get_or_insert_with(|| run_dir.join("secrets/encryption-key"));
                true
            }
        };
        if !encrypt {
            return Ok(SecretConfig::default());
        }
        let key_path = key_path.expect("set when encryption is on");
        let key = EncryptionKey::read(&key_path).map_err(|e| {
            format!(
                "cannot load the secrets encryption key: {e} (encryption of secret values is on: \
                 give the key through secrets_encryption_key in {}, or as the systemd credential \
                 {CREDENTIAL_NAME}, or set encrypt_data = 0)",
                path.display()
            )
        })?;
        Ok(SecretConfig {
            key: Some(Arc::new(key)),
            key_path: Some(key_path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn key_file(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        std::fs::write(path, [3u8; 32]).expect("key");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    #[test]
    fn encryption_follows_the_key_unless_encrypt_data_says_otherwise() {
        let root = tempfile::tempdir().expect("tempdir");
        let (etc, run, creds) = (
            root.path().join("etc"),
            root.path().join("run"),
            root.path().join("creds"),
        );
        std::fs::create_dir_all(&etc).expect("etc");
        std::fs::create_dir_all(&creds).expect("creds");
        let load = |creds: Option<&Path>| SecretConfig::load(&etc, &run, creds);
        // Nothing configured, no credential: off.
        assert!(load(None).expect("load").key.is_none());
        assert!(load(Some(&creds)).expect("load").key.is_none());
        // The systemd credential turns it on.
        key_file(&creds.join(CREDENTIAL_NAME));
        let on = load(Some(&creds)).expect("load");
        assert!(on.key.is_some());
        assert_eq!(on.key_path, Some(creds.join(CREDENTIAL_NAME)));
        // encrypt_data = 0 wins over the credential.
        std::fs::write(etc.join("secret.conf"), "encrypt_data = 0\n").expect("conf");
        assert!(load(Some(&creds)).expect("load").key.is_none());
        // encrypt_data = 1 without a key: the built-in path, which is missing.
        std::fs::write(etc.join("secret.conf"), "encrypt_data = 1\n").expect("conf");
        let err = load(None).expect_err("no key");
        assert!(err.contains("run/secrets/encryption-key"), "{err}");
        assert!(err.contains("No such file or directory"), "{err}");
        key_file(&run.join("secrets/encryption-key"));
        assert!(load(None).expect("load").key.is_some());
        // An explicit path wins over the credential.
        let own = root.path().join("own-key");
        std::fs::write(
            etc.join("secret.conf"),
            format!("secrets_encryption_key = \"{}\"\n", own.display()),
        )
        .expect("conf");
        let err = load(Some(&creds)).expect_err("missing own key");
        assert!(err.contains("own-key"), "{err}");
        key_file(&own);
        assert_eq!(load(Some(&creds)).expect("load").key_path, Some(own));
        std::fs::write(etc.join("secret.conf"), "encrypt_data = \"yes\"\n").expect("conf");
        assert!(load(None).is_err());
    }
}
