//! The daemon's command line and startup failures: output, stream and exit
//! status as libvirtd 9.0 has them.

use std::time::Duration;

use integration_tests::compare::assert_virsh_matches_reference;
use integration_tests::Daemon;

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout:\n{}--- stderr:\n{}---",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `libvirtd ARGS` (named "libvirtd" in argv[0]) until it exits.
fn run_cli(args: &[&str]) -> Outcome {
    let mut builder = Daemon::builder().log_to_stderr().arg0("libvirtd");
    for arg in args {
        builder = builder.arg(arg);
    }
    let mut daemon = builder.spawn();
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    Outcome {
        code: status.code(),
        stdout: daemon.stdout(),
        stderr: daemon.stderr(),
    }
}

#[test]
fn version_prints_to_stdout_and_exits_0() {
    for option in ["--version", "-V"] {
        let out = run_cli(&[option]);
        assert_eq!(out.code, Some(0), "{option}: {out}");
        assert_eq!(out.stdout, "libvirtd (libvirt) 9.0.0\n", "{option}: {out}");
        assert_eq!(out.stderr, "", "{option}: {out}");
    }
}

#[test]
fn help_prints_usage_to_stderr_and_exits_0() {
    for option in ["--help", "-h"] {
        let out = run_cli(&[option]);
        assert_eq!(out.code, Some(0), "{option}: {out}");
        assert_eq!(out.stdout, "", "{option}: {out}");
        assert!(out.stderr.contains("Usage:"), "{option}: {out}");
        assert!(out.stderr.contains("libvirtd [options]"), "{option}: {out}");
        for documented in [
            "--listen",
            "--timeout",
            "--pid-file",
            "--config",
            "--daemon",
            "--version",
        ] {
            assert!(
                out.stderr.contains(documented),
                "{option} does not mention {documented}: {out}"
            );
        }
    }
}

#[test]
fn unknown_options_exit_1_with_usage() {
    let out = run_cli(&["--bogus"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr
            .contains("libvirtd: unrecognized option '--bogus'"),
        "{out}"
    );
    assert!(out.stderr.contains("Usage:"), "{out}");

    let out = run_cli(&["-x"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("libvirtd: invalid option -- 'x'"),
        "{out}"
    );
}

#[test]
fn stray_argument_exits_1() {
    let out = run_cli(&["stray"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stderr,
        "libvirtd: unexpected, non-option, command line arguments\n"
    );
}

#[test]
fn bad_timeout_values_exit_1() {
    // libvirtd parses the number with an end pointer, so trailing junk
    // ("5x") is accepted as 5: only unparsable, negative and too large
    // values are errors.
    for value in ["abc", "-1", "2147484", ""] {
        let out = run_cli(&["-t", value]);
        assert_eq!(out.code, Some(1), "-t {value}: {out}");
        assert!(
            out.stderr.contains("Invalid value for timeout"),
            "-t {value}: {out}"
        );
    }
}

#[test]
fn bad_config_line_exits_1_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("broken.conf");
    std::fs::write(&conf, "listen_tls = \"yes\"\n").expect("write config");
    let conf = conf.to_str().expect("utf-8 path");
    let out = run_cli(&["-f", conf]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains(conf),
        "the error does not name {conf}: {out}"
    );
    assert!(
        out.stderr.contains("listen_tls"),
        "the error does not name the key: {out}"
    );
}

#[test]
fn missing_config_file_given_with_f_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("absent.conf");
    let conf = conf.to_str().expect("utf-8 path");
    let out = run_cli(&["-f", conf]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains(conf),
        "the error does not name {conf}: {out}"
    );
}

#[test]
fn second_daemon_with_the_same_pid_file_refuses() {
    let mut first = Daemon::start();
    let pid_file = first.pid_file();
    assert_eq!(
        first.pid_from_file(),
        Some(first.pid()),
        "pid file of the first daemon"
    );
    let pid_file = pid_file.to_str().expect("utf-8 path");
    let mut second = Daemon::builder()
        .log_to_stderr()
        .arg("-p")
        .arg(pid_file)
        .spawn();
    let status = second.wait_exit(EXIT_TIMEOUT);
    assert_eq!(
        status.code(),
        Some(1),
        "second daemon:\n{}",
        second.diagnostics()
    );
    assert!(
        second.stderr().contains(pid_file),
        "the refusal does not mention the pid file:\n{}",
        second.diagnostics()
    );
    assert!(first.is_running(), "the first daemon died");
    assert_eq!(
        first.pid_from_file(),
        Some(first.pid()),
        "pid file was overwritten"
    );
    assert_virsh_matches_reference(&first.rw_uri(), "list --all");
}
