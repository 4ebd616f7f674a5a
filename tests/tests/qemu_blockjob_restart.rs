//! Block jobs and backups outlive the daemon, as in libvirt: a copy or an active
//! commit that runs while the daemon is killed (SIGKILL) or stopped (SIGTERM) is
//! still the disk's job afterwards (`blockjob --info`, its events, `--pivot`, the
//! definitions follow the pivot); a job that became ready or was completed while no
//! daemon ran is found so; a backup keeps being the domain's job (`domjobinfo`,
//! its job-completed event, `domjobabort`) and a pull backup's export keeps serving.

mod qemu_support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use qemu_support::disk_io::{has_open, qcow2_with, Mailbox};
use qemu_support::{expect_event, listen_events, QemuHost, STATE_TIMEOUT};

const MARKER: &str = "KEEPMARKER012345";
const MIB: u64 = 1 << 20;

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

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + STATE_TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the daemon the way a service manager does and waits for its exit.
fn stop_daemon(host: &mut QemuHost) {
    host.signal_daemon(libc::SIGTERM);
    assert!(host.wait_daemon_exit(), "the daemon did not exit cleanly");
}

/// QEMU's monitor of a guest, used while no daemon holds it.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    fn connect(host: &QemuHost, name: &str) -> Qmp {
        let path = host.root().join(format!("run/libvirt/qemu/{name}.monitor"));
        let writer = UnixStream::connect(&path)
            .unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
        let mut qmp = Qmp {
            reader: BufReader::new(writer.try_clone().expect("clone")),
            writer,
        };
        qmp.read_reply(); // greeting
        qmp.execute("qmp_capabilities", "{}");
        qmp
    }

    fn read_reply(&mut self) -> serde_json::Value {
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read monitor");
            assert!(n > 0, "monitor closed");
            let value: serde_json::Value = serde_json::from_str(&line).expect("json");
            if value.get("event").is_none() {
                return value;
            }
        }
    }

    fn execute(&mut self, command: &str, args: &str) -> serde_json::Value {
        writeln!(
            self.writer,
            "{{\"execute\":\"{command}\",\"arguments\":{args}}}"
        )
        .expect("write monitor");
        let reply = self.read_reply();
        assert!(reply.get("return").is_some(), "{command}: {reply}");
        reply["return"].clone()
    }
}

#[test]
fn blockcopy_is_followed_across_daemon_restarts() {
    let mut host = QemuHost::start();
    let name = "bjcopy";
    let root = host.root().to_path_buf();
    let disk = qcow2_with(&root, "orig", MARKER);
    let mut mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = guest_with_disk(&host, name, &disk, &mailbox);
    host.virsh_ok(&format!("create {xml}"));
    host.wait_booted(name, 1);
    let pid = *host.guest_pids().first().expect("qemu runs");

    // One byte per second: the copy cannot become ready by itself.
    let copy = root.join("copy.qcow2");
    host.virsh_ok(&format!(
        "blockcopy {name} vda {} --bandwidth 1 --bytes",
        copy.display()
    ));
    let status =
        fs::read_to_string(root.join(format!("run/libvirt/qemu/{name}.xml"))).expect("status file");
    assert!(
        status.contains("<blockjob name='drive-virtio-disk0' type='copy' state='running'>"),
        "{status}"
    );

    host.kill_daemon();
    host.start_daemon();
    let info = host.virsh_ok(&format!("blockjob {name} vda --info --raw"));
    assert!(info.contains("type=Block Copy"), "{info}");
    let dump = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(
        dump.contains(&format!("<mirror type='file' file='{}'", copy.display())),
        "{dump}"
    );
    assert!(!dump.contains("ready='yes'"), "{dump}");

    // While no daemon runs, the copy catches up and becomes ready.
    stop_daemon(&mut host);
    {
        let mut qmp = Qmp::connect(&host, name);
        qmp.execute(
            "block-job-set-speed",
            "{\"device\":\"drive-virtio-disk0\",\"speed\":0}",
        );
        wait_for("the copy to be ready", || {
            qmp.execute("query-block-jobs", "{}")[0]["ready"].as_bool() == Some(true)
        });
    }
    host.start_daemon();
    assert_eq!(host.guest_pids(), vec![pid], "the guest did not stay");
    let dump = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(dump.contains("job='copy' ready='yes'"), "{dump}");
    let mut events = listen_events(&host);
    let info = host.virsh_ok(&format!("blockjob {name} vda --info --raw"));
    assert!(info.contains("type=Block Copy"), "{info}");
    host.virsh_ok(&format!("blockjob {name} vda --pivot"));
    expect_event(&mut events, name, "Block Copy for vda completed");
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&copy.display().to_string()), "{blk}");
    assert!(!blk.contains(&disk.display().to_string()), "{blk}");
    assert!(!has_open(pid, &disk), "qemu still holds the old image");
    assert!(has_open(pid, &copy), "qemu does not hold the copy");
    assert_eq!(mailbox.read16("vda", MIB), MARKER);
    let dump = host.virsh_ok(&format!("dumpxml {name}"));
    assert!(!dump.contains("<mirror"), "{dump}");
}

#[test]
fn active_commit_that_ended_while_the_daemon_was_down_is_followed() {
    let mut host = QemuHost::start();
    let name = "bjcommit";
    let root = host.root().to_path_buf();
    let base = qcow2_with(&root, "base", MARKER);
    let mut mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = guest_with_disk(&host, name, &base, &mailbox);
    host.virsh_ok(&format!("define {xml}"));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
    let pid = *host.guest_pids().first().expect("qemu runs");
    let top = root.join("top.qcow2");
    host.virsh_ok(&format!(
        "snapshot-create-as {name} s1 --disk-only --no-metadata --diskspec vda,file={}",
        top.display()
    ));
    host.virsh_ok(&format!(
        "blockcommit {name} vda --active --bandwidth 1 --bytes"
    ));

    // While no daemon runs, the commit becomes ready and the guest is pivoted.
    host.kill_daemon();
    {
        let mut qmp = Qmp::connect(&host, name);
        qmp.execute(
            "block-job-set-speed",
            "{\"device\":\"drive-virtio-disk0\",\"speed\":0}",
        );
        wait_for("the commit to be ready", || {
            qmp.execute("query-block-jobs", "{}")[0]["ready"].as_bool() == Some(true)
        });
        qmp.execute("block-job-complete", "{\"device\":\"drive-virtio-disk0\"}");
        wait_for("the commit to end", || {
            qmp.execute("query-block-jobs", "{}")
                .as_array()
                .is_some_and(Vec::is_empty)
        });
    }
    host.start_daemon();
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&base.display().to_string()), "{blk}");
    assert!(!blk.contains(&top.display().to_string()), "{blk}");
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {name}"));
    assert!(inactive.contains(&base.display().to_string()), "{inactive}");
    assert!(!inactive.contains(&top.display().to_string()), "{inactive}");
    let info = host.virsh_ok(&format!("blockjob {name} vda --info"));
    assert!(info.contains("No current block job for vda"), "{info}");
    assert!(!has_open(pid, &top), "qemu still holds the overlay");
    assert_eq!(mailbox.read16("vda", MIB), MARKER);

    // A commit that is still running after a restart is pivoted as usual.
    let top2 = root.join("top2.qcow2");
    host.virsh_ok(&format!(
        "snapshot-create-as {name} s2 --disk-only --no-metadata --diskspec vda,file={}",
        top2.display()
    ));
    // Data in the overlay: the commit has something to copy before it is ready.
    host.virsh_ok(&format!(
        "qemu-monitor-command --hmp {name} 'qemu-io drive-virtio-disk0 \"write -P 0x5a 4M 1M\"'"
    ));
    host.virsh_ok(&format!(
        "blockcommit {name} vda --active --bandwidth 1 --bytes"
    ));
    stop_daemon(&mut host);
    host.start_daemon();
    let mut events = listen_events(&host);
    let info = host.virsh_ok(&format!("blockjob {name} vda --info --raw"));
    assert!(info.contains("type=Active Block Commit"), "{info}");
    host.virsh_ok(&format!("blockjob {name} vda --bandwidth 100"));
    expect_event(&mut events, name, "Active Block Commit for vda ready");
    host.virsh_ok(&format!("blockjob {name} vda --pivot"));
    expect_event(&mut events, name, "Active Block Commit for vda completed");
    let blk = host.virsh_ok(&format!("domblklist {name}"));
    assert!(blk.contains(&base.display().to_string()), "{blk}");
    assert!(!has_open(pid, &top2), "qemu still holds the overlay");
    assert_eq!(mailbox.read16("vda", MIB), MARKER);
}

fn qemu_img_ok(args: &[&str]) -> String {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .expect("run qemu-img (Debian package qemu-utils)");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn backups_are_followed_across_daemon_restarts() {
    let mut host = QemuHost::start();
    let name = "bjbackup";
    let root = host.root().to_path_buf();
    // 256 MiB of data: far more than QEMU copies before the speed limit applies.
    let disk = root.join("data.qcow2");
    qemu_img_ok(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        disk.to_str().expect("path"),
        "256M",
    ]);
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", "write -P 0x5a 0 256M"])
        .arg(&disk)
        .output()
        .expect("run qemu-io (Debian package qemu-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mailbox = Mailbox::create(&root, host.serial_log(name));
    let xml = guest_with_disk(&host, name, &disk, &mailbox);
    host.virsh_ok(&format!("create {xml}"));
    host.wait_booted(name, 1);

    // Push mode, slowed down right away so that it runs through the restart.
    let target = root.join("full.qcow2");
    let backup = root.join("push.xml");
    fs::write(
        &backup,
        format!(
            "<domainbackup><disks><disk name='vda' type='file'><target file='{}'/></disk>\
             <disk name='vdb' backup='no'/></disks></domainbackup>",
            target.display()
        ),
    )
    .expect("backup xml");
    host.virsh_ok(&format!(
        "backup-begin {name} {} ; qemu-monitor-command {name} \
         '{{\"execute\":\"block-job-set-speed\",\"arguments\":{{\"device\":\"backup-vda-libvirt\",\"speed\":1}}}}'",
        backup.display()
    ));
    host.kill_daemon();
    host.start_daemon();
    let info = host.virsh_ok(&format!("domjobinfo {name}"));
    assert!(info.contains("Backup"), "{info}");
    let dump = host.virsh_ok(&format!("backup-dumpxml {name}"));
    assert!(
        dump.contains(&format!("<target file='{}'/>", target.display())),
        "{dump}"
    );
    let mut events = listen_events(&host);
    host.virsh_ok(&format!(
        "qemu-monitor-command {name} \
         '{{\"execute\":\"block-job-set-speed\",\"arguments\":{{\"device\":\"backup-vda-libvirt\",\"speed\":0}}}}'"
    ));
    let completed = format!("event 'job-completed' for domain '{name}'");
    let seen = events.wait_for_line(STATE_TIMEOUT, |l| l.contains(&completed));
    assert!(
        seen.is_some(),
        "no job-completed event\n{}",
        events.finish()
    );
    let info = host.virsh_ok(&format!("domjobinfo {name}"));
    assert!(info.contains("None"), "{info}");
    let cmp = qemu_img_ok(&[
        "compare",
        "-U",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        disk.to_str().expect("path"),
        target.to_str().expect("path"),
    ]);
    assert!(cmp.contains("Images are identical"), "{cmp}");

    // Pull mode: the export keeps serving after a restart, domjobabort ends it.
    let sock = root.join("nbd.sock");
    let scratch = root.join("scratch.qcow2");
    let pull = root.join("pull.xml");
    fs::write(
        &pull,
        format!(
            "<domainbackup mode='pull'><server transport='unix' socket='{}'/><disks>\
             <disk name='vda' type='file'><scratch file='{}'/></disk>\
             <disk name='vdb' backup='no'/></disks></domainbackup>",
            sock.display(),
            scratch.display()
        ),
    )
    .expect("backup xml");
    host.virsh_ok(&format!("backup-begin {name} {}", pull.display()));
    stop_daemon(&mut host);
    host.start_daemon();
    let mut events = listen_events(&host);
    let info = host.virsh_ok(&format!("domjobinfo {name}"));
    assert!(info.contains("Backup"), "{info}");
    let uri = format!("nbd+unix:///vda?socket={}", sock.display());
    let pulled = root.join("pulled.qcow2");
    qemu_img_ok(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "qcow2",
        &uri,
        pulled.to_str().expect("path"),
    ]);
    let cmp = qemu_img_ok(&[
        "compare",
        "-U",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        disk.to_str().expect("path"),
        pulled.to_str().expect("path"),
    ]);
    assert!(cmp.contains("Images are identical"), "{cmp}");
    host.virsh_ok(&format!("domjobabort {name}"));
    let seen = events.wait_for_line(STATE_TIMEOUT, |l| l.contains(&completed));
    assert!(
        seen.is_some(),
        "no job-completed event\n{}",
        events.finish()
    );
    wait_for("the scratch file to go", || !scratch.exists());
    assert!(!sock.exists() || UnixStream::connect(&sock).is_err());
    let err = host.virsh(&format!("backup-dumpxml {name}"));
    assert!(
        err.stderr.contains("no domain backup job present"),
        "{}",
        err.stderr
    );
}
