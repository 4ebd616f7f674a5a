//! Containers started through `lxc+unix:///system` with real virsh: isolation inside the
//! container, the memory limit the cgroup enforces, and the lifecycle with its state
//! reasons, events and clean-up. Runs as root with real namespaces.

mod lxc_common;

use std::fs;
use std::time::Duration;

use integration_tests::{virsh, wait_until, Daemon, EventListener};
use lxc_common::*;

/// Reports, then tries to allocate far more than the container's memory limit in a
/// subshell, then idles. The subshell marks itself the OOM killer's first choice: a
/// second OOM while the first victim is still exiting must not take init instead.
const ISOLATION_AND_MEMORY: &str = r#"
report() { "$@" > /out/.tmp 2>&1; mv /out/.tmp "/out/$1"; }
echo $$ > /out/.tmp; mv /out/.tmp /out/pid
report hostname
report ps
cat /proc/mounts > /out/.tmp; mv /out/.tmp /out/mounts
grep CapBnd /proc/1/status > /out/.tmp; mv /out/.tmp /out/caps
( echo 1000 > /proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived ) > /out/.mem 2>&1
echo "rc=$?" >> /out/.mem; mv /out/.mem /out/memory
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

fn state_of(uri: &str, name: &str) -> String {
    virsh(uri, &format!("domstate {name} --reason"))
        .expect_success("domstate")
        .stdout
        .trim()
        .to_string()
}

fn wait_state(uri: &str, name: &str, wanted: &str) {
    let mut last = String::new();
    let reached = wait_until(CONTAINER_TIMEOUT, || {
        last = state_of(uri, name);
        last == wanted
    });
    assert!(
        reached,
        "state of {name} stayed '{last}', wanted '{wanted}'"
    );
}

#[test]
fn container_is_isolated_and_its_memory_limit_is_enforced() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("iso");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(ISOLATION_AND_MEMORY);
    let data = tempfile::tempdir().expect("data directory");
    fs::write(data.path().join("marker"), "host data").expect("marker file");
    let extra = format!(
        "    <filesystem type='mount'>\n      <source dir='{}'/>\n      \
         <target dir='/data'/>\n      <readonly/>\n    </filesystem>\n",
        data.path().display()
    );
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 32, &extra)).expect("write xml");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");

    assert_eq!(rootfs.wait_report("pid").trim(), "1", "init is not PID 1");
    assert_eq!(rootfs.wait_report("hostname").trim(), name);
    let ps = rootfs.wait_report("ps");
    for line in ps.lines().skip(1) {
        let pid: i32 = line
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected ps line '{line}'"));
        assert!(
            pid < 10,
            "a foreign process is visible in the container:\n{ps}"
        );
    }
    let mounts = rootfs.wait_report("mounts");
    let points: Vec<(&str, &str)> = mounts
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            Some((*fields.get(1)?, *fields.get(3)?))
        })
        .collect();
    for (point, _) in &points {
        // Below /proc: the read-only binds over sys, irq, bus and the masked kmsg.
        let allowed = matches!(*point, "/" | "/proc" | "/sys" | "/dev" | "/data")
            || point.starts_with("/dev/")
            || point.starts_with("/proc/");
        assert!(
            allowed,
            "unexpected mount {point} in the container:\n{mounts}"
        );
    }
    let data_mount = points.iter().find(|(p, _)| *p == "/data");
    assert!(
        data_mount.is_some_and(|(_, opts)| opts.split(',').any(|o| o == "ro")),
        "/data is not mounted read-only:\n{mounts}"
    );

    let caps = rootfs.wait_report("caps");
    let bounding = caps
        .split_whitespace()
        .nth(1)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("no CapBnd line: {caps}"));
    assert_eq!(bounding & (1 << 16), 0, "CAP_SYS_MODULE kept: {caps}");
    assert_ne!(bounding & (1 << 21), 0, "CAP_SYS_ADMIN dropped: {caps}");

    let info = virsh(&uri, &format!("dominfo {name}")).expect_success("dominfo");
    assert!(info.stdout.contains("State:          running"), "{info}");
    assert!(info.stdout.contains("Max memory:     32768 KiB"), "{info}");
    let (init_pid, _) = status_pids(&daemon.root().join(format!("run/libvirt/lxc/{name}.xml")))
        .expect("status file with pids");
    assert!(
        info.stdout.contains(&format!("Id:             {init_pid}")),
        "{info}"
    );
    let limit = cgroup_dirs_of(init_pid)
        .into_iter()
        .find_map(|dir| {
            fs::read_to_string(dir.join("memory.limit_in_bytes"))
                .or_else(|_| fs::read_to_string(dir.join("memory.max")))
                .ok()
        })
        .expect("the container has a memory cgroup");
    assert_eq!(limit.trim(), (32u64 << 20).to_string());

    let memory = rootfs.wait_report("memory");
    assert!(
        !memory.contains("survived") && !memory.contains("rc=0"),
        "allocating past the limit succeeded:\n{memory}"
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    assert!(!process_exists(init_pid), "init survived destroy");
}

#[test]
fn lifecycle_reports_reasons_and_events_and_cleans_up() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("life");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");

    let mut events = EventListener::spawn(&uri);
    let defined = format!("event 'lifecycle' for domain '{name}': Defined");
    let registered = wait_until(CONTAINER_TIMEOUT, || {
        virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
        events
            .wait_for_line(Duration::from_millis(300), |l| l.starts_with(&defined))
            .is_some()
    });
    assert!(registered, "no Defined event: {:?}", events.seen);
    let expect_event = |events: &mut EventListener, what: &str| {
        let line = format!("event 'lifecycle' for domain '{name}': {what}");
        assert!(
            events
                .wait_for_line(CONTAINER_TIMEOUT, |l| l == line)
                .is_some(),
            "missing event '{line}', saw {:?}",
            events.seen
        );
    };

    virsh(&uri, &format!("start {name}")).expect_success("start");
    expect_event(&mut events, "Started Booted");
    assert_eq!(state_of(&uri, &name), "running (booted)");
    rootfs.wait_report("ps");
    let status_file = daemon.root().join(format!("run/libvirt/lxc/{name}.xml"));
    let (init_pid, _) = status_pids(&status_file).expect("status pids");
    let groups = cgroup_dirs_of(init_pid);
    assert!(!groups.is_empty(), "init is in no libvirt-lxc cgroup");

    virsh(&uri, &format!("suspend {name}")).expect_success("suspend");
    expect_event(&mut events, "Suspended Paused");
    assert_eq!(state_of(&uri, &name), "paused (user)");
    virsh(&uri, &format!("resume {name}")).expect_success("resume");
    expect_event(&mut events, "Resumed Unpaused");
    assert_eq!(state_of(&uri, &name), "running (unpaused)");

    fs::remove_file(rootfs.path().join("out/ps")).expect("remove old report");
    virsh(&uri, &format!("reboot {name}")).expect_success("reboot");
    let reboot = format!("event 'reboot' for domain '{name}'");
    assert!(
        events
            .wait_for_line(CONTAINER_TIMEOUT, |l| l == reboot)
            .is_some(),
        "no reboot event, saw {:?}",
        events.seen
    );
    expect_event(&mut events, "Started Booted");
    rootfs.wait_report("ps");
    assert_eq!(state_of(&uri, &name), "running (booted)");
    let (rebooted_pid, supervisor_pid) = status_pids(&status_file).expect("status pids");
    assert_ne!(rebooted_pid, init_pid, "init was not started again");
    assert!(
        !process_exists(init_pid),
        "the old init survived the reboot"
    );
    let init_pid = rebooted_pid;
    let groups = cgroup_dirs_of(init_pid);

    virsh(&uri, &format!("shutdown {name}")).expect_success("shutdown");
    expect_event(&mut events, "Stopped Shutdown");
    wait_state(&uri, &name, "shut off (shutdown)");
    assert!(
        !process_exists(init_pid),
        "init still exists after shutdown"
    );
    assert!(
        wait_until(CONTAINER_TIMEOUT, || !process_exists(supervisor_pid)),
        "the supervisor did not exit"
    );
    for dir in &groups {
        assert!(
            !dir.exists(),
            "cgroup {} left after shutdown",
            dir.display()
        );
    }
    assert!(!status_file.exists(), "status file left after shutdown");

    fs::remove_file(rootfs.path().join("out/ps")).expect("remove old report");
    virsh(&uri, &format!("start {name}")).expect_success("second start");
    expect_event(&mut events, "Started Booted");
    rootfs.wait_report("ps");
    let (init_pid, _) = status_pids(&status_file).expect("status pids");
    let groups = cgroup_dirs_of(init_pid);
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    expect_event(&mut events, "Stopped Destroyed");
    assert_eq!(state_of(&uri, &name), "shut off (destroyed)");
    assert!(!process_exists(init_pid), "init still exists after destroy");
    for dir in &groups {
        assert!(!dir.exists(), "cgroup {} left after destroy", dir.display());
    }
    let listed = virsh(&uri, "list --all --name").expect_success("list");
    assert!(listed.stdout.lines().any(|l| l == name), "{listed}");
    virsh(&uri, &format!("undefine {name}")).expect_success("undefine");
    expect_event(&mut events, "Undefined Removed");
}

#[test]
fn bad_definitions_are_refused_with_the_reason() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.xml");
    fs::write(
        &path,
        "<domain type='kvm'><name>vm</name><memory>1024</memory>\
         <os><type>hvm</type></os></domain>",
    )
    .expect("write xml");
    let out = virsh(&uri, &format!("define {}", path.display()));
    assert!(!out.success(), "a kvm domain was accepted: {out}");
    assert!(out.stderr.contains("domain type 'kvm'"), "{out}");
    fs::write(&path, "<domain type='lxc'><name>c</name>").expect("write xml");
    let out = virsh(&uri, &format!("define {}", path.display()));
    assert!(!out.success(), "malformed XML was accepted: {out}");
    let listed = virsh(&uri, "list --all --name").expect_success("list");
    assert_eq!(listed.stdout.trim(), "");
}

#[test]
fn transient_container_is_gone_after_destroy() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("trans");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml_path = rootfs.path().join("domain.xml");
    fs::write(&xml_path, domain_xml(&name, rootfs.path(), 64, "")).expect("write xml");
    virsh(&uri, &format!("create {}", xml_path.display())).expect_success("create");
    rootfs.wait_report("ps");
    let info = virsh(&uri, &format!("dominfo {name}")).expect_success("dominfo");
    assert!(info.stdout.contains("Persistent:     no"), "{info}");
    let transient = virsh(&uri, "list --transient --name").expect_success("list");
    assert_eq!(transient.stdout.trim(), name);
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
    let all = virsh(&uri, "list --all --name").expect_success("list");
    assert_eq!(all.stdout.trim(), "", "transient domain kept after destroy");
    assert!(!daemon
        .root()
        .join("etc/libvirt/lxc")
        .join(format!("{name}.xml"))
        .exists());
}

#[test]
fn autostart_containers_start_with_the_daemon() {
    require_container_host();
    let name = container_name("auto");
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let xml = domain_xml(&name, rootfs.path(), 64, "");
    let daemon = Daemon::builder()
        .file(format!("etc/libvirt/lxc/{name}.xml"), xml.clone(), 0o600)
        .file(format!("etc/libvirt/lxc/autostart/{name}.xml"), xml, 0o600)
        .start();
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let uri = lxc_uri_of(&daemon);
    wait_state(&uri, &name, "running (booted)");
    assert_eq!(rootfs.wait_report("hostname").trim(), name);
    let info = virsh(&uri, &format!("dominfo {name}")).expect_success("dominfo");
    assert!(info.stdout.contains("Autostart:      enable"), "{info}");
    virsh(&uri, &format!("autostart --disable {name}")).expect_success("autostart off");
    assert!(!daemon
        .root()
        .join(format!("etc/libvirt/lxc/autostart/{name}.xml"))
        .exists());
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}

#[test]
fn sighup_reads_definitions_added_on_disk() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("hup");
    let rootfs = RootFs::new(REPORT_AND_WAIT);
    let config = daemon.root().join(format!("etc/libvirt/lxc/{name}.xml"));
    fs::create_dir_all(config.parent().expect("config dir")).expect("create config dir");
    fs::write(&config, domain_xml(&name, rootfs.path(), 64, "")).expect("write config");
    let listed = virsh(&uri, "list --all --name").expect_success("list");
    assert_eq!(listed.stdout.trim(), "", "found before SIGHUP");
    daemon.signal(libc::SIGHUP);
    let found = wait_until(CONTAINER_TIMEOUT, || {
        let listed = virsh(&uri, "list --all --name").expect_success("list");
        listed.stdout.trim() == name
    });
    assert!(found, "the definition was not read on SIGHUP");
    let info = virsh(&uri, &format!("dominfo {name}")).expect_success("dominfo");
    assert!(info.stdout.contains("Max memory:     65536 KiB"), "{info}");
}
