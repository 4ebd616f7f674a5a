//! The set-up steps a spec runs in the child before exec: identity, resource limits
//! and the cgroup. These need root, as the daemon that uses them runs as root.

use std::fs;
use std::path::PathBuf;

use process::{Spec, Stdio};

fn require_root() {
    assert_eq!(
        nix::unistd::geteuid().as_raw(),
        0,
        "these tests change a child's identity and cgroup: run them as root"
    );
}

fn stdout_of(spec: Spec) -> String {
    let out = spec.stdin(Stdio::Null).output().expect("run");
    assert!(
        out.exit.success(),
        "{:?}: {}",
        out.exit,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn identity_and_limits_apply() {
    require_root();
    let ids = stdout_of(
        Spec::new("/bin/sh")
            .args(["-c", "echo $(id -u) $(id -g) $(id -G)"])
            .env("PATH", "/usr/bin:/bin")
            .uid(65534)
            .gid(65534),
    );
    assert_eq!(
        ids.trim(),
        "65534 65534 65534",
        "no supplementary groups left"
    );
    let limit = stdout_of(
        Spec::new("/bin/sh")
            .args(["-c", "ulimit -n"])
            .rlimit(libc::RLIMIT_NOFILE, 64),
    );
    assert_eq!(limit.trim(), "64");
}

/// The unified (v2) hierarchy's mount point and our cgroup in it.
fn own_v2_cgroup() -> PathBuf {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            (after.split(' ').next()? == "cgroup2").then(|| before.split(' ').nth(4))?
        })
        .expect("a cgroup2 hierarchy is mounted");
    let cgroups = fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
    let own = cgroups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a v2 cgroup line");
    PathBuf::from(mount).join(own.trim_start_matches('/'))
}

#[test]
fn child_joins_its_cgroup_before_exec() {
    require_root();
    let name = format!("process-test-{}", std::process::id());
    let dir = own_v2_cgroup().join(&name);
    fs::create_dir(&dir).expect("create a cgroup");
    let seen = Spec::new("/bin/cat")
        .arg("/proc/self/cgroup")
        .cgroup(&dir)
        .output();
    // The child has exited, so the cgroup is empty again and may go.
    let removed = fs::remove_dir(&dir);
    let seen = seen.expect("run cat");
    removed.expect("remove the cgroup");
    let text = String::from_utf8_lossy(&seen.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .expect("v2 line");
    assert!(line.ends_with(&format!("/{name}")), "{text}");
}
