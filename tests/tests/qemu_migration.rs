//! Live migration between two of our daemons on this machine (two roots), driven
//! by virsh the way libvirt's client does it (begin, prepare, perform, finish,
//! confirm with typed parameters): the running tiny guest moves over a loopback
//! TCP connection without rebooting, each side reports its events, and
//! `--persistent --undefinesource` moves the definition. A migration aborted with
//! `domjobabort` leaves the guest running on the source and nothing on the
//! destination.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::wait_until;
use qemu_support::{expect_event, listen_events, QemuHost};

/// A daemon whose incoming migrations listen on loopback, on ports of `ports`.
fn host_listening_on_loopback(ports: (u16, u16)) -> QemuHost {
    host_with_hook(ports, None)
}

/// Like [`host_listening_on_loopback`], with a qemu hook script.
fn host_with_hook(ports: (u16, u16), hook: Option<&str>) -> QemuHost {
    let mut host = QemuHost::start();
    host.kill_daemon();
    if let Some(body) = hook {
        use std::os::unix::fs::PermissionsExt;
        let script = host.root().join("etc/libvirt/hooks/qemu");
        fs::create_dir_all(script.parent().expect("hooks dir")).expect("mkdir hooks");
        fs::write(&script, body).expect("write hook");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod hook");
    }
    fs::write(
        host.root().join("etc/libvirt/qemu.conf"),
        format!(
            "migration_address = \"127.0.0.1\"\nmigration_host = \"127.0.0.1\"\n\
             migration_port_min = {}\nmigration_port_max = {}\n",
            ports.0, ports.1
        ),
    )
    .expect("write qemu.conf");
    host.start_daemon();
    host
}

fn serial(host: &QemuHost, name: &str) -> String {
    fs::read_to_string(host.serial_log(name)).unwrap_or_default()
}

/// The values of the guest's "TINY-GUEST-COUNTER n" lines, in console order.
fn counter_values(host: &QemuHost, name: &str) -> Vec<u64> {
    serial(host, name)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("TINY-GUEST-COUNTER "))
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

/// Defines `name` with the tiny guest's counter on (`tinyguest.counter`).
fn define_counting_guest(host: &QemuHost, name: &str) {
    let xml = host
        .guest_xml(name)
        .replace("</cmdline>", " tinyguest.counter</cmdline>");
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

#[test]
fn live_migration_moves_a_running_guest_between_daemons() {
    let src = QemuHost::start();
    let dst = host_listening_on_loopback((49311, 49330));
    define_counting_guest(&src, "m1");
    src.virsh_ok("start m1");
    src.wait_booted("m1", 1);
    assert!(
        wait_until(Duration::from_secs(30), || counter_values(&src, "m1").len()
            >= 2),
        "the guest's counter does not run: {}",
        serial(&src, "m1")
    );
    let mut src_events = listen_events(&src);
    let mut dst_events = listen_events(&dst);
    let src_qemu = src.guest_pids();
    assert_eq!(src_qemu.len(), 1);

    // The tunables answer while the guest runs.
    src.virsh_ok("migrate-setspeed m1 300");
    assert_eq!(src.virsh_ok("migrate-getspeed m1"), "300");
    src.virsh_ok("migrate-setmaxdowntime m1 400");
    assert_eq!(src.virsh_ok("migrate-getmaxdowntime m1"), "400");

    src.virsh_ok(&format!(
        "migrate --live --persistent --undefinesource m1 '{}'",
        dst.uri()
    ));
    assert_eq!(dst.domstate("m1"), "running (migrated)");
    assert!(
        src.virsh("domstate m1")
            .stderr
            .contains("failed to get domain 'm1'"),
        "the source still knows m1"
    );
    expect_event(&mut src_events, "m1", "Suspended Migrated");
    expect_event(&mut src_events, "m1", "Stopped Migrated");
    expect_event(&mut src_events, "m1", "Undefined Removed");
    expect_event(&mut dst_events, "m1", "Started Migrated");
    // One resume, for the migration: not also one for QEMU's own RESUME.
    let resumed = dst_events.wait_for_line(Duration::from_secs(60), |l| {
        l.contains("for domain 'm1': Resumed")
    });
    assert!(
        resumed
            .as_deref()
            .is_some_and(|l| l.contains("Resumed Migrated")),
        "first resume event of m1 on the destination: {resumed:?}\n{}",
        dst_events.finish()
    );
    assert!(dst.virsh_ok("dominfo m1").contains("Persistent:     yes"));
    assert!(dst.root().join("etc/libvirt/qemu/m1.xml").is_file());
    // The source's QEMU is gone; the destination's (its monitor under the
    // destination's root) runs the guest.
    let gone = wait_until(Duration::from_secs(30), || {
        !std::path::Path::new(&format!("/proc/{}", src_qemu[0])).exists()
    });
    assert!(gone, "QEMU still runs on the source");
    assert_eq!(dst.guest_pids().len(), 1, "no QEMU on the destination");
    // The counter goes on on the destination (its QEMU writes the same console
    // file) from where it was, without starting again at 1.
    let at_switch = *counter_values(&src, "m1").last().expect("counter lines");
    assert!(
        wait_until(Duration::from_secs(30), || {
            counter_values(&src, "m1").last() >= Some(&(at_switch + 3))
        }),
        "the counter stopped after the migration: {}",
        serial(&src, "m1")
    );
    let values = counter_values(&src, "m1");
    assert!(
        values.windows(2).all(|w| w[1] > w[0]),
        "the counter began again: {values:?}"
    );

    // The same guest, not a new boot: it answers the power button on the
    // destination and never printed its boot marker twice.
    dst.virsh_ok("shutdown m1");
    dst.wait_state("m1", "shut off (shutdown)");
    assert!(serial(&src, "m1").contains("TINY-GUEST-POWEROFF"));
    assert_eq!(src.boot_count("m1"), 1, "the guest rebooted");
}

#[test]
fn aborted_migration_leaves_the_guest_on_the_source() {
    let src = QemuHost::start();
    let dst = host_listening_on_loopback((49331, 49350));
    src.define_guest("m2");
    src.virsh_ok("start m2");
    src.wait_booted("m2", 1);
    // Tunnelled post-copy, not implemented, is refused before anything moves.
    let out = src.virsh(&format!(
        "migrate --live --tunnelled --p2p --postcopy m2 '{}'",
        dst.uri()
    ));
    assert!(!out.success(), "tunnelled post-copy migration succeeded");
    assert!(out.stderr.contains("not supported"), "{}", out.stderr);
    assert_eq!(src.domstate("m2"), "running (booted)");
    assert!(dst.guest_pids().is_empty());
    // Slow enough (1 MiB/s for 128 MiB of RAM) that the abort comes first.
    src.virsh_ok("migrate-setspeed m2 1");
    let uri = src.uri();
    let dst_uri = dst.uri();
    let migrate = std::thread::spawn(move || {
        integration_tests::virsh(&uri, &format!("migrate --live m2 '{dst_uri}'"))
    });
    let started = wait_until(Duration::from_secs(60), || {
        src.virsh("domjobinfo m2").stdout.contains("Unbounded")
    });
    assert!(started, "no migration job seen\n{}", src.diagnostics());
    src.virsh_ok("domjobabort m2");
    let out = migrate.join().expect("virsh thread");
    assert!(!out.success(), "the migration was not aborted");
    assert!(out.stderr.contains("operation aborted"), "{}", out.stderr);
    assert_eq!(src.domstate("m2"), "running (booted)");
    assert!(
        dst.virsh("domstate m2")
            .stderr
            .contains("failed to get domain 'm2'"),
        "the destination kept m2"
    );
    let cleaned = wait_until(Duration::from_secs(30), || {
        !dst.root().join("run/libvirt/qemu/m2.xml").exists()
    });
    assert!(cleaned, "status file left on the destination");

    // The destination's QEMU dies half-way: the migration fails, the guest
    // runs on at the source and the destination forgets it.
    let uri = src.uri();
    let dst_uri = dst.uri();
    let migrate = std::thread::spawn(move || {
        integration_tests::virsh(&uri, &format!("migrate --live m2 '{dst_uri}'"))
    });
    let receiving = wait_until(Duration::from_secs(60), || {
        dst.guest_pids().len() == 1 && src.virsh("domjobinfo m2").stdout.contains("Unbounded")
    });
    assert!(receiving, "no incoming QEMU seen\n{}", dst.diagnostics());
    for pid in dst.guest_pids() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let out = migrate.join().expect("virsh thread");
    assert!(!out.success(), "the migration survived its destination");
    assert_eq!(src.domstate("m2"), "running (booted)");
    assert!(dst
        .virsh("domstate m2")
        .stderr
        .contains("failed to get domain 'm2'"));
    assert!(!dst.root().join("run/libvirt/qemu/m2.xml").exists());
    // The guest still answers: it powers off on the source.
    src.virsh_ok("shutdown m2");
    src.wait_state("m2", "shut off (shutdown)");
    assert_eq!(src.boot_count("m2"), 1);
}

/// The destination's `migrate` hook filters the incoming XML (or refuses it),
/// before prepare/start/started; `--p2p` has the source daemon drive the
/// destination itself.
#[test]
fn peer_to_peer_migration_and_the_migrate_hook() {
    let src = QemuHost::start();
    let calls_dir = tempfile::tempdir().expect("temp dir");
    let calls = calls_dir.path().join("calls");
    let hook = format!(
        "#!/bin/sh\necho \"$1 $2 $3 $4\" >> {}\n\
         if [ \"$2\" != migrate ]; then cat >/dev/null; exit 0; fi\n\
         if [ \"$1\" = m4 ]; then cat >/dev/null; echo 'm4 may not come here' >&2; exit 1; fi\n\
         sed 's|</name>|</name><description>via migrate hook</description>|'\n",
        calls.display()
    );
    let dst = host_with_hook((49351, 49370), Some(&hook));
    src.define_guest("m3");
    src.define_guest("m4");
    src.virsh_ok("start m3");
    src.virsh_ok("start m4");
    src.wait_booted("m3", 1);
    src.wait_booted("m4", 1);

    src.virsh_ok(&format!("migrate --live --p2p m3 '{}'", dst.uri()));
    assert_eq!(dst.domstate("m3"), "running (migrated)");
    // Without --undefinesource the source keeps the (inactive) definition.
    assert_eq!(src.domstate("m3"), "shut off (migrated)");
    assert!(dst
        .virsh_ok("dumpxml m3")
        .contains("<description>via migrate hook</description>"));
    let seen = fs::read_to_string(&calls).expect("the hook ran");
    let m3: Vec<&str> = seen.lines().filter(|l| l.starts_with("m3 ")).collect();
    assert_eq!(
        m3,
        vec![
            "m3 migrate begin -",
            "m3 prepare begin -",
            "m3 start begin -",
            "m3 started begin -"
        ]
    );

    // A refusing hook fails the migration; the guest runs on at the source and
    // the destination has nothing of it.
    let out = src.virsh(&format!("migrate --live m4 '{}'", dst.uri()));
    assert!(!out.success(), "the refused migration succeeded");
    assert!(
        out.stderr.contains("m4 may not come here"),
        "{}",
        out.stderr
    );
    assert_eq!(src.domstate("m4"), "running (booted)");
    assert!(dst
        .virsh("domstate m4")
        .stderr
        .contains("failed to get domain 'm4'"));
    assert_eq!(dst.guest_pids().len(), 1, "a QEMU was left for m4");
    dst.virsh_ok("destroy m3");
    src.virsh_ok("destroy m4");
}

/// A client that prepared an incoming migration and went away before finish
/// leaves no paused QEMU and no domain on the destination.
#[test]
fn prepared_incoming_guest_goes_with_its_connection() {
    use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
    use protocol::remote::{DomainMigratePrepare3ParamsArgs, DomainMigratePrepare3ParamsRet};
    use protocol::{TypedParam, TypedParamValue};

    let dst = host_listening_on_loopback((49371, 49390));
    let mut client = client::Client::connect_unix(&dst.root().join("run/libvirt/libvirt-sock"))
        .expect("connect");
    client.open(Some("qemu:///system"), 0).expect("open");
    let args = DomainMigratePrepare3ParamsArgs {
        params: vec![TypedParam {
            field: "destination_xml".into(),
            value: TypedParamValue::String(dst.guest_xml("m5")),
        }],
        cookie_in: protocol::remote::Opaque(Vec::new()),
        flags: 1,
    };
    let ret: DomainMigratePrepare3ParamsRet = client
        .call(REMOTE_PROGRAM, p::DOMAIN_MIGRATE_PREPARE3_PARAMS, &args)
        .expect("prepare");
    let uri = ret.uri_out.expect("a migration URI");
    assert!(uri.starts_with("tcp:127.0.0.1:493"), "{uri}");
    assert_eq!(dst.domstate("m5"), "paused (migrating)");
    assert_eq!(dst.guest_pids().len(), 1);
    drop(client);
    let gone = wait_until(Duration::from_secs(30), || dst.guest_pids().is_empty());
    assert!(gone, "the incoming QEMU outlived its connection");
    assert!(dst
        .virsh("domstate m5")
        .stderr
        .contains("failed to get domain 'm5'"));
    assert!(!dst.root().join("run/libvirt/qemu/m5.xml").exists());
}
