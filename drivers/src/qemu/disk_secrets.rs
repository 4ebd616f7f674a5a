//! LUKS-encrypted disks (`<encryption format='luks'><secret type='passphrase'
//! uuid='...'/></encryption>`), given to QEMU the way libvirt 9.0 does: a random
//! 32-byte master key in a 0600 file of the guest's private directory
//! (`-object secret,id=masterKey0,format=raw,file=...`), and each disk's
//! passphrase from the secret driver AES-256-CBC-encrypted with it
//! (`-object secret,...,keyid=masterKey0,iv=...,format=base64`), so that no
//! passphrase appears on a command line or in a file in the clear.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use base64::Engine;

use super::error::QemuError;
use crate::api::{parse_uuid, SecretDriver, Uuid};
use crate::domain_xml::{DomainDef, Element};

/// The id of the master key object, as libvirt names it.
pub const MASTER_KEY_ID: &str = "masterKey0";

/// What the command line needs for the encrypted disks of one start.
#[derive(Debug, Default)]
pub struct DiskSecrets {
    /// The master key file, when any disk is encrypted.
    pub master_key_file: Option<String>,
    /// Per disk (by target dev): the secret object's id and its `-object` value.
    pub disks: Vec<(String, String, String)>,
}

impl DiskSecrets {
    /// The secret object id and `-object` value of the disk with target `dev`.
    pub fn for_disk(&self, dev: &str) -> Option<(&str, &str)> {
        self.disks
            .iter()
            .find(|(d, _, _)| d == dev)
            .map(|(_, id, object)| (id.as_str(), object.as_str()))
    }
}

/// The `<encryption>` of a disk (inside `<source>`, where libvirt 9.0 writes it,
/// or directly in `<disk>`).
fn encryption(disk: &Element) -> Option<&Element> {
    disk.child("source")
        .and_then(|s| s.child("encryption"))
        .or_else(|| disk.child("encryption"))
}

/// The passphrase secret's UUID of a LUKS disk; `None` for an unencrypted one.
fn luks_secret(disk: &Element) -> Result<Option<Uuid>, QemuError> {
    let Some(enc) = encryption(disk) else {
        return Ok(None);
    };
    match enc.attr("format") {
        Some("luks") => {}
        Some(other) => {
            return Err(QemuError::Unsupported(format!(
                "encryption format '{other}' is not supported by this qemu driver"
            )))
        }
        None => {
            return Err(QemuError::Unsupported(
                "missing encryption format of a disk".into(),
            ))
        }
    }
    let secret = enc
        .children
        .iter()
        .find(|c| c.name == "secret" && c.attr("type") == Some("passphrase"))
        .ok_or_else(|| {
            QemuError::Unsupported("LUKS encryption needs a passphrase secret".into())
        })?;
    let text = secret.attr("uuid").ok_or_else(|| {
        QemuError::Unsupported(
            "only secrets named by uuid are supported for disk encryption".into(),
        )
    })?;
    parse_uuid(text)
        .map(Some)
        .ok_or_else(|| QemuError::Unsupported(format!("malformed secret uuid '{text}'")))
}

fn random<const N: usize>() -> Result<[u8; N], QemuError> {
    let mut bytes = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| QemuError::io("cannot read random bytes", Path::new("/dev/urandom"), e))?;
    Ok(bytes)
}

/// AES-256-CBC with PKCS#7 padding, what QEMU's `secret` object decrypts.
fn encrypt(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plain)
}

/// The private directory of guest `name` (`<lib dir>/domain-NAME`, 0700).
pub fn private_dir(lib_dir: &Path, name: &str) -> PathBuf {
    lib_dir.join(format!("domain-{name}"))
}

fn write_master_key(dir: &Path, key: &[u8; 32]) -> Result<PathBuf, QemuError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| QemuError::io("cannot create directory", dir, e))?;
    let path = dir.join("master-key.aes");
    let temp = dir.join(".master-key.aes.new");
    let _ = fs::remove_file(&temp);
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(key)?;
        file.sync_all()?;
        fs::rename(&temp, &path)
    };
    write().map_err(|e| QemuError::io("cannot write master key", &path, e))?;
    Ok(path)
}

/// Prepares the secrets of `def`'s encrypted disks: nothing when it has none.
pub fn prepare(
    def: &DomainDef,
    secrets: Option<&dyn SecretDriver>,
    private_dir: &Path,
) -> Result<DiskSecrets, QemuError> {
    let mut wanted = Vec::new();
    for disk in def.devices.iter().filter(|d| d.name == "disk") {
        if let Some(uuid) = luks_secret(disk)? {
            let dev = disk
                .child("target")
                .and_then(|t| t.attr("dev"))
                .unwrap_or("")
                .to_string();
            wanted.push((dev, uuid));
        }
    }
    if wanted.is_empty() {
        return Ok(DiskSecrets::default());
    }
    let Some(secrets) = secrets else {
        return Err(QemuError::Unsupported(
            "encrypted disks need the secret driver, which this daemon cannot reach".into(),
        ));
    };
    let key: [u8; 32] = random()?;
    let key_file = write_master_key(private_dir, &key)?;
    let mut out = DiskSecrets {
        master_key_file: Some(key_file.display().to_string()),
        disks: Vec::new(),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    for (index, (dev, uuid)) in wanted.into_iter().enumerate() {
        let value = secrets
            .value_for_daemon(&uuid)
            .map_err(|e| QemuError::Failed(e.message))?;
        let iv: [u8; 16] = random()?;
        let id = format!("libvirt-{}-format-encryption-secret0", index + 1);
        let object = format!(
            "secret,id={id},data={},keyid={MASTER_KEY_ID},iv={},format=base64",
            b64.encode(encrypt(&key, &iv, &value)),
            b64.encode(iv)
        );
        out.disks.push((dev, id, object));
    }
    Ok(out)
}

/// Removes the master key of a guest that stopped.
pub fn forget(private_dir: &Path) {
    let _ = fs::remove_file(private_dir.join("master-key.aes"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockDecryptMut;

    #[test]
    fn ciphertext_decrypts_with_the_master_key() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let ct = encrypt(&key, &iv, b"passphrase");
        assert_eq!(ct.len(), 16);
        let plain = cbc::Decryptor::<aes::Aes256>::new((&key).into(), (&iv).into())
            .decrypt_padded_vec_mut::<Pkcs7>(&ct)
            .expect("decrypts");
        assert_eq!(plain, b"passphrase");
    }

    #[test]
    fn reads_the_secret_of_a_luks_disk() {
        let xml = "<domain type='qemu'><name>g</name><memory>1024</memory>\
                   <os><type arch='x86_64'>hvm</type></os><devices>\
                   <disk type='file'><source file='/x'><encryption format='luks'>\
                   <secret type='passphrase' uuid='6b7c1d0e-0000-4000-8000-000000000001'/>\
                   </encryption></source><target dev='vdb'/></disk></devices></domain>";
        let def =
            crate::domain_xml::parse_domain_xml(xml, &super::super::defaults::parse_options())
                .expect("parses");
        let disk = def.devices.iter().find(|d| d.name == "disk").expect("disk");
        assert!(luks_secret(disk).expect("valid").is_some());
        let dir = tempfile::tempdir().expect("tempdir");
        let err = prepare(&def, None, dir.path()).expect_err("no secret driver");
        assert!(err.to_string().contains("secret driver"), "{err}");
    }
}
