//! The qemu `prepare` hook runs before any resource of the guest is checked or made:
//! a hook that creates the bridge an `<interface type='bridge'>` names lets the guest
//! start, and the hooks see the guest's tap exactly while it exists (absent at
//! `prepare`, present at `start` and `started`, gone at `stopped` and `release`).
//! The daemon runs in a network namespace of its own, so the bridge is the test's.

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use integration_tests::libvirtd_bin;
use integration_tests::tools::require_tool;
use qemu_support::QemuHost;

/// A `libvirtd` that runs in a new network namespace, with the namespace's own
/// devices under /sys/class/net (where the driver looks for bridges).
fn daemon_in_new_netns(dir: &std::path::Path) -> std::path::PathBuf {
    let unshare = require_tool("unshare", "util-linux");
    let wrapper = dir.join("libvirtd-netns");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} --net --mount --propagation private -- /bin/sh -c '\
             d=$(mktemp -d) && mount -t sysfs sysfs \"$d\" && \
             mount --bind \"$d/class/net\" /sys/class/net && \
             mount --bind \"$d/devices/virtual/net\" /sys/devices/virtual/net && \
             umount -l \"$d\" && rmdir \"$d\" && exec \"$0\" \"$@\"' {} \"$@\"\n",
            unshare.display(),
            libvirtd_bin().display()
        ),
    )
    .expect("write the wrapper");
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
    wrapper
}

#[test]
fn prepare_hook_creates_the_bridge_the_guest_needs() {
    let ip = require_tool("ip", "iproute2");
    let wrapper_dir = tempfile::tempdir().expect("wrapper directory");
    let wrapper = daemon_in_new_netns(wrapper_dir.path());
    // Only this test runs in this process, so the variable reaches no other daemon.
    std::env::set_var("LIBVIRTD_BIN", &wrapper);

    let mut host = QemuHost::start();
    // The hook script is read when the daemon starts: install it, then restart.
    let calls = host.root().join("hook-calls");
    let script = host.root().join("etc/libvirt/hooks/qemu");
    fs::create_dir_all(script.parent().expect("hooks dir")).expect("mkdir hooks");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             cat >/dev/null\n\
             if [ \"$2\" = prepare ]; then\n\
             \x20 {ip} link add br-hook0 type bridge || exit 1\n\
             \x20 {ip} link set br-hook0 up || exit 1\n\
             fi\n\
             if {ip} -o link show | grep -q ': vnet'; then tap=tap; else tap=notap; fi\n\
             echo \"$1 $2 $tap\" >>{}\n\
             exit 0\n",
            calls.display(),
            ip = ip.display()
        ),
    )
    .expect("write hook");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    host.kill_daemon();
    host.start_daemon();

    let xml = host.guest_xml("hb1").replace(
        "<devices>",
        "<devices>\n    <interface type='bridge'><mac address='52:54:00:aa:cc:11'/>\
         <source bridge='br-hook0'/><model type='virtio'/></interface>",
    );
    let file = host.root().join("hb1.xml");
    fs::write(&file, xml).expect("write xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok("start hb1");
    assert_eq!(host.domstate("hb1"), "running (booted)");
    let ifl = host.virsh_ok("domiflist hb1");
    assert!(
        ifl.lines()
            .any(|l| l.split_whitespace().nth(2) == Some("br-hook0")),
        "{ifl}"
    );
    host.virsh_ok("destroy hb1");

    let seen = fs::read_to_string(&calls).expect("the hooks ran");
    let lines: Vec<&str> = seen.lines().filter(|l| l.starts_with("hb1 ")).collect();
    assert_eq!(
        lines,
        [
            "hb1 prepare notap",
            "hb1 start tap",
            "hb1 started tap",
            "hb1 stopped notap",
            "hb1 release notap",
        ],
        "{seen}"
    );
}
