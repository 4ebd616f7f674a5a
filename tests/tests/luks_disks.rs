//! LUKS-encrypted qcow2 volumes whose passphrase is a private secret, created by
//! the storage driver (qemu-img reads the passphrase from a 0600 file); QEMU gets a
//! master key file (0600, in the guest's private directory) and the passphrase
//! AES-encrypted with it, never in the clear; the guest reads the data written
//! into the volume before. Run under libvirtd, and under virtstoraged and
//! virtqemud, which read the private secret from virtsecretd; and with the
//! passphrase encrypted at rest (secret.conf), read back after a restart.

mod network_support;
mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline};
use integration_tests::{virsh, wait_until};
use network_support::NetHost;
use qemu_support::{tiny_guest, QemuHost, BOOT_TIMEOUT};

const SECRET_UUID: &str = "0a81f5b2-8403-4a8c-9b0e-1a2b3c4d5e6f";
const PASSPHRASE: &str = "correct horse battery staple";
const MARKER: &str = "TINYLUKSMARKER-42";

/// Retries `attempt` while it fails only because QEMU's PBKDF benchmark, timed
/// by thread CPU time, came out unusable on a loaded host ("Unable to get
/// accurate CPU usage"); any other failure is returned at once.
fn retry_pbkdf_benchmark(
    mut attempt: impl FnMut() -> integration_tests::CmdOutput,
) -> integration_tests::CmdOutput {
    for _ in 0..10 {
        let out = attempt();
        if out.success() || !out.stderr.contains("Unable to get accurate CPU usage") {
            return out;
        }
    }
    attempt()
}

/// Creates the LUKS qcow2 volume `data.qcow2` in a new dir pool `lp` through
/// `storage`, then writes [`MARKER`] into it through the passphrase (qemu-img
/// reads it from a 0600 file). Returns the volume's path.
fn make_luks_volume(dir: &Path, storage: &str) -> PathBuf {
    let qemu_img = require_tool("qemu-img", "qemu-utils");
    let pool = dir.join("lpool");
    let out = virsh(
        storage,
        &format!("pool-create-as lp dir --target {} --build", pool.display()),
    );
    assert!(out.success(), "{out}");
    let vol_xml = dir.join("vol.xml");
    fs::write(
        &vol_xml,
        format!(
            "<volume><name>data.qcow2</name><capacity unit='MiB'>16</capacity>\
             <target><format type='qcow2'/><encryption format='luks'>\
             <secret type='passphrase' uuid='{SECRET_UUID}'/></encryption></target></volume>"
        ),
    )
    .expect("volume xml");
    let out =
        retry_pbkdf_benchmark(|| virsh(storage, &format!("vol-create lp {}", vol_xml.display())));
    assert!(out.success(), "vol-create: {out}");
    let image = pool.join("data.qcow2");
    let info = run_with_deadline(
        Command::new(&qemu_img).args(["info", &image.display().to_string()]),
        Duration::from_secs(30),
    );
    assert!(info.stdout.contains("encrypted: yes"), "{info}");

    let plain = dir.join("plain.raw");
    let mut data = MARKER.as_bytes().to_vec();
    data.resize(1 << 20, 0);
    fs::write(&plain, data).expect("plain image");
    let key = dir.join("passphrase");
    fs::write(&key, PASSPHRASE).expect("passphrase file");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = run_with_deadline(
        Command::new(&qemu_img).args([
            "convert",
            "-n",
            "--object",
            &format!("secret,id=sec0,file={}", key.display()),
            "-f",
            "raw",
            "--target-image-opts",
            &plain.display().to_string(),
            &format!(
                "driver=qcow2,file.filename={},encrypt.key-secret=sec0",
                image.display()
            ),
        ]),
        Duration::from_secs(60),
    );
    fs::remove_file(&key).expect("remove passphrase file");
    assert!(
        out.success(),
        "the volume opens with the secret's passphrase: {out}"
    );
    let leftovers: Vec<_> = fs::read_dir(dir.join("run/libvirt/storage"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !leftovers
            .iter()
            .any(|n| n.to_string_lossy().contains("secret")),
        "no passphrase file is left behind: {leftovers:?}"
    );
    image
}

fn secret_xml() -> String {
    format!(
        "<secret ephemeral='no' private='yes'><uuid>{SECRET_UUID}</uuid>\
         <usage type='volume'><volume>/luks/data.qcow2</volume></usage></secret>"
    )
}

/// Defines the private secret through `uri` and gives it the passphrase.
fn define_secret(dir: &Path, uri: &str) {
    let file = dir.join("secret.xml");
    fs::write(&file, secret_xml()).expect("secret xml");
    let out = virsh(uri, &format!("secret-define {}", file.display()));
    assert!(out.success(), "{out}");
    let key = dir.join("passphrase.txt");
    fs::write(&key, PASSPHRASE).expect("passphrase file");
    let encoded = run_with_deadline(
        Command::new(require_tool("base64", "coreutils")).args(["-w0", &key.display().to_string()]),
        Duration::from_secs(10),
    );
    fs::remove_file(&key).expect("remove passphrase file");
    let b64 = encoded.stdout.trim().to_string();
    let out = virsh(uri, &format!("secret-set-value {SECRET_UUID} {b64}"));
    assert!(out.success(), "{out}");
    let out = virsh(uri, &format!("secret-get-value {SECRET_UUID}"));
    assert!(
        !out.success() && out.stderr.contains("secret is private"),
        "clients never read a private secret: {out}"
    );
}

fn guest_xml(name: &str, serial: &Path) -> String {
    let (kernel, initrd) = tiny_guest();
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>\
         <cmdline>console=ttyS0 quiet</cmdline></os><features><acpi/></features>\
         <devices><serial type='file'><source path='{}'/></serial>\
         <disk type='volume' device='disk'>\
         <source pool='lp' volume='data.qcow2'><encryption format='luks'>\
         <secret type='passphrase' uuid='{SECRET_UUID}'/></encryption></source>\
         <target dev='vda' bus='virtio'/></disk></devices></domain>",
        kernel.display(),
        initrd.display(),
        serial.display()
    )
}

fn qemu_cmdline(root: &Path) -> String {
    let marker = root.display().to_string();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&raw).replace('\0', " ");
        if text.contains("qemu-system") && text.contains(&marker) {
            return text;
        }
    }
    String::new()
}

/// Starts the guest through `uri`, waits for it to print the marker read from its
/// disk, and checks what QEMU was given.
fn boot_and_read(root: &Path, uri: &str, storage: &str, lib_dir: &Path) {
    let image = make_luks_volume(root, storage);
    let serial = root.join("g1.serial");
    let file = root.join("g1.xml");
    fs::write(&file, guest_xml("g1", &serial)).expect("guest xml");
    let out = virsh(uri, &format!("define {}", file.display()));
    assert!(out.success(), "{out}");
    let out = virsh(uri, "start g1");
    assert!(out.success(), "{out}");
    let wanted = format!("TINY-GUEST-DISK-DATA vda {MARKER}");
    let mut console = String::new();
    let read = wait_until(BOOT_TIMEOUT, || {
        console = fs::read_to_string(&serial).unwrap_or_default();
        console.contains(&wanted)
    });
    assert!(read, "the guest did not read the marker:\n{console}");

    let cmdline = qemu_cmdline(root);
    let key_file: PathBuf = lib_dir.join("domain-g1/master-key.aes");
    assert!(
        cmdline.contains(&format!(
            "secret,id=masterKey0,format=raw,file={}",
            key_file.display()
        )),
        "{cmdline}"
    );
    assert!(
        cmdline.contains("keyid=masterKey0,iv=") && cmdline.contains("encrypt.format=luks"),
        "{cmdline}"
    );
    assert!(
        !cmdline.contains(PASSPHRASE),
        "passphrase in the clear: {cmdline}"
    );
    assert!(
        cmdline.contains(&format!(
            "file={},format=qcow2,encrypt.format=luks",
            image.display()
        )),
        "{cmdline}"
    );
    let meta = fs::metadata(&key_file).expect("master key file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);

    let out = virsh(uri, "destroy g1");
    assert!(out.success(), "{out}");
    assert!(
        !key_file.exists(),
        "the master key is removed when the guest stops"
    );
}

#[test]
fn libvirtd_guest_reads_a_luks_disk_unlocked_by_a_private_secret() {
    let host = QemuHost::start();
    define_secret(host.root(), &host.uri());
    let storage = format!(
        "storage+unix:///system?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );
    boot_and_read(
        host.root(),
        &host.uri(),
        &storage,
        &host.root().join("var/lib/libvirt/qemu"),
    );
}

/// The passphrase secret stored encrypted at rest (secret.conf names a key):
/// after a daemon restart it is read from `UUID.aes256cbc` and still opens the disk.
#[test]
fn a_passphrase_encrypted_at_rest_still_unlocks_the_disk_after_a_restart() {
    let mut host = QemuHost::start();
    host.kill_daemon();
    let key = host.root().join("secrets-key");
    fs::write(&key, [0x42u8; 32]).expect("key file");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod key");
    fs::write(
        host.root().join("etc/libvirt/secret.conf"),
        format!("secrets_encryption_key = \"{}\"\n", key.display()),
    )
    .expect("secret.conf");
    host.start_daemon();
    define_secret(host.root(), &host.uri());
    let secrets = host.root().join("etc/libvirt/secrets");
    let stored = fs::read_to_string(secrets.join(format!("{SECRET_UUID}.aes256cbc")))
        .expect("encrypted passphrase file");
    assert!(!stored.contains(PASSPHRASE) && !stored.contains("Y29ycmVjdCBob3Jz"));
    assert!(!secrets.join(format!("{SECRET_UUID}.base64")).exists());
    // The value now comes from the encrypted file only.
    host.kill_daemon();
    host.start_daemon();
    let storage = format!(
        "storage+unix:///system?socket={}",
        host.root().join("run/libvirt/libvirt-sock").display()
    );
    boot_and_read(
        host.root(),
        &host.uri(),
        &storage,
        &host.root().join("var/lib/libvirt/qemu"),
    );
}

#[test]
fn virtqemud_and_virtstoraged_read_the_private_secret_from_virtsecretd() {
    let mut host = NetHost::new();
    host.start_modular("virtsecretd");
    host.start_modular("virtstoraged");
    host.start_modular("virtqemud");
    let secrets = host.modular_uri("secret", "virtsecretd");
    let storage = host.modular_uri("storage", "virtstoraged");
    let qemu = host.modular_uri("qemu", "virtqemud");
    define_secret(host.root(), &secrets);
    boot_and_read(
        host.root(),
        &qemu,
        &storage,
        &host.root().join("var/lib/libvirt/qemu"),
    );
    let token = host.root().join("run/libvirt/common/system.token");
    let mode = fs::metadata(&token)
        .expect("system token")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
