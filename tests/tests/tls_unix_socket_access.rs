//! Who may open the UNIX sockets (part of the remote access work, next to
//! TLS): `unix_sock_group` and the `*_perms` options are applied to the
//! socket files, so the kernel refuses users outside the group; and an
//! authentication method this daemon cannot provide stops start-up instead
//! of being treated as "none".

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline, CmdOutput, CLIENT_TIMEOUT};
use integration_tests::{virsh_command, DaemonBuilder};

/// gid of the Debian group `adm`, used as the socket group.
const ADM_GID: u32 = 4;
/// `nobody` / `nogroup` on Debian.
const NOBODY: u32 = 65534;

/// Runs virsh as `nobody`, with `groups` as supplementary groups.
fn virsh_as_nobody(home: &Path, groups: &[u32], uri: &str) -> CmdOutput {
    let setpriv = require_tool("setpriv", "util-linux");
    let virsh = virsh_command();
    let mut command = Command::new(setpriv);
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"));
    if groups.is_empty() {
        command.arg("--clear-groups");
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        command.arg(format!("--groups={}", list.join(",")));
    }
    command
        .arg(virsh.get_program())
        .args(["-c", uri, "list --all"])
        .env("LC_ALL", "C")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env_remove("LIBVIRT_DEFAULT_URI");
    run_with_deadline(&mut command, CLIENT_TIMEOUT)
}

fn open_up(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn only_members_of_unix_sock_group_can_open_the_rw_socket() {
    let daemon = DaemonBuilder::new()
        .conf("unix_sock_group = \"adm\"")
        .conf("unix_sock_rw_perms = \"0770\"")
        .conf("auth_unix_rw = \"none\"")
        .start();
    let socket = daemon.rw_socket();
    let meta = std::fs::metadata(&socket).expect("socket metadata");
    assert_eq!(meta.gid(), ADM_GID, "socket group");
    assert_eq!(meta.mode() & 0o7777, 0o770, "socket mode");
    // Only the socket itself may stand in the way.
    for dir in [
        daemon.root(),
        &daemon.root().join("run"),
        socket.parent().expect("dir"),
    ] {
        open_up(dir);
    }
    let home = daemon.root().join("nobody-home");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).expect("chmod");

    let outsider = virsh_as_nobody(&home, &[], &daemon.rw_uri());
    assert!(!outsider.success(), "{outsider}");
    assert!(
        outsider.stderr.contains("Permission denied"),
        "the kernel should refuse the connection:\n{outsider}"
    );
    let member = virsh_as_nobody(&home, &[ADM_GID], &daemon.rw_uri());
    assert!(
        member.success(),
        "a member of the group connects:\n{member}"
    );
    assert!(member.stdout.contains(" test "), "{member}");
}

#[test]
fn sasl_on_the_unix_sockets_stops_start_up_with_what_to_do_instead() {
    for key in ["auth_unix_rw", "auth_unix_ro"] {
        let mut daemon = DaemonBuilder::new()
            .log_to_stderr()
            .conf(format!("{key} = \"sasl\""))
            .spawn();
        let status = daemon.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(6), "{}", daemon.diagnostics());
        let expected = format!(
            "SASL authentication ({key} = \"sasl\") is not supported by this daemon; set {key} = \"polkit\""
        );
        assert!(
            daemon.stderr().contains(&expected),
            "{}",
            daemon.diagnostics()
        );
        assert!(!daemon.rw_socket().exists(), "no socket may be left behind");
    }
}
