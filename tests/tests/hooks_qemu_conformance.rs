//! The qemu hook scripts as libvirt documents them (docs/hooks.rst), driven by a real
//! guest: the main `qemu` script and two `qemu.d/` scripts record every call (argv and
//! the name and uuid of the domain XML on stdin) through define, start, shutdown,
//! destroy, managed save, the start from the managed save image and a daemon restart
//! with the guest running. Then the failure semantics (refusing prepare and started,
//! a release failure that is only logged), the restore filter, and the hook timeout.

mod qemu_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::wait_until;
use qemu_support::QemuHost;

/// Writes an executable script.
fn install_script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().expect("script directory")).expect("create hooks dir");
    fs::write(path, body).expect("write hook script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod hook script");
}

fn hooks_dir(host: &QemuHost) -> PathBuf {
    host.root().join("etc/libvirt/hooks")
}

/// A script that appends `TAG object op subop extra name=<name> uuid=<uuid>` to `calls`,
/// the name and uuid taken from the XML on its stdin, then runs `extra_shell`.
fn recording_script(tag: &str, calls: &Path, extra_shell: &str) -> String {
    format!(
        "#!/bin/sh\n\
         xml=$(cat)\n\
         name=$(printf '%s\\n' \"$xml\" | sed -n 's|.*<name>\\(.*\\)</name>.*|\\1|p' | head -n 1)\n\
         uuid=$(printf '%s\\n' \"$xml\" | sed -n 's|.*<uuid>\\(.*\\)</uuid>.*|\\1|p' | head -n 1)\n\
         echo \"{tag} $1 $2 $3 $4 name=$name uuid=$uuid\" >> '{}'\n\
         {extra_shell}\n\
         exit 0\n",
        calls.display()
    )
}

/// The recorded calls about guest `name`.
fn calls_for(calls: &Path, name: &str) -> Vec<String> {
    let text = fs::read_to_string(calls).unwrap_or_default();
    text.lines()
        .filter(|line| line.split(' ').nth(1) == Some(name))
        .map(str::to_string)
        .collect()
}

/// The lines one hook call produces: the main script, then `qemu.d/` in name order.
fn expected_call(name: &str, uuid: &str, op: &str, subop: &str) -> Vec<String> {
    ["qemu", "10-first", "20-second"]
        .iter()
        .map(|tag| format!("{tag} {name} {op} {subop} - name={name} uuid={uuid}"))
        .collect()
}

/// A host whose daemon was started after `scripts` (path under hooks/, body) were
/// installed, so that its scan finds them.
fn host_with_hooks(scripts: &[(&str, String)], extra_conf: &str) -> QemuHost {
    let mut host = QemuHost::start();
    for (relative, body) in scripts {
        install_script(&hooks_dir(&host).join(relative), body);
    }
    if !extra_conf.is_empty() {
        let conf = host.root().join("etc/libvirt/libvirtd.conf");
        let mut text = fs::read_to_string(&conf).expect("read libvirtd.conf");
        text.push_str(extra_conf);
        fs::write(&conf, text).expect("write libvirtd.conf");
    }
    host.kill_daemon();
    host.start_daemon();
    host
}

fn domain_uuid(host: &QemuHost, name: &str) -> String {
    host.virsh_ok(&format!("domuuid {name}"))
}

#[test]
fn documented_sequence_over_a_guest_life_and_a_daemon_restart() {
    let calls_file = tempfile::NamedTempFile::new().expect("calls file");
    let calls = calls_file.path().to_path_buf();
    let scripts = [
        ("qemu", recording_script("qemu", &calls, "")),
        (
            "qemu.d/20-second",
            recording_script("20-second", &calls, ""),
        ),
        ("qemu.d/10-first", recording_script("10-first", &calls, "")),
    ];
    let mut host = host_with_hooks(&scripts, "");

    host.define_guest("life");
    let uuid = domain_uuid(&host, "life");
    assert!(
        calls_for(&calls, "life").is_empty(),
        "define calls no hook: {:?}",
        calls_for(&calls, "life")
    );

    host.virsh_ok("start life");
    host.wait_booted("life", 1);
    host.virsh_ok("shutdown life");
    host.wait_state("life", "shut off (shutdown)");
    host.virsh_ok("start life");
    host.virsh_ok("destroy life");
    host.virsh_ok("start life");
    host.virsh_ok("managedsave life");
    assert_eq!(host.domstate("life"), "shut off (saved)");
    host.virsh_ok("start life");
    assert_eq!(host.domstate("life"), "running (restored)");

    // A new daemon finds the running guest and asks the hook about it.
    host.kill_daemon();
    host.start_daemon();
    let reconnected = wait_until(Duration::from_secs(30), || {
        calls_for(&calls, "life")
            .iter()
            .filter(|l| l.contains(" reconnect "))
            .count()
            == 3
    });
    assert!(reconnected, "{:?}", calls_for(&calls, "life"));
    assert_eq!(host.domstate("life"), "running (restored)");

    let mut expected = Vec::new();
    let mut push = |op: &str, subop: &str| expected.extend(expected_call("life", &uuid, op, subop));
    // start
    push("prepare", "begin");
    push("start", "begin");
    push("started", "begin");
    // shutdown
    push("stopped", "end");
    push("release", "end");
    // start, destroy
    push("prepare", "begin");
    push("start", "begin");
    push("started", "begin");
    push("stopped", "end");
    push("release", "end");
    // start, managedsave
    push("prepare", "begin");
    push("start", "begin");
    push("started", "begin");
    push("stopped", "end");
    push("release", "end");
    // start from the managed save image: the restore filter first
    push("restore", "begin");
    push("prepare", "begin");
    push("start", "begin");
    push("started", "begin");
    // daemon restart
    push("reconnect", "begin");
    assert_eq!(calls_for(&calls, "life"), expected);

    host.virsh_ok("destroy life");
}

#[test]
fn refusing_hooks_abort_the_start_and_a_failing_release_is_only_logged() {
    let calls_file = tempfile::NamedTempFile::new().expect("calls file");
    let calls = calls_file.path().to_path_buf();
    let main = recording_script(
        "qemu",
        &calls,
        "if [ \"$1\" = refused ] && [ \"$2\" = prepare ]; then \
         echo 'no DRBD volume for refused' >&2; exit 1; fi\n\
         if [ \"$1\" = late ] && [ \"$2\" = started ]; then \
         echo 'bridge br-late is missing' >&2; exit 3; fi",
    );
    let leaky = recording_script(
        "50-release",
        &calls,
        "if [ \"$2\" = release ]; then echo 'cannot free the lease' >&2; exit 2; fi",
    );
    let host = host_with_hooks(&[("qemu", main), ("qemu.d/50-release", leaky)], "");

    // prepare refuses: the client sees the script's stderr, no QEMU was run.
    host.define_guest("refused");
    let out = host.virsh("start refused");
    assert!(!out.success(), "start of a refused guest succeeded");
    assert!(
        out.stderr.contains("Hook script execution failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("unexpected exit status 1: no DRBD volume for refused"),
        "{}",
        out.stderr
    );
    assert!(host.domstate("refused").starts_with("shut off"));
    assert!(host.guest_pids().is_empty(), "a refused guest was started");
    let refused_ops: Vec<String> = calls_for(&calls, "refused")
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap_or_default().to_string())
        .collect();
    assert!(
        !refused_ops
            .iter()
            .any(|op| op == "start" || op == "started"),
        "hooks after a refused prepare: {refused_ops:?}"
    );

    // started refuses: the guest that was launched is killed again.
    host.define_guest("late");
    let out = host.virsh("start late");
    assert!(
        !out.success(),
        "start with a refusing started hook succeeded"
    );
    assert!(
        out.stderr
            .contains("unexpected exit status 3: bridge br-late is missing"),
        "{}",
        out.stderr
    );
    assert!(host.domstate("late").starts_with("shut off"));
    let gone = wait_until(Duration::from_secs(10), || host.guest_pids().is_empty());
    assert!(gone, "the guest refused by its started hook still runs");

    // release fails: logged with libvirt's text, nothing else changes.
    host.define_guest("leaky");
    host.virsh_ok("start leaky");
    host.virsh_ok("destroy leaky");
    assert_eq!(host.domstate("leaky"), "shut off (destroyed)");
    let log = fs::read_to_string(host.root().join("log")).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("Hook script execution failed")
                && l.contains("50-release")
                && l.contains("unexpected exit status 2")),
        "release failure not logged:\n{log}"
    );
    assert!(log.contains("cannot free the lease"), "{log}");
    host.virsh_ok("start leaky");
    assert_eq!(host.domstate("leaky"), "running (booted)");
    host.virsh_ok("destroy leaky");
}

#[test]
fn restore_filter_rewrites_the_definition_and_invalid_output_aborts() {
    let host_mode = tempfile::NamedTempFile::new().expect("mode file");
    let mode = host_mode.path().to_path_buf();
    // The filter: KEEP prints nothing (unchanged), INVALID prints junk, any other text
    // becomes the guest's description.
    let filter = format!(
        "#!/bin/sh\n\
         [ \"$2\" = restore ] || {{ cat >/dev/null; exit 0; }}\n\
         mode=$(cat '{m}')\n\
         case \"$mode\" in\n\
           KEEP) cat >/dev/null ;;\n\
           INVALID) cat >/dev/null; echo 'this is not a domain' ;;\n\
           *) sed \"s|<description>[^<]*</description>|<description>$mode</description>|\" ;;\n\
         esac\n\
         exit 0\n",
        m = mode.display()
    );
    fs::write(&mode, "KEEP").expect("mode");
    let host = host_with_hooks(&[("qemu", filter)], "");
    let xml = host.guest_xml("filtered").replacen(
        "</name>",
        "</name>\n  <description>as defined</description>",
        1,
    );
    let file = host.root().join("filtered.xml");
    fs::write(&file, xml).expect("write guest xml");
    host.virsh_ok(&format!("define {}", file.display()));

    // Start from a managed save image: the rewritten definition is the live one, the
    // persistent one is untouched.
    host.virsh_ok("start filtered");
    host.virsh_ok("managedsave filtered");
    fs::write(&mode, "rewritten by the hook").expect("mode");
    host.virsh_ok("start filtered");
    assert_eq!(host.domstate("filtered"), "running (restored)");
    assert_eq!(host.virsh_ok("desc filtered"), "rewritten by the hook");
    assert_eq!(host.virsh_ok("desc filtered --config"), "as defined");

    // virsh save/restore: junk from the filter aborts the restore with a clear error.
    let image = host.root().join("filtered.img");
    host.virsh_ok(&format!("save filtered {}", image.display()));
    fs::write(&mode, "INVALID").expect("mode");
    let out = host.virsh(&format!("restore {}", image.display()));
    assert!(!out.success(), "restore with invalid hook output succeeded");
    assert!(
        out.stderr
            .contains("the restore hook printed an invalid domain definition"),
        "{}",
        out.stderr
    );
    assert_eq!(host.domstate("filtered"), "shut off (saved)");
    assert!(
        host.guest_pids().is_empty(),
        "an aborted restore left QEMU running"
    );

    // The same image restores once the filter prints a valid definition.
    fs::write(&mode, "second rewrite").expect("mode");
    host.virsh_ok(&format!("restore {}", image.display()));
    assert_eq!(host.domstate("filtered"), "running (restored)");
    assert_eq!(host.virsh_ok("desc filtered"), "second rewrite");
    host.virsh_ok("destroy filtered");
    assert_eq!(host.virsh_ok("desc filtered"), "as defined");
}

/// Whether `pid` is gone or only a zombie waiting for its reaper.
fn is_dead(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

fn read_pid(path: &Path) -> i32 {
    let ready = wait_until(Duration::from_secs(5), || {
        fs::read_to_string(path).is_ok_and(|t| t.trim().parse::<i32>().is_ok())
    });
    assert!(ready, "no pid in {}", path.display());
    fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .expect("pid file holds a pid")
}

#[test]
fn hung_hook_is_killed_at_the_timeout_and_background_children_do_not_delay() {
    let dir = tempfile::tempdir().expect("pid dir");
    let hung_child = dir.path().join("hung-child.pid");
    let background = dir.path().join("background.pid");
    let script = format!(
        "#!/bin/sh\n\
         cat >/dev/null\n\
         if [ \"$1\" = hung ] && [ \"$2\" = prepare ]; then\n\
           sleep 1000 &\n\
           echo $! > '{hung}'\n\
           wait\n\
         fi\n\
         if [ \"$1\" = busy ] && [ \"$2\" = prepare ]; then\n\
           sleep 1000 &\n\
           echo $! > '{bg}'\n\
         fi\n\
         exit 0\n",
        hung = hung_child.display(),
        bg = background.display()
    );
    let host = host_with_hooks(&[("qemu", script)], "hook_timeout = 2\n");

    host.define_guest("hung");
    let began = Instant::now();
    let out = host.virsh("start hung");
    let took = began.elapsed();
    assert!(!out.success(), "start with a hung prepare hook succeeded");
    assert!(
        out.stderr
            .contains("timed out after 2 seconds and was killed with its process group"),
        "{}",
        out.stderr
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "the start failed after {took:?}, not within the 2 s timeout plus 1 s"
    );
    let child = read_pid(&hung_child);
    let killed = wait_until(Duration::from_secs(5), || is_dead(child));
    assert!(killed, "the hung hook's child {child} survived the timeout");
    assert!(host.domstate("hung").starts_with("shut off"));
    assert!(host.guest_pids().is_empty());

    // A script that exits but leaves a child holding its stdout is done when it exits:
    // the start neither waits for the child nor runs into the timeout.
    host.define_guest("busy");
    host.virsh_ok("start busy");
    assert_eq!(host.domstate("busy"), "running (booted)");
    let straggler = read_pid(&background);
    host.virsh_ok("destroy busy");
    if !is_dead(straggler) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(straggler),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
