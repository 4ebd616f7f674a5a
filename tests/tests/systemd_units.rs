//! The unit files and `make install`: the installed tree has the binaries,
//! units, man pages and example configuration at their documented paths;
//! `systemd-analyze verify` accepts every unit; and systemd itself confirms
//! that libvirt-guests.service is ordered after the daemons in both socket
//! activation and traditional mode (so it is stopped before them).

mod activation_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use activation_support::process::Launch;
use activation_support::{NotifyListener, Root, START_TIMEOUT};
use integration_tests::libvirtd_bin;
use integration_tests::tools::{require_tool, run_with_deadline, CmdOutput};

const MAKE_TIMEOUT: Duration = Duration::from_secs(120);

const UNITS: [&str; 39] = [
    "libvirtd.service",
    "libvirtd.socket",
    "libvirtd-ro.socket",
    "libvirtd-admin.socket",
    "libvirtd-tcp.socket",
    "libvirtd-tls.socket",
    "libvirt-guests.service",
    "virt-guest-shutdown.target",
    "virtqemud.service",
    "virtqemud.socket",
    "virtqemud-ro.socket",
    "virtqemud-admin.socket",
    "virtlxcd.service",
    "virtlxcd.socket",
    "virtlxcd-ro.socket",
    "virtlxcd-admin.socket",
    "virtnetworkd.service",
    "virtnetworkd.socket",
    "virtnetworkd-ro.socket",
    "virtnetworkd-admin.socket",
    "virtsecretd.service",
    "virtsecretd.socket",
    "virtsecretd-ro.socket",
    "virtsecretd-admin.socket",
    "virtnodedevd.service",
    "virtnodedevd.socket",
    "virtnodedevd-ro.socket",
    "virtnodedevd-admin.socket",
    "virtinterfaced.service",
    "virtinterfaced.socket",
    "virtinterfaced-ro.socket",
    "virtinterfaced-admin.socket",
    "virtproxyd.service",
    "virtproxyd.socket",
    "virtproxyd-ro.socket",
    "virtproxyd-admin.socket",
    "virtproxyd-tcp.socket",
    "virtproxyd-tls.socket",
    "virt-secret-init-encryption.service",
];

/// The drop-ins loading the secrets encryption key credential.
const SECRET_DROPINS: [&str; 2] = [
    "libvirtd.service.d/secret-encryption.conf",
    "virtsecretd.service.d/secret-encryption.conf",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace directory")
        .to_path_buf()
}

/// `make install` with `vars`, installing the already built daemon.
fn make_install(scratch: &Path, vars: &[String]) -> CmdOutput {
    let mut command = Command::new(require_tool("make", "make"));
    command
        .arg("-C")
        .arg(workspace())
        .arg("install")
        .arg(format!("BIN={}", libvirtd_bin().display()))
        .arg(format!("UNIT_BUILD={}", scratch.join("units").display()))
        .args(vars);
    run_with_deadline(&mut command, MAKE_TIMEOUT).expect_success("make install")
}

/// `[Section] Key=value` lines of a unit file, in order.
fn directives(unit: &Path) -> Vec<(String, String, String)> {
    let text =
        std::fs::read_to_string(unit).unwrap_or_else(|e| panic!("read {}: {e}", unit.display()));
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            out.push((
                section.clone(),
                key.trim().to_string(),
                value.trim().to_string(),
            ));
        }
    }
    out
}

/// Every value of `key`, list values split on white space.
fn values(unit: &Path, key: &str) -> Vec<String> {
    directives(unit)
        .into_iter()
        .filter(|(_, k, _)| k == key)
        .flat_map(|(_, _, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn single(unit: &Path, key: &str) -> String {
    let all: Vec<String> = directives(unit)
        .into_iter()
        .filter(|(_, k, _)| k == key)
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(all.len(), 1, "{key} in {}: {all:?}", unit.display());
    all[0].clone()
}

#[test]
fn make_install_with_destdir_installs_everything_at_its_documented_path() {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let dest = scratch.path().join("dest");
    make_install(scratch.path(), &[format!("DESTDIR={}", dest.display())]);

    let sbin = dest.join("usr/sbin");
    let installed = std::fs::metadata(sbin.join("libvirtd")).expect("usr/sbin/libvirtd");
    let built = std::fs::metadata(libvirtd_bin()).expect("built binary");
    assert_eq!(
        installed.len(),
        built.len(),
        "usr/sbin/libvirtd is not the built daemon"
    );
    for daemon in [
        "virtqemud",
        "virtlxcd",
        "virtnetworkd",
        "virtsecretd",
        "virtnodedevd",
        "virtinterfaced",
        "virtproxyd",
    ] {
        let link = std::fs::read_link(sbin.join(daemon))
            .unwrap_or_else(|e| panic!("usr/sbin/{daemon} is not a link: {e}"));
        assert_eq!(link, Path::new("libvirtd"));
    }
    let units = dest.join("usr/lib/systemd/system");
    for unit in UNITS {
        let text = std::fs::read_to_string(units.join(unit))
            .unwrap_or_else(|e| panic!("{unit} not installed: {e}"));
        assert!(
            !text.contains('@'),
            "{unit} has an unsubstituted placeholder:\n{text}"
        );
    }
    assert_eq!(
        single(&units.join("libvirtd.service"), "ExecStart"),
        "/usr/sbin/libvirtd $LIBVIRTD_ARGS"
    );
    // The secrets encryption key, as libvirt 12.1 ships it.
    for dropin in SECRET_DROPINS {
        let unit = units.join(dropin);
        assert_eq!(
            single(&unit, "LoadCredentialEncrypted"),
            "secrets-encryption-key:/var/lib/libvirt/secrets/secrets-encryption-key",
            "{dropin}"
        );
        assert_eq!(
            single(&unit, "Requires"),
            "virt-secret-init-encryption.service"
        );
        assert_eq!(
            single(&unit, "After"),
            "virt-secret-init-encryption.service"
        );
    }
    let init = units.join("virt-secret-init-encryption.service");
    assert_eq!(
        single(&init, "ConditionPathExists"),
        "!/var/lib/libvirt/secrets/secrets-encryption-key"
    );
    assert!(single(&init, "ExecStart")
        .contains("systemd-creds encrypt --name=secrets-encryption-key - /var/lib/libvirt/secrets/secrets-encryption-key"));
    assert_eq!(
        values(&init, "Before"),
        vec!["libvirtd.service", "virtsecretd.service"]
    );
    assert_eq!(
        single(&units.join("virtqemud.service"), "ExecStart"),
        "/usr/sbin/virtqemud $VIRTQEMUD_ARGS"
    );
    assert_eq!(
        single(&units.join("virtlxcd-ro.socket"), "ListenStream"),
        "/run/libvirt/virtlxcd-sock-ro"
    );
    assert_eq!(
        single(&units.join("virtproxyd.socket"), "ListenStream"),
        "/run/libvirt/libvirt-sock"
    );
    assert_eq!(
        single(&units.join("virtproxyd-admin.socket"), "ListenStream"),
        "/run/libvirt/virtproxyd-admin-sock"
    );
    for page in [
        "man8/libvirtd.8",
        "man8/virtqemud.8",
        "man8/virtlxcd.8",
        "man8/virtnetworkd.8",
        "man8/virtsecretd.8",
        "man8/virtnodedevd.8",
        "man8/virtinterfaced.8",
        "man8/virtproxyd.8",
        "man5/libvirtd.conf.5",
    ] {
        assert!(
            dest.join("usr/share/man").join(page).is_file(),
            "{page} not installed"
        );
    }
    let example = std::fs::read_to_string(workspace().join("daemon/libvirtd.conf"))
        .expect("read the example configuration");
    for conf in [
        "usr/share/doc/libvirtd/examples/libvirtd.conf",
        "etc/libvirt/libvirtd.conf",
        "etc/libvirt/virtqemud.conf",
        "etc/libvirt/virtlxcd.conf",
        "etc/libvirt/virtnetworkd.conf",
        "etc/libvirt/virtinterfaced.conf",
    ] {
        let text = std::fs::read_to_string(dest.join(conf))
            .unwrap_or_else(|e| panic!("{conf} not installed: {e}"));
        assert_eq!(text, example, "{conf}");
    }

    // Installing again keeps an administrator's configuration.
    let conf = dest.join("etc/libvirt/libvirtd.conf");
    std::fs::write(&conf, "max_clients = 10\n").expect("edit the configuration");
    make_install(scratch.path(), &[format!("DESTDIR={}", dest.display())]);
    assert_eq!(
        std::fs::read_to_string(&conf).expect("read the configuration"),
        "max_clients = 10\n"
    );
}

#[test]
fn the_installed_binary_runs_with_the_example_configuration() {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let dest = scratch.path().join("dest");
    make_install(scratch.path(), &[format!("DESTDIR={}", dest.display())]);
    let root = Root::new();
    let mut notify = NotifyListener::bind(&root);
    let virtqemud = dest.join("usr/sbin/virtqemud");
    let example = dest.join("etc/libvirt/virtqemud.conf");
    let mut env = root.env();
    env.push(("NOTIFY_SOCKET".into(), notify.path.display().to_string()));
    let launch = Launch {
        program: &virtqemud,
        arg0: &virtqemud.display().to_string(),
        args: vec!["-f".into(), example.display().to_string()],
        fds: Vec::new(),
        fdnames: None,
        env,
        stdout: &root.stdout_file(),
        stderr: &root.stderr_file(),
    };
    let mut daemon = launch.spawn();
    assert!(
        notify.wait_for("READY=1", START_TIMEOUT),
        "the installed virtqemud did not become ready with the example configuration\n{}",
        root.diagnostics()
    );
    assert!(
        std::os::unix::net::UnixStream::connect(root.run_file("virtqemud-sock")).is_ok(),
        "virtqemud-sock does not accept connections"
    );
    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait_timeout(START_TIMEOUT)
        .expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", root.diagnostics());
}

/// Installs with every path inside `scratch`, so that the paths written into
/// the units exist; returns the unit directory.
fn install_for_verify(scratch: &Path) -> PathBuf {
    let prefix = scratch.join("usr");
    make_install(
        scratch,
        &[
            format!("PREFIX={}", prefix.display()),
            format!("SYSCONFDIR={}", scratch.join("etc").display()),
            format!("RUNSTATEDIR={}", scratch.join("run").display()),
            // The guests program itself is not part of this test.
            "GUESTS_EXEC=/bin/true".to_string(),
        ],
    );
    prefix.join("lib/systemd/system")
}

/// `systemd-analyze verify --man=no UNITS...` run in `dir`.
fn verify(dir: &Path, units: &[&str]) -> CmdOutput {
    let mut command = Command::new(require_tool("systemd-analyze", "systemd"));
    command
        .current_dir(dir)
        .arg("verify")
        .arg("--man=no")
        .args(units);
    run_with_deadline(&mut command, MAKE_TIMEOUT)
}

#[test]
fn systemd_analyze_verify_accepts_every_unit() {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let units = install_for_verify(scratch.path());
    let out = verify(&units, &UNITS);
    assert!(out.success(), "systemd-analyze verify failed:\n{out}");
    assert_eq!(
        out.stderr.trim(),
        "",
        "systemd-analyze verify warned:\n{out}"
    );
}

/// A unit claiming to start after libvirt-guests.service and before
/// `daemon`: systemd finds an ordering cycle exactly when libvirt-guests is
/// ordered after `daemon` (the reverse order then applies at shutdown).
fn probe(dir: &Path, first: &str, then: &str) -> CmdOutput {
    let text = format!(
        "[Unit]\nDescription=ordering probe\nWants={first} {then}\n\
         After={first}\nBefore={then}\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n"
    );
    std::fs::write(dir.join("probe.service"), text).expect("write the probe unit");
    verify(dir, &["probe.service"])
}

fn assert_guests_ordered_after(dir: &Path, daemon: &str, mode: &str) {
    // systemd may break the cycle by dropping a wanted job and then still
    // succeed: the cycle report is what counts.
    let reversed = probe(dir, "libvirt-guests.service", daemon);
    assert!(
        reversed.stderr.contains("Found ordering cycle"),
        "{mode}: libvirt-guests.service is not ordered after {daemon}:\n{reversed}"
    );
    // The same probe in the consistent direction is accepted: the cycle
    // above comes from the units, not from the probe.
    let consistent = probe(dir, daemon, "libvirt-guests.service");
    assert!(
        consistent.success() && !consistent.stderr.contains("ordering cycle"),
        "{mode}: consistent probe refused:\n{consistent}"
    );
}

#[test]
fn libvirt_guests_is_stopped_before_the_daemons_in_both_modes() {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let installed = install_for_verify(scratch.path());
    let activation = scratch.path().join("activation");
    let traditional = scratch.path().join("traditional");
    for dir in [&activation, &traditional] {
        std::fs::create_dir_all(dir).expect("unit directory");
        for unit in UNITS {
            std::fs::copy(installed.join(unit), dir.join(unit)).expect("copy a unit");
        }
    }
    // Traditional mode: the sockets are masked, as libvirtd(8) explains.
    for unit in UNITS.iter().filter(|u| u.ends_with(".socket")) {
        std::fs::remove_file(traditional.join(unit)).expect("remove a socket unit");
        std::os::unix::fs::symlink("/dev/null", traditional.join(unit)).expect("mask");
    }
    for daemon in ["libvirtd", "virtqemud", "virtlxcd"] {
        let socket = format!("{daemon}.socket");
        let service = format!("{daemon}.service");
        assert_guests_ordered_after(&activation, &socket, "socket activation");
        assert_guests_ordered_after(&activation, &service, "socket activation");
        assert_guests_ordered_after(&traditional, &service, "traditional mode");
    }
}

#[test]
fn unit_lines_match_the_documented_behaviour() {
    let dir = workspace().join("systemd");
    let guests = dir.join("libvirt-guests.service.in");
    let after = values(&guests, "After");
    // As libvirt ships it: after the sockets, not after the services.
    for unit in ["libvirtd.socket", "virtqemud.socket", "virtlxcd.socket"] {
        assert!(
            after.iter().any(|a| a == unit),
            "libvirt-guests: After={unit} missing"
        );
    }
    assert!(
        !after.iter().any(|a| a.ends_with(".service")),
        "libvirt-guests is ordered after a service: {after:?}"
    );
    assert_eq!(single(&guests, "TimeoutStopSec"), "0");
    assert_eq!(single(&guests, "Type"), "oneshot");

    for (service, daemon) in [
        ("libvirtd.service.in", "libvirtd"),
        ("modular.service.in", "@DAEMON@"),
    ] {
        let unit = dir.join(service);
        assert_eq!(single(&unit, "Type"), "notify", "{service}");
        assert_eq!(single(&unit, "KillMode"), "process", "{service}");
        assert_eq!(single(&unit, "Restart"), "on-failure", "{service}");
        assert_eq!(single(&unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
        assert!(single(&unit, "Environment").ends_with("=\"--timeout 120\""));
        assert_eq!(single(&unit, "LimitNOFILE"), "8192");
        // The daemon outlives libvirt-guests stop in both modes.
        assert_eq!(single(&unit, "Before"), "libvirt-guests.service");
        assert_eq!(single(&unit, "TasksMax"), "32768");
        // Wanted, not required: masking the sockets reverts to traditional mode.
        let wants = values(&unit, "Wants");
        for suffix in ["", "-ro", "-admin"] {
            let socket = format!("{daemon}{suffix}.socket");
            assert!(wants.contains(&socket), "{service}: Wants={socket} missing");
        }
        assert!(
            values(&unit, "Requires").is_empty(),
            "{service} requires units"
        );
    }
    assert_eq!(
        values(&dir.join("modular.service.in"), "Conflicts"),
        vec!["libvirtd.service"]
    );

    for (socket, mode) in [
        ("libvirtd.socket.in", "0666"),
        ("libvirtd-ro.socket.in", "0666"),
        ("libvirtd-admin.socket.in", "0600"),
        ("modular.socket.in", "0666"),
        ("modular-ro.socket.in", "0666"),
        ("modular-admin.socket.in", "0600"),
    ] {
        assert_eq!(single(&dir.join(socket), "SocketMode"), mode, "{socket}");
    }
    for (socket, port) in [
        ("libvirtd-tcp.socket.in", "16509"),
        ("libvirtd-tls.socket.in", "16514"),
    ] {
        let unit = dir.join(socket);
        assert_eq!(single(&unit, "ListenStream"), port);
        assert_eq!(single(&unit, "BindsTo"), "libvirtd.socket");
        assert_eq!(single(&unit, "Before"), "libvirtd.service");
    }
}
