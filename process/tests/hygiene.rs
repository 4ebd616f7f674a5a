//! What a child gets from us: descriptors, environment, process group, and what a
//! timeout does to its group.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use process::{Child, Exit, Finished, Group, Spec, Stdio};

/// A descriptor opened without close-on-exec, as a careless parent would leave it.
fn leaky_fd() -> OwnedFd {
    nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open /dev/null")
}

fn is_cloexec(fd: &impl AsFd) -> bool {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).expect("F_GETFD") & libc::FD_CLOEXEC != 0
}

fn open_fds(pid: i32) -> BTreeSet<RawFd> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the child's fd directory")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .to_string_lossy()
                .parse()
                .expect("number")
        })
        .collect()
}

fn sleeper() -> Spec {
    Spec::new("/bin/sleep").arg("30")
}

#[test]
fn descriptors_of_the_parent_do_not_reach_the_child() {
    let leak = leaky_fd();
    assert!(
        !is_cloexec(&leak),
        "the test descriptor must be inheritable"
    );
    let child = sleeper().spawn().expect("spawn");
    // spawn returns after the exec, so the table is the program's own.
    let fds = open_fds(child.id());
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(fds, BTreeSet::from([0, 1, 2]), "only the standard streams");
}

#[test]
fn passed_descriptors_arrive_at_their_numbers() {
    let keep = leaky_fd();
    let child = sleeper()
        .pass_fd(keep, 7)
        .pass_fd(leaky_fd(), 3)
        .spawn()
        .expect("spawn");
    let fds = open_fds(child.id());
    let target = std::fs::read_link(format!("/proc/{}/fd/7", child.id())).expect("fd 7");
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(fds, BTreeSet::from([0, 1, 2, 3, 7]));
    assert_eq!(target, std::path::Path::new("/dev/null"));
}

#[test]
fn environment_is_exactly_what_was_given() {
    assert!(
        std::env::var_os("PATH").is_some(),
        "the test itself has an environment"
    );
    let out = Spec::new("/usr/bin/env")
        .env("ONLY", "this")
        .output()
        .expect("run env");
    assert!(out.exit.success(), "{:?}", out.exit);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ONLY=this\n");
}

fn stat_field(pid: i32, index: usize) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("comm").1;
    // After the command name: state is field 3, ppid 4, pgrp 5, session 6.
    after
        .split_whitespace()
        .nth(index - 3)
        .expect("field")
        .parse()
        .expect("number")
}

#[test]
fn own_group_and_own_session() {
    let grouped = sleeper().group(Group::Own).spawn().expect("spawn");
    let pid = grouped.id();
    assert_eq!(stat_field(pid, 5), pid, "leads its process group");
    assert_ne!(stat_field(pid, 6), pid, "but stays in our session");
    assert_eq!(grouped.group(), Some(pid));
    grouped.kill_group().expect("kill");
    grouped.wait().expect("wait");

    let detached = sleeper().group(Group::Session).spawn().expect("spawn");
    let pid = detached.id();
    assert_eq!(stat_field(pid, 6), pid, "leads its session");
    detached.kill().expect("kill");
    detached.wait().expect("wait");

    let inherited = sleeper().spawn().expect("spawn");
    assert_eq!(
        stat_field(inherited.id(), 5),
        nix::unistd::getpgrp().as_raw()
    );
    assert_eq!(inherited.group(), None);
    inherited.kill().expect("kill");
    inherited.wait().expect("wait");
}

#[test]
fn timeout_kills_the_whole_group() {
    let mut child = Spec::new("/bin/sh")
        .args(["-c", "sleep 1000 & echo $!; wait"])
        .group(Group::Own)
        .stdout(Stdio::Pipe)
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let background: i32 = String::from_utf8_lossy(&line).parse().expect("pid");
    let grandchild = Child::attach(background).expect("attach the background sleep");
    let finished = child
        .wait_or_kill_group(Duration::from_millis(100))
        .expect("wait");
    assert_eq!(finished, Finished::TimedOut);
    // The background process is not ours: its end is seen, its status is not.
    assert_eq!(
        grandchild
            .wait_timeout(Duration::from_secs(10))
            .expect("wait"),
        Some(Exit::Unknown),
        "the group was killed"
    );
}

#[test]
fn exit_status_and_attach() {
    let child = Spec::new("/bin/sh")
        .args(["-c", "exit 3"])
        .spawn()
        .expect("spawn");
    let exit = child.wait().expect("wait");
    assert_eq!(exit.status().and_then(|s| s.code()), Some(3));
    assert_eq!(
        child.try_wait().expect("again"),
        Some(exit),
        "status is kept"
    );

    let running = sleeper().group(Group::Session).spawn().expect("spawn");
    let attached = Child::attach(running.id()).expect("attach");
    assert!(!attached.has_exited());
    assert_eq!(attached.group(), Some(running.id()));
    attached.kill().expect("kill through the attached handle");
    assert!(running.wait().expect("wait").status().is_some());
    assert_eq!(attached.wait().expect("attached wait"), Exit::Unknown);
}

#[test]
fn failures_before_exec_are_reported() {
    let missing = Spec::new("/nonexistent/program")
        .spawn()
        .expect_err("no program");
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    let no_cgroup = sleeper()
        .cgroup("/nonexistent/cgroup")
        .spawn()
        .expect_err("no such cgroup");
    assert_eq!(no_cgroup.kind(), std::io::ErrorKind::NotFound);
    let low = sleeper()
        .pass_fd(leaky_fd(), 1)
        .spawn()
        .expect_err("stdout is not passed");
    assert_eq!(low.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn async_wait_sees_the_exit() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let child = Spec::new("/bin/sh")
        .args(["-c", "exit 5"])
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = runtime
        .block_on(async { tokio::time::timeout_at(deadline.into(), child.wait_async()).await })
        .expect("exited in time")
        .expect("wait");
    assert_eq!(exit.status().and_then(|s| s.code()), Some(5));
}
