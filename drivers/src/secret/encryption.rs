//! Secret values encrypted at rest, in libvirt 12.1's format: a 32-byte key,
//! AES-256-CBC with PKCS#7 padding and a random 16-byte IV per write, the file
//! `UUID.aes256cbc` holding base64(IV || ciphertext) with no line breaks.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use zeroize::{Zeroize, Zeroizing};

/// Length of the key, in bytes (libvirt's `VIR_SECRETS_ENCRYPTION_KEY_LEN`).
pub const KEY_LEN: usize = 32;
/// Length of the IV stored in front of the ciphertext.
const IV_LEN: usize = 16;
/// Suffix of encrypted value files.
pub const ENCRYPTED_SUFFIX: &str = "aes256cbc";

/// The key; its bytes are wiped when it is dropped and never printed.
pub struct EncryptionKey([u8; KEY_LEN]);

impl Drop for EncryptionKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(..)")
    }
}

impl EncryptionKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        EncryptionKey(bytes)
    }

    /// Reads the key file: a regular file (not a symlink) of exactly
    /// [`KEY_LEN`] bytes, owned by this process's user or root, and neither
    /// readable nor writable by group or others.
    pub fn read(path: &Path) -> Result<EncryptionKey, String> {
        let shown = path.display();
        let file = std::fs::OpenOptions::new()
            .read(true)
            // O_NONBLOCK: a FIFO in its place must not hang start-up.
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| format!("Failed to open file '{shown}': {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot stat '{shown}': {e}"))?;
        if !meta.is_file() {
            return Err(format!("'{shown}' is not a regular file"));
        }
        let euid = rustix::process::geteuid().as_raw();
        if meta.uid() != euid && meta.uid() != 0 {
            return Err(format!(
                "'{shown}' is owned by uid {}, not by uid {euid} or root",
                meta.uid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "'{shown}' is accessible by group or others (mode {:04o}); make it 0600 or 0400",
                meta.mode() & 0o7777
            ));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        file.take(KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("Failed to read file '{shown}': {e}"))?;
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "Encryption key length must be '{KEY_LEN}' '{shown}' (it has {}{} bytes)",
                bytes.len().min(KEY_LEN),
                if bytes.len() > KEY_LEN {
                    " or more"
                } else {
                    ""
                }
            )
        })?;
        Ok(EncryptionKey(key))
    }

    /// base64(IV || AES-256-CBC(value)) with a fresh random IV.
    pub fn seal(&self, value: &[u8]) -> Result<String, String> {
        use base64::Engine;
        let mut iv = [0u8; IV_LEN];
        rustix::rand::getrandom(&mut iv, rustix::rand::GetRandomFlags::empty())
            .map_err(|e| format!("cannot get random bytes: {e}"))
            .and_then(|n| {
                (n == IV_LEN)
                    .then_some(())
                    .ok_or_else(|| "short read of random bytes".to_string())
            })?;
        let mut out = Zeroizing::new(iv.to_vec());
        out.extend(
            cbc::Encryptor::<aes::Aes256>::new((&self.0).into(), (&iv).into())
                .encrypt_padded_vec_mut::<Pkcs7>(value),
        );
        Ok(base64::engine::general_purpose::STANDARD.encode(out.as_slice()))
    }

    /// The value in the text of an `.aes256cbc` file.
    pub fn open(&self, text: &[u8]) -> Result<Vec<u8>, String> {
        use base64::Engine;
        let data = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim_ascii())
                .map_err(|e| format!("invalid base64: {e}"))?,
        );
        if data.len() < IV_LEN + 16 || !(data.len() - IV_LEN).is_multiple_of(16) {
            return Err(format!("Encrypted secret size '{}' is invalid", data.len()));
        }
        let (iv, cipher) = data.split_at(IV_LEN);
        let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| "short IV".to_string())?;
        cbc::Decryptor::<aes::Aes256>::new((&self.0).into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(cipher)
            .map_err(|_| {
                "the value does not decrypt with this key (a different key, or a damaged file)"
                    .to_string()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let key = EncryptionKey::from_bytes([7; KEY_LEN]);
        let sealed = key.seal(b"hunter2").expect("seal");
        assert!(!sealed.contains("aHVudGVyMg"), "{sealed}");
        assert_ne!(sealed, key.seal(b"hunter2").expect("seal"), "a fresh IV");
        assert_eq!(key.open(sealed.as_bytes()).expect("open"), b"hunter2");
        assert_eq!(
            key.open(key.seal(b"").expect("seal").as_bytes())
                .expect("open"),
            b""
        );
        // A wrong key almost never passes the padding check; it never yields the value.
        let other = EncryptionKey::from_bytes([8; KEY_LEN]);
        assert_ne!(
            other.open(sealed.as_bytes()).ok().as_deref(),
            Some(&b"hunter2"[..])
        );
        let err = key.open(b"AAAA").expect_err("too short");
        assert!(
            err.contains("Encrypted secret size '3' is invalid"),
            "{err}"
        );
    }

    #[test]
    fn key_files_are_checked_strictly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        let write = |bytes: &[u8], mode: u32| {
            std::fs::write(&path, bytes).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        write(&[1; KEY_LEN], 0o600);
        assert!(EncryptionKey::read(&path).is_ok());
        write(&[1; KEY_LEN], 0o400);
        assert!(EncryptionKey::read(&path).is_ok());
        write(&[1; KEY_LEN], 0o644);
        let err = EncryptionKey::read(&path).expect_err("world-readable");
        assert!(err.contains("mode 0644"), "{err}");
        write(&[1; 31], 0o600);
        let err = EncryptionKey::read(&path).expect_err("short");
        assert!(
            err.contains("Encryption key length must be '32'") && err.contains("31 bytes"),
            "{err}"
        );
        write(&[1; 33], 0o600);
        let err = EncryptionKey::read(&path).expect_err("long");
        assert!(err.contains("32 or more bytes"), "{err}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("fifo");
        let err = EncryptionKey::read(&fifo).expect_err("fifo");
        assert!(err.contains("not a regular file"), "{err}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert!(
            EncryptionKey::read(&link).is_err(),
            "a symlink is not followed"
        );
        let err = EncryptionKey::read(&dir.path().join("absent")).expect_err("absent");
        assert!(err.contains("Failed to open file"), "{err}");
    }
}
