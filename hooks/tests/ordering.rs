//! Which scripts run and in what order, how filter output is chained, and
//! when the directory is (re-)scanned.

mod common;

use std::time::Duration;

use common::{lines, HookDir};
use hooks::{HookDriver, HookRunner, Hooks};

fn hooks(dir: &HookDir) -> Hooks {
    Hooks::discover(&dir.hooks(), Some(Duration::from_secs(60)))
}

/// A script that appends its name and arguments to `OUT/calls`.
fn recorder(name: &str) -> String {
    format!(r#"echo "{name} $*" >> OUT/calls"#)
}

#[test]
fn main_script_then_directory_in_alphabetical_order() {
    let dir = HookDir::new();
    dir.script("qemu.d/20-second", &recorder("20-second"));
    dir.script("qemu.d/10-first", &recorder("10-first"));
    dir.script("qemu", &recorder("main"));
    dir.script("qemu.d/Z-upper", &recorder("Z-upper"));
    let hooks = hooks(&dir);
    assert!(hooks.present(HookDriver::Qemu));
    let result = hooks.run(HookDriver::Qemu, "vm", "prepare", "begin", "-", None, false);
    assert_eq!(result, Ok(None));
    assert_eq!(
        lines(&dir.read("calls")),
        [
            "main vm prepare begin -",
            "10-first vm prepare begin -",
            "20-second vm prepare begin -",
            "Z-upper vm prepare begin -",
        ]
    );
}

#[test]
fn non_executable_scripts_are_not_run() {
    let dir = HookDir::new();
    dir.script_with_mode("lxc", &recorder("main"), 0o644);
    dir.script_with_mode("lxc.d/10-plain", &recorder("plain"), 0o644);
    dir.script("lxc.d/20-runs", &recorder("runs"));
    let hooks = hooks(&dir);
    assert_eq!(
        hooks.scripts(HookDriver::Lxc),
        vec![dir.hooks().join("lxc.d/20-runs")]
    );
    let result = hooks.run(HookDriver::Lxc, "c1", "start", "begin", "-", None, false);
    assert_eq!(result, Ok(None));
    assert_eq!(lines(&dir.read("calls")), ["runs c1 start begin -"]);
}

#[test]
fn nothing_runs_for_a_driver_without_scripts() {
    let dir = HookDir::new();
    dir.script("qemu", &recorder("qemu"));
    let hooks = hooks(&dir);
    assert!(!hooks.present(HookDriver::Lxc));
    assert!(!hooks.present(HookDriver::Network));
    let result = hooks.run(
        HookDriver::Lxc,
        "c1",
        "start",
        "begin",
        "-",
        Some("<x/>"),
        true,
    );
    assert_eq!(result, Ok(None));
    assert!(!dir.exists("calls"));
}

#[test]
fn scripts_added_later_need_a_rescan() {
    let dir = HookDir::new();
    let hooks = hooks(&dir);
    assert!(!hooks.present(HookDriver::Qemu));
    dir.script("qemu", &recorder("late"));
    assert!(!hooks.present(HookDriver::Qemu));
    let before = hooks.run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false);
    assert_eq!(before, Ok(None));
    assert!(!dir.exists("calls"), "ran before the rescan");
    hooks.rescan();
    assert!(hooks.present(HookDriver::Qemu));
    let after = hooks.run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false);
    assert_eq!(after, Ok(None));
    assert_eq!(lines(&dir.read("calls")), ["late vm start begin -"]);
    // Clones share the state: one rescan is seen by every holder.
    let clone = hooks.clone();
    std::fs::remove_file(dir.hooks().join("qemu")).expect("remove script");
    clone.rescan();
    assert!(!hooks.present(HookDriver::Qemu));
}

#[test]
fn daemon_reload_and_shutdown_rescan_first() {
    let dir = HookDir::new();
    let hooks = hooks(&dir);
    dir.script("daemon", &recorder("daemon"));
    let start = hooks.run(HookDriver::Daemon, "-", "start", "-", "start", None, false);
    assert_eq!(start, Ok(None));
    assert!(
        !dir.exists("calls"),
        "start must use the scan made at discovery"
    );
    let reload = hooks.run(
        HookDriver::Daemon,
        "-",
        "reload",
        "begin",
        "SIGHUP",
        None,
        false,
    );
    assert_eq!(reload, Ok(None));
    let shutdown = hooks.run(
        HookDriver::Daemon,
        "-",
        "shutdown",
        "-",
        "shutdown",
        None,
        false,
    );
    assert_eq!(shutdown, Ok(None));
    assert_eq!(
        lines(&dir.read("calls")),
        [
            "daemon - reload begin SIGHUP",
            "daemon - shutdown - shutdown"
        ]
    );
}

#[test]
fn filter_output_feeds_the_next_script() {
    let dir = HookDir::new();
    dir.script("qemu", "tee OUT/in-main | sed 's/one/two/'");
    dir.script("qemu.d/10", "tee OUT/in-10 | sed 's/two/three/'");
    dir.script("qemu.d/20", "cat > OUT/in-20");
    dir.script("qemu.d/30", "tee OUT/in-30");
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm",
        "restore",
        "begin",
        "-",
        Some("<domain>one</domain>\n"),
        true,
    );
    assert_eq!(result, Ok(Some("<domain>three</domain>\n".to_string())));
    assert_eq!(dir.read("in-main"), "<domain>one</domain>\n");
    assert_eq!(dir.read("in-10"), "<domain>two</domain>\n");
    assert_eq!(dir.read("in-20"), "<domain>three</domain>\n");
    // The silent script left the XML as it was.
    assert_eq!(dir.read("in-30"), "<domain>three</domain>\n");
}

#[test]
fn empty_or_blank_filter_output_means_unchanged() {
    let dir = HookDir::new();
    dir.script("qemu", "cat > /dev/null");
    dir.script("qemu.d/10", "cat > /dev/null; printf '  \\n\\t\\n'");
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm",
        "migrate",
        "begin",
        "-",
        Some("<domain/>"),
        true,
    );
    assert_eq!(result, Ok(None));
}

#[test]
fn output_is_ignored_when_not_a_filter() {
    let dir = HookDir::new();
    dir.script("qemu", "echo '<domain>changed</domain>'");
    dir.script("qemu.d/10", "cat > OUT/in-10");
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm",
        "start",
        "begin",
        "-",
        Some("<domain>original</domain>"),
        false,
    );
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("in-10"), "<domain>original</domain>");
}

#[test]
fn the_runner_trait_reaches_the_same_scripts() {
    let dir = HookDir::new();
    dir.script("network", "cat > OUT/stdin; echo \"$*\" > OUT/argv");
    let runner: std::sync::Arc<dyn HookRunner> = std::sync::Arc::new(hooks(&dir));
    assert!(runner.present(HookDriver::Network));
    let xml = "<hookData><network><name>default</name></network></hookData>";
    let result = runner.run(
        HookDriver::Network,
        "default",
        "port-created",
        "begin",
        "-",
        Some(xml),
        false,
    );
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("argv"), "default port-created begin -\n");
    assert_eq!(dir.read("stdin"), xml);
}

#[test]
fn many_threads_can_run_hooks_at_once() {
    let dir = HookDir::new();
    dir.script("qemu", "cat > OUT/\"$1\"");
    let hooks = hooks(&dir);
    let workers: Vec<_> = (0..6)
        .map(|n| {
            let hooks = hooks.clone();
            std::thread::spawn(move || {
                let name = format!("vm{n}");
                let xml = format!("<domain><name>{name}</name></domain>");
                hooks.run(
                    HookDriver::Qemu,
                    &name,
                    "start",
                    "begin",
                    "-",
                    Some(&xml),
                    false,
                )
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().expect("worker thread"), Ok(None));
    }
    for n in 0..6 {
        assert_eq!(
            dir.read(&format!("vm{n}")),
            format!("<domain><name>vm{n}</name></domain>")
        );
    }
}
