//! Behaviour of the logging module as a whole: libvirt's parse errors and
//! listing formats, filter decisions, and real output to files.

use std::fs;
use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;

use super::*;

fn file_config(level: u32, filters: &str, path: &Path, output_level: u32) -> LogConfig {
    let outputs = format!("{output_level}:file:{}", path.display());
    LogConfig::parse(level, filters, &outputs).expect("valid config")
}

/// Runs `body` with a subscriber made of a fresh layer for `config`.
fn with_layer(config: LogConfig, body: impl FnOnce(&LogHandle)) {
    let (layer, handle, problems) = LogLayer::new(config);
    assert!(problems.is_empty(), "unexpected problems: {problems:?}");
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || body(&handle));
}

fn message_lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|line| !line.contains(" : libvirt version: ") && !line.contains(" : hostname: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn filter_errors_use_libvirt_texts() {
    let cases = [
        ("x", "Malformed format for filter 'x'"),
        ("5:x", "Invalid priority '5' for filter '5:x'"),
        ("0:x", "Invalid priority '0' for filter '0:x'"),
        ("1:", "Invalid match string ''"),
        ("1:+", "Invalid match string '+'"),
        ("1 :a", "Malformed format for filter '1'"),
    ];
    for (text, expected) in cases {
        let err = parse_filters(text).expect_err(text);
        assert_eq!(err.to_string(), expected, "filters {text:?}");
        assert_eq!(err.libvirt_code(), 8);
    }
}

#[test]
fn output_errors_use_libvirt_texts() {
    let cases = [
        ("3", "Malformed format for log output '3'"),
        ("5:stderr", "Invalid log priority '5' for log output '5:stderr'"),
        ("x:stderr", "Invalid log priority 'x' for log output 'x:stderr'"),
        ("3:foo", "Invalid log destination 'foo' for log output '3:foo'"),
        (
            "3:stderr:x",
            "Log output '3:stderr:x' does not meet the format requirements for destination type 'stderr'",
        ),
        ("3:file", "Log output '3:file' does not meet the format requirements for destination type 'file'"),
        ("3:syslog", "Log output '3:syslog' does not meet the format requirements for destination type 'syslog'"),
        (
            "3:file:/a:b",
            "Log output '3:file:/a:b' does not meet the format requirements for destination type 'file'",
        ),
    ];
    for (text, expected) in cases {
        let err = parse_outputs(text).expect_err(text);
        assert_eq!(err.to_string(), expected, "outputs {text:?}");
    }
}

#[test]
fn listings_match_virt_admin_forms() {
    let config = LogConfig::parse(
        3,
        " 1:+qemu  3:remote 4:a*b 1:x:y ",
        "4:stderr 3:stderr 3:syslog:foo 4:syslog:bar",
    )
    .expect("valid");
    assert_eq!(
        config.filters_string(),
        "1:*qemu* 3:*remote* 4:*a*b* 1:*x* "
    );
    assert_eq!(
        config.outputs_string(),
        "3:stderr 3:syslog:foo 4:syslog:bar"
    );
    let files =
        parse_outputs("1:file:/l/a.log 2:file:/l/b.log 3:file:/l/a.log 3:journald").expect("valid");
    let shown: Vec<String> = files.iter().map(Output::to_string).collect();
    assert_eq!(shown, ["2:file:/l/b.log", "3:file:/l/a.log", "3:journald"]);
    assert_eq!(
        LogConfig::parse(0, "", "").expect("valid").outputs_string(),
        "3:stderr"
    );
    assert_eq!(
        LogConfig::parse(0, "", "").expect("valid").filters_string(),
        ""
    );
    let err = LogConfig::parse(7, "", "").expect_err("level 7");
    assert_eq!(
        err.to_string(),
        "Failed to set logging priority, argument '7' is invalid"
    );
}

#[test]
fn relative_file_outputs_become_absolute() {
    let outputs = parse_outputs("3:file:rel.log").expect("valid");
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(
        outputs[0].destination,
        Destination::File {
            path: cwd.join("rel.log")
        }
    );
}

#[test]
fn resolve_applies_environment_then_verbose() {
    let dir = Path::new("/var/log/libvirt");
    let inputs = LogInputs {
        level: 4,
        filters: "1:qemu",
        outputs: "4:stderr",
        env_filters: Some("2:rpc"),
        env_outputs: Some("bogus"),
        verbose: true,
        log_dir: dir,
        ..LogInputs::default()
    };
    let (config, problems) = resolve(&inputs);
    assert_eq!(config.level, Priority::Info);
    assert_eq!(config.filters_string(), "2:*rpc* ");
    // The broken environment outputs are reported and the file's kept.
    assert_eq!(config.outputs_string(), "4:stderr");
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].to_string(),
        "Malformed format for log output 'bogus'"
    );
    assert_eq!(config.default_outputs[0].to_string(), "2:stderr");
}

#[test]
fn file_output_gets_banner_then_libvirt_formatted_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("libvirtd.log");
    with_layer(file_config(3, "", &path, 1), |_| {
        tracing::error!(target: "daemon::config", "Can't load config file");
    });
    let text = fs::read_to_string(&path).expect("log file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].ends_with(&format!(": info : {VERSION_BANNER}")),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(": info : hostname: "), "{}", lines[1]);
    let (timestamp, rest) = lines[2].split_at(28);
    assert!(timestamp.ends_with("+0000"), "{timestamp}");
    assert!(rest.starts_with(": "), "{rest}");
    let fields: Vec<&str> = rest[2..].splitn(2, ": ").collect();
    assert!(fields[0].parse::<u64>().is_ok(), "thread id in {rest}");
    assert!(fields[1].starts_with("error : daemon::config:"), "{rest}");
    assert!(fields[1].ends_with(" : Can't load config file"), "{rest}");
    let mode = fs::metadata(&path).expect("stat").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
}

#[test]
fn filters_and_output_priority_decide_what_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("filtered.log");
    // Default warning; qemu gets debug; rpc only errors; the output takes
    // info and above.
    with_layer(file_config(3, "1:qemu 4:rpc", &path, 2), |_| {
        tracing::info!(target: "drivers::qemu::monitor", "qemu info kept");
        tracing::debug!(target: "drivers::qemu::monitor", "qemu debug dropped by the output");
        tracing::warn!(target: "daemon::server::keepalive", "rpc warning dropped by its filter");
        tracing::error!(target: "daemon::server::keepalive", "rpc error kept");
        tracing::info!(target: "hooks::runner", "hook info dropped by the default level");
        tracing::warn!(target: "hooks::runner", "hook warning kept");
        tracing::info!(target: "drivers::qemu", domain = "vm1", id = 7, "with fields");
    });
    let lines = message_lines(&path);
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.rsplit(" : ").next())
        .collect();
    assert_eq!(
        messages,
        [
            "qemu info kept",
            "rpc error kept",
            "hook warning kept",
            "with fields domain=vm1 id=7"
        ]
    );
}

#[test]
fn filters_also_match_raw_targets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("raw.log");
    // "drivers" appears in the target drivers::qemu::monitor but not in
    // its category qemu.monitor.
    with_layer(file_config(4, "1:drivers", &path, 1), |_| {
        tracing::debug!(target: "drivers::qemu::monitor", "raw target matched");
        tracing::debug!(target: "hooks::locate", "other target dropped");
    });
    let lines = message_lines(&path);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with(" : raw target matched"));
}

#[test]
fn reload_switches_outputs_and_admin_calls_update_listings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first.log");
    let second = dir.path().join("second.log");
    with_layer(file_config(2, "", &first, 2), |handle| {
        tracing::info!(target: "daemon", "before reload");
        handle
            .reload(file_config(2, "", &second, 2))
            .expect("reload");
        tracing::info!(target: "daemon", "after reload");
        assert_eq!(
            handle.outputs_string(),
            format!("2:file:{}", second.display())
        );

        handle.set_filters("4:daemon").expect("set filters");
        assert_eq!(handle.filters_string(), "4:*daemon* ");
        tracing::info!(target: "daemon", "silenced by the new filter");
        handle.set_filters("").expect("clear filters");
        assert_eq!(handle.filters_string(), "");
        tracing::info!(target: "daemon", "back after clearing");

        let err = handle.set_outputs("5:stderr").expect_err("bad outputs");
        assert_eq!(
            err.to_string(),
            "Invalid log priority '5' for log output '5:stderr'"
        );
        let missing = dir.path().join("missing/dir/x.log");
        let err = handle
            .set_outputs(&format!("3:file:{}", missing.display()))
            .expect_err("unopenable file");
        assert_eq!(
            err.to_string(),
            format!(
                "failed to open {}: No such file or directory",
                missing.display()
            )
        );
        assert_eq!(err.libvirt_code(), 38);
        // Failed changes left the working setup alone.
        assert_eq!(
            handle.outputs_string(),
            format!("2:file:{}", second.display())
        );
        handle.set_outputs("").expect("default outputs");
        assert_eq!(handle.outputs_string(), "2:stderr");
    });
    let first_lines = message_lines(&first);
    let second_lines = message_lines(&second);
    assert_eq!(first_lines.len(), 1);
    assert!(first_lines[0].ends_with(" : before reload"));
    let second_messages: Vec<&str> = second_lines
        .iter()
        .filter_map(|line| line.rsplit(" : ").next())
        .collect();
    assert_eq!(second_messages, ["after reload", "back after clearing"]);
}

#[test]
fn unopenable_output_falls_back_to_defaults_and_reports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope/x.log");
    let config = LogConfig::parse(3, "", &format!("3:file:{}", missing.display())).expect("valid");
    let (_layer, handle, problems) = LogLayer::new(config);
    assert_eq!(problems.len(), 1);
    assert!(matches!(problems[0], LogError::OpenFile { .. }));
    assert_eq!(handle.outputs_string(), "3:stderr");
}

#[test]
fn journald_output_sends_native_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket_path = dir.path().join("journal.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind");
    let config = LogConfig::parse(3, "", "4:journald").expect("valid");
    let (layer, _handle, problems) = LogLayer::with_journal_socket(config, &socket_path);
    assert!(problems.is_empty(), "{problems:?}");
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(target: "drivers::qemu::process", "guest died");
    });
    let mut buffer = vec![0u8; 4096];
    let mut datagrams = Vec::new();
    for _ in 0..3 {
        let size = listener.recv(&mut buffer).expect("recv");
        datagrams.push(String::from_utf8_lossy(&buffer[..size]).into_owned());
    }
    assert!(
        datagrams[0].starts_with(&format!("MESSAGE={VERSION_BANNER}\nPRIORITY=6\n")),
        "{}",
        datagrams[0]
    );
    let last = &datagrams[2];
    assert!(
        last.starts_with(
            "MESSAGE=guest died\nPRIORITY=3\nSYSLOG_FACILITY=3\nLIBVIRT_SOURCE=qemu.process\n"
        ),
        "{last}"
    );
    assert!(
        last.ends_with("CODE_FUNC=drivers::qemu::process\n"),
        "{last}"
    );
}

#[test]
fn missing_journald_falls_back_to_stderr_with_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = LogConfig::parse(3, "", "3:journald").expect("valid");
    let (_layer, handle, problems) =
        LogLayer::with_journal_socket(config, &dir.path().join("absent"));
    assert_eq!(problems.len(), 1);
    assert!(matches!(problems[0], LogError::JournaldUnavailable(_)));
    // The listing still shows what was asked for.
    assert_eq!(handle.outputs_string(), "3:journald");
}

#[test]
fn os_error_text_has_no_rust_suffix() {
    let err = std::io::Error::from_raw_os_error(libc::EAGAIN);
    assert_eq!(os_error_text(&err), "Resource temporarily unavailable");
    assert_eq!(os_error_text(&std::io::Error::other("plain")), "plain");
}
