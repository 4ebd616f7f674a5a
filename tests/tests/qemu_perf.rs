//! Host perf events of a running qemu guest: `virsh perf` opens and closes software
//! counters on the QEMU process, `virsh domstats --perf` reports their growing
//! values, `<perf>` records them in the live and (with `--config`) the persistent
//! definition, counters enabled in the definition open at start and again after a
//! daemon restart, and events the host cannot count or does not know are refused
//! with libvirt's errors, leaving the state as it was. python3-libvirt's
//! `perfEvents()` / `setPerfEvents()` see the same.

mod qemu_support;

use std::collections::BTreeMap;
use std::process::Command;

use integration_tests::tools::{require_python_libvirt, run_with_deadline, CLIENT_TIMEOUT};
use integration_tests::wait_until;
use qemu_support::{QemuHost, STATE_TIMEOUT};

const GUEST: &str = "pf1";
const SOFTWARE: [&str; 4] = ["cpu_clock", "task_clock", "context_switches", "page_faults"];

/// `virsh perf GUEST ARGS` as event -> "enabled" / "disabled".
fn perf_states(host: &QemuHost, args: &str) -> BTreeMap<String, String> {
    host.virsh_ok(&format!("perf {GUEST} {args}"))
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn enabled_events(host: &QemuHost, args: &str) -> Vec<String> {
    let states = perf_states(host, args);
    assert_eq!(
        states.len(),
        22,
        "every libvirt perf event is listed: {states:?}"
    );
    states
        .into_iter()
        .filter(|(_, state)| state == "enabled")
        .map(|(name, _)| name)
        .collect()
}

/// `perf.*` values of `virsh domstats --perf GUEST`.
fn perf_stats(host: &QemuHost) -> BTreeMap<String, u64> {
    host.virsh_ok(&format!("domstats --perf {GUEST}"))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("perf."))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().expect("counter value")))
        .collect()
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    list.sort();
    list
}

fn refused(host: &QemuHost, args: &str) -> String {
    let out = host.virsh(&format!("perf {GUEST} {args}"));
    assert!(!out.success(), "virsh perf {args} succeeded: {out}");
    out.stderr
}

fn python(host: &QemuHost, code: &str) -> String {
    let mut command = Command::new(require_python_libvirt());
    command.args(["-c", code, &host.uri(), GUEST]);
    let out = run_with_deadline(&mut command, CLIENT_TIMEOUT);
    assert!(out.success(), "python3-libvirt failed: {out}");
    out.stdout.trim().to_string()
}

const PY_PREFIX: &str = "import sys, libvirt\n\
     dom = libvirt.open(sys.argv[1]).lookupByName(sys.argv[2])\n";

#[test]
fn software_counters_follow_virsh_perf_live_in_definitions_and_across_restarts() {
    let mut host = QemuHost::start();
    host.define_guest(GUEST);
    host.virsh_ok(&format!("start {GUEST}"));
    host.wait_booted(GUEST, 1);
    assert!(enabled_events(&host, "").is_empty());
    assert!(perf_stats(&host).is_empty());

    // Enabled live: listed, in the live XML in libvirt's order, counted.
    host.virsh_ok(&format!("perf {GUEST} --enable {}", SOFTWARE.join(",")));
    assert_eq!(enabled_events(&host, ""), sorted(&SOFTWARE));
    assert_eq!(enabled_events(&host, "--live"), sorted(&SOFTWARE));
    assert!(enabled_events(&host, "--config").is_empty());
    let live = host.virsh_ok(&format!("dumpxml {GUEST}"));
    assert!(
        live.contains(
            "  <perf>\n    <event name='cpu_clock' enabled='yes'/>\n    \
             <event name='task_clock' enabled='yes'/>\n    \
             <event name='page_faults' enabled='yes'/>\n    \
             <event name='context_switches' enabled='yes'/>\n  </perf>\n  <devices>"
        ),
        "{live}"
    );
    assert!(!host
        .virsh_ok(&format!("dumpxml --inactive {GUEST}"))
        .contains("<perf>"));
    let mut first = BTreeMap::new();
    let counted = wait_until(STATE_TIMEOUT, || {
        first = perf_stats(&host);
        first.len() == SOFTWARE.len()
            && ["cpu_clock", "task_clock", "context_switches"]
                .iter()
                .all(|name| first[*name] > 0)
    });
    // An idle guest's QEMU main thread may well take no page fault at all.
    assert!(
        counted,
        "clocks and context switches never counted: {first:?}"
    );
    assert_eq!(first.keys().cloned().collect::<Vec<_>>(), sorted(&SOFTWARE));
    let mut later = BTreeMap::new();
    let grew = wait_until(STATE_TIMEOUT, || {
        later = perf_stats(&host);
        later["cpu_clock"] > first["cpu_clock"] && later["task_clock"] > first["task_clock"]
    });
    assert!(grew, "clocks did not advance: {first:?} then {later:?}");

    // Disabled: gone from the statistics, recorded as 'no'.
    host.virsh_ok(&format!("perf {GUEST} --disable page_faults"));
    let stats = perf_stats(&host);
    assert!(!stats.contains_key("page_faults"), "{stats:?}");
    assert_eq!(stats.len(), 3, "{stats:?}");
    assert!(host
        .virsh_ok(&format!("dumpxml {GUEST}"))
        .contains("<event name='page_faults' enabled='no'/>"));
    let three = ["cpu_clock", "task_clock", "context_switches"];
    assert_eq!(enabled_events(&host, ""), sorted(&three));

    // What the host cannot count, and names libvirt does not know, change nothing.
    let cmt = refused(&host, "--enable cmt");
    assert!(
        cmt.contains("argument unsupported: unable to enable host cpu perf event for cmt"),
        "{cmt}"
    );
    // A hardware counter needs a PMU the host exposes (virtual machines often have
    // none); either it counts or libvirt's error names it.
    let cycles = host.virsh(&format!("perf {GUEST} --enable cpu_cycles"));
    if cycles.success() {
        assert!(enabled_events(&host, "").contains(&"cpu_cycles".to_string()));
        host.virsh_ok(&format!("perf {GUEST} --disable cpu_cycles"));
    } else {
        assert!(
            cycles
                .stderr
                .contains("unable to open host cpu perf event for cpu_cycles: "),
            "{cycles}"
        );
        assert!(!host
            .virsh_ok(&format!("dumpxml {GUEST}"))
            .contains("'cpu_cycles'"));
    }
    let unknown = refused(&host, "--enable cycles");
    assert!(
        unknown.contains("argument unsupported: parameter 'cycles' not supported"),
        "{unknown}"
    );
    let live = host.virsh_ok(&format!("dumpxml {GUEST}"));
    assert!(!live.contains("'cmt'"), "{live}");
    assert_eq!(enabled_events(&host, ""), sorted(&three));

    // --config: the persistent definition only, until the next start.
    host.virsh_ok(&format!("perf {GUEST} --enable cpu_migrations --config"));
    let inactive = host.virsh_ok(&format!("dumpxml --inactive {GUEST}"));
    assert!(
        inactive.contains("  <perf>\n    <event name='cpu_migrations' enabled='yes'/>\n  </perf>"),
        "{inactive}"
    );
    assert_eq!(enabled_events(&host, "--config"), ["cpu_migrations"]);
    assert_eq!(enabled_events(&host, ""), sorted(&three));

    // python3-libvirt sees and changes the same state.
    let seen = python(
        &host,
        &format!("{PY_PREFIX}print(sorted(k for k, v in dom.perfEvents().items() if v))"),
    );
    assert_eq!(seen, "['context_switches', 'cpu_clock', 'task_clock']");
    python(
        &host,
        &format!(
            "{PY_PREFIX}dom.setPerfEvents({{'cpu_clock': False}}, \
             libvirt.VIR_DOMAIN_AFFECT_LIVE)"
        ),
    );
    assert_eq!(
        enabled_events(&host, ""),
        sorted(&["task_clock", "context_switches"])
    );

    // A new start opens what the definition enables; a daemon restart reopens it.
    host.virsh_ok(&format!("destroy {GUEST}"));
    assert_eq!(enabled_events(&host, ""), ["cpu_migrations"]);
    host.virsh_ok(&format!("start {GUEST}"));
    assert_eq!(enabled_events(&host, ""), ["cpu_migrations"]);
    assert!(perf_stats(&host).contains_key("cpu_migrations"));
    host.kill_daemon();
    host.start_daemon();
    assert_eq!(enabled_events(&host, ""), ["cpu_migrations"]);
    assert!(perf_stats(&host).contains_key("cpu_migrations"));
    host.virsh_ok(&format!("perf {GUEST} --enable task_clock"));
    let mut stats = BTreeMap::new();
    let counted = wait_until(STATE_TIMEOUT, || {
        stats = perf_stats(&host);
        stats.get("task_clock").is_some_and(|v| *v > 0)
    });
    assert!(
        counted,
        "task_clock not counted after the restart: {stats:?}"
    );
}

#[test]
fn perf_definitions_are_validated_as_libvirt_validates_them() {
    let host = QemuHost::start();
    let file = host.root().join("bad.xml");
    let define = |perf: &str| {
        let xml = host
            .guest_xml("pf2")
            .replace("<devices>", &format!("{perf}<devices>"));
        std::fs::write(&file, xml).expect("write xml");
        host.virsh(&format!("define {}", file.display()))
    };
    let unknown = define("<perf><event name='cycles' enabled='yes'/></perf>");
    assert!(
        unknown
            .stderr
            .contains("Invalid value for attribute 'name' in element 'event': 'cycles'."),
        "{unknown}"
    );
    let twice = define(
        "<perf><event name='cpu_clock' enabled='yes'/>\
         <event name='cpu_clock' enabled='no'/></perf>",
    );
    assert!(
        twice
            .stderr
            .contains("perf event 'cpu_clock' was already specified"),
        "{twice}"
    );
    let fine = define(
        "<perf><event name='task_clock' enabled='no'/>\
         <event name='cmt' enabled='yes'/></perf>",
    );
    assert!(fine.success(), "{fine}");
    let xml = host.virsh_ok("dumpxml pf2");
    assert!(
        xml.contains(
            "  <perf>\n    <event name='cmt' enabled='yes'/>\n    \
             <event name='task_clock' enabled='no'/>\n  </perf>"
        ),
        "{xml}"
    );
    // An event the host cannot count fails the start, as in libvirt.
    let start = host.virsh("start pf2");
    assert!(
        start
            .stderr
            .contains("unable to enable host cpu perf event for cmt"),
        "{start}"
    );
    assert_eq!(host.domstate("pf2"), "shut off (failed)");
    assert!(
        host.guest_pids().is_empty(),
        "the refused guest was left running"
    );
}
