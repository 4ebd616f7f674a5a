//! `secret.conf`: libvirt 12.1 added `encrypt_data` (values encrypted at rest with
//! a key from `$CREDENTIALS_DIRECTORY/secrets-encryption-key`). This daemon stores
//! values as libvirt 9.0 does (base64, 0600), so asking for encryption stops
//! start-up rather than silently keeping values in the clear.

use std::path::Path;

use crate::virconf::ConfFile;

/// Checks `<confdir>/secret.conf` (absent is fine); the error says what to change.
pub fn check_secret_conf(config_dir: &Path) -> Result<(), String> {
    let path = config_dir.join("secret.conf");
    let conf = match ConfFile::read(&path) {
        Ok(conf) => conf,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    match conf.get_bool("encrypt_data") {
        Ok(None) | Ok(Some(false)) => Ok(()),
        Ok(Some(true)) => Err(format!(
            "{}: encrypt_data = 1 is not supported: this daemon stores secret values as libvirt 9.0 does (base64 in 0600 files under the secrets directory); remove encrypt_data or set it to 0",
            path.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_is_refused_and_its_absence_accepted() {
        let dir = std::env::temp_dir().join(format!("secret-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        assert_eq!(check_secret_conf(&dir), Ok(()));
        std::fs::write(dir.join("secret.conf"), "encrypt_data = 0\n").expect("write");
        assert_eq!(check_secret_conf(&dir), Ok(()));
        std::fs::write(dir.join("secret.conf"), "encrypt_data = 1\n").expect("write");
        let err = check_secret_conf(&dir).expect_err("refused");
        assert!(err.contains("encrypt_data = 1 is not supported"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
