//! Failing, crashing, unrunnable and hanging scripts.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{kill, lines, process_is_dead, read_pid, wait_until, HookDir};
use hooks::{HookDriver, HookFailure, Hooks};

fn hooks(dir: &HookDir, timeout: Option<Duration>) -> Hooks {
    Hooks::discover(&dir.hooks(), timeout)
}

#[test]
fn non_zero_exit_reports_status_and_stderr_in_libvirts_words() {
    let dir = HookDir::new();
    let script = dir.script("qemu", "echo 'Could not find required XYZZY' >&2; exit 1");
    let err = hooks(&dir, None)
        .run(HookDriver::Qemu, "vm", "prepare", "begin", "-", None, false)
        .expect_err("the script fails");
    assert_eq!(err.exit_status(), Some(1));
    assert_eq!(err.stderr(), "Could not find required XYZZY\n");
    assert!(!err.timed_out());
    assert_eq!(err.script(), script.as_path());
    let message = err.to_string();
    let prefix = "Hook script execution failed: internal error: Child process (LC_ALL=C ";
    assert!(message.starts_with(prefix), "{message}");
    let tail = format!(
        " {} vm prepare begin -) unexpected exit status 1: Could not find required XYZZY\n",
        script.display()
    );
    assert!(message.ends_with(&tail), "{message}");
    assert!(
        err.command_line().contains(" PATH="),
        "{}",
        err.command_line()
    );
}

#[test]
fn a_failing_directory_script_does_not_stop_the_others() {
    let dir = HookDir::new();
    dir.script("qemu", "sed 's/a/b/'");
    dir.script("qemu.d/10-fails", "cat > OUT/in-10; echo first >&2; exit 3");
    dir.script("qemu.d/20-runs", "cat > OUT/in-20; echo ran >> OUT/calls");
    dir.script("qemu.d/30-fails", "echo last >&2; exit 4");
    let err = hooks(&dir, None)
        .run(
            HookDriver::Qemu,
            "vm",
            "restore",
            "begin",
            "-",
            Some("a"),
            true,
        )
        .expect_err("two scripts fail");
    // The last failure is the one reported, as in libvirt.
    assert_eq!(err.exit_status(), Some(4));
    assert_eq!(err.stderr(), "last\n");
    assert_eq!(lines(&dir.read("calls")), ["ran"]);
    assert_eq!(dir.read("in-10"), "b");
    // After a failure the later scripts get the original input.
    assert_eq!(dir.read("in-20"), "a");
}

#[test]
fn a_failing_main_script_still_runs_the_directory() {
    let dir = HookDir::new();
    dir.script("lxc", "exit 2");
    dir.script("lxc.d/10", "echo \"$*\" >> OUT/calls");
    let err = hooks(&dir, None)
        .run(HookDriver::Lxc, "c1", "release", "end", "-", None, false)
        .expect_err("main script fails");
    assert_eq!(err.exit_status(), Some(2));
    assert_eq!(err.stderr(), "");
    assert!(
        err.to_string().ends_with("unexpected exit status 2"),
        "{err}"
    );
    assert_eq!(lines(&dir.read("calls")), ["c1 release end -"]);
}

#[test]
fn a_killed_script_reports_the_signal() {
    let dir = HookDir::new();
    dir.script("qemu", "echo dying >&2; kill -9 $$");
    let err = hooks(&dir, None)
        .run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false)
        .expect_err("the script is killed");
    assert_eq!(err.failure(), &HookFailure::Signal(9));
    assert_eq!(err.exit_status(), None);
    assert!(
        err.to_string()
            .ends_with("unexpected fatal signal 9: dying\n"),
        "{err}"
    );
}

#[test]
fn a_missing_interpreter_is_exit_status_127() {
    let dir = HookDir::new();
    let path = dir.hooks().join("qemu");
    std::fs::write(&path, "#!/nonexistent/interpreter\n").expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let err = hooks(&dir, None)
        .run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false)
        .expect_err("cannot execute");
    assert_eq!(err.exit_status(), Some(127));
    assert_eq!(
        err.stderr(),
        format!(
            "cannot execute binary {}: No such file or directory",
            path.display()
        )
    );
}

#[test]
fn an_interpreter_that_cannot_run_is_exit_status_126() {
    let dir = HookDir::new();
    let interpreter = dir.out("not-executable");
    std::fs::write(&interpreter, "data\n").expect("write");
    let path = dir.hooks().join("qemu");
    std::fs::write(&path, format!("#!{}\n", interpreter.display())).expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let err = hooks(&dir, None)
        .run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false)
        .expect_err("cannot execute");
    assert_eq!(err.exit_status(), Some(126));
    assert_eq!(
        err.stderr(),
        format!(
            "cannot execute binary {}: Permission denied",
            path.display()
        )
    );
}

/// Without a `#!` line the script is run by /bin/sh, as shells do.
#[test]
fn a_script_without_interpreter_line_runs_with_the_shell() {
    let dir = HookDir::new();
    let path = dir.hooks().join("qemu");
    let body = format!("echo \"$1\" > {}\n", dir.out("argv").display());
    std::fs::write(&path, body).expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let result = hooks(&dir, None).run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false);
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("argv"), "vm\n");
}

#[test]
fn timeout_kills_the_script_and_its_children() {
    let dir = HookDir::new();
    dir.script(
        "qemu",
        "sleep 1000 & echo $! > OUT/child; echo $$ > OUT/script; echo stuck >&2; wait",
    );
    let limit = Duration::from_millis(700);
    let started = Instant::now();
    let err = hooks(&dir, Some(limit))
        .run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false)
        .expect_err("the script hangs");
    let took = started.elapsed();
    assert!(err.timed_out(), "{err}");
    assert_eq!(err.failure(), &HookFailure::TimedOut(limit));
    assert!(took >= limit, "returned before the timeout: {took:?}");
    assert!(took < Duration::from_secs(30), "the kill took {took:?}");
    assert!(
        err.to_string().ends_with(
            "timed out after 0.7 seconds and was killed with its process group: stuck\n"
        ),
        "{err}"
    );
    let child = read_pid(&dir, "child");
    let script = read_pid(&dir, "script");
    assert!(
        wait_until(Duration::from_secs(10), || process_is_dead(child)
            && process_is_dead(script)),
        "script {script} or its child {child} survived the timeout"
    );
}

#[test]
fn timeout_can_be_changed_while_running() {
    let dir = HookDir::new();
    dir.script("qemu", "exec sleep 1000");
    let hooks = hooks(&dir, None);
    assert_eq!(hooks.timeout(), None);
    hooks.set_timeout(Some(Duration::from_millis(200)));
    assert_eq!(hooks.timeout(), Some(Duration::from_millis(200)));
    let err = hooks
        .run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false)
        .expect_err("killed by the new timeout");
    assert!(err.timed_out());
}

#[test]
fn a_background_child_holding_stdout_does_not_block() {
    let dir = HookDir::new();
    dir.script(
        "qemu",
        "cat > /dev/null; sleep 1000 & echo $! > OUT/child; echo '<domain>new</domain>'",
    );
    let hooks = hooks(&dir, None);
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let result = hooks.run(
            HookDriver::Qemu,
            "vm",
            "restore",
            "begin",
            "-",
            Some("<domain>old</domain>"),
            true,
        );
        let _ = done.send(result);
    });
    let result = finished.recv_timeout(Duration::from_secs(30));
    let child = read_pid(&dir, "child");
    let still_running = !process_is_dead(child);
    kill(child);
    let result = result.expect("the hook call returned while the background child runs");
    assert_eq!(result, Ok(Some("<domain>new</domain>\n".to_string())));
    assert!(
        still_running,
        "the background child should have been left alone"
    );
}
