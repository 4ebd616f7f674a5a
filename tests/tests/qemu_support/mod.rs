//! Shared pieces of the qemu driver tests: a daemon whose root survives restarts (so
//! a second daemon can re-attach to the guests of the first), the tiny guest, and a
//! reaper that kills every guest of the test when it ends (guests outlive daemons).

#![allow(dead_code)]

use std::fs;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod disk_io;

use integration_tests::tools::require_tool;
use integration_tests::{libvirtd_bin, virsh, wait_until, CmdOutput};

/// Boot under TCG takes a few seconds on a loaded 2-core machine; allow plenty.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
pub const STATE_TIMEOUT: Duration = Duration::from_secs(30);

/// Kernel and initramfs of the tiny guest, built by the script in tests/data/qemu and
/// cached under target/ (rebuilt when the script's version stamp changes).
pub fn tiny_guest() -> (PathBuf, PathBuf) {
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = manifest.join("../target/tiny-guest");
    let kernel = out.join("vmlinuz");
    let initrd = out.join("initrd.gz");
    // The script returns at once when the cached build has its current version.
    {
        let script = manifest.join("data/qemu/build-tiny-guest.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .status()
            .expect("run build-tiny-guest.sh");
        assert!(
            status.success(),
            "building the tiny guest failed: it needs apt-get access to a \
             linux-image-*-cloud-amd64 package and the Debian packages busybox-static and cpio"
        );
    }
    (kernel, initrd)
}

/// A daemon root directory plus the daemon currently running on it.
pub struct QemuHost {
    root: tempfile::TempDir,
    daemon: Option<Child>,
    /// A bridge made in a network namespace of the daemon's own (see
    /// [`QemuHost::start_in_netns`]).
    netns_bridge: Option<String>,
    /// Extra command-line arguments of the daemon (`--listen`).
    daemon_args: Vec<String>,
}

impl QemuHost {
    pub fn start() -> QemuHost {
        let root = tempfile::Builder::new()
            .prefix("lvq-")
            .tempdir()
            .expect("temporary root");
        let conf = root.path().join("etc/libvirt/libvirtd.conf");
        fs::create_dir_all(conf.parent().expect("etc dir")).expect("create etc/libvirt");
        fs::write(
            &conf,
            format!(
                "log_level = 1\nlog_outputs = \"1:file:{}\"\n",
                root.path().join("log").display()
            ),
        )
        .expect("write libvirtd.conf");
        let mut host = QemuHost {
            root,
            daemon: None,
            netns_bridge: None,
            daemon_args: Vec::new(),
        };
        host.start_daemon();
        host
    }

    /// Like [`QemuHost::start`], with the daemon (and so its guests and taps) in a
    /// network namespace of its own holding the bridge `bridge`: bridge NICs
    /// without touching the host's network.
    pub fn start_in_netns(bridge: &str) -> QemuHost {
        let mut host = QemuHost::start();
        host.kill_daemon();
        host.netns_bridge = Some(bridge.to_string());
        host.start_daemon();
        host
    }

    /// The daemon's pid (to enter its network namespace).
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Child::id)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `qemu:///system` over this daemon's socket.
    pub fn uri(&self) -> String {
        format!(
            "qemu+unix:///system?socket={}",
            self.root().join("run/libvirt/libvirt-sock").display()
        )
    }

    pub fn virsh(&self, commands: &str) -> CmdOutput {
        virsh(&self.uri(), commands)
    }

    /// Runs virsh and returns its trimmed stdout, failing the test on error.
    pub fn virsh_ok(&self, commands: &str) -> String {
        let out = self.virsh(commands);
        assert!(
            out.success(),
            "virsh {commands} failed: {}{}\n{}",
            out.stdout,
            out.stderr,
            self.diagnostics()
        );
        out.stdout.trim().to_string()
    }

    /// Starts libvirtd on this root (after a previous one was killed).
    pub fn start_daemon(&mut self) {
        let mut command = match &self.netns_bridge {
            None => Command::new(libvirtd_bin()),
            Some(bridge) => {
                let mut c = Command::new(require_tool("unshare", "util-linux"));
                require_tool("ip", "iproute2");
                // A sysfs of the new namespace shows its network devices; the
                // cgroup mounts below it are carried over.
                let cgroups = self.root().join("cgroup-mounts");
                c.args(["--net", "--mount", "--", "sh", "-c"])
                    .arg(format!(
                        "mkdir -p {cg} && mount --rbind /sys/fs/cgroup {cg} && \
                         mount -t sysfs sysfs /sys && mount --move {cg} /sys/fs/cgroup && \
                         ip link set lo up && ip link add {bridge} type bridge && \
                         ip link set {bridge} up && exec \"$0\" \"$@\"",
                        cg = cgroups.display()
                    ))
                    .arg(libvirtd_bin());
                c
            }
        };
        command
            .args(&self.daemon_args)
            .env("LIBVIRTD_ROOT", self.root())
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_FDNAMES")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(fs::File::create(self.root().join("daemon.stdout")).expect("stdout file"))
            .stderr(fs::File::create(self.root().join("daemon.stderr")).expect("stderr file"))
            .process_group(0);
        let child = command.spawn().expect("spawn libvirtd");
        self.daemon = Some(child);
        let socket = self.root().join("run/libvirt/libvirt-sock");
        let ready = wait_until(Duration::from_secs(20), || {
            UnixStream::connect(&socket).is_ok()
        });
        assert!(ready, "libvirtd did not start\n{}", self.diagnostics());
    }

    /// The arguments the daemon gets from its next start on.
    pub fn set_daemon_args(&mut self, args: &[&str]) {
        self.daemon_args = args.iter().map(|a| a.to_string()).collect();
    }

    /// SIGKILL to the daemon (not to its guests, which live in their own sessions).
    pub fn kill_daemon(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let pgid = child.id() as i32;
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(-pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
        }
    }

    /// Waits for the daemon to exit by itself (after a shutdown request) and returns
    /// whether it exited with status 0.
    pub fn wait_daemon_exit(&mut self) -> bool {
        let Some(mut child) = self.daemon.take() else {
            return false;
        };
        let mut status = None;
        let exited = wait_until(Duration::from_secs(120), || {
            status = child.try_wait().ok().flatten();
            status.is_some()
        });
        assert!(exited, "libvirtd did not exit\n{}", self.diagnostics());
        status.is_some_and(|s| s.success())
    }

    /// Sends `signal` to the running daemon.
    pub fn signal_daemon(&self, signal: i32) {
        if let Some(child) = &self.daemon {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::try_from(signal).expect("signal number"),
            );
        }
    }

    pub fn diagnostics(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.root().join(name)).unwrap_or_default();
        format!(
            "--- daemon stderr ---\n{}\n--- daemon log (tail) ---\n{}",
            read("daemon.stderr"),
            read("log")
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        )
    }

    /// Pids of QEMU processes started for this root.
    pub fn guest_pids(&self) -> Vec<i32> {
        let needle = self.root().display().to_string();
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
            .filter(|pid| {
                fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|raw| {
                        let text = String::from_utf8_lossy(&raw);
                        text.contains("qemu-system") && text.contains(&needle)
                    })
                    .unwrap_or(false)
            })
            .collect()
    }

    /// A definition of the tiny guest whose serial console goes to `serial`.
    pub fn guest_xml(&self, name: &str) -> String {
        let (kernel, initrd) = tiny_guest();
        format!(
            "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{}</kernel>
    <initrd>{}</initrd>
    <cmdline>console=ttyS0 quiet no_timer_check</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='{}'/></serial>
  </devices>
</domain>
",
            kernel.display(),
            initrd.display(),
            self.serial_log(name).display()
        )
    }

    pub fn serial_log(&self, name: &str) -> PathBuf {
        self.root().join(format!("{name}.serial"))
    }

    /// Defines the tiny guest `name` through virsh.
    pub fn define_guest(&self, name: &str) {
        let file = self.root().join(format!("{name}.xml"));
        fs::write(&file, self.guest_xml(name)).expect("write guest xml");
        self.virsh_ok(&format!("define {}", file.display()));
    }

    /// How many times the guest printed its boot marker.
    pub fn boot_count(&self, name: &str) -> usize {
        fs::read_to_string(self.serial_log(name))
            .map(|t| t.matches("TINY-GUEST-BOOTED").count())
            .unwrap_or(0)
    }

    /// Waits until the guest has booted `count` times.
    pub fn wait_booted(&self, name: &str, count: usize) {
        let booted = wait_until(BOOT_TIMEOUT, || self.boot_count(name) >= count);
        assert!(
            booted,
            "guest {name} did not print its boot marker {count} time(s); serial:\n{}",
            fs::read_to_string(self.serial_log(name)).unwrap_or_default()
        );
    }

    pub fn domstate(&self, name: &str) -> String {
        self.virsh(&format!("domstate --reason {name}"))
            .stdout
            .trim()
            .to_string()
    }

    /// Waits until `domstate --reason` prints `wanted`.
    pub fn wait_state(&self, name: &str, wanted: &str) {
        let reached = wait_until(STATE_TIMEOUT, || self.domstate(name) == wanted);
        assert!(
            reached,
            "domain {name} never reached '{wanted}' (last: '{}')\n{}",
            self.domstate(name),
            self.diagnostics()
        );
    }
}

impl Drop for QemuHost {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        self.kill_daemon();
        for pid in self.guest_pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A `virsh event --all --loop` on this daemon, returned once its registration is
/// known to be in place (a definition made through another client was reported).
pub fn listen_events(host: &QemuHost) -> integration_tests::EventListener {
    let mut listener = integration_tests::EventListener::spawn(&host.uri());
    let file = host.root().join("sentinel.xml");
    fs::write(
        &file,
        "<domain type='qemu'><name>sentinel</name>\
         <uuid>5b1f6a2e-9a3c-4d0e-8f5e-2c7d9b1a0e43</uuid>\
         <memory unit='KiB'>65536</memory><os><type>hvm</type></os></domain>",
    )
    .expect("write sentinel");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        host.virsh_ok(&format!("define {}", file.display()));
        if listener
            .wait_for_line(Duration::from_millis(300), |l| {
                l.contains("domain 'sentinel'")
            })
            .is_some()
        {
            return listener;
        }
        assert!(
            listener.is_alive(),
            "virsh event exited:\n{}",
            listener.finish()
        );
    }
    panic!("virsh event saw no event\n{}", listener.finish());
}

/// Waits for an event line about `name` containing `text`.
pub fn expect_event(listener: &mut integration_tests::EventListener, name: &str, text: &str) {
    let needle = format!("for domain '{name}': {text}");
    let found = listener.wait_for_line(STATE_TIMEOUT, |l| l.contains(&needle));
    assert!(
        found.is_some(),
        "no '{needle}' event\n{}",
        listener.finish()
    );
}
