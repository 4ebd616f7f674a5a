//! `virt-install --disk size=N` unmodified: it defines, builds and starts the
//! `default` dir pool at /var/lib/libvirt/images through the API and creates
//! the guest's qcow2 volume there. The daemon runs in a private mount
//! namespace with its own /var/lib, where a temporary directory is bound
//! over that path, so the host's own files are never touched.

mod storage_support;

use std::fs;
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::require_tool;
use integration_tests::{libvirtd_bin, run_with_deadline};

const SCRIPT: &str = r#"
set -u
mount --make-rprivate /
# A private /var/lib: nothing is created on the host's.
mount -t tmpfs tmpfs /var/lib
mkdir -p /var/lib/libvirt/images
mount --bind "$IMAGES" /var/lib/libvirt/images
LIBVIRTD_ROOT="$ROOT" "$LIBVIRTD" >"$ROOT/daemon.out" 2>&1 &
daemon=$!
uri="qemu+unix:///system?socket=$ROOT/run/libvirt/libvirt-sock"
for i in $(seq 200); do [ -S "$ROOT/run/libvirt/libvirt-sock" ] && break; sleep 0.1; done
"$VIRT_INSTALL" --connect "$uri" --name vi --memory 128 --vcpus 1 --disk size=0.01 \
    --import --boot "kernel=$KERNEL,initrd=$INITRD,kernel_args=console=ttyS0" \
    --osinfo detect=on,require=off --noautoconsole --graphics none --network none \
    --virt-type qemu --controller usb,model=none
echo "virt-install status $?"
virsh -c "$uri" "pool-dumpxml default; vol-list default; domblklist vi; domstate vi; destroy vi; undefine vi; vol-delete --pool default vi.qcow2; pool-destroy default; pool-undefine default"
kill -9 $daemon
"#;

#[test]
fn virt_install_creates_the_default_pool_and_its_volume() {
    let virt_install = require_tool("virt-install", "virtinst");
    let unshare = require_tool("unshare", "util-linux");
    let (kernel, initrd) = storage_support::qemu_support::tiny_guest();
    let root = tempfile::Builder::new()
        .prefix("lvi-")
        .tempdir()
        .expect("root");
    let images = root.path().join("images");
    fs::create_dir_all(&images).expect("images dir");
    let out = run_with_deadline(
        Command::new(unshare)
            .args(["-m", "--propagation", "private", "bash", "-c", SCRIPT])
            .env("IMAGES", &images)
            .env("ROOT", root.path())
            .env("LIBVIRTD", libvirtd_bin())
            .env("VIRT_INSTALL", virt_install)
            .env("KERNEL", kernel)
            .env("INITRD", initrd)
            .env("LC_ALL", "C"),
        Duration::from_secs(240),
    );
    let daemon_out = fs::read_to_string(root.path().join("daemon.out")).unwrap_or_default();
    assert!(
        out.stdout.contains("virt-install status 0"),
        "{out}\n{daemon_out}"
    );
    assert!(
        out.stdout.contains("<path>/var/lib/libvirt/images</path>"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("vi.qcow2   /var/lib/libvirt/images/vi.qcow2"),
        "{out}"
    );
    assert!(
        out.stdout.contains("/var/lib/libvirt/images/vi.qcow2"),
        "{out}"
    );
    assert!(out.stdout.contains("running"), "{out}");
    // The volume was made in the bound directory and removed at the end.
    assert!(!images.join("vi.qcow2").exists(), "{out}");
    assert!(
        out.stderr.is_empty() || !out.stderr.contains("error:"),
        "{out}"
    );
}
