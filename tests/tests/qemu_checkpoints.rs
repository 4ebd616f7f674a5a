//! Checkpoints and backups of a booted tiny guest with a qcow2 disk (and a raw one):
//! a checkpoint is a persistent dirty bitmap in the image (`qemu-img info -U`),
//! data written after it (through the guest's block layer, HMP `qemu-io`) is what
//! an incremental push backup holds, a full push backup equals the disk, a pull
//! backup serves the disk as it was over NBD (with the checkpoint's bitmap) until
//! `domjobabort`, the metadata survives a daemon restart, deleting a checkpoint
//! drops its bitmap; and libvirt's errors for bad input.

mod qemu_support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use qemu_support::QemuHost;

fn qemu_img(args: &[&str], image: &Path) -> (bool, String) {
    let out = Command::new("qemu-img")
        .args(args)
        .arg(image)
        .output()
        .expect("run qemu-img (Debian package qemu-utils)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn bitmaps(image: &Path) -> Vec<String> {
    let (ok, out) = qemu_img(&["info", "-U", "--output=json"], image);
    assert!(ok, "{out}");
    let info: serde_json::Value = serde_json::from_str(&out).expect("qemu-img info json");
    info.pointer("/format-specific/data/bitmaps")
        .and_then(|b| b.as_array())
        .map(|b| {
            b.iter()
                .filter_map(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .unwrap_or_default()
}

/// The guest-visible ranges holding data in the top layer of an image.
fn data_ranges(image: &Path) -> Vec<(u64, u64)> {
    let (ok, out) = qemu_img(&["map", "-U", "--output=json"], image);
    assert!(ok, "{out}");
    let map: serde_json::Value = serde_json::from_str(&out).expect("qemu-img map json");
    map.as_array()
        .expect("map array")
        .iter()
        .filter(|e| e["data"].as_bool() == Some(true) && e["depth"].as_u64() == Some(0))
        .map(|e| {
            (
                e["start"].as_u64().expect("start"),
                e["length"].as_u64().expect("length"),
            )
        })
        .collect()
}

/// The bitmaps QEMU keeps for the running guest's vda.
fn live_bitmaps(host: &QemuHost, name: &str) -> Vec<String> {
    let out = host.virsh_ok(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-block\"}}'"
    ));
    let reply: serde_json::Value = serde_json::from_str(&out).expect("query-block json");
    reply["return"]
        .as_array()
        .expect("devices")
        .iter()
        .filter(|d| d["device"] == "drive-virtio-disk0")
        .flat_map(|d| {
            d.pointer("/inserted/dirty-bitmaps")
                .or_else(|| d.get("dirty-bitmaps"))
                .and_then(|b| b.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter(|b| b["persistent"] == true)
        .filter_map(|b| b["name"].as_str().map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Whether `len` bytes at `offset` of a qcow2 image all hold `pattern`.
fn reads_pattern(image: &Path, pattern: u8, offset: &str, len: &str) -> bool {
    let out = Command::new("qemu-io")
        .args(["-r", "-f", "qcow2", "-c"])
        .arg(format!("read -P {pattern} {offset} {len}"))
        .arg(image)
        .output()
        .expect("run qemu-io (Debian package qemu-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("read ") && !text.contains("verification failed")
}

fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(!out.success(), "virsh {commands} succeeded: {out}");
    out.stderr
}

/// Writes through QEMU's block layer, as the guest's own writes would go.
fn guest_write(host: &QemuHost, name: &str, pattern: u8, offset: &str, len: &str) {
    let out = host.virsh_ok(&format!(
        "qemu-monitor-command --hmp {name} 'qemu-io drive-virtio-disk0 \"write -P {pattern} {offset} {len}\"'"
    ));
    // QEMU prints the result of a successful write to its own stdout.
    assert!(!out.contains("rror") && !out.contains("not found"), "{out}");
}

/// Waits until the domain's job (the backup) has ended.
fn wait_job_done(host: &QemuHost, name: &str) {
    let done = integration_tests::wait_until(Duration::from_secs(60), || {
        let info = host.virsh_ok(&format!("domjobinfo {name}"));
        info.contains("None")
    });
    assert!(done, "{}", host.virsh(&format!("domjobinfo {name}")));
}

#[test]
fn checkpoints_and_push_and_pull_backups_of_a_running_guest() {
    let mut host = QemuHost::start();
    let name = "chk1";
    let root = host.root().to_path_buf();
    let disk = root.join("disk.qcow2");
    let raw = root.join("data.raw");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&disk)
        .arg("8M")
        .status()
        .expect("run qemu-img (Debian package qemu-utils)");
    assert!(made.success());
    fs::write(&raw, vec![0u8; 1 << 20]).expect("raw disk");
    let xml = host.guest_xml(name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
             <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vdb' bus='virtio'/></disk>",
            disk.display(),
            raw.display()
        ),
    );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));

    // An inactive domain gets no checkpoint, as in libvirt 9.0.
    let err = virsh_err(&host, &format!("checkpoint-create-as {name} c0"));
    assert!(
        err.contains("Operation not supported: cannot create checkpoint for inactive domain"),
        "{err}"
    );

    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    guest_write(&host, name, 0x11, "0", "1M");

    // A bitmap needs qcow2: the raw disk must be left out.
    let err = virsh_err(&host, &format!("checkpoint-create-as {name} c0"));
    assert!(
        err.contains(
            "unsupported configuration: checkpoint for disk vdb unsupported for storage type raw"
        ),
        "{err}"
    );
    let out = host.virsh_ok(&format!(
        "checkpoint-create-as {name} c1 --description first --diskspec vda"
    ));
    assert!(out.contains("Domain checkpoint c1 created"), "{out}");
    assert_eq!(live_bitmaps(&host, name), ["c1"]);

    // Data written after the checkpoint: its bitmap counts it.
    guest_write(&host, name, 0xab, "2M", "64k");
    let dump = host.virsh_ok(&format!("checkpoint-dumpxml {name} c1 --size"));
    for part in [
        "<name>c1</name>",
        "<description>first</description>",
        "<disk name='vda' checkpoint='bitmap' bitmap='c1' size='65536'/>",
        "<disk name='vdb' checkpoint='no'/>",
    ] {
        assert!(dump.contains(part), "{part} missing:\n{dump}");
    }
    assert!(dump.contains("<domain type="), "{dump}");
    let dump = host.virsh_ok(&format!("checkpoint-dumpxml {name} c1 --no-domain"));
    assert!(!dump.contains("<domain type="), "{dump}");

    host.virsh_ok(&format!("checkpoint-create-as {name} c2 --diskspec vda"));
    assert_eq!(live_bitmaps(&host, name), ["c1", "c2"]);
    assert_eq!(
        host.virsh_ok(&format!("checkpoint-parent {name} c2"))
            .trim(),
        "c1"
    );
    let names = host.virsh_ok(&format!("checkpoint-list {name} --name"));
    assert_eq!(names.split_whitespace().collect::<Vec<_>>(), ["c1", "c2"]);
    let roots = host.virsh_ok(&format!("checkpoint-list {name} --roots --name"));
    assert_eq!(roots.trim(), "c1");
    let leaves = host.virsh_ok(&format!("checkpoint-list {name} --leaves --name"));
    assert_eq!(leaves.trim(), "c2");
    let tree = host.virsh_ok(&format!("checkpoint-list {name} --tree"));
    assert!(tree.contains("c1") && tree.contains("+- c2"), "{tree}");
    let info = host.virsh_ok(&format!("checkpoint-info {name} c1"));
    assert!(info.contains("Children:       1"), "{info}");

    // Full push backup: a qcow2 copy equal to the disk.
    let full = root.join("full.qcow2");
    let backup = root.join("full.xml");
    fs::write(
        &backup,
        format!(
            "<domainbackup mode='push'><disks><disk name='vda' type='file'>\
             <target file='{}'/><driver type='qcow2'/></disk>\
             <disk name='vdb' backup='no'/></disks></domainbackup>",
            full.display()
        ),
    )
    .expect("backup xml");
    let mut events = qemu_support::listen_events(&host);
    host.virsh_ok(&format!("backup-begin {name} {}", backup.display()));
    let completed = format!("event 'job-completed' for domain '{name}'");
    let seen = events.wait_for_line(qemu_support::STATE_TIMEOUT, |l| l.contains(&completed));
    assert!(
        seen.is_some(),
        "no job-completed event\n{}",
        events.finish()
    );
    let seen = events.wait_for_line(qemu_support::STATE_TIMEOUT, |l| l.contains("operation: 9"));
    assert!(
        seen.is_some(),
        "the event is not about a backup\n{}",
        events.finish()
    );
    wait_job_done(&host, name);
    assert!(reads_pattern(&full, 0x11, "0", "1M"));
    assert!(reads_pattern(&full, 0, "1M", "1M"));
    assert!(reads_pattern(&full, 0xab, "2M", "64k"));

    // Incremental since c1: exactly the cluster written after it.
    let inc = root.join("inc.qcow2");
    fs::write(
        &backup,
        format!(
            "<domainbackup><incremental>c1</incremental><disks>\
             <disk name='vda' type='file'><target file='{}'/></disk>\
             <disk name='vdb' backup='no'/></disks></domainbackup>",
            inc.display()
        ),
    )
    .expect("backup xml");
    // ... taking checkpoint c3 at the same point in time.
    let chk_xml = root.join("c3.xml");
    fs::write(
        &chk_xml,
        "<domaincheckpoint><name>c3</name><disks><disk name='vda'/>\
         <disk name='vdb' checkpoint='no'/></disks></domaincheckpoint>",
    )
    .expect("checkpoint xml");
    host.virsh_ok(&format!(
        "backup-begin {name} {} --checkpointxml {}",
        backup.display(),
        chk_xml.display()
    ));
    wait_job_done(&host, name);
    assert_eq!(data_ranges(&inc), [(2 << 20, 64 << 10)]);
    assert_eq!(
        host.virsh_ok(&format!("checkpoint-parent {name} c3"))
            .trim(),
        "c2"
    );
    assert!(reads_pattern(&inc, 0xab, "2M", "64k"));
    // The checkpoint's bitmap is left as it was.
    assert_eq!(live_bitmaps(&host, name), ["c1", "c2", "c3"]);

    // Pull mode: the disk as it was at the start, over NBD on a unix socket,
    // with the changes since c1 as a bitmap; ended by domjobabort.
    let sock = root.join("nbd.sock");
    let scratch = root.join("scratch.qcow2");
    let pull = root.join("pull.xml");
    fs::write(
        &pull,
        format!(
            "<domainbackup mode='pull'><incremental>c1</incremental>\
             <server transport='unix' socket='{}'/><disks>\
             <disk name='vda' type='file'><scratch file='{}'/></disk>\
             <disk name='vdb' backup='no'/></disks></domainbackup>",
            sock.display(),
            scratch.display()
        ),
    )
    .expect("backup xml");
    host.virsh_ok(&format!("backup-begin {name} {}", pull.display()));
    let dump = host.virsh_ok(&format!("backup-dumpxml {name}"));
    for part in [
        "<domainbackup mode='pull'>",
        "<incremental>c1</incremental>",
        &format!("<server transport='unix' socket='{}'/>", sock.display()),
        "exportname='vda' exportbitmap='backup-vda'",
        &format!("<scratch file='{}'/>", scratch.display()),
    ] {
        assert!(dump.contains(part), "{part} missing:\n{dump}");
    }
    let info = host.virsh_ok(&format!("domjobinfo {name}"));
    assert!(info.contains("Backup"), "{info}");
    // The guest goes on writing; the export keeps the old data.
    guest_write(&host, name, 0xcd, "0", "64k");
    let uri = format!("nbd+unix:///vda?socket={}", sock.display());
    let list = Command::new("qemu-nbd")
        .args(["--list", "-k"])
        .arg(&sock)
        .output()
        .expect("run qemu-nbd (Debian package qemu-utils)");
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains("export: 'vda'") && list.contains("qemu:dirty-bitmap:backup-vda"),
        "{list}"
    );
    let copy = root.join("pulled.qcow2");
    let out = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2", &uri])
        .arg(&copy)
        .output()
        .expect("run qemu-img");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(reads_pattern(&copy, 0x11, "0", "1M"));
    assert!(reads_pattern(&copy, 0xab, "2M", "64k"));
    host.virsh_ok(&format!("domjobabort {name}"));
    wait_job_done(&host, name);
    assert!(!scratch.exists(), "the scratch file was left behind");
    let err = virsh_err(&host, &format!("backup-dumpxml {name}"));
    assert!(err.contains("no domain backup job present"), "{err}");
    // Back to the content the full backup holds.
    guest_write(&host, name, 0x11, "0", "64k");

    // Bad input: libvirt's errors.
    let bad = root.join("bad.xml");
    fs::write(
        &bad,
        format!(
            "<domainbackup><incremental>nope</incremental><disks>\
             <disk name='vda' type='file'><target file='{}'/></disk>\
             <disk name='vdb' backup='no'/></disks></domainbackup>",
            root.join("bad.qcow2").display()
        ),
    )
    .expect("backup xml");
    let err = virsh_err(&host, &format!("backup-begin {name} {}", bad.display()));
    assert!(
        err.contains("Checkpoint 'nope' for incremental backup of disk 'vda' not found"),
        "{err}"
    );
    assert!(!root.join("bad.qcow2").exists());
    let err = virsh_err(&host, &format!("backup-begin {name} {}", backup.display()));
    assert!(err.contains("exists"), "{err}");
    let err = virsh_err(&host, &format!("backup-dumpxml {name}"));
    assert!(err.contains("no domain backup job present"), "{err}");
    let err = virsh_err(&host, &format!("checkpoint-delete {name} missing"));
    assert!(
        err.contains(
            "Domain checkpoint not found: no domain checkpoint with matching name 'missing'"
        ),
        "{err}"
    );
    let err = virsh_err(&host, &format!("checkpoint-create-as {name} ../evil"));
    assert!(err.contains("invalid checkpoint name"), "{err}");

    // Metadata survives a daemon restart.
    host.kill_daemon();
    host.start_daemon();
    let names = host.virsh_ok(&format!("checkpoint-list {name} --name"));
    assert_eq!(
        names.split_whitespace().collect::<Vec<_>>(),
        ["c1", "c2", "c3"]
    );
    assert_eq!(
        host.virsh_ok(&format!("checkpoint-parent {name} c2"))
            .trim(),
        "c1"
    );

    // Deleting c1 drops its bitmap; c2 becomes a root.
    host.virsh_ok(&format!("checkpoint-delete {name} c1"));
    assert_eq!(live_bitmaps(&host, name), ["c2", "c3"]);
    let err = virsh_err(&host, &format!("checkpoint-parent {name} c2"));
    assert!(
        err.contains("has no parent") || err.contains("does not have a parent"),
        "{err}"
    );

    // An inactive domain with checkpoints is only undefined with their metadata.
    // QEMU stores persistent bitmaps in the image when it closes it.
    host.virsh_ok(&format!("destroy {name}"));
    assert_eq!(bitmaps(&disk), ["c2", "c3"]);
    // The full backup equals the disk (no write came after it).
    let cmp = Command::new("qemu-img")
        .args(["compare", "-U"])
        .arg(&disk)
        .arg(&full)
        .output()
        .expect("run qemu-img");
    assert!(
        cmp.status.success(),
        "{}",
        String::from_utf8_lossy(&cmp.stdout)
    );
    let err = virsh_err(&host, &format!("undefine {name}"));
    assert!(
        err.contains("cannot delete inactive domain with 2 checkpoints"),
        "{err}"
    );
    host.virsh_ok(&format!("undefine {name} --checkpoints-metadata"));
}
