//! What root inside a container without `<idmap>` can no longer do to the host: create
//! or open device nodes outside libvirt's allow-list, write the host's kernel tunables,
//! read the host's kernel log, write below a read-only filesystem's submounts, keep the
//! capabilities libvirt (and we, beyond it) drop; and what `<features><capabilities>`
//! grants back. Plus the size cap of the container's console log. Real containers, root.

mod lxc_common;

use std::fs;
use std::path::{Path, PathBuf};

use integration_tests::{virsh, wait_until, Daemon};
use lxc_common::*;

/// Each probe writes its output and exit code to /out/NAME; kmsg last, as an unmasked
/// /proc/kmsg would block.
const PROBES: &str = r#"
run() { out=$1; shift; ( "$@" ) > /out/.tmp 2>&1; echo "rc=$?" >> /out/.tmp; mv /out/.tmp "/out/$out"; }
run mknod busybox mknod /mknod-probe c 1 3
run tun busybox head -c 1 /net-tun
run null busybox head -c 1 /dev/zero
run core sh -c 'echo "|/bin/false lxc-probe" > /proc/sys/kernel/core_pattern'
run ipfwd sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward'
run sub busybox touch /data/sub/probe
run top busybox touch /data/probe
run caps busybox grep Cap /proc/self/status
run kmsg sh -c '[ -c /proc/kmsg ] && echo masked; busybox timeout 5 busybox head -c 1 /proc/kmsg | busybox wc -c'
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// Puts the host's core_pattern back if a container managed to change it.
struct CorePatternGuard(String);

impl Drop for CorePatternGuard {
    fn drop(&mut self) {
        if fs::read_to_string(CORE_PATTERN).ok().as_deref() != Some(self.0.as_str()) {
            let _ = fs::write(CORE_PATTERN, self.0.trim_end());
        }
    }
}

/// A tmpfs mounted on the host below the read-only filesystem's source.
struct HostMount(PathBuf);

impl HostMount {
    fn tmpfs(at: &Path) -> HostMount {
        fs::create_dir_all(at).expect("create the submount point");
        nix::mount::mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .expect("mount tmpfs");
        HostMount(at.to_path_buf())
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Creates a character device node (the host's root may; the container's may not).
fn make_char_device(path: &Path, major: u32, minor: u32) {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(major.into(), minor.into()),
    )
    .expect("mknod");
}

fn cap_mask(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no {field} in:\n{status}"))
}

fn failed(report: &str) -> bool {
    !report.trim_end().ends_with("rc=0")
}

#[test]
fn root_in_a_privileged_container_cannot_reach_host_devices_tunables_or_logs() {
    require_container_host();
    let host_core = fs::read_to_string(CORE_PATTERN).expect("read core_pattern");
    let _restore = CorePatternGuard(host_core.clone());
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("harden");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(PROBES);
    // char 10:200 is /dev/net/tun: openable by root today, not on libvirt's list.
    make_char_device(&rootfs.path().join("net-tun"), 10, 200);
    let data = tempfile::tempdir().expect("data directory");
    let _sub = HostMount::tmpfs(&data.path().join("sub"));
    let extra = format!(
        "    <filesystem type='mount'>\n      <source dir='{}'/>\n      \
         <target dir='/data'/>\n      <readonly/>\n    </filesystem>\n",
        data.path().display()
    );
    let xml = domain_xml(&name, rootfs.path(), 64, &extra).replace(
        "</os>",
        "</os>\n  <features>\n    <privnet/>\n    <capabilities policy='default'>\n      \
         <sys_rawio state='on'/>\n      <syslog state='on'/>\n    </capabilities>\n  </features>",
    );
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, xml).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    let dumped = virsh(&uri, &format!("dumpxml {name}")).expect_success("dumpxml");
    assert!(
        dumped.stdout.contains("<sys_rawio state='on'/>"),
        "{dumped}"
    );
    virsh(&uri, &format!("start {name}")).expect_success("start");

    let mknod = rootfs.wait_report("mknod");
    assert!(failed(&mknod), "mknod succeeded in the container:\n{mknod}");
    assert!(!rootfs.path().join("mknod-probe").exists());

    let tun = rootfs.wait_report("tun");
    assert!(
        failed(&tun) && tun.contains("Operation not permitted"),
        "a device outside the allow-list was opened:\n{tun}"
    );
    let null = rootfs.wait_report("null");
    assert!(!failed(&null), "an allowed device was refused:\n{null}");

    let core = rootfs.wait_report("core");
    assert!(failed(&core), "core_pattern was written:\n{core}");
    assert_eq!(
        fs::read_to_string(CORE_PATTERN).expect("read core_pattern"),
        host_core,
        "the host's core_pattern changed"
    );
    let ipfwd = rootfs.wait_report("ipfwd");
    assert!(
        !failed(&ipfwd) && ipfwd.starts_with('1'),
        "the container's own net/ipv4 must stay writable:\n{ipfwd}"
    );

    let sub = rootfs.wait_report("sub");
    assert!(
        failed(&sub) && sub.contains("Read-only"),
        "a read-only filesystem's submount was writable:\n{sub}"
    );
    assert!(!data.path().join("sub/probe").exists());
    let top = rootfs.wait_report("top");
    assert!(
        failed(&top),
        "the read-only filesystem was writable:\n{top}"
    );

    let caps = rootfs.wait_report("caps");
    for field in ["CapBnd", "CapPrm", "CapEff"] {
        let mask = cap_mask(&caps, field);
        for (bit, what) in [(17, "SYS_RAWIO"), (34, "SYSLOG"), (21, "SYS_ADMIN")] {
            assert_ne!(
                mask & (1 << bit),
                0,
                "{field} lacks granted {what}:\n{caps}"
            );
        }
        for (bit, what) in [
            (2, "DAC_READ_SEARCH"),
            (16, "SYS_MODULE"),
            (25, "SYS_TIME"),
            (27, "MKNOD"),
            (30, "AUDIT_CONTROL"),
            (32, "MAC_OVERRIDE"),
            (33, "MAC_ADMIN"),
        ] {
            assert_eq!(mask & (1 << bit), 0, "{field} keeps {what}:\n{caps}");
        }
    }
    assert_eq!(cap_mask(&caps, "CapAmb"), 0, "{caps}");

    let kmsg = rootfs.wait_report("kmsg");
    assert!(
        kmsg.starts_with("masked\n0\n"),
        "/proc/kmsg is readable (CAP_SYSLOG was granted):\n{kmsg}"
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}

/// Writes far more than the log cap to the console, then a marker.
const CHATTY: &str = r#"
busybox head -c 9000000 /dev/zero | busybox tr '\0' x
echo console-end
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

/// The cap of the supervisor's log (drivers' `console_log::LIMIT`).
const LOG_LIMIT: u64 = 4 << 20;

#[test]
fn console_log_is_capped_and_rotated() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("chatty");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(CHATTY);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    let log = daemon
        .root()
        .join(format!("var/log/libvirt/lxc/{name}.log"));
    let rotated = daemon
        .root()
        .join(format!("var/log/libvirt/lxc/{name}.log.0"));
    let finished = wait_until(CONTAINER_TIMEOUT * 2, || {
        fs::read(&log).is_ok_and(|b| b.windows(11).any(|w| w == b"console-end"))
    });
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    assert!(
        finished,
        "the console output never reached the log (log {} bytes, rotated {} bytes)",
        size(&log),
        size(&rotated)
    );
    assert!(rotated.exists(), "the log was never rotated");
    // One read of the pty (4 KiB) may cross the cap before the check.
    assert!(size(&log) <= LOG_LIMIT + 4096, "log {} bytes", size(&log));
    assert!(
        size(&rotated) <= LOG_LIMIT + 4096 && size(&rotated) >= LOG_LIMIT,
        "rotated log {} bytes",
        size(&rotated)
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}

const ROOT_PROBES: &str = r#"
run() { out=$1; shift; ( "$@" ) > /out/.tmp 2>&1; echo "rc=$?" >> /out/.tmp; mv /out/.tmp "/out/$out"; }
run root busybox touch /probe
run sub busybox touch /sub/probe
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

#[test]
fn read_only_root_covers_its_submounts_and_leaves_other_filesystems_writable() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("roroot");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(ROOT_PROBES);
    let _sub = HostMount::tmpfs(&rootfs.path().join("sub"));
    // /out, where the probes report, is a writable filesystem of its own.
    let extra = format!(
        "    <filesystem type='mount'>\n      <source dir='{}'/>\n      \
         <target dir='/out'/>\n    </filesystem>\n",
        rootfs.path().join("out").display()
    );
    let xml = domain_xml(&name, rootfs.path(), 64, &extra).replacen(
        "<target dir='/'/>\n",
        "<target dir='/'/>\n      <readonly/>\n",
        1,
    );
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, xml).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");
    let root = rootfs.wait_report("root");
    assert!(
        failed(&root) && root.contains("Read-only"),
        "the read-only root was writable:\n{root}"
    );
    let sub = rootfs.wait_report("sub");
    assert!(
        failed(&sub) && sub.contains("Read-only"),
        "a submount of the read-only root was writable:\n{sub}"
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
