//! The device allow-list on a cgroup v2 host, where it is a `BPF_CGROUP_DEVICE` program
//! on the container's group. The test machine may be a v1 or hybrid host, so the daemon
//! runs in a mount namespace of its own whose only cgroup mount is the v2 hierarchy at
//! /sys/fs/cgroup: exactly what it finds on a pure v2 host. One test per process, as the
//! daemon binary is chosen through the environment.

mod lxc_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use integration_tests::{libvirtd_bin, virsh, Daemon};
use lxc_common::*;

const PROBES: &str = r#"
run() { out=$1; shift; ( "$@" ) > /out/.tmp 2>&1; echo "rc=$?" >> /out/.tmp; mv /out/.tmp "/out/$out"; }
run tun busybox head -c 1 /net-tun
run zero busybox head -c 1 /dev/zero
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

#[test]
fn device_filter_program_confines_a_container_on_a_v2_host() {
    require_container_host();
    assert!(
        fs::read_to_string("/proc/filesystems").is_ok_and(|t| t.contains("cgroup2")),
        "the kernel lacks cgroup v2"
    );
    let real = libvirtd_bin();
    let wrapper_dir = tempfile::tempdir().expect("wrapper directory");
    let wrapper = wrapper_dir.path().join("libvirtd-v2");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec unshare --mount --propagation private -- /bin/sh -c \
             'umount -R /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 cgroup2 /sys/fs/cgroup \
             && exec \"$0\" \"$@\"' {} \"$@\"\n",
            real.display()
        ),
    )
    .expect("write the wrapper");
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
    // Only this test runs in this process, so the variable reaches no other daemon.
    std::env::set_var("LIBVIRTD_BIN", &wrapper);

    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("v2dev");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(PROBES);
    nix::sys::stat::mknod(
        &rootfs.path().join("net-tun"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(10, 200),
    )
    .expect("mknod");
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");

    let (init, _) = status_pids(&daemon.root().join(format!("run/libvirt/lxc/{name}.xml")))
        .expect("status file with pids");
    let groups = fs::read_to_string(format!("/proc/{init}/cgroup")).expect("init's cgroups");
    let v2 = groups.lines().find(|l| l.starts_with("0::")).unwrap_or("");
    assert!(
        v2.contains(".libvirt-lxc"),
        "init is not in a v2 group:\n{groups}"
    );
    assert!(
        !groups
            .lines()
            .any(|l| l.contains(":devices:") && l.contains(".libvirt-lxc")),
        "a v1 devices group was used, not the v2 program:\n{groups}"
    );

    let tun = rootfs.wait_report("tun");
    assert!(
        !tun.trim_end().ends_with("rc=0") && tun.contains("Operation not permitted"),
        "a device outside the allow-list was opened:\n{tun}"
    );
    let zero = rootfs.wait_report("zero");
    assert!(
        zero.trim_end().ends_with("rc=0"),
        "/dev/zero was refused:\n{zero}"
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
