//! The real libvirtd 9.0 (its qemu driver initialised, its test driver at hand), for
//! tests that compare our daemon with it: confined to a private mount namespace (fresh tmpfs over its
//! run, cache and configuration directories, its state and log directories on a
//! directory of the test), with guests running as root and their output in plain files.

#![allow(dead_code)]

use std::fs;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integration_tests::tools::require_tool;
use integration_tests::{virsh, wait_until};

/// The real libvirtd; killed with its process group when dropped (its guests outlive
/// it: see [`GuestReaper`]).
pub struct ReferenceDaemon {
    dir: tempfile::TempDir,
    child: Child,
}

impl ReferenceDaemon {
    /// Starts it with `qemu.conf` holding root as user and group, file output for
    /// guests, and `extra_qemu_conf` (lines ending in `\n`).
    pub fn start(extra_qemu_conf: &str) -> ReferenceDaemon {
        Self::start_with(extra_qemu_conf, None)
    }

    /// [`ReferenceDaemon::start`] inside the network namespace `netns` (made with
    /// `ip netns add`), with that namespace's sysfs.
    pub fn start_in_netns(netns: &str) -> ReferenceDaemon {
        Self::start_with("", Some(netns))
    }

    fn start_with(extra_qemu_conf: &str, netns: Option<&str>) -> ReferenceDaemon {
        let libvirtd = require_tool("/usr/sbin/libvirtd", "libvirt-daemon");
        let unshare = require_tool("unshare", "util-linux");
        let dir = tempfile::Builder::new()
            .prefix("lvref-")
            .tempdir()
            .expect("temporary directory");
        let d = dir.path();
        for sub in ["sock", "lib", "log"] {
            fs::create_dir_all(d.join(sub)).expect("create directory");
        }
        fs::write(
            d.join("libvirtd.conf"),
            format!(
                "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
                 log_outputs = \"1:file:{}\"\n",
                d.join("sock").display(),
                d.join("libvirtd.log").display()
            ),
        )
        .expect("write libvirtd.conf");
        let qemu_conf = format!(
            "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\n{extra_qemu_conf}"
        );
        fs::write(d.join("qemu.conf"), qemu_conf).expect("write qemu.conf");
        let script = format!(
            "for d in /run/libvirt /var/cache/libvirt /etc/libvirt /run/lock; do \
               if [ -d $d ]; then mount -t tmpfs -o mode=0755 tmpfs $d || exit 1; fi; done; \
             mkdir -p /var/lib/libvirt /var/log/libvirt || exit 1; \
             mount --bind {lib} /var/lib/libvirt || exit 1; \
             mount --bind {log} /var/log/libvirt || exit 1; \
             {accounts}cp {qemu_conf} /etc/libvirt/qemu.conf || exit 1; \
             exec {libvirtd} -f {conf} -p {pid}",
            lib = d.join("lib").display(),
            log = d.join("log").display(),
            accounts = qemu_accounts(d),
            qemu_conf = d.join("qemu.conf").display(),
            libvirtd = libvirtd.display(),
            conf = d.join("libvirtd.conf").display(),
            pid = d.join("libvirtd.pid").display(),
        );
        let mut command = match netns {
            Some(netns) => {
                let mut ip = Command::new(require_tool("ip", "iproute2"));
                ip.args(["netns", "exec", netns]).arg(unshare);
                ip
            }
            None => Command::new(unshare),
        };
        let child = command
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(fs::File::create(d.join("libvirtd.out")).expect("stdout file"))
            .stderr(fs::File::create(d.join("libvirtd.err")).expect("stderr file"))
            .process_group(0)
            .spawn()
            .expect("spawn the real libvirtd");
        let reference = ReferenceDaemon { dir, child };
        let socket = reference.socket();
        // Probing QEMU's capabilities on a fresh cache takes a while on a loaded machine.
        let ready = wait_until(Duration::from_secs(180), || {
            UnixStream::connect(&socket).is_ok()
        });
        assert!(
            ready,
            "the real libvirtd did not start\n{}",
            reference.diagnostics()
        );
        reference
    }

    /// Its `/var/lib/libvirt`, as seen from outside its namespace.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("lib")
    }

    /// Its read-write socket.
    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("sock/libvirt-sock")
    }

    /// Its qemu driver's URI.
    pub fn uri(&self) -> String {
        format!("qemu+unix:///system?socket={}", self.socket().display())
    }

    /// Runs virsh against it; the trimmed output, or a failed assertion naming it.
    pub fn virsh_ok(&self, commands: &str) -> String {
        let out = virsh(&self.uri(), commands);
        assert!(
            out.success(),
            "real libvirtd: virsh {commands}: {out}\n{}",
            self.diagnostics()
        );
        out.stdout.trim().to_string()
    }

    pub fn diagnostics(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let tail = |text: String| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        let guest_logs: String = fs::read_dir(self.dir.path().join("log/qemu"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| tail(fs::read_to_string(e.path()).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        format!(
            "--- reference stderr ---\n{}\n--- reference log (tail) ---\n{}\n--- guest logs ---\n{}",
            read("libvirtd.err"),
            tail(read("libvirtd.log")),
            guest_logs
        )
    }
}

impl Drop for ReferenceDaemon {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

/// Shell commands bind-mounting copies of /etc/passwd and /etc/group holding the
/// accounts libvirt's qemu driver resolves at start (Debian's libvirt-qemu, kvm).
fn qemu_accounts(dir: &Path) -> String {
    let mut commands = String::new();
    for (file, entries) in [
        (
            "passwd",
            &["libvirt-qemu:x:{id}:{id}:qemu:/var/lib/libvirt:/usr/sbin/nologin"][..],
        ),
        ("group", &["libvirt-qemu:x:{id}:", "kvm:x:{id}:"][..]),
    ] {
        let system = Path::new("/etc").join(file);
        let mut text = fs::read_to_string(&system).expect("read account database");
        for entry in entries {
            let name = entry.split(':').next().unwrap_or_default();
            if text.lines().any(|l| l.starts_with(&format!("{name}:"))) {
                continue;
            }
            let id = (64055..)
                .find(|id| !text.contains(&format!(":{id}:")))
                .unwrap_or(64055);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&entry.replace("{id}", &id.to_string()));
            text.push('\n');
        }
        let copy = dir.join(file);
        fs::write(&copy, text).expect("write account database copy");
        commands.push_str(&format!(
            "mount --bind {} {} || exit 1; ",
            copy.display(),
            system.display()
        ));
    }
    commands
}

/// Pids of the QEMU processes whose command line names `guest=NAME`.
pub fn guest_pids(name: &str) -> Vec<i32> {
    let needle = format!("guest={name},");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline);
            text.contains("qemu-system") && text.contains(&needle)
        })
        .collect()
}

/// Kills every QEMU running guest `NAME` when dropped: guests of both daemons outlive
/// them.
pub struct GuestReaper(pub String);

impl Drop for GuestReaper {
    fn drop(&mut self) {
        for pid in guest_pids(&self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
