//! Save images are interchangeable with libvirtd 9.0: one guest is saved by our daemon
//! and restored by the real libvirtd 9.0 (its qemu driver, in a private mount
//! namespace), saved there and restored by ours, and so on, running and paused at
//! save in both directions, then as managed save images handed from one daemon's
//! save directory to the other's. The guest keeps running through every hop without
//! booting again, and a guest paused at save comes back paused.
//!
//! Each restore passes the image's own XML (read with `save-image-dumpxml` from the
//! daemon about to restore it) with only the serial log moved to a fresh file: libvirt
//! truncates the log it opens, and a fresh file per hop shows that no hop booted.

mod qemu_support;

use std::fs;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integration_tests::tools::require_tool;
use integration_tests::{virsh, wait_until, CmdOutput};
use qemu_support::{QemuHost, BOOT_TIMEOUT, STATE_TIMEOUT};

/// The real libvirtd 9.0, its qemu driver confined to a private mount namespace:
/// fresh tmpfs over its run, cache and configuration directories, and its state
/// directory on a directory of the test.
struct Reference {
    dir: tempfile::TempDir,
    child: Child,
}

impl Reference {
    fn start() -> Reference {
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
        // Guests run as root without confinement, cgroups or a log daemon: nothing of
        // the host's is needed or touched.
        let qemu_conf = "user = \"root\"\\ngroup = \"root\"\\nsecurity_driver = \"none\"\\n\
                         namespaces = []\\ncgroup_controllers = []\\nstdio_handler = \"file\"\\n\
                         remember_owner = 0\\n";
        let script = format!(
            "for d in /run/libvirt /var/cache/libvirt /etc/libvirt /run/lock; do \
               if [ -d $d ]; then mount -t tmpfs -o mode=0755 tmpfs $d || exit 1; fi; done; \
             mount --bind {lib} /var/lib/libvirt || exit 1; \
             mount --bind {log} /var/log/libvirt || exit 1; \
             {accounts}printf '{qemu_conf}' >/etc/libvirt/qemu.conf; \
             exec {libvirtd} -f {conf} -p {pid}",
            lib = d.join("lib").display(),
            log = d.join("log").display(),
            accounts = qemu_accounts(d),
            libvirtd = libvirtd.display(),
            conf = d.join("libvirtd.conf").display(),
            pid = d.join("libvirtd.pid").display(),
        );
        let child = Command::new(unshare)
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(fs::File::create(d.join("libvirtd.out")).expect("stdout file"))
            .stderr(fs::File::create(d.join("libvirtd.err")).expect("stderr file"))
            .process_group(0)
            .spawn()
            .expect("spawn the real libvirtd");
        let reference = Reference { dir, child };
        let socket = reference.dir.path().join("sock/libvirt-sock");
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

    fn uri(&self) -> String {
        format!(
            "qemu+unix:///system?socket={}",
            self.dir.path().join("sock/libvirt-sock").display()
        )
    }

    fn diagnostics(&self) -> String {
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

impl Drop for Reference {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: the process group of the daemon this test spawned.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
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

/// Kills every QEMU whose command line names `guest=NAME` when dropped: guests of
/// both daemons outlive them.
struct GuestReaper(String);

impl Drop for GuestReaper {
    fn drop(&mut self) {
        let needle = format!("guest={},", self.0);
        let Ok(entries) = fs::read_dir("/proc") else {
            return;
        };
        for pid in entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains("qemu-system") && text.contains(&needle) {
                // SAFETY: a QEMU running this test's uniquely named guest.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// One side of the exchange: a daemon's URI and how to describe it in failures.
struct Side<'a> {
    name: &'static str,
    uri: String,
    diagnostics: Box<dyn Fn() -> String + 'a>,
}

impl Side<'_> {
    fn run(&self, commands: &str) -> CmdOutput {
        virsh(&self.uri, commands)
    }

    fn ok(&self, commands: &str) -> String {
        let out = self.run(commands);
        assert!(
            out.success(),
            "{}: virsh {commands} failed: {out}\n{}",
            self.name,
            (self.diagnostics)()
        );
        out.stdout.trim().to_string()
    }

    fn domstate(&self, guest: &str) -> String {
        self.run(&format!("domstate --reason {guest}"))
            .stdout
            .trim()
            .to_string()
    }

    /// Restores `image` with its own XML, the serial log moved from `from` to `to`.
    fn restore(&self, image: &Path, from: &Path, to: &Path, work: &Path) {
        let xml = self.ok(&format!("save-image-dumpxml {}", image.display()));
        assert!(
            xml.contains(&from.display().to_string()),
            "{}: the image's XML does not name the serial log {}:\n{xml}",
            self.name,
            from.display()
        );
        let edited = work.join(format!(
            "{}.xml",
            image.display().to_string().replace('/', "_")
        ));
        fs::write(
            &edited,
            xml.replace(&from.display().to_string(), &to.display().to_string()),
        )
        .expect("write restore xml");
        self.ok(&format!(
            "restore {} --xml {}",
            image.display(),
            edited.display()
        ));
    }
}

fn boots(serial: &Path) -> usize {
    fs::read_to_string(serial)
        .map(|t| t.matches("TINY-GUEST-BOOTED").count())
        .unwrap_or(0)
}

#[test]
fn save_images_move_between_our_daemon_and_libvirtd_9_0() {
    let host = QemuHost::start();
    let reference = Reference::start();
    let guest = format!("xchg{}", std::process::id());
    let _reaper = GuestReaper(guest.clone());
    let work = host.root().to_path_buf();
    let ours = Side {
        name: "our daemon",
        uri: host.uri(),
        diagnostics: Box::new(|| host.diagnostics()),
    };
    let theirs = Side {
        name: "libvirtd 9.0",
        uri: reference.uri(),
        diagnostics: Box::new(|| reference.diagnostics()),
    };
    let serial = |hop: usize| -> PathBuf { work.join(format!("{guest}.hop{hop}.serial")) };

    // Hop 0, ours: boot, then save running.
    let xml = host.guest_xml(&guest).replace(
        &host.serial_log(&guest).display().to_string(),
        &serial(0).display().to_string(),
    );
    let file = work.join(format!("{guest}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    ours.ok(&format!("define {}", file.display()));
    ours.ok(&format!("start {guest}"));
    let booted = wait_until(BOOT_TIMEOUT, || boots(&serial(0)) == 1);
    assert!(booted, "the guest did not boot\n{}", host.diagnostics());
    let image = |hop: usize| work.join(format!("{guest}.hop{hop}.img"));
    ours.ok(&format!("save {guest} {}", image(1).display()));

    // Hop 1, libvirtd 9.0: restores our running image running; saves it paused.
    theirs.restore(&image(1), &serial(0), &serial(1), &work);
    assert_eq!(theirs.domstate(&guest), "running (restored)");
    theirs.ok(&format!("suspend {guest}"));
    theirs.ok(&format!("save {guest} {}", image(2).display()));

    // Hop 2, ours: libvirt's paused image comes back paused; resumed, paused, saved.
    ours.restore(&image(2), &serial(1), &serial(2), &work);
    assert_eq!(ours.domstate(&guest), "paused (migrating)");
    ours.ok(&format!("resume {guest}"));
    assert_eq!(ours.domstate(&guest), "running (unpaused)");
    ours.ok(&format!("suspend {guest}"));
    ours.ok(&format!("save {guest} {}", image(3).display()));

    // Hop 3, libvirtd 9.0: our paused image comes back paused; resumed and saved running.
    theirs.restore(&image(3), &serial(2), &serial(3), &work);
    assert_eq!(theirs.domstate(&guest), "paused (migrating)");
    theirs.ok(&format!("resume {guest}"));
    theirs.ok(&format!("save {guest} {}", image(4).display()));

    // Hop 4, ours: running again.
    ours.restore(&image(4), &serial(3), &serial(4), &work);
    assert_eq!(ours.domstate(&guest), "running (restored)");

    // Hops 5 and 6: managed save images, moved between the daemons' save
    // directories, are what `start` restores on the other side.
    let our_image = work.join(format!("var/lib/libvirt/qemu/save/{guest}.save"));
    let their_image = reference
        .dir
        .path()
        .join(format!("lib/qemu/save/{guest}.save"));
    let definition = work.join(format!("{guest}.defined.xml"));
    fs::write(&definition, ours.ok(&format!("dumpxml --inactive {guest}")))
        .expect("write definition");
    theirs.ok(&format!("define {}", definition.display()));
    ours.ok(&format!("managedsave {guest}"));
    fs::copy(&our_image, &their_image).expect("hand our managed save image over");
    theirs.ok(&format!("start {guest}"));
    assert_eq!(theirs.domstate(&guest), "running (restored)");
    theirs.ok(&format!("managedsave {guest}"));
    fs::copy(&their_image, &our_image).expect("hand libvirt's managed save image over");
    ours.ok(&format!("start {guest}"));
    assert_eq!(ours.domstate(&guest), "running (restored)");

    // The guest answers the power button, never rebooted.
    ours.ok(&format!("shutdown {guest}"));
    let off = wait_until(STATE_TIMEOUT, || {
        ours.domstate(&guest).starts_with("shut off")
    });
    assert!(off, "the guest did not power off\n{}", host.diagnostics());
    let last = fs::read_to_string(serial(4)).unwrap_or_default();
    assert!(
        last.contains("TINY-GUEST-POWEROFF"),
        "the restored guest did not run its power-off path:\n{last}"
    );
    assert_eq!(boots(&serial(0)), 1);
    for hop in 1..=4 {
        assert_eq!(
            boots(&serial(hop)),
            0,
            "the guest booted again at hop {hop}"
        );
    }
}
