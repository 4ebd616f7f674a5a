//! Shared pieces of the LXC tests: a busybox root filesystem the test builds itself, the
//! container definition, and clean-up of containers that outlive a failed test (their
//! supervisors leave the daemon's process group on purpose, so the harness cannot).

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integration_tests::{libvirtd_bin, virsh, wait_until, Daemon, RawClient};

/// How long a container may take to reach a point the test waits for.
pub const CONTAINER_TIMEOUT: Duration = Duration::from_secs(30);

/// Fails (never skips) when the machine cannot run containers.
pub fn require_container_host() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        nix::unistd::geteuid().as_raw(),
        0,
        "the LXC tests create namespaces and cgroups and must run as root"
    );
    assert!(
        Path::new("/bin/busybox").is_file(),
        "/bin/busybox is missing: install the Debian package busybox-static"
    );
}

/// A unique container name per test and process, so parallel tests never share cgroups.
pub fn container_name(test: &str) -> String {
    format!("lxct{}{}", std::process::id(), test)
}

/// A root filesystem: busybox and its applets in /bin, `/init.sh` with the given body,
/// and /out where the container reports what it sees.
pub struct RootFs {
    pub dir: tempfile::TempDir,
}

impl RootFs {
    pub fn new(init_body: &str) -> RootFs {
        let dir = tempfile::Builder::new()
            .prefix("lxc-rootfs-")
            .tempdir()
            .expect("create a root directory");
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).expect("create /bin");
        fs::create_dir_all(dir.path().join("out")).expect("create /out");
        fs::create_dir_all(dir.path().join("etc")).expect("create /etc");
        fs::copy("/bin/busybox", bin.join("busybox")).expect("copy busybox");
        for applet in [
            "sh", "ps", "hostname", "cat", "sleep", "ls", "head", "tr", "echo", "mount", "wc",
        ] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
        }
        let script = dir.path().join("init.sh");
        fs::write(&script, format!("#!/bin/sh\n{init_body}\n")).expect("write init.sh");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod init.sh");
        RootFs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Waits for `/out/NAME` to be written completely (the script renames into place).
    pub fn wait_report(&self, name: &str) -> String {
        let path = self.path().join("out").join(name);
        assert!(
            wait_until(CONTAINER_TIMEOUT, || path.exists()),
            "the container never wrote /out/{name}"
        );
        fs::read_to_string(&path).expect("read the report")
    }
}

/// An init script that reports and then idles until SIGTERM.
pub const REPORT_AND_WAIT: &str = r#"
report() { "$@" > /out/.tmp 2>&1; mv /out/.tmp "/out/$1"; }
echo $$ > /out/.tmp; mv /out/.tmp /out/pid
report hostname
report ps
cat /proc/mounts > /out/.tmp; mv /out/.tmp /out/mounts
trap 'exit 0' TERM
trap 'reboot -f' HUP
sleep 100000 &
wait
"#;

/// A container definition whose root is `root` and whose init is `/init.sh`.
pub fn domain_xml(name: &str, root: &Path, memory_mib: u64, extra_devices: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let uuid = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        hash & 0xffff_ffff_ffff
    );
    format!(
        "<domain type='lxc'>\n  <name>{name}</name>\n  <uuid>{uuid}</uuid>\n  <memory unit='MiB'>{memory_mib}</memory>\n  \
         <vcpu>1</vcpu>\n  <os>\n    <type>exe</type>\n    <init>/init.sh</init>\n  </os>\n  \
         <devices>\n    <filesystem type='mount'>\n      <source dir='{}'/>\n      \
         <target dir='/'/>\n    </filesystem>\n{extra_devices}    <console type='pty'/>\n  \
         </devices>\n</domain>\n",
        root.display()
    )
}

/// `lxc+unix` URI of a daemon's read-write socket.
pub fn lxc_uri(root: &Path) -> String {
    format!(
        "lxc+unix:///system?socket={}",
        root.join("run/libvirt/libvirt-sock").display()
    )
}

pub fn lxc_uri_of(daemon: &Daemon) -> String {
    lxc_uri(daemon.root())
}

/// Kills a container that is still running when the test ends (also after a panic), from
/// the pids in its status file, and removes its cgroup directories.
pub struct ContainerCleanup {
    pub status_file: PathBuf,
}

impl ContainerCleanup {
    pub fn new(daemon_root: &Path, name: &str) -> ContainerCleanup {
        ContainerCleanup {
            status_file: daemon_root.join(format!("run/libvirt/lxc/{name}.xml")),
        }
    }
}

/// `pid='N'` and `supervisor='N'` of a status file.
pub fn status_pids(status_file: &Path) -> Option<(i32, i32)> {
    let text = fs::read_to_string(status_file).ok()?;
    let attr = |name: &str| -> Option<i32> {
        let start = text.find(&format!(" {name}='"))? + name.len() + 3;
        let end = text[start..].find('\'')? + start;
        text[start..end].parse().ok()
    };
    Some((attr("pid")?, attr("supervisor")?))
}

/// The cgroup directories a process lives in (v1 hierarchies by controller name).
pub fn cgroup_dirs_of(pid: i32) -> Vec<PathBuf> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let mount = if controllers.is_empty() {
                if Path::new("/sys/fs/cgroup/unified").is_dir() {
                    "unified".to_string()
                } else {
                    String::new()
                }
            } else {
                controllers.trim_start_matches("name=").to_string()
            };
            let dir = Path::new("/sys/fs/cgroup")
                .join(mount)
                .join(path.trim_start_matches('/'));
            dir.to_string_lossy()
                .contains(".libvirt-lxc")
                .then_some(dir)
        })
        .collect()
}

impl Drop for ContainerCleanup {
    fn drop(&mut self) {
        let Some((init, supervisor)) = status_pids(&self.status_file) else {
            return;
        };
        if init <= 0 {
            return;
        }
        let dirs = cgroup_dirs_of(init);
        // The pids come from our container's status file.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(init),
            nix::sys::signal::Signal::SIGKILL,
        );
        if supervisor > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(supervisor),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for dir in dirs {
            wait_until(Duration::from_secs(5), || {
                fs::remove_dir(&dir).is_ok() || !dir.exists()
            });
        }
    }
}

/// Whether a process exists and has not exited (a zombie waiting for a parent that
/// never reaps, as some container inits on CI hosts, counts as gone).
pub fn process_exists(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    state.is_some_and(|s| s != 'Z' && s != 'X')
}

/// A second daemon on an existing root, killed with its process group when dropped.
pub struct SecondDaemon {
    child: Child,
}

impl SecondDaemon {
    pub fn start(root: &Path) -> SecondDaemon {
        let child = Command::new(libvirtd_bin())
            .env("LIBVIRTD_ROOT", root)
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(root.join("second.stderr")).expect("stderr file"))
            .process_group(0)
            .spawn()
            .expect("spawn the second libvirtd");
        let uri = lxc_uri(root);
        let ready = wait_until(CONTAINER_TIMEOUT, || virsh(&uri, "uri").success());
        assert!(ready, "the second daemon never answered");
        SecondDaemon { child }
    }
}

impl Drop for SecondDaemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-(self.child.id() as i32)),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

/// A raw client on `socket` that opened `lxc:///system` and sent DOMAIN_OPEN_CONSOLE
/// for container `name`; returns it with that call's serial, its reply unread.
pub fn send_open_console(socket: &Path, name: &str) -> (RawClient, u32) {
    let mut client = RawClient::unix(socket);
    client.open("lxc:///system", 0);
    let serial = client.send_open_console(name);
    (client, serial)
}
