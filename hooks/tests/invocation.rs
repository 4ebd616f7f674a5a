//! What a script sees: its arguments, stdin, environment, working directory,
//! process group and open descriptors.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{lines, HookDir};
use hooks::{HookDriver, Hooks};

fn hooks(dir: &HookDir) -> Hooks {
    Hooks::discover(&dir.hooks(), Some(Duration::from_secs(60)))
}

#[test]
fn arguments_are_object_operation_suboperation_extra() {
    let dir = HookDir::new();
    dir.script(
        "qemu",
        r#"printf '%s|' "$0" "$@" > OUT/argv; echo "$#" >> OUT/argv"#,
    );
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm1",
        "prepare",
        "begin",
        "-",
        None,
        false,
    );
    assert_eq!(result, Ok(None));
    let expected = format!(
        "{}|vm1|prepare|begin|-|4\n",
        dir.hooks().join("qemu").display()
    );
    assert_eq!(dir.read("argv"), expected);
}

#[test]
fn empty_arguments_become_dashes() {
    let dir = HookDir::new();
    dir.script("daemon", r#"echo "$*" > OUT/argv"#);
    let result = hooks(&dir).run(HookDriver::Daemon, "", "start", "", "start", None, false);
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("argv"), "- start - start\n");
}

#[test]
fn arguments_with_spaces_stay_one_argument() {
    let dir = HookDir::new();
    dir.script("lxc", r#"for a in "$@"; do echo "[$a]"; done > OUT/argv"#);
    let result = hooks(&dir).run(
        HookDriver::Lxc,
        "my guest",
        "start",
        "begin",
        "-",
        None,
        false,
    );
    assert_eq!(result, Ok(None));
    assert_eq!(
        lines(&dir.read("argv")),
        ["[my guest]", "[start]", "[begin]", "[-]"]
    );
}

#[test]
fn input_arrives_on_stdin_unchanged() {
    let dir = HookDir::new();
    dir.script("qemu", "cat > OUT/stdin");
    let xml = "<domain type='kvm'>\n  <name>vm1</name>\n  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n</domain>\n";
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm1",
        "start",
        "begin",
        "-",
        Some(xml),
        false,
    );
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("stdin"), xml);
}

#[test]
fn without_input_stdin_is_empty() {
    let dir = HookDir::new();
    dir.script("daemon", "wc -c < /dev/stdin > OUT/count; cat > OUT/stdin");
    let result = hooks(&dir).run(HookDriver::Daemon, "-", "start", "-", "start", None, false);
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("count").trim(), "0");
    assert_eq!(dir.read("stdin"), "");
}

#[test]
fn large_input_is_delivered_in_full() {
    let dir = HookDir::new();
    dir.script("qemu", "wc -c > OUT/count");
    let xml = format!("<domain>{}</domain>", "x".repeat(3 * 1024 * 1024));
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm",
        "start",
        "begin",
        "-",
        Some(&xml),
        false,
    );
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("count").trim(), xml.len().to_string());
}

#[test]
fn a_script_that_ignores_large_input_still_succeeds() {
    let dir = HookDir::new();
    dir.script("qemu", "echo ran > OUT/ran; exit 0");
    let xml = "y".repeat(4 * 1024 * 1024);
    let result = hooks(&dir).run(
        HookDriver::Qemu,
        "vm",
        "start",
        "begin",
        "-",
        Some(&xml),
        false,
    );
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("ran"), "ran\n");
}

/// The environment exactly as the script was started with it.
fn script_environment(dir: &HookDir) -> BTreeMap<String, String> {
    let raw = std::fs::read(dir.out("environ")).expect("environ written");
    raw.split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            text.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

#[test]
fn environment_is_cleared_to_libvirts_variables() {
    let dir = HookDir::new();
    dir.script("network", "cat /proc/$$/environ > OUT/environ");
    let result = hooks(&dir).run(
        HookDriver::Network,
        "default",
        "start",
        "begin",
        "-",
        None,
        false,
    );
    assert_eq!(result, Ok(None));
    let env = script_environment(&dir);
    let mut expected = BTreeMap::new();
    expected.insert("LC_ALL".to_string(), "C".to_string());
    for name in [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "DYLD_FORCE_FLAT_NAMESPACE",
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "TMPDIR",
    ] {
        if let Some(value) = std::env::var_os(name) {
            expected.insert(name.to_string(), value.to_string_lossy().into_owned());
        }
    }
    expected
        .entry("PATH".to_string())
        .or_insert_with(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    assert_eq!(env, expected);
    // Cargo gives test processes many variables; none of them may pass.
    assert!(std::env::var_os("CARGO_PKG_NAME").is_some() || std::env::var_os("CARGO").is_some());
    assert!(!env.keys().any(|k| k.starts_with("CARGO")), "{env:?}");
}

#[test]
fn working_directory_is_root() {
    let dir = HookDir::new();
    dir.script("qemu", "pwd > OUT/pwd");
    let result = hooks(&dir).run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false);
    assert_eq!(result, Ok(None));
    assert_eq!(dir.read("pwd"), "/\n");
}

#[test]
fn script_leads_its_own_process_group() {
    let dir = HookDir::new();
    dir.script(
        "qemu",
        "read -r stat < /proc/$$/stat; set -- ${stat##*) }; echo \"$$ $3\" > OUT/pgrp",
    );
    let result = hooks(&dir).run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false);
    assert_eq!(result, Ok(None));
    let record = dir.read("pgrp");
    let fields: Vec<i64> = record
        .split_whitespace()
        .map(|f| f.parse().expect("numbers"))
        .collect();
    assert_eq!(fields.len(), 2, "{record:?}");
    assert_eq!(
        fields[0], fields[1],
        "pid and process group differ: {record:?}"
    );
    // SAFETY: getpgrp has no preconditions.
    let own_group = i64::from(nix::unistd::getpgrp().as_raw());
    assert_ne!(fields[1], own_group);
}

/// A descriptor of the caller without close-on-exec must not reach a script.
#[test]
fn descriptors_of_the_caller_do_not_leak() {
    let dir = HookDir::new();
    let marker = dir.out("leak-marker");
    std::fs::write(&marker, "secret").expect("write marker");
    let fd = nix::fcntl::open(
        &marker,
        nix::fcntl::OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open marker");
    let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFD).expect("F_GETFD");
    assert_eq!(
        flags & libc::FD_CLOEXEC,
        0,
        "marker must be inheritable for this test"
    );

    dir.script("qemu", "ls -l /proc/$$/fd/ > OUT/fds");
    let result = hooks(&dir).run(HookDriver::Qemu, "vm", "start", "begin", "-", None, false);
    drop(fd);
    assert_eq!(result, Ok(None));
    let listing = dir.read("fds");
    assert!(
        listing.contains("pipe:"),
        "stdout should be a pipe: {listing}"
    );
    assert!(
        !listing.contains("leak-marker"),
        "descriptor leaked: {listing}"
    );
}
