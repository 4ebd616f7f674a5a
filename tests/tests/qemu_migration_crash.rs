//! Migrations whose daemons or client go away half-way leave the guest in
//! exactly one place and nothing behind once the daemons are back: a
//! destination daemon killed during perform (the next one kills the unfinished
//! incoming QEMU, the source resumes), a source daemon told to stop during
//! perform (the migration is cancelled, the guest runs on), and, with the
//! phases driven by hand as libvirt's client drives them, a source daemon
//! killed after perform and a client gone before confirm (the guest stays
//! paused on the source, as in libvirt, and resumes there on request).

mod qemu_support;

use std::fs;
use std::time::Duration;

use client::Client;
use integration_tests::wait_until;
use protocol::programs::{remote_proc as p, REMOTE_PROGRAM};
use protocol::remote::*;
use protocol::{TypedParam, TypedParamValue};
use qemu_support::QemuHost;

/// `VIR_MIGRATE_LIVE`.
const LIVE: u32 = 1;

fn host_on_loopback(ports: (u16, u16)) -> QemuHost {
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

/// The tiny guest, told to skip the kernel's IO-APIC timer check (which a
/// busy TCG host can fail, panicking the boot).
pub fn sturdy_guest_xml(host: &QemuHost, name: &str) -> String {
    host.guest_xml(name)
        .replace("console=ttyS0 quiet", "console=ttyS0 quiet no_timer_check")
}

fn running_guest(host: &QemuHost, name: &str) {
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, sturdy_guest_xml(host, name)).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));
    host.virsh_ok(&format!("start {name}"));
    host.wait_booted(name, 1);
}

/// The guest answers on `host`: it powers off, having booted only once.
fn still_the_same_guest(host: &QemuHost, serial_of: &QemuHost, name: &str) {
    host.virsh_ok(&format!("shutdown {name}"));
    let serial = || fs::read_to_string(serial_of.serial_log(name)).unwrap_or_default();
    let off = wait_until(qemu_support::STATE_TIMEOUT, || {
        serial().contains("TINY-GUEST-POWEROFF")
    });
    assert!(off, "the guest did not power off: {}", serial());
    assert_eq!(serial_of.boot_count(name), 1, "the guest rebooted");
}

fn no_trace_on(host: &QemuHost, name: &str) {
    let gone = wait_until(Duration::from_secs(30), || {
        host.guest_pids().is_empty()
            && !host
                .root()
                .join(format!("run/libvirt/qemu/{name}.xml"))
                .exists()
    });
    assert!(gone, "QEMU or status file left\n{}", host.diagnostics());
    assert!(host
        .virsh(&format!("domstate {name}"))
        .stderr
        .contains(&format!("failed to get domain '{name}'")));
}

/// Waits until `dst` has its incoming QEMU and `src` reports the migration job.
fn wait_migrating(src: &QemuHost, dst: &QemuHost, name: &str) {
    let seen = wait_until(Duration::from_secs(60), || {
        dst.guest_pids().len() == 1
            && src
                .virsh(&format!("domjobinfo {name}"))
                .stdout
                .contains("Unbounded")
    });
    assert!(seen, "no migration in flight\n{}", src.diagnostics());
}

#[test]
fn destination_daemon_killed_during_perform() {
    let src = QemuHost::start();
    let mut dst = host_on_loopback((49461, 49480));
    running_guest(&src, "c1");
    src.virsh_ok("migrate-setspeed c1 1");
    let (uri, dst_uri) = (src.uri(), dst.uri());
    let migrate = std::thread::spawn(move || {
        integration_tests::virsh(&uri, &format!("migrate --live c1 '{dst_uri}'"))
    });
    wait_migrating(&src, &dst, "c1");
    dst.kill_daemon();
    // QEMU goes on sending to the orphaned QEMU; let it end quickly.
    src.virsh_ok("migrate-setspeed c1 8000");
    let out = migrate.join().expect("virsh thread");
    assert!(
        !out.success(),
        "the migration survived its destination daemon"
    );
    assert!(
        src.domstate("c1").starts_with("running"),
        "{}",
        src.domstate("c1")
    );
    assert_eq!(dst.guest_pids().len(), 1, "the incoming QEMU went early");
    dst.start_daemon();
    no_trace_on(&dst, "c1");
    still_the_same_guest(&src, &src, "c1");
}

#[test]
fn source_daemon_stopping_cancels_the_migration() {
    let mut src = QemuHost::start();
    let dst = host_on_loopback((49481, 49500));
    running_guest(&src, "c2");
    // (The incoming QEMU names the source's root too: its serial file.)
    let qemu = src.guest_pids();
    src.virsh_ok("migrate-setspeed c2 1");
    let (uri, dst_uri) = (src.uri(), dst.uri());
    let migrate = std::thread::spawn(move || {
        integration_tests::virsh(&uri, &format!("migrate --live c2 '{dst_uri}'"))
    });
    wait_migrating(&src, &dst, "c2");
    src.signal_daemon(libc::SIGTERM);
    assert!(src.wait_daemon_exit(), "the daemon did not exit cleanly");
    let out = migrate.join().expect("virsh thread");
    assert!(!out.success(), "the migration completed");
    assert_eq!(src.guest_pids(), qemu, "the source's QEMU went");
    src.start_daemon();
    assert_eq!(src.domstate("c2"), "running (booted)");
    no_trace_on(&dst, "c2");
    still_the_same_guest(&src, &src, "c2");
}

/// A libvirt client's view of the five phases, driven one by one.
struct Phases {
    src: Client,
    dst: Client,
    dom: NonnullDomain,
}

fn connect(host: &QemuHost) -> Client {
    let mut client =
        Client::connect_unix(&host.root().join("run/libvirt/libvirt-sock")).expect("connect");
    client.open(Some("qemu:///system"), 0).expect("open");
    client
}

fn string(field: &str, value: &str) -> TypedParam {
    TypedParam {
        field: field.into(),
        value: TypedParamValue::String(value.into()),
    }
}

impl Phases {
    fn new(src: &QemuHost, dst: &QemuHost, name: &str) -> Phases {
        let mut src = connect(src);
        let looked: DomainLookupByNameRet = src
            .call(
                REMOTE_PROGRAM,
                p::DOMAIN_LOOKUP_BY_NAME,
                &DomainLookupByNameArgs { name: name.into() },
            )
            .expect("lookup");
        Phases {
            src,
            dst: connect(dst),
            dom: looked.dom,
        }
    }

    /// Begin, prepare and perform; returns perform's cookie and the URI.
    fn through_perform(&mut self) -> (Vec<u8>, String) {
        let begun: DomainMigrateBegin3ParamsRet = self
            .src
            .call(
                REMOTE_PROGRAM,
                p::DOMAIN_MIGRATE_BEGIN3_PARAMS,
                &DomainMigrateBegin3ParamsArgs {
                    dom: self.dom.clone(),
                    params: Vec::new(),
                    flags: LIVE,
                },
            )
            .expect("begin");
        let prepared: DomainMigratePrepare3ParamsRet = self
            .dst
            .call(
                REMOTE_PROGRAM,
                p::DOMAIN_MIGRATE_PREPARE3_PARAMS,
                &DomainMigratePrepare3ParamsArgs {
                    params: vec![string("destination_xml", &begun.xml)],
                    cookie_in: begun.cookie_out,
                    flags: LIVE,
                },
            )
            .expect("prepare");
        let uri = prepared.uri_out.expect("a URI");
        let performed: DomainMigratePerform3ParamsRet = self
            .src
            .call(
                REMOTE_PROGRAM,
                p::DOMAIN_MIGRATE_PERFORM3_PARAMS,
                &DomainMigratePerform3ParamsArgs {
                    dom: self.dom.clone(),
                    dconnuri: None,
                    params: vec![string("migrate_uri", &uri)],
                    cookie_in: prepared.cookie_out,
                    flags: LIVE,
                },
            )
            .expect("perform");
        (performed.cookie_out.0, uri)
    }

    fn finish(&mut self, cookie: Vec<u8>, uri: &str) {
        let _: DomainMigrateFinish3ParamsRet = self
            .dst
            .call(
                REMOTE_PROGRAM,
                p::DOMAIN_MIGRATE_FINISH3_PARAMS,
                &DomainMigrateFinish3ParamsArgs {
                    params: vec![
                        string("migrate_uri", uri),
                        string("destination_name", &self.dom.name),
                    ],
                    cookie_in: Opaque(cookie),
                    flags: LIVE,
                    cancelled: 0,
                },
            )
            .expect("finish");
    }
}

#[test]
fn source_daemon_killed_after_perform() {
    let mut src = QemuHost::start();
    let dst = host_on_loopback((49501, 49520));
    running_guest(&src, "c3");
    let source_qemu = src.guest_pids();
    let mut phases = Phases::new(&src, &dst, "c3");
    let (cookie, uri) = phases.through_perform();
    phases.finish(cookie, &uri);
    assert_eq!(dst.domstate("c3"), "running (migrated)");
    // Confirm never comes.
    src.kill_daemon();
    drop(phases);
    src.start_daemon();
    // Whether the destination runs the guest is unknown to the source: it
    // keeps its copy paused, as libvirt does, never running twice.
    assert_eq!(src.domstate("c3"), "paused (migrating)");
    assert_eq!(dst.domstate("c3"), "running (migrated)");
    src.virsh_ok("destroy c3");
    let gone = wait_until(Duration::from_secs(30), || {
        source_qemu
            .iter()
            .all(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
    });
    assert!(gone, "the source's QEMU stayed");
    assert!(!src.root().join("run/libvirt/qemu/c3.xml").exists());
    still_the_same_guest(&dst, &src, "c3");
}

#[test]
fn client_gone_before_confirm() {
    let src = QemuHost::start();
    let dst = host_on_loopback((49521, 49540));
    running_guest(&src, "c4");
    let mut phases = Phases::new(&src, &dst, "c4");
    let _ = phases.through_perform();
    assert_eq!(src.domstate("c4"), "paused (migrating)");
    // The client dies between perform and finish: the destination discards
    // the guest it prepared; the source keeps it paused (libvirt's
    // PERFORM3_DONE), and it resumes there on request.
    drop(phases);
    no_trace_on(&dst, "c4");
    assert_eq!(src.domstate("c4"), "paused (migrating)");
    src.virsh_ok("resume c4");
    assert!(src.domstate("c4").starts_with("running"));
    still_the_same_guest(&src, &src, "c4");
}
