//! Snapshots of a booted tiny guest with a qcow2 disk: internal ones with memory
//! state (HMP `savevm`, seen by `qemu-img snapshot -l`), revert of the running
//! guest, the snapshot tree and current snapshot kept across a daemon restart, an
//! external disk-only snapshot whose overlay the guest then uses, and libvirt's
//! errors for bad input; `blockresize`, an active `blockcommit --pivot` and
//! `blockpull` on the same guest; an external snapshot with the memory state in a
//! save image (the guest runs on, on its overlay), whose revert libvirt 9.0 refuses,
//! and bad input that leaves the images untouched.

mod qemu_support;

use std::fs;
use std::process::Command;

use qemu_support::disk_io::{qcow2_with, Mailbox};
use qemu_support::{expect_event, listen_events, QemuHost};

fn qemu_img_snapshots(image: &std::path::Path) -> String {
    let out = Command::new("qemu-img")
        .args(["snapshot", "-l", "-U"])
        .arg(image)
        .output()
        .expect("run qemu-img (Debian package qemu-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tiny guest without the kernel's IO-APIC timer check, which TCG on a
/// loaded host can fail (a panic at boot).
fn guest_xml(host: &QemuHost, name: &str) -> String {
    host.guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
}

fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(!out.success(), "virsh {commands} succeeded: {out}");
    out.stderr
}

#[test]
fn internal_and_external_snapshots_of_a_running_guest() {
    let mut host = QemuHost::start();
    let name = "snap1";
    let root = host.root().to_path_buf();
    let disk = root.join("disk.qcow2");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&disk)
        .arg("8M")
        .status()
        .expect("run qemu-img (Debian package qemu-utils)");
    assert!(made.success());
    let xml = guest_xml(&host, name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
             <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
            disk.display()
        ),
    );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.define_guest("other");
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    let mut events = listen_events(&host);

    // The agent channel is reached and the guest's agent answers.
    let ping = format!("qemu-agent-command {name} '{{\"execute\":\"guest-ping\"}}' --timeout 5");
    let answered = integration_tests::wait_until(qemu_support::BOOT_TIMEOUT, || {
        host.virsh(&ping).stdout.trim() == "{\"return\":{}}"
    });
    assert!(
        answered,
        "the guest agent never answered: {}",
        host.virsh(&ping)
    );
    let err = virsh_err(
        &host,
        "qemu-agent-command other '{\"execute\":\"guest-ping\"}'",
    );
    assert!(err.contains("domain is not running"), "{err}");

    // Internal snapshots with the memory state, running then paused.
    let out = host.virsh_ok(&format!("snapshot-create-as {name} s1 --description first"));
    assert!(out.contains("Domain snapshot s1 created"), "{out}");
    assert!(qemu_img_snapshots(&disk).contains("s1"));
    let dump = host.virsh_ok(&format!("snapshot-dumpxml {name} s1"));
    for part in [
        "<name>s1</name>",
        "<description>first</description>",
        "<state>running</state>",
        "<memory snapshot='internal'/>",
        "<disk name='vda' snapshot='internal'/>",
    ] {
        assert!(dump.contains(part), "{part} missing:\n{dump}");
    }
    host.virsh_ok(&format!("suspend {name}"));
    host.virsh_ok(&format!("snapshot-create-as {name} s2"));
    assert_eq!(
        host.virsh_ok(&format!("snapshot-current --name {name}"))
            .trim(),
        "s2"
    );
    assert_eq!(
        host.virsh_ok(&format!("snapshot-parent {name} s2")).trim(),
        "s1"
    );
    let list = host.virsh_ok(&format!("snapshot-list {name}"));
    assert!(list.contains("s1") && list.contains("running"), "{list}");
    assert!(list.contains("s2") && list.contains("paused"), "{list}");
    let leaves = host.virsh_ok(&format!("snapshot-list {name} --leaves --name"));
    assert_eq!(leaves.trim(), "s2");
    let roots = host.virsh_ok(&format!("snapshot-list {name} --roots --name"));
    assert_eq!(roots.trim(), "s1");
    let with = host.virsh_ok("list --all --name --with-snapshot");
    assert_eq!(with.split_whitespace().collect::<Vec<_>>(), [name]);
    let info = host.virsh_ok(&format!("snapshot-info {name} s1"));
    assert!(info.contains("Children:       1"), "{info}");

    // Revert the paused guest to the running snapshot: it runs again.
    host.virsh_ok(&format!("snapshot-revert {name} s1"));
    expect_event(&mut events, name, "Resumed Snapshot");
    host.wait_state(name, "running (from snapshot)");
    let status = host.virsh_ok(&format!("qemu-monitor-command --hmp {name} info status"));
    assert!(status.contains("running"), "{status}");
    assert_eq!(
        host.virsh_ok(&format!("snapshot-current --name {name}"))
            .trim(),
        "s1"
    );

    // Bad input: libvirt's errors.
    let err = virsh_err(&host, &format!("snapshot-delete {name} missing"));
    assert!(
        err.contains("Domain snapshot not found: no domain snapshot with matching name 'missing'"),
        "{err}"
    );
    let err = virsh_err(&host, "snapshot-revert other s1");
    assert!(
        err.contains("no domain snapshot with matching name 's1'"),
        "{err}"
    );
    let err = virsh_err(&host, &format!("snapshot-create-as {name} ../evil"));
    assert!(err.contains("invalid snapshot name"), "{err}");

    // Metadata survives a daemon restart; the guest keeps running.
    host.kill_daemon();
    host.start_daemon();
    let mut events = listen_events(&host);
    let names = host.virsh_ok(&format!("snapshot-list {name} --name"));
    assert_eq!(names.split_whitespace().collect::<Vec<_>>(), ["s1", "s2"]);
    assert_eq!(
        host.virsh_ok(&format!("snapshot-current --name {name}"))
            .trim(),
        "s1"
    );

    // Deleting s1 removes it from the image and makes s2 a root.
    host.virsh_ok(&format!("snapshot-delete {name} s1"));
    assert!(!qemu_img_snapshots(&disk).contains("s1"));
    assert!(qemu_img_snapshots(&disk).contains("s2"));
    let roots = host.virsh_ok(&format!("snapshot-list {name} --roots --name"));
    assert_eq!(roots.trim(), "s2");

    // blockresize grows the image under the running guest; no block job is running.
    host.virsh_ok(&format!("blockresize {name} vda 16M"));
    let info = Command::new("qemu-img")
        .args(["info", "-U"])
        .arg(&disk)
        .output()
        .expect("run qemu-img");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.contains("virtual size: 16 MiB"), "{info}");
    let err = virsh_err(&host, &format!("blockresize {name} vdz 16M"));
    assert!(
        err.contains("invalid argument: disk 'vdz' not found in domain"),
        "{err}"
    );
    let jobs = host.virsh_ok(&format!("blockjob {name} vda --info"));
    assert!(jobs.contains("No current block job for vda"), "{jobs}");

    // External disk-only: the guest writes to the overlay from now on.
    host.virsh_ok(&format!(
        "snapshot-create-as {name} ext --disk-only --atomic"
    ));
    let overlay = root.join("disk.ext");
    assert!(overlay.exists(), "no overlay {}", overlay.display());
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&overlay.display().to_string()), "{blk}");
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(
        inactive.contains(&overlay.display().to_string()),
        "{inactive}"
    );
    let dump = host.virsh_ok(&format!("snapshot-dumpxml {name} ext"));
    assert!(dump.contains("<state>disk-snapshot</state>"), "{dump}");
    assert!(dump.contains("snapshot='external'"), "{dump}");
    let external = host.virsh_ok(&format!("snapshot-list {name} --external --name"));
    assert_eq!(external.trim(), "ext");

    // Active commit folds the overlay back and pivots: the definitions follow.
    let out = host.virsh_ok(&format!("blockcommit {name} vda --active --pivot --wait"));
    assert!(out.contains("Successfully pivoted"), "{out}");
    expect_event(&mut events, name, "Active Block Commit for vda ready");
    expect_event(&mut events, name, "Active Block Commit for vda completed");
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&disk.display().to_string()), "{blk}");
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(inactive.contains(&disk.display().to_string()), "{inactive}");
    let err = virsh_err(&host, &format!("blockjob {name} vda --abort"));
    assert!(err.contains("does not have an active block job"), "{err}");

    // blockpull makes a new overlay stand alone.
    host.virsh_ok(&format!("snapshot-create-as {name} ext2 --disk-only"));
    let overlay2 = root.join("disk.ext2");
    let out = host.virsh_ok(&format!("blockpull {name} vda --wait"));
    assert!(out.contains("Pull complete"), "{out}");
    let info = Command::new("qemu-img")
        .args(["info", "-U"])
        .arg(&overlay2)
        .output()
        .expect("run qemu-img");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(!info.contains("backing file"), "{info}");

    // An inactive domain with snapshots is only undefined with their metadata.
    host.virsh_ok(&format!("destroy {name}"));
    let err = virsh_err(&host, &format!("undefine {name}"));
    assert!(
        err.contains("cannot delete inactive domain with 3 snapshots"),
        "{err}"
    );
    host.virsh_ok(&format!("undefine {name} --snapshots-metadata"));
    let err = virsh_err(&host, &format!("snapshot-list {name}"));
    assert!(err.contains("failed to get domain"), "{err}");
}

fn qemu_io(image: &std::path::Path, command: &str) -> bool {
    Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", command])
        .arg(image)
        .output()
        .map(|o| {
            o.status.success()
                && !String::from_utf8_lossy(&o.stdout).contains("Pattern verification failed")
        })
        .expect("run qemu-io (Debian package qemu-utils)")
}

#[test]
fn snapshots_of_an_inactive_guest_redefine_and_no_metadata() {
    let host = QemuHost::start();
    let name = "snapoff";
    let root = host.root().to_path_buf();
    let disk = root.join("off.qcow2");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&disk)
        .arg("4M")
        .status()
        .expect("run qemu-img (Debian package qemu-utils)");
    assert!(made.success());
    let xml = guest_xml(&host, name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
            disk.display()
        ),
    );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));

    // qemu-img takes the snapshot; a revert brings the old disk content back.
    host.virsh_ok(&format!("snapshot-create-as {name} off1"));
    assert!(qemu_img_snapshots(&disk).contains("off1"));
    let dump = host.virsh_ok(&format!("snapshot-dumpxml {name} off1"));
    assert!(dump.contains("<state>shutoff</state>"), "{dump}");
    assert!(dump.contains("<memory snapshot='no'/>"), "{dump}");
    assert!(qemu_io(&disk, "write -P 0xab 0 64k"));
    assert!(qemu_io(&disk, "read -P 0xab 0 64k"));
    host.virsh_ok(&format!("snapshot-revert {name} off1"));
    assert!(
        qemu_io(&disk, "read -P 0 0 64k"),
        "the revert left the written data"
    );
    assert_eq!(host.domstate(name), "shut off (unknown)");

    // --no-metadata: in the image, not in the list.
    host.virsh_ok(&format!("snapshot-create-as {name} nm --no-metadata"));
    assert!(qemu_img_snapshots(&disk).contains("nm"));
    let names = host.virsh_ok(&format!("snapshot-list {name} --name"));
    assert_eq!(names.trim(), "off1");

    // Metadata-only delete keeps the image's snapshot; --redefine brings it back.
    let saved = root.join("off1.xml");
    fs::write(
        &saved,
        host.virsh_ok(&format!("snapshot-dumpxml {name} off1")),
    )
    .expect("write");
    host.virsh_ok(&format!("snapshot-create-as {name} off2"));
    host.virsh_ok(&format!("snapshot-delete {name} off1 --metadata"));
    assert!(qemu_img_snapshots(&disk).contains("off1"));
    assert_eq!(
        host.virsh_ok(&format!("snapshot-list {name} --name"))
            .trim(),
        "off2"
    );
    host.virsh_ok(&format!(
        "snapshot-create {name} {} --redefine --current",
        saved.display()
    ));
    assert_eq!(
        host.virsh_ok(&format!("snapshot-current --name {name}"))
            .trim(),
        "off1"
    );
    let err = virsh_err(&host, &format!("snapshot-parent {name} off1"));
    assert!(err.contains("snapshot 'off1' has no parent"), "{err}");

    // --children removes a whole subtree from metadata and image.
    host.virsh_ok(&format!("snapshot-create-as {name} off3"));
    assert_eq!(
        host.virsh_ok(&format!("snapshot-parent {name} off3"))
            .trim(),
        "off1"
    );
    host.virsh_ok(&format!("snapshot-delete {name} off1 --children"));
    assert_eq!(
        host.virsh_ok(&format!("snapshot-list {name} --name"))
            .trim(),
        "off2"
    );
    let left = qemu_img_snapshots(&disk);
    assert!(
        !left.contains("off1") && !left.contains("off3") && left.contains("off2"),
        "{left}"
    );
}

/// Contents and modification time of an image, to show it was left alone.
fn fingerprint(image: &std::path::Path) -> (Vec<u8>, std::time::SystemTime) {
    let data = fs::read(image).expect("read image");
    let modified = fs::metadata(image)
        .and_then(|m| m.modified())
        .expect("stat image");
    (data, modified)
}

#[test]
fn external_snapshot_with_memory_of_a_running_guest() {
    let host = QemuHost::start();
    let name = "memsnap";
    let root = host.root().to_path_buf();
    let disk = qcow2_with(&root, "mem", "MEMSNAPDATA01234");
    let mut mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = host.guest_xml(name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
            disk.display()
        ),
    );
    let file = root.join(format!("{name}.xml"));
    fs::write(&file, mailbox.attach(&xml, "vdb")).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.define_guest("other");
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    assert_eq!(mailbox.read16("vda", 1 << 20), "MEMSNAPDATA01234");

    let err = virsh_err(
        &host,
        &format!("snapshot-create-as {name} bad --memspec file=relative.mem,snapshot=external"),
    );
    assert!(
        err.contains("memory snapshot file path (relative.mem) must be absolute"),
        "{err}"
    );

    // Memory into a save image, the disk onto an overlay; the guest runs on.
    let memory = root.join("m1.mem");
    let overlay = root.join("m1.overlay");
    host.virsh_ok(&format!(
        "snapshot-create-as {name} m1 --memspec file={},snapshot=external --diskspec vda,snapshot=external,file={}",
        memory.display(),
        overlay.display()
    ));
    let image = fs::read(&memory).expect("memory image written");
    assert!(image.starts_with(b"LibvirtQemudSave"), "not a save image");
    assert!(
        image.windows(4).any(|w| w == b"QEVM"),
        "no QEMU migration stream in the memory image"
    );
    let saved_xml = host.virsh_ok(&format!("save-image-dumpxml {}", memory.display()));
    assert!(
        saved_xml.contains(&format!("<name>{name}</name>")),
        "{saved_xml}"
    );
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&overlay.display().to_string()), "{blk}");
    host.wait_state(name, "running (unpaused)");
    assert_eq!(mailbox.read16("vda", 1 << 20), "MEMSNAPDATA01234");
    let dump = host.virsh_ok(&format!("snapshot-dumpxml {name} m1"));
    for part in [
        "<state>running</state>".to_string(),
        format!("<memory snapshot='external' file='{}'/>", memory.display()),
        "<disk name='vda' snapshot='external' type='file'>".to_string(),
    ] {
        assert!(dump.contains(&part), "{part} missing:\n{dump}");
    }
    let external = host.virsh_ok(&format!("snapshot-list {name} --external --name"));
    assert_eq!(external.trim(), "m1");

    // Bad input: libvirt's errors, every image as it was.
    let before = [
        fingerprint(&disk),
        fingerprint(&overlay),
        fingerprint(&memory),
    ];
    let err = virsh_err(&host, &format!("snapshot-revert {name} m1"));
    assert!(
        err.contains("unsupported configuration: revert to external snapshot not supported yet"),
        "{err}"
    );
    let err = virsh_err(&host, "snapshot-revert other m1");
    assert!(
        err.contains("Domain snapshot not found: no domain snapshot with matching name 'm1'"),
        "{err}"
    );
    let err = virsh_err(&host, &format!("snapshot-delete {name} gone"));
    assert!(
        err.contains("no domain snapshot with matching name 'gone'"),
        "{err}"
    );
    let stray = root.join("stray.qcow2");
    let err = virsh_err(
        &host,
        &format!("blockcommit {name} vda --base {} --wait", stray.display()),
    );
    assert!(
        err.contains(&format!(
            "invalid argument: could not find image '{}' beneath '{}' in chain for 'vda'",
            stray.display(),
            overlay.display()
        )),
        "{err}"
    );
    let jobs = host.virsh_ok(&format!("blockjob {name} vda --info"));
    assert!(jobs.contains("No current block job for vda"), "{jobs}");
    let after = [
        fingerprint(&disk),
        fingerprint(&overlay),
        fingerprint(&memory),
    ];
    assert!(before == after, "bad input changed an image");
    assert!(!stray.exists());
    host.wait_state(name, "running (unpaused)");

    // blockpull --base (virDomainBlockRebase without the copy flag) keeps the base.
    let err = virsh_err(
        &host,
        &format!("blockpull {name} vda --base {} --wait", stray.display()),
    );
    assert!(err.contains("could not find image"), "{err}");
    let out = host.virsh_ok(&format!(
        "blockpull {name} vda --base {} --wait",
        disk.display()
    ));
    assert!(out.contains("Pull complete"), "{out}");
    let info = Command::new("qemu-img")
        .args(["info", "-U"])
        .arg(&overlay)
        .output()
        .expect("run qemu-img");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.contains("backing file"), "{info}");
}
