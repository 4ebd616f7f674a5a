//! The idle timeout under socket activation, with a supervisor that keeps
//! the sockets and starts the daemon again when one becomes readable (as
//! systemd does): the daemon exits 0 when idle, the next client starts it
//! again, and neither a running guest nor a connected event client lets it
//! exit.

mod activation_support;

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use activation_support::supervisor::{Service, Supervisor, SupervisorEvent};
use activation_support::{unix_socket, Root, START_TIMEOUT};
use integration_tests::{data_file, libvirtd_bin, virsh, virt_admin, EventListener};

/// The daemon's `--timeout`.
const IDLE_SECS: u64 = 3;
/// Long enough for the daemon to exit after being idle, with room for a slow machine.
const EXIT_WAIT: Duration = Duration::from_secs(IDLE_SECS + 27);
/// How long a daemon that must stay is watched: more than twice the timeout.
const STAY_WATCH: Duration = Duration::from_secs(2 * IDLE_SECS + 2);

struct Activated {
    root: Root,
    supervisor: Supervisor,
}

impl Activated {
    /// Holds the rw, ro and admin sockets in `ROOT/held` and supervises
    /// libvirtd with `--timeout 3`.
    fn start() -> Activated {
        let root = Root::new();
        let conf = root.write_conf("libvirtd", &[], true);
        std::fs::create_dir_all(root.path().join("held")).expect("socket directory");
        let sockets: Vec<OwnedFd> = ["rw", "ro", "admin"]
            .iter()
            .map(|name| unix_socket(&root.path().join("held").join(name)))
            .collect();
        let service = Service {
            program: libvirtd_bin(),
            arg0: "libvirtd".into(),
            args: vec![
                "-f".into(),
                conf.display().to_string(),
                "--timeout".into(),
                IDLE_SECS.to_string(),
            ],
            fdnames: "libvirtd.socket:libvirtd-ro.socket:libvirtd-admin.socket".into(),
            env: root.env(),
            stdout: root.stdout_file(),
            stderr: root.stderr_file(),
        };
        let supervisor = Supervisor::start(service, sockets);
        Activated { root, supervisor }
    }

    fn socket(&self, name: &str) -> String {
        self.root
            .path()
            .join("held")
            .join(name)
            .display()
            .to_string()
    }

    fn rw_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket("rw"))
    }

    fn ro_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket("ro"))
    }

    fn admin_uri(&self) -> String {
        format!("libvirtd:///system?socket={}", self.socket("admin"))
    }

    fn expect_exit_0(&mut self, what: &str) {
        let status = self.supervisor.wait_exit(EXIT_WAIT).unwrap_or_else(|| {
            panic!(
                "{what}: the daemon did not exit when idle\n{}",
                self.root.diagnostics()
            )
        });
        assert_eq!(
            status.code(),
            Some(0),
            "{what}: exit status\n{}",
            self.root.diagnostics()
        );
    }

    /// Asserts the daemon keeps running for [`STAY_WATCH`].
    fn expect_stays(&mut self, what: &str) {
        let deadline = Instant::now() + STAY_WATCH;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.supervisor.next_event(left) {
                Some(SupervisorEvent::Exited(pid, status)) => panic!(
                    "{what}: the daemon (pid {pid}) exited with {status}\n{}",
                    self.root.diagnostics()
                ),
                Some(SupervisorEvent::Started(_)) => {}
                None => return,
            }
        }
    }
}

#[test]
fn exits_0_when_idle_and_the_next_client_starts_it_again_three_times() {
    let mut daemon = Activated::start();
    let out = virsh(&daemon.rw_uri(), "list --all").expect_success("first activation (rw)");
    assert!(out.stdout.contains(" test "), "{out}");
    daemon.expect_exit_0("after the rw client");

    let out = virsh(&daemon.ro_uri(), "domstate test").expect_success("second activation (ro)");
    assert_eq!(out.stdout.trim(), "running", "{out}");
    daemon.expect_exit_0("after the ro client");

    let out =
        virt_admin(&daemon.admin_uri(), "srv-list").expect_success("third activation (admin)");
    assert!(out.stdout.contains("libvirtd"), "{out}");
    daemon.expect_exit_0("after the admin client");

    assert_eq!(
        daemon.supervisor.starts(),
        3,
        "one start per activation: {:?}",
        daemon.supervisor.history
    );
    for name in ["rw", "ro", "admin"] {
        assert!(
            daemon.root.path().join("held").join(name).exists(),
            "the inherited socket {name} was removed"
        );
    }
}

#[test]
fn a_running_guest_keeps_the_daemon() {
    let mut daemon = Activated::start();
    let define = format!("define {}", data_file("domain.xml").display());
    virsh(&daemon.rw_uri(), &format!("{define}; start itest"))
        .expect_success("define and start a guest");
    daemon.expect_stays("with a running guest");
    virsh(&daemon.rw_uri(), "destroy itest").expect_success("stop the guest");
    daemon.expect_exit_0("after the guest stopped");
    assert_eq!(
        daemon.supervisor.starts(),
        1,
        "{:?}",
        daemon.supervisor.history
    );
}

#[test]
fn a_connected_event_client_keeps_the_daemon() {
    let mut daemon = Activated::start();
    let mut listener = EventListener::spawn(&daemon.rw_uri());
    listener.wait_registered(&daemon.rw_uri(), START_TIMEOUT);
    daemon.expect_stays("with virsh event --loop connected");
    assert!(
        listener.is_alive(),
        "virsh event ended:\n{}",
        listener.finish()
    );
    drop(listener);
    daemon.expect_exit_0("after the event client left");
}
