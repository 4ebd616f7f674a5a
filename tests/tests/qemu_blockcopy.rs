//! Block copy of a running tiny guest's disk: `blockcopy --pivot` moves a transient
//! guest onto a copy (the guest reads its data and writes to the copy, QEMU lets
//! go of the old file, the live XML shows the new source and its backing chain),
//! `--finish` into a loop device leaves a consistent raw copy behind, shallow
//! copies into a reused overlay; persistent guests only with `--transient-job`;
//! `domblkthreshold` and the BLOCK_THRESHOLD event when the guest writes past it.

mod qemu_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use qemu_support::disk_io::{has_open, image_bytes, qcow2_with, Mailbox};
use qemu_support::{expect_event, listen_events, QemuHost};

const BEFORE: &str = "BEFORECOPY012345";
const AFTER: &str = "AFTERPIVOT012345";
const MIB: u64 = 1 << 20;

fn virsh_err(host: &QemuHost, commands: &str) -> String {
    let out = host.virsh(commands);
    assert!(!out.success(), "virsh {commands} succeeded: {out}");
    out.stderr
}

/// A guest definition with `disk` (qcow2) as vda and the mailbox as vdb.
fn guest_with_disk(host: &QemuHost, name: &str, disk: &Path, mailbox: &Mailbox) -> String {
    let xml = host.guest_xml(name).replace(
        "<devices>",
        &format!(
            "<devices>\n    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
            disk.display()
        ),
    );
    let xml = mailbox.attach(&xml, "vdb");
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    file.display().to_string()
}

/// A loop device over a zeroed file of `mib` MiB, detached on drop.
struct LoopDevice {
    path: String,
}

impl LoopDevice {
    fn new(dir: &Path, mib: u64) -> LoopDevice {
        let image = dir.join("loop.img");
        fs::File::create(&image)
            .and_then(|f| f.set_len(mib * MIB))
            .expect("create loop image");
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
            .expect("run losetup (Debian package mount)");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoopDevice {
            path: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }
    }

    fn bytes16(&self, offset: u64) -> String {
        let data = fs::read(&self.path).expect("read loop device");
        let at = usize::try_from(offset).expect("offset");
        String::from_utf8_lossy(&data[at..at + 16]).into_owned()
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.path]).status();
    }
}

#[test]
fn blockcopy_moves_a_running_transient_guest() {
    let host = QemuHost::start();
    let name = "copier";
    let root = host.root().to_path_buf();
    let disk = qcow2_with(&root, "orig", BEFORE);
    let mut mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = guest_with_disk(&host, name, &disk, &mailbox);
    host.virsh_ok(&format!("create {xml}"));
    host.wait_booted(name, 1);
    let mut events = listen_events(&host);
    assert_eq!(mailbox.read16("vda", MIB), BEFORE);
    let pid = *host.guest_pids().first().expect("qemu runs");
    assert!(
        has_open(pid, &disk),
        "qemu does not hold {}",
        disk.display()
    );

    // Bad input first: libvirt's errors, nothing started.
    let taken = root.join("taken.qcow2");
    fs::write(&taken, b"data").expect("write");
    let err = virsh_err(&host, &format!("blockcopy {name} vda {}", taken.display()));
    assert!(
        err.contains(&format!(
            "unsupported configuration: external destination file for disk vda already exists and is not a block device: {}",
            taken.display()
        )),
        "{err}"
    );
    let err = virsh_err(&host, &format!("blockcopy {name} vda relative.qcow2"));
    assert!(
        err.contains("absolute path must be used as block copy target"),
        "{err}"
    );
    let err = virsh_err(
        &host,
        &format!(
            "blockcopy {name} vda {}/x --granularity 1000",
            root.display()
        ),
    );
    assert!(err.contains("granularity must be power of 2"), "{err}");
    let jobs = host.virsh_ok(&format!("blockjob {name} vda --info"));
    assert!(jobs.contains("No current block job for vda"), "{jobs}");

    // A full copy into a new file, then the pivot (virDomainBlockRebase with COPY).
    let copy = root.join("copy.qcow2");
    let out = host.virsh_ok(&format!(
        "blockcopy {name} vda {} --wait --verbose --pivot --bandwidth 200",
        copy.display()
    ));
    assert!(out.contains("Successfully pivoted"), "{out}");
    expect_event(&mut events, name, "Block Copy for vda ready");
    expect_event(&mut events, name, "Block Copy for vda completed");
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&copy.display().to_string()), "{blk}");
    assert!(!blk.contains(&disk.display().to_string()), "{blk}");
    let jobs = host.virsh_ok(&format!("blockjob {name} vda --info"));
    assert!(jobs.contains("No current block job for vda"), "{jobs}");
    assert!(
        !has_open(pid, &disk),
        "qemu still holds the old image {}",
        disk.display()
    );
    assert!(has_open(pid, &copy), "qemu does not hold the copy");
    // The guest reads its data from the copy and writes there, not to the old file.
    assert_eq!(mailbox.read16("vda", MIB), BEFORE);
    mailbox.write("vda", 2 * MIB, AFTER);
    let written = image_bytes(&copy, "qcow2", 2 * MIB);
    assert!(written.contains(AFTER), "{written}");
    let old = image_bytes(&disk, "qcow2", 2 * MIB);
    assert!(!old.contains(AFTER), "{old}");

    let err = virsh_err(&host, &format!("blockjob {name} vda --pivot"));
    assert!(
        err.contains("invalid argument: disk vda does not have an active block job"),
        "{err}"
    );

    // One job per disk; an aborted copy ends as cancelled.
    let busy = root.join("busy.qcow2");
    host.virsh_ok(&format!(
        "blockcopy {name} vda {} --bandwidth 1",
        busy.display()
    ));
    let err = virsh_err(
        &host,
        &format!("blockcopy {name} vda {}/other.qcow2", root.display()),
    );
    assert!(
        err.contains("block copy still active: disk 'vda' already in active block job"),
        "{err}"
    );
    let info = host.virsh_ok(&format!("blockjob {name} vda --info --raw"));
    assert!(info.contains("type=Block Copy"), "{info}");
    assert!(info.contains("bandwidth=1\n"), "{info}");
    let dump = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        dump.contains(&format!(
            "<mirror type='file' file='{}' format='qcow2' job='copy'",
            busy.display()
        )),
        "{dump}"
    );
    host.virsh_ok(&format!("blockjob {name} vda --abort"));
    expect_event(&mut events, name, "Block Copy for vda canceled");
    let dump = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(!dump.contains("<mirror"), "{dump}");
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&copy.display().to_string()), "{blk}");

    // --finish into a loop device (virDomainBlockCopy: granularity, buffer size):
    // a raw copy of everything the guest wrote, the guest stays on its file.
    let device = LoopDevice::new(&root, 16);
    let out = host.virsh_ok(&format!(
        "blockcopy {name} vda {} --blockdev --format raw --granularity 65536 --buf-size 1048576 --wait --finish",
        device.path
    ));
    assert!(out.contains("Successfully copied"), "{out}");
    expect_event(&mut events, name, "Block Copy for vda canceled");
    assert_eq!(device.bytes16(MIB), BEFORE);
    assert_eq!(device.bytes16(2 * MIB), AFTER);
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&copy.display().to_string()), "{blk}");
    let err = virsh_err(
        &host,
        &format!("blockcopy {name} vda {} --blockdev", taken.display()),
    );
    assert!(
        err.contains("already exists and is not a block device"),
        "{err}"
    );

    // A shallow copy into a reused overlay keeps the backing chain below it.
    let top = root.join("top.qcow2");
    host.virsh_ok(&format!(
        "snapshot-create-as {name} s1 --disk-only --no-metadata --diskspec vda,file={}",
        top.display()
    ));
    let reused = root.join("reused.qcow2");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(&copy)
        .arg(&reused)
        .status()
        .expect("run qemu-img");
    assert!(made.success());
    let out = host.virsh_ok(&format!(
        "blockcopy {name} vda {} --shallow --reuse-external --pivot --wait",
        reused.display()
    ));
    assert!(out.contains("Successfully pivoted"), "{out}");
    let dump = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        dump.contains(&format!("<source file='{}'/>", reused.display())),
        "{dump}"
    );
    assert!(dump.contains("<backingStore type='file'>"), "{dump}");
    assert!(!dump.contains("<mirror"), "{dump}");
    assert!(
        dump.contains(&format!("<source file='{}'/>", copy.display())),
        "{dump}"
    );
    assert!(!has_open(pid, &top), "qemu still holds {}", top.display());
    assert!(has_open(pid, &copy), "the backing image was closed");
    assert_eq!(mailbox.read16("vda", 2 * MIB), AFTER);
}

#[test]
fn write_threshold_event_and_copies_of_a_persistent_guest() {
    let host = QemuHost::start();
    let name = "thresh";
    let root = host.root().to_path_buf();
    let disk = qcow2_with(&root, "data", BEFORE);
    let mut mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = guest_with_disk(&host, name, &disk, &mailbox);
    host.virsh_ok(&format!("define {xml}"));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    let mut events = listen_events(&host);

    // The threshold is on the image file: the guest's 2 MiB at 12 MiB of the
    // disk are allocated at the file's end, past 1 MiB.
    let before = fs::metadata(&disk).expect("stat image").len();
    assert!(before < MIB, "image of {before} bytes");
    let err = virsh_err(&host, &format!("domblkthreshold {name} vdz 8M"));
    assert!(
        err.contains("invalid argument: failed to find disk 'vdz'"),
        "{err}"
    );
    host.virsh_ok(&format!("domblkthreshold {name} vda 1M"));
    let out = mailbox.run(
        "dd if=/dev/urandom of=/dev/vda bs=1048576 seek=12 count=2 conv=fsync oflag=direct 2>/dev/null && echo done",
    );
    assert_eq!(out, "done");
    // virsh: "dev: <target>(<source>) <threshold> <excess>"; the excess is how
    // far past 1 MiB of the file a write reached.
    let needle = format!(
        "event 'block-threshold' for domain '{name}': dev: vda({}) 1048576 ",
        disk.display()
    );
    let line = events
        .wait_for_line(qemu_support::STATE_TIMEOUT, |l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no threshold event\n{}", events.finish()));
    let excess: u64 = line
        .rsplit(' ')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no excess in {line}"));
    let allocated = fs::metadata(&disk).expect("stat image").len();
    assert!(
        excess > 0 && excess <= allocated.saturating_sub(MIB),
        "excess {excess}, image {allocated} bytes"
    );

    // A persistent guest is copied only with a transient job; the pivot moves
    // its persistent definition too.
    let copy = root.join("pcopy.qcow2");
    let err = virsh_err(
        &host,
        &format!("blockcopy {name} vda {} --wait --pivot", copy.display()),
    );
    assert!(
        err.contains("Requested operation is not valid: domain is not transient"),
        "{err}"
    );
    assert!(!copy.exists());
    let out = host.virsh_ok(&format!(
        "blockcopy {name} vda {} --transient-job --wait --pivot",
        copy.display()
    ));
    assert!(out.contains("Successfully pivoted"), "{out}");
    expect_event(&mut events, name, "Block Copy for vda completed");
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(inactive.contains(&copy.display().to_string()), "{inactive}");
    assert_eq!(mailbox.read16("vda", MIB), BEFORE);

    // A job ends with its QEMU: the next run of the guest starts a new one.
    host.virsh_ok(&format!(
        "blockcopy {name} vda {}/slow.qcow2 --transient-job --bandwidth 1",
        root.display()
    ));
    host.virsh_ok(&format!("destroy {name}"));
    host.virsh_ok(&format!("start {name}"));
    let out = host.virsh_ok(&format!(
        "blockcopy {name} vda {}/again.qcow2 --transient-job --wait --finish",
        root.display()
    ));
    assert!(out.contains("Successfully copied"), "{out}");
}
