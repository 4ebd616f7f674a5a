//! `virsh perf`, `<perf>` and `domstats --perf` of our daemon beside the real
//! libvirtd 9.0 on the same host: the same listing, the same definitions, the same
//! statistics names and the same errors for events the host cannot count, unknown
//! names and invalid `<perf>` definitions.

mod qemu_reference;
mod qemu_support;

use std::fs;
use std::process::Command;

use integration_tests::tools::{require_python_libvirt, run_with_deadline, CLIENT_TIMEOUT};
use integration_tests::{virsh, wait_until};
use qemu_reference::{guest_pids, GuestReaper, ReferenceDaemon};
use qemu_support::{QemuHost, BOOT_TIMEOUT};

/// What a client sees of perf events on daemon `uri` for the running persistent guest
/// `name`, with the guest's name replaced by NAME.
fn transcript(host: &QemuHost, uri: &str, name: &str) -> String {
    let mut out = String::new();
    let mut run = |commands: String| {
        let o = virsh(uri, &commands);
        out.push_str(&format!(
            "$ {commands}\n[{}]\n{}{}",
            o.success(),
            o.stdout,
            o.stderr
        ));
    };
    run(format!("perf {name}"));
    run(format!(
        "perf {name} --enable cpu_clock,task_clock,context_switches"
    ));
    run(format!("perf {name} --disable task_clock"));
    run(format!("perf {name} --enable cmt"));
    run(format!("perf {name} --enable cpu_cycles"));
    run(format!("perf {name} --enable cycles"));
    run(format!("perf {name} --enable cpu_migrations --config"));
    run(format!("perf {name} --live"));
    run(format!("perf {name} --config"));
    let live = virsh(uri, &format!("dumpxml {name}")).stdout;
    let inactive = virsh(uri, &format!("dumpxml --inactive {name}")).stdout;
    for xml in [live, inactive] {
        let section = xml
            .split_once("<perf>")
            .and_then(|(_, rest)| rest.split_once("</perf>"))
            .map(|(inner, _)| inner.to_string());
        out.push_str(&format!("perf section: {section:?}\n"));
    }
    let stats = virsh(uri, &format!("domstats --perf {name}")).stdout;
    let names: Vec<&str> = stats
        .lines()
        .filter_map(|l| l.trim().split_once('=').map(|(k, _)| k))
        .collect();
    out.push_str(&format!("stats: {names:?}\n"));
    let file = host.root().join(format!("{name}-bad.xml"));
    for perf in [
        "<perf><event name='cycles' enabled='yes'/></perf>",
        "<perf><event name='cpu_clock' enabled='on'/></perf>",
        "<perf><event name='cpu_clock' enabled='yes'/><event name='cpu_clock' enabled='no'/></perf>",
        "<perf><event enabled='yes'/></perf>",
    ] {
        let xml = host
            .guest_xml(&format!("{name}x"))
            .replace("<devices>", &format!("{perf}<devices>"));
        fs::write(&file, xml).expect("write xml");
        let o = virsh(uri, &format!("define {}", file.display()));
        out.push_str(&format!("define {perf}: [{}] {}", o.success(), o.stderr));
    }
    out.push_str(&error_codes(uri, name));
    out.replace(name, "NAME")
}

/// (code, domain, message) of refused calls through python3-libvirt, which can send
/// flags virsh does not (python checks names and types itself).
fn error_codes(uri: &str, name: &str) -> String {
    let script = "import sys, libvirt\n\
        libvirt.registerErrorHandler(lambda *a: None, None)\n\
        dom = libvirt.open(sys.argv[1]).lookupByName(sys.argv[2])\n\
        calls = [lambda: dom.setPerfEvents({'cmt': True}),\n\
                 lambda: dom.setPerfEvents({'cpu_clock': True}, 8),\n\
                 lambda: dom.perfEvents(3)]\n\
        for call in calls:\n\
        \x20   try:\n\
        \x20       call()\n\
        \x20       print('ok')\n\
        \x20   except libvirt.libvirtError as e:\n\
        \x20       print(e.get_error_code(), e.get_error_domain(), e.get_error_message())\n";
    let mut command = Command::new(require_python_libvirt());
    command.args(["-c", script, uri, name]);
    let out = run_with_deadline(&mut command, CLIENT_TIMEOUT);
    assert!(out.success(), "python3-libvirt failed: {out}");
    out.stdout
}

fn start_guest(host: &QemuHost, uri: &str, name: &str) {
    let file = host.root().join(format!("{name}.xml"));
    fs::write(&file, host.guest_xml(name)).expect("write guest xml");
    for commands in [
        format!("define {}", file.display()),
        format!("start {name}"),
    ] {
        let o = virsh(uri, &commands);
        assert!(o.success(), "virsh {commands}: {o}");
    }
    let booted = wait_until(BOOT_TIMEOUT, || {
        fs::read_to_string(host.serial_log(name)).is_ok_and(|t| t.contains("TINY-GUEST-BOOTED"))
    });
    assert!(booted, "guest {name} did not boot");
}

#[test]
fn perf_events_answer_as_libvirtd_answers() {
    let host = QemuHost::start();
    let ours = "pfo1";
    start_guest(&host, &host.uri(), ours);
    let our_transcript = transcript(&host, &host.uri(), ours);

    let theirs = "pfr1";
    let _reaper = GuestReaper(theirs.to_string());
    let real = ReferenceDaemon::start("");
    start_guest(&host, &real.uri(), theirs);
    assert_eq!(guest_pids(theirs).len(), 1);
    let their_transcript = transcript(&host, &real.uri(), theirs);
    assert_eq!(
        our_transcript,
        their_transcript,
        "ours, then libvirtd's\n{}",
        real.diagnostics()
    );
}
