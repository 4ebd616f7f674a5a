//! libvirt-guests `stop` with real qemu guests, watched while it runs: with
//! PARALLEL_SHUTDOWN=2 the second guest is asked and shuts down while the first
//! still ignores its power button (the shutdowns overlap); one at a time, the second
//! is not asked before the first is gone; SHUTDOWN_TIMEOUT=0 waits as long as it
//! takes. Also BYPASS_CACHE=yes: images written and read around the page cache.

mod guests_support;
mod qemu_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use guests_support::{configure_in, guests_bin, run_in};
use integration_tests::tools::require_tool;
use integration_tests::wait_until;
use qemu_support::{QemuHost, BOOT_TIMEOUT};

/// Defines and starts `name`; `cmdline_extra` is added to the kernel command line
/// (` acpi=off`: the guest never answers the power button).
fn boot_guest(host: &QemuHost, name: &str, cmdline_extra: &str) {
    let xml = host
        .guest_xml(name)
        .replace("</cmdline>", &format!("{cmdline_extra}</cmdline>"));
    let file = host.root().join(format!("{name}.xml"));
    std::fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
}

/// `libvirt-guests stop` running in the background, its stdout in a file.
struct RunningStop {
    child: Child,
    out: tempfile::NamedTempFile,
}

impl RunningStop {
    fn spawn(root: &Path) -> RunningStop {
        let out = tempfile::NamedTempFile::new().expect("output file");
        let child = Command::new(guests_bin())
            .arg("stop")
            .env("LIBVIRTD_ROOT", root)
            .env("LC_ALL", "C")
            .env_remove("LIBVIRT_DEFAULT_URI")
            .stdin(Stdio::null())
            .stdout(out.reopen().expect("reopen"))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn libvirt-guests stop");
        RunningStop { child, out }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.out.path()).unwrap_or_default()
    }

    fn wait_output(&self, text: &str) {
        let seen = wait_until(BOOT_TIMEOUT, || self.output().contains(text));
        assert!(seen, "no {text:?} in:\n{}", self.output());
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait_exit(&mut self) -> i32 {
        let exited = wait_until(BOOT_TIMEOUT, || !self.is_running());
        assert!(exited, "stop did not end:\n{}", self.output());
        self.child.wait().expect("wait").code().expect("exit code")
    }
}

impl Drop for RunningStop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn parallel_shutdowns_overlap_and_no_timeout_waits() {
    let host = QemuHost::start();
    boot_guest(&host, "deaf", " acpi=off");
    boot_guest(&host, "quick", "");
    let uri = host.uri();
    configure_in(
        host.root(),
        &format!("URIS='{uri}'\nPARALLEL_SHUTDOWN=2\nSHUTDOWN_TIMEOUT=0\n"),
    );

    let mut stop = RunningStop::spawn(host.root());
    // `deaf` comes first and never goes down by itself: `quick` is asked while
    // `deaf`'s shutdown is still in progress, so the two overlap.
    stop.wait_output("Starting shutdown on guest: quick\n");
    assert_eq!(host.domstate("deaf"), "running (booted)");
    let out = stop.output();
    assert!(
        out.contains(&format!(
            "Running guests on {uri} URI: deaf, quick\n\
             Shutting down guests on {uri} URI...\n\
             Starting shutdown on guest: deaf\n\
             Starting shutdown on guest: quick\n"
        )),
        "{out}"
    );
    // The tiny guest listens for the power button only just after its boot
    // marker: a press that came before is lost, so it is pressed again as needed.
    let quick_down = wait_until(BOOT_TIMEOUT, || {
        let down = host.domstate("quick") == "shut off (shutdown)";
        if !down {
            let _ = host.virsh("shutdown quick");
        }
        down
    });
    assert!(quick_down, "{}\n{}", stop.output(), host.diagnostics());
    assert_eq!(host.domstate("deaf"), "running (booted)");
    assert!(stop.is_running(), "stop ended:\n{}", stop.output());

    // No timeout: it keeps waiting, without a countdown, until the guest is gone.
    stop.wait_output("Shutdown of guest quick complete.\n");
    stop.wait_output("Waiting for 1 guests to shut down\n");
    assert!(stop.is_running(), "stop ended:\n{}", stop.output());
    host.virsh_ok("destroy deaf");
    assert_eq!(stop.wait_exit(), 0, "{}", stop.output());
    let out = stop.output();
    assert!(out.ends_with("Shutdown of guest deaf complete.\n"), "{out}");
    assert!(!out.contains("seconds left"), "{out}");
    assert!(!out.contains("Timeout expired"), "{out}");
}

#[test]
fn one_at_a_time_without_timeout_waits_for_each_guest() {
    let host = QemuHost::start();
    boot_guest(&host, "deaf", " acpi=off");
    boot_guest(&host, "quick", "");
    let uri = host.uri();
    configure_in(host.root(), &format!("URIS='{uri}'\nSHUTDOWN_TIMEOUT=0\n"));

    let mut stop = RunningStop::spawn(host.root());
    stop.wait_output("Waiting for guest deaf to shut down\n");
    // The next guest is not asked while the first one runs.
    assert_eq!(host.domstate("quick"), "running (booted)");
    assert!(
        !stop.output().contains("Starting shutdown on guest: quick"),
        "{}",
        stop.output()
    );
    assert!(stop.is_running());

    host.virsh_ok("destroy deaf");
    assert_eq!(stop.wait_exit(), 0, "{}", stop.output());
    let out = stop.output();
    assert!(
        out.contains(
            "Shutdown of guest deaf complete.\n\
             Starting shutdown on guest: quick\n"
        ),
        "{out}"
    );
    assert!(
        out.ends_with("Shutdown of guest quick complete.\n"),
        "{out}"
    );
    assert!(!out.contains("seconds left"), "{out}");
    assert_eq!(host.domstate("quick"), "shut off (shutdown)");
}

/// Bytes of `path` in the page cache.
fn cached_bytes(path: &Path) -> u64 {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(path)
        .output()
        .expect("run fincore");
    assert!(out.status.success(), "fincore: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("fincore prints a number")
}

#[test]
fn bypass_cache_keeps_images_out_of_the_page_cache() {
    require_tool("fincore", "util-linux");
    let host = QemuHost::start();
    boot_guest(&host, "b1", "");
    let uri = host.uri();
    configure_in(
        host.root(),
        &format!("URIS='{uri}'\nON_SHUTDOWN=suspend\nON_BOOT=start\nBYPASS_CACHE=yes\n"),
    );
    let stop = run_in(host.root(), &["stop"]);
    assert_eq!(stop.code(), Some(0), "{stop}");
    assert_eq!(host.domstate("b1"), "shut off (saved)");
    let image = host.root().join("var/lib/libvirt/qemu/save/b1.save");
    let size = std::fs::metadata(&image).expect("image").len();
    // Only the short last block goes through the cache.
    let most = (1 << 20) + 4096;
    assert!(
        size > 2 * most,
        "image of {size} bytes is too small to tell"
    );
    assert!(cached_bytes(&image) <= most, "saved through the cache");
    let watched = host.root().join("b1.watched");
    std::fs::hard_link(&image, &watched).expect("link the image");

    let start = run_in(host.root(), &["start"]);
    assert_eq!(start.code(), Some(0), "{start}");
    assert_eq!(host.domstate("b1"), "running (restored)");
    assert!(cached_bytes(&watched) <= most, "restored through the cache");
    assert_eq!(host.boot_count("b1"), 1);
    host.virsh_ok("destroy b1");
}
