//! A daemon for network driver tests, run inside a named network namespace the test
//! creates (`ip netns add`), so bridges, firewall rules and dnsmasq never touch the
//! host's network. The namespace outlives daemon restarts (what reconnect tests need)
//! and is removed, with any dnsmasq left in it, when the host is dropped.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline};
use integration_tests::{libvirtd_bin, virsh, virsh_args, wait_until, CmdOutput};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct NetHost {
    root: tempfile::TempDir,
    netns: String,
    daemon: Option<Child>,
    /// Per-driver daemons (`virtqemud`, `virtnetworkd`, ...) started in the namespace.
    modular: Vec<(String, Child)>,
}

/// Checks the tools the network driver runs, naming their Debian packages.
pub fn require_network_tools() {
    require_tool("ip", "iproute2");
    require_tool("/usr/sbin/dnsmasq", "dnsmasq-base");
    require_tool("/usr/sbin/iptables", "iptables");
    require_tool("/usr/sbin/nft", "nftables");
}

impl NetHost {
    /// A fresh root and network namespace; the daemon is not started yet.
    pub fn new() -> NetHost {
        require_network_tools();
        let netns = format!(
            "lvnet-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = run_with_deadline(
            Command::new("ip").args(["netns", "add", &netns]),
            Duration::from_secs(20),
        );
        assert!(out.success(), "ip netns add {netns}: {out}");
        let root = tempfile::Builder::new()
            .prefix("libvirtd-net-")
            .tempdir()
            .expect("temporary root");
        let host = NetHost {
            root,
            netns,
            daemon: None,
            modular: Vec::new(),
        };
        host.ns_ok(&["ip", "link", "set", "lo", "up"]);
        host
    }

    /// A fresh host with its daemon running.
    pub fn start() -> NetHost {
        let mut host = NetHost::new();
        host.start_daemon();
        host
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The name of the network namespace (`ip netns exec NAME ...`).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// Writes a file below the root (config files, hook scripts) with `mode`.
    pub fn write(&self, relative: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.root().join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// Starts libvirtd in the namespace and waits for its socket.
    pub fn start_daemon(&mut self) {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.netns]);
        self.spawn_daemon(command);
    }

    /// Starts libvirtd in the namespace with the host's mounts (`ip netns exec`
    /// mounts a sysfs of its own, which hides the cgroup hierarchy containers need).
    #[allow(dead_code)]
    pub fn start_daemon_with_host_mounts(&mut self) {
        let nsenter = integration_tests::tools::require_tool("nsenter", "util-linux");
        let mut command = Command::new(nsenter);
        command.arg(format!("--net=/run/netns/{}", self.netns));
        self.spawn_daemon(command);
    }

    fn spawn_daemon(&mut self, mut command: Command) {
        let child = command
            .arg(libvirtd_bin())
            .env("LIBVIRTD_ROOT", self.root())
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(fs::File::create(self.root().join("daemon.stdout")).expect("stdout"))
            .stderr(fs::File::create(self.root().join("daemon.stderr")).expect("stderr"))
            .process_group(0)
            .spawn()
            .expect("spawn libvirtd");
        self.daemon = Some(child);
        let socket = self.root().join("run/libvirt/libvirt-sock");
        let ready = wait_until(Duration::from_secs(30), || {
            UnixStream::connect(&socket).is_ok()
        });
        assert!(ready, "libvirtd did not start\n{}", self.diagnostics());
    }

    /// Starts the per-driver daemon `name` (the binary through a symlink of that
    /// name, as it chooses its role by argv[0]) in the namespace on this root and
    /// waits for its socket.
    pub fn start_modular(&mut self, name: &str) {
        let socket = format!("{name}-sock");
        self.start_modular_with(name, &[], &socket);
    }

    /// [`NetHost::start_modular`] with arguments, waiting for `socket` (in
    /// `run/libvirt`): virtproxyd listens on libvirtd's socket names.
    pub fn start_modular_with(&mut self, name: &str, args: &[&str], socket: &str) {
        let bin_dir = self.root().join("bin");
        fs::create_dir_all(&bin_dir).expect("bin directory");
        let link = bin_dir.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(libvirtd_bin(), &link).expect("symlink the daemon");
        }
        let child = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(&link)
            .args(args)
            .env("LIBVIRTD_ROOT", self.root())
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(fs::File::create(self.root().join(format!("{name}.stdout"))).expect("stdout"))
            .stderr(fs::File::create(self.root().join(format!("{name}.stderr"))).expect("stderr"))
            .process_group(0)
            .spawn()
            .expect("spawn a per-driver daemon");
        self.modular.push((name.to_string(), child));
        let socket = self.root().join(format!("run/libvirt/{socket}"));
        let ready = wait_until(Duration::from_secs(30), || {
            UnixStream::connect(&socket).is_ok()
        });
        assert!(ready, "{name} did not start\n{}", self.diagnostics());
    }

    /// Sends `signal` to the per-driver daemon `name`.
    pub fn signal_modular(&self, name: &str, signal: nix::sys::signal::Signal) {
        for (_, child) in self.modular.iter().filter(|(n, _)| n == name) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal);
        }
    }

    /// SIGKILL to the per-driver daemon `name` only.
    pub fn kill_modular(&mut self, name: &str) {
        while let Some(i) = self.modular.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.modular.remove(i);
            // SAFETY: signalling the process group we created for that daemon.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }

    /// A `DRIVER+unix:///system` URI on the socket of per-driver daemon `daemon`.
    pub fn modular_uri(&self, driver: &str, daemon: &str) -> String {
        format!(
            "{driver}+unix:///system?socket={}",
            self.root()
                .join(format!("run/libvirt/{daemon}-sock"))
                .display()
        )
    }

    /// SIGKILL to the daemon's process group (dnsmasq lives in its own session).
    pub fn kill_daemon(&mut self) {
        for (_, mut child) in self.modular.drain(..) {
            // SAFETY: signalling the process group we created for that daemon.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
        }
        if let Some(mut child) = self.daemon.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(-(child.id() as i32)),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
        }
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: i32) {
        let child = self.daemon.as_ref().expect("daemon running");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::try_from(signal).expect("signal number"),
        );
    }

    pub fn uri(&self) -> String {
        format!(
            "qemu+unix:///system?socket={}",
            self.root().join("run/libvirt/libvirt-sock").display()
        )
    }

    pub fn network_uri(&self) -> String {
        format!(
            "network+unix:///system?socket={}",
            self.root().join("run/libvirt/libvirt-sock").display()
        )
    }

    pub fn virsh(&self, commands: &str) -> CmdOutput {
        virsh(&self.uri(), commands)
    }

    pub fn virsh_ok(&self, commands: &str) -> String {
        let out = self.virsh(commands);
        assert!(
            out.success(),
            "virsh {commands}: {out}\n{}",
            self.diagnostics()
        );
        out.stdout
    }

    /// Runs virsh with separate arguments (XML snippets with quotes).
    pub fn virsh_args(&self, args: &[&str]) -> CmdOutput {
        let uri = self.uri();
        let mut all = vec!["-c", uri.as_str()];
        all.extend_from_slice(args);
        virsh_args(&all)
    }

    /// Defines a network from `xml` (written to a file under the root).
    pub fn define(&self, name: &str, xml: &str) -> CmdOutput {
        let file = self.write(&format!("{name}.xml"), xml, 0o644);
        self.virsh(&format!("net-define {}", file.display()))
    }

    /// A command run inside the test's network namespace.
    pub fn ns(&self, args: &[&str]) -> CmdOutput {
        run_with_deadline(
            Command::new("ip")
                .args(["netns", "exec", &self.netns])
                .args(args),
            Duration::from_secs(30),
        )
    }

    pub fn ns_ok(&self, args: &[&str]) -> String {
        let out = self.ns(args);
        assert!(out.success(), "{args:?} in {}: {out}", self.netns);
        out.stdout
    }

    pub fn link_exists(&self, name: &str) -> bool {
        self.ns(&["ip", "link", "show", "dev", name]).success()
    }

    /// `iptables -t TABLE -S` in the namespace.
    pub fn iptables(&self, table: &str) -> String {
        self.ns_ok(&["iptables", "-w", "-t", table, "-S"])
    }

    pub fn nft_ruleset(&self) -> String {
        self.ns_ok(&["nft", "list", "ruleset"])
    }

    /// The dnsmasq pid of network `name`, when its pid file names a live dnsmasq.
    pub fn dnsmasq_pid(&self, name: &str) -> Option<i32> {
        let file = self.root().join(format!("run/libvirt/network/{name}.pid"));
        let pid: i32 = fs::read_to_string(file).ok()?.trim().parse().ok()?;
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let text = String::from_utf8_lossy(&cmdline);
        (text.contains("dnsmasq") && text.contains(&self.root().display().to_string()))
            .then_some(pid)
    }

    pub fn diagnostics(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.root().join(name)).unwrap_or_default();
        let mut text = format!(
            "--- daemon stderr ---\n{}\n--- daemon stdout ---\n{}",
            read("daemon.stderr"),
            read("daemon.stdout")
        );
        for name in [
            "virtqemud",
            "virtnetworkd",
            "virtstoraged",
            "virtsecretd",
            "virtnodedevd",
            "virtinterfaced",
            "virtlxcd",
            "virtproxyd",
        ] {
            let stderr = read(&format!("{name}.stderr"));
            if !stderr.is_empty() {
                text.push_str(&format!("\n--- {name} stderr ---\n{stderr}"));
            }
        }
        text
    }

    /// Kills every process started for this root (dnsmasq, guests): their command
    /// lines name files under it.
    fn kill_leftovers(&self) {
        let marker = self.root().display().to_string();
        let Ok(entries) = fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&cmdline);
            if text.contains(&marker) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

impl Drop for NetHost {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        self.kill_daemon();
        self.kill_leftovers();
        let _ = run_with_deadline(
            Command::new("ip").args(["netns", "del", &self.netns]),
            Duration::from_secs(20),
        );
    }
}

/// A running `virsh net-event --loop --event lifecycle`, its lines read with deadlines.
pub struct NetEvents {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl NetEvents {
    /// Starts the listener and waits until it reports events (a sentinel network is
    /// defined and undefined until one shows up).
    pub fn start(host: &NetHost) -> NetEvents {
        NetEvents::start_on(host, &host.uri())
    }

    /// [`NetEvents::start`] on the connection `uri` (the sentinel is defined there too).
    pub fn start_on(host: &NetHost, uri: &str) -> NetEvents {
        use std::io::BufRead;
        let mut child = integration_tests::virsh_command()
            .args(["-c", uri, "net-event", "--loop", "--event", "lifecycle"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn virsh net-event");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut events = NetEvents { child, lines };
        let sentinel = "<network><name>sentinel</name><bridge name='lvbr-sent'/></network>";
        let file = host.write("sentinel.xml", sentinel, 0o644);
        let ready = wait_until(Duration::from_secs(20), || {
            let out = virsh(uri, &format!("net-define {}", file.display()));
            assert!(out.success(), "{out}");
            let out = virsh(uri, "net-undefine sentinel");
            assert!(out.success(), "{out}");
            events
                .next(Duration::from_millis(300))
                .is_some_and(|l| l.contains("sentinel"))
        });
        assert!(ready, "virsh net-event never reported an event");
        while events.next(Duration::from_millis(200)).is_some() {}
        events
    }

    pub fn next(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// The event names ("Defined", "Started", ...) reported for `network`, until
    /// `count` of them arrived or `timeout` passed.
    pub fn collect(&mut self, network: &str, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Some(line) = self.next(left) else { break };
            if line.contains(&format!("network {network}:")) {
                out.push(line.split_whitespace().last().unwrap_or("").to_string());
            }
        }
        out
    }
}

impl Drop for NetEvents {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
