//! Command line parsing compared with what libvirtd 9.0 (glibc getopt_long)
//! prints and returns for the same arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use daemon::cli::{parse, usage, CliAction, Options, UsageDefaults};

const PROG: &str = "/usr/sbin/libvirtd";

fn run(words: &[&str]) -> CliAction {
    let mut args = vec![OsString::from(PROG)];
    args.extend(words.iter().map(OsString::from));
    parse(&args, &UsageDefaults::privileged())
}

fn options(words: &[&str]) -> Options {
    match run(words) {
        CliAction::Run(options) => options,
        other => panic!("{words:?} should run, got {other:?}"),
    }
}

fn root_usage() -> String {
    usage(PROG, &UsageDefaults::privileged())
}

/// An option error: glibc's complaint, then the usage, status 1.
fn option_error(complaint: &str) -> CliAction {
    CliAction::Exit {
        code: 1,
        stdout: String::new(),
        stderr: format!("{PROG}: {complaint}\n{}", root_usage()),
    }
}

#[test]
fn no_arguments_run_with_defaults() {
    assert_eq!(options(&[]), Options::default());
}

#[test]
fn flags_short_long_and_bundled() {
    let all = Options {
        verbose: true,
        daemon: true,
        listen: true,
        ..Options::default()
    };
    assert_eq!(options(&["-v", "-d", "-l"]), all);
    assert_eq!(options(&["-vdl"]), all);
    assert_eq!(options(&["--verbose", "--daemon", "--listen"]), all);
    assert_eq!(options(&["--verb", "--da", "--li"]), all);
}

#[test]
fn arguments_attached_separate_and_after_equals() {
    let expected = Options {
        timeout: Some(5),
        config: Some(PathBuf::from("/etc/x.conf")),
        pid_file: Some(PathBuf::from("/run/x.pid")),
        ..Options::default()
    };
    assert_eq!(options(&["-t5", "-f/etc/x.conf", "-p/run/x.pid"]), expected);
    assert_eq!(
        options(&["-t", "5", "-f", "/etc/x.conf", "-p", "/run/x.pid"]),
        expected
    );
    assert_eq!(
        options(&[
            "--timeout=5",
            "--config=/etc/x.conf",
            "--pid-file=/run/x.pid"
        ]),
        expected
    );
    assert_eq!(
        options(&[
            "--timeout",
            "5",
            "--config",
            "/etc/x.conf",
            "--pid",
            "/run/x.pid"
        ]),
        expected
    );
    // The argument of a bundle's last letter is the rest of the word.
    let bundled = options(&["-vt5"]);
    assert!(bundled.verbose);
    assert_eq!(bundled.timeout, Some(5));
    // Later occurrences win.
    assert_eq!(
        options(&["-f", "/a", "-f", "/b"]).config,
        Some(PathBuf::from("/b"))
    );
    // An empty pid file path is kept: it means "no pid file".
    assert_eq!(options(&["--pid-file="]).pid_file, Some(PathBuf::new()));
}

#[test]
fn timeout_limits_and_zero() {
    assert_eq!(options(&["-t", "2147483"]).timeout, Some(2_147_483));
    assert_eq!(options(&["-t", "0"]).timeout, None);
    assert_eq!(options(&["-t", " 7"]).timeout, Some(7));
    assert_eq!(options(&["-t", "12abc"]).timeout, Some(12));
    let invalid = CliAction::Fail {
        code: 1,
        message: "Invalid value for timeout".into(),
    };
    for bad in ["2147484", "-1", "", "abc", "99999999999"] {
        assert_eq!(run(&["-t", bad]), invalid, "timeout {bad:?}");
    }
    assert_eq!(run(&["--timeout="]), invalid);
    // The word after -t is its argument even when it looks like an option.
    assert_eq!(run(&["-t", "-V"]), invalid);
    // Options act in order: a valid one first does not save a bad second.
    assert_eq!(run(&["-t", "5", "--timeout=abc"]), invalid);
}

#[test]
fn version_and_help() {
    let version = CliAction::Exit {
        code: 0,
        stdout: format!("{PROG} (libvirt) 9.0.0\n"),
        stderr: String::new(),
    };
    assert_eq!(run(&["-V"]), version);
    assert_eq!(run(&["--version"]), version);
    assert_eq!(run(&["-vV"]), version);
    // Acting in order: -V ends parsing before the later problems.
    assert_eq!(run(&["-V", "--help"]), version);
    assert_eq!(run(&["-V", "extra"]), version);
    assert_eq!(run(&["extra", "-V"]), version);
    let help = CliAction::Exit {
        code: 0,
        stdout: String::new(),
        stderr: root_usage(),
    };
    assert_eq!(run(&["-h"]), help);
    assert_eq!(run(&["--help"]), help);
    assert_eq!(run(&["--h"]), help);
    assert_eq!(run(&["-hx"]), help);
}

#[test]
fn unknown_and_malformed_options() {
    assert_eq!(run(&["--foo"]), option_error("unrecognized option '--foo'"));
    assert_eq!(
        run(&["--foo=bar"]),
        option_error("unrecognized option '--foo=bar'")
    );
    assert_eq!(
        run(&["--verbose", "--foo"]),
        option_error("unrecognized option '--foo'")
    );
    assert_eq!(run(&["-x"]), option_error("invalid option -- 'x'"));
    assert_eq!(run(&["-vx"]), option_error("invalid option -- 'x'"));
    assert_eq!(run(&["-xh"]), option_error("invalid option -- 'x'"));
    assert_eq!(
        run(&["-t"]),
        option_error("option requires an argument -- 't'")
    );
    assert_eq!(
        run(&["-p"]),
        option_error("option requires an argument -- 'p'")
    );
    assert_eq!(
        run(&["-f"]),
        option_error("option requires an argument -- 'f'")
    );
    assert_eq!(
        run(&["--timeout"]),
        option_error("option '--timeout' requires an argument")
    );
    assert_eq!(
        run(&["--pid"]),
        option_error("option '--pid-file' requires an argument")
    );
    assert_eq!(
        run(&["--help=3"]),
        option_error("option '--help' doesn't allow an argument")
    );
    assert_eq!(
        run(&["--he=3"]),
        option_error("option '--help' doesn't allow an argument")
    );
    assert_eq!(
        run(&["--verbose=1"]),
        option_error("option '--verbose' doesn't allow an argument")
    );
    assert_eq!(
        run(&["--ver"]),
        option_error("option '--ver' is ambiguous; possibilities: '--verbose' '--version'")
    );
    assert_eq!(
        run(&["--=x"]),
        option_error(
            "option '--=x' is ambiguous; possibilities: '--verbose' '--daemon' '--listen' '--config' \
             '--timeout' '--pid-file' '--version' '--help'"
        )
    );
}

#[test]
fn non_option_arguments_are_refused_after_all_options() {
    let refused = CliAction::Exit {
        code: 1,
        stdout: String::new(),
        stderr: format!("{PROG}: unexpected, non-option, command line arguments\n"),
    };
    assert_eq!(run(&["extra"]), refused);
    assert_eq!(run(&["-"]), refused);
    assert_eq!(run(&["-t5", "extra"]), refused);
    assert_eq!(run(&["--", "extra"]), refused);
    // After "--" even option-looking words are arguments.
    assert_eq!(run(&["--", "-V"]), refused);
    assert_eq!(options(&["--"]), Options::default());
    // Permutation: an option after a non-option is still acted upon.
    assert_eq!(
        run(&["extra", "--foo"]),
        option_error("unrecognized option '--foo'")
    );
}

#[test]
fn program_name_is_argv0_as_given() {
    let args = [OsString::from("libvirtd"), OsString::from("-V")];
    let action = parse(&args, &UsageDefaults::privileged());
    let expected = CliAction::Exit {
        code: 0,
        stdout: "libvirtd (libvirt) 9.0.0\n".into(),
        stderr: String::new(),
    };
    assert_eq!(action, expected);
}

#[test]
fn root_usage_lists_options_and_default_paths() {
    let text = root_usage();
    assert!(text.starts_with(&format!(
        "\nUsage:\n  {PROG} [options]\n\nOptions:\n  -h | --help            "
    )));
    for option in [
        "  -v | --verbose         ",
        "  -d | --daemon          ",
        "  -l | --listen          ",
        "  -t | --timeout <secs>  ",
        "  -f | --config <file>   ",
        "  -V | --version         ",
        "  -p | --pid-file <file> ",
    ] {
        assert!(text.contains(&format!("\n{option}")), "missing {option:?}");
    }
    for path in [
        "      /etc/libvirt/libvirtd.conf\n",
        "      /run/libvirt/libvirt-sock\n      /run/libvirt/libvirt-sock-ro\n",
        "      CA certificate: /etc/pki/CA/cacert.pem\n",
        "      Server certificate: /etc/pki/libvirt/servercert.pem\n",
        "      Server private key: /etc/pki/libvirt/private/serverkey.pem\n",
        "      /run/libvirtd.pid\n",
    ] {
        assert!(text.contains(path), "missing {path:?}");
    }
    assert!(text.contains("LIBVIRTD_ROOT"));
    assert!(text.ends_with("\n\n"));
}

#[test]
fn user_usage_keeps_variables_unexpanded() {
    let text = usage("libvirtd", &UsageDefaults::unprivileged());
    assert!(text.contains("      $XDG_CONFIG_HOME/libvirt/libvirtd.conf\n"));
    assert!(text.contains("    Sockets:\n      $XDG_RUNTIME_DIR/libvirt/libvirt-sock\n\n"));
    assert!(text.contains("      CA certificate: $HOME/.pki/libvirt/cacert.pem\n"));
    assert!(text.contains("      $XDG_RUNTIME_DIR/libvirt/libvirtd.pid\n"));
}
