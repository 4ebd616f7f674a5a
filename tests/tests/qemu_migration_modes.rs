//! Kinds of live migration beyond plain pre-copy between two of our daemons:
//! post-copy (switched by `migrate-postcopy` from another client, and by virsh
//! itself with `--postcopy-after-precopy` on the `MIGRATION_ITERATION` event
//! and with `--timeout-postcopy`)
//! with libvirt's post-copy states and events on both sides; `--auto-converge`
//! and `--compressed` (the QEMU capabilities seen set during the job, the
//! xbzrle cache of `migrate-compcache` and of `--comp-xbzrle-cache`);
//! `--timeout --timeout-suspend` (the guest paused mid-way finishes moving
//! paused and resumes on the destination). The guest is the same one
//! throughout: it booted once and answers the power button at the end.

mod qemu_support;

use std::fs;
use std::time::Duration;

use integration_tests::{virsh, wait_until};
use qemu_support::{expect_event, listen_events, QemuHost};

fn host_listening_on_loopback(ports: (u16, u16)) -> QemuHost {
    let mut host = QemuHost::start();
    host.kill_daemon();
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

/// The capabilities QEMU reports as on for guest `name`.
fn capabilities_on(host: &QemuHost, name: &str) -> Vec<String> {
    let out = host.virsh(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-migrate-capabilities\"}}'"
    ));
    let value: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    value["return"]
        .as_array()
        .map(|caps| {
            caps.iter()
                .filter(|c| c["state"].as_bool() == Some(true))
                .filter_map(|c| c["capability"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One of QEMU's migration parameters for guest `name`, as QEMU reports it.
fn migrate_parameter(host: &QemuHost, name: &str, parameter: &str) -> Option<u64> {
    let out = host.virsh(&format!(
        "qemu-monitor-command {name} '{{\"execute\":\"query-migrate-parameters\"}}'"
    ));
    let value: serde_json::Value = serde_json::from_str(out.stdout.trim()).ok()?;
    value["return"][parameter].as_u64()
}

/// MiB still to send according to `domjobinfo` (0 when unknown).
fn remaining_mib(host: &QemuHost, name: &str) -> f64 {
    let out = host.virsh(&format!("domjobinfo {name}")).stdout;
    out.lines()
        .find(|l| l.starts_with("Data remaining:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Starts `virsh migrate` in a thread and waits until the source reports the job.
fn migrate_in_background(
    src: &QemuHost,
    dst: &QemuHost,
    name: &str,
    options: &str,
) -> std::thread::JoinHandle<integration_tests::CmdOutput> {
    let uri = src.uri();
    let command = format!("migrate --live {options} {name} '{}'", dst.uri());
    let handle = std::thread::spawn(move || virsh(&uri, &command));
    let started = wait_until(Duration::from_secs(60), || {
        src.virsh(&format!("domjobinfo {name}"))
            .stdout
            .contains("Unbounded")
    });
    assert!(started, "no migration job seen\n{}", src.diagnostics());
    handle
}

/// Defines the tiny guest `name` on `host`, its kernel told to skip the
/// IO-APIC timer check that TCG on a loaded machine sometimes fails (a panic
/// at boot that has nothing to do with migration).
fn define_guest(host: &QemuHost, name: &str) {
    let file = host.root().join(format!("{name}.xml"));
    let xml = host
        .guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check");
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
}

#[test]
fn post_copy_migration_switched_by_a_client_and_by_virsh() {
    let src = host_listening_on_loopback((49511, 49530));
    let dst = host_listening_on_loopback((49531, 49550));
    define_guest(&src, "p1");
    src.virsh_ok("start p1");
    src.wait_booted("p1", 1);

    // Refused when no migration runs, and for one started without --postcopy.
    let out = src.virsh("migrate-postcopy p1");
    assert!(
        out.stderr
            .contains("post-copy can only be started while outgoing migration is in progress"),
        "{}",
        out.stderr
    );
    src.virsh_ok("migrate-setspeed p1 10");
    let plain = migrate_in_background(&src, &dst, "p1", "");
    let out = src.virsh("migrate-postcopy p1");
    assert!(
        out.stderr.contains(
            "switching to post-copy requires migration to be started with \
             VIR_MIGRATE_POSTCOPY flag"
        ),
        "{}",
        out.stderr
    );
    src.virsh_ok("domjobabort p1");
    assert!(!plain.join().expect("virsh thread").success());
    assert_eq!(src.domstate("p1"), "running (booted)");

    // Switched by another client while the pre-copy pass is under way.
    let mut src_events = listen_events(&src);
    let mut dst_events = listen_events(&dst);
    // The post-copy phase is slowed down too, so that finish finds it running.
    let migrate = migrate_in_background(&src, &dst, "p1", "--postcopy --postcopy-bandwidth 10");
    assert!(capabilities_on(&src, "p1").contains(&"postcopy-ram".to_string()));
    src.virsh_ok("migrate-postcopy p1");
    // Once switched (the guest's memory split between the hosts), the job
    // cannot be aborted.
    let switched = wait_until(Duration::from_secs(30), || {
        src.domstate("p1") == "paused (post-copy)"
    });
    assert!(switched, "the source never read paused (post-copy)");
    let out = src.virsh("domjobabort p1");
    assert!(
        out.stderr
            .contains("Requested operation is not valid: cannot abort migration in post-copy mode"),
        "{}",
        out.stderr
    );
    let out = migrate.join().expect("virsh thread");
    assert!(out.success(), "post-copy migration failed: {}", out.stderr);
    expect_event(&mut src_events, "p1", "Suspended Post-copy");
    expect_event(&mut src_events, "p1", "Stopped Migrated");
    expect_event(&mut dst_events, "p1", "Started Migrated");
    expect_event(&mut dst_events, "p1", "Resumed Post-copy");
    expect_event(&mut dst_events, "p1", "Resumed Migrated");
    assert_eq!(dst.domstate("p1"), "running (migrated)");
    assert_eq!(src.boot_count("p1"), 1, "the guest rebooted");

    // virsh switches by itself once the first pass is done, told so by the
    // migration-iteration event.
    let mut back_events = listen_events(&dst);
    dst.virsh_ok("migrate-setspeed p1 20");
    let out = dst.virsh(&format!(
        "migrate --live --postcopy --postcopy-after-precopy --postcopy-bandwidth 10 p1 '{}'",
        src.uri()
    ));
    assert!(out.success(), "{}", out.stderr);
    let iteration = back_events.wait_for_line(Duration::from_secs(30), |l| {
        l.contains("event 'migration-iteration' for domain 'p1'")
    });
    assert!(iteration.is_some(), "no migration-iteration event");
    expect_event(&mut back_events, "p1", "Suspended Post-copy");
    expect_event(&mut back_events, "p1", "Stopped Migrated");
    assert_eq!(src.domstate("p1"), "running (migrated)");

    // virsh switches once --timeout expired with --timeout-postcopy.
    let mut timed_events = listen_events(&src);
    src.virsh_ok("migrate-setspeed p1 5");
    let out = src.virsh(&format!(
        "migrate --live --postcopy --timeout 1 --timeout-postcopy --postcopy-bandwidth 10 p1 '{}'",
        dst.uri()
    ));
    assert!(out.success(), "{}", out.stderr);
    expect_event(&mut timed_events, "p1", "Suspended Post-copy");
    assert_eq!(dst.domstate("p1"), "running (migrated)");
    dst.virsh_ok(&format!("migrate --live p1 '{}'", src.uri()));

    src.virsh_ok("shutdown p1");
    src.wait_state("p1", "shut off (shutdown)");
    assert_eq!(src.boot_count("p1"), 1, "the guest rebooted");
}

#[test]
fn auto_converge_compression_and_timeout_suspend() {
    let src = host_listening_on_loopback((49551, 49570));
    let dst = host_listening_on_loopback((49571, 49590));
    define_guest(&src, "c1");
    src.virsh_ok("start c1");
    src.wait_booted("c1", 1);

    // The xbzrle cache: QEMU's default, then set by migrate-compcache, then
    // by the migration's own parameter (refused without --compressed).
    let cache = |h: &QemuHost| migrate_parameter(h, "c1", "xbzrle-cache-size");
    assert_eq!(
        src.virsh_ok("migrate-compcache c1"),
        "Compression cache: 64.000 MiB"
    );
    assert_eq!(
        src.virsh_ok("migrate-compcache c1 --size 16777216"),
        "Compression cache: 16.000 MiB"
    );
    assert_eq!(cache(&src), Some(16 << 20));
    let refusals = [
        (
            "--comp-xbzrle-cache 33554432",
            "Turn xbzrle compression on to tune cache size",
        ),
        (
            "--compressed --comp-methods mt",
            "compression method 'mt' is not offered",
        ),
    ];
    for (options, message) in refusals {
        let refused = src.virsh(&format!("migrate --live {options} c1 '{}'", dst.uri()));
        assert!(refused.stderr.contains(message), "{options}: {refused}");
        assert_eq!(src.domstate("c1"), "running (booted)", "{options}");
        assert_eq!(cache(&src), Some(16 << 20), "{options}");
    }
    let out = src.virsh("migrate-compcache c1 --size 1");
    assert!(!out.success(), "a 1-byte cache was accepted: {out}");
    assert!(
        src.virsh("migrate-compcache c1").stderr.is_empty() && cache(&src) == Some(16 << 20),
        "a refused size changed the cache"
    );

    src.virsh_ok("migrate-setspeed c1 20");
    let migrate = migrate_in_background(
        &src,
        &dst,
        "c1",
        "--auto-converge --compressed --comp-xbzrle-cache 33554432",
    );
    let caps = capabilities_on(&src, "c1");
    let cache_during = cache(&src);
    let out = migrate.join().expect("virsh thread");
    assert!(out.success(), "{}", out.stderr);
    for cap in ["auto-converge", "xbzrle", "events"] {
        assert!(caps.contains(&cap.to_string()), "{cap} not set: {caps:?}");
    }
    assert_eq!(cache_during, Some(32 << 20), "the migration's cache size");
    assert_eq!(dst.domstate("c1"), "running (migrated)");

    // Paused by virsh after one second; it arrives paused and runs again
    // once finish resumes it.
    // (At 5 MiB/s the 128 MiB guest needs well over ten seconds: a pause
    // seen with most of it still to send is virsh's, not the last pass.)
    let mut events = listen_events(&dst);
    dst.virsh_ok("migrate-setspeed c1 5");
    let migrate = migrate_in_background(&dst, &src, "c1", "--timeout 1 --timeout-suspend");
    let paused_early = wait_until(Duration::from_secs(20), || {
        let remaining = remaining_mib(&dst, "c1");
        dst.domstate("c1") == "paused (migrating)" && remaining > 32.0
    });
    let out = migrate.join().expect("virsh thread");
    assert!(out.success(), "{}", out.stderr);
    assert!(paused_early, "the guest was not paused mid-way");
    expect_event(&mut events, "c1", "Suspended Migrated");
    assert_eq!(src.domstate("c1"), "running (migrated)");
    // The flags themselves were used on this way back: none of them stays.
    src.virsh_ok("shutdown c1");
    src.wait_state("c1", "shut off (shutdown)");
    assert_eq!(src.boot_count("c1"), 1, "the guest rebooted");
}
