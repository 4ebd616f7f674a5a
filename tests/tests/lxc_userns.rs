//! `<idmap>`: the container runs in a user namespace; its root is uid 0 inside and the
//! mapped unprivileged uid on the host.

mod lxc_common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use integration_tests::{virsh, Daemon};
use lxc_common::*;

const HOST_BASE: u32 = 200_000;

const REPORT_IDS: &str = r#"
cat /proc/self/uid_map > /out/.t; mv /out/.t /out/uid_map
id > /out/.t; mv /out/.t /out/id
trap 'exit 0' TERM
sleep 100000 &
wait
"#;

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
    if fs::symlink_metadata(path).expect("stat").is_dir() {
        for entry in fs::read_dir(path).expect("list") {
            chown_tree(&entry.expect("entry").path(), uid);
        }
    }
}

#[test]
fn idmap_runs_the_container_as_an_unprivileged_host_user() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("userns");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let rootfs = RootFs::new(REPORT_IDS);
    let xml_path = daemon.root().join("userns.xml");
    let idmap = format!(
        "<idmap>\n    <uid start='0' target='{HOST_BASE}' count='65536'/>\n    \
         <gid start='0' target='{HOST_BASE}' count='65536'/>\n  </idmap>\n  <devices>"
    );
    let xml = domain_xml(&name, rootfs.path(), 64, "").replacen("<devices>", &idmap, 1);
    fs::write(&xml_path, xml).expect("write xml");
    chown_tree(rootfs.path(), HOST_BASE);
    // The mapped root must be able to reach the supervisor's staging directory below
    // the daemon's root, which the harness creates private.
    fs::set_permissions(daemon.root(), fs::Permissions::from_mode(0o755)).expect("chmod root");
    virsh(&uri, &format!("define {}", xml_path.display())).expect_success("define");
    virsh(&uri, &format!("start {name}")).expect_success("start");

    let map = rootfs.wait_report("uid_map");
    let fields: Vec<&str> = map.split_whitespace().collect();
    assert_eq!(fields, vec!["0", "200000", "65536"], "uid_map: {map}");
    assert!(rootfs.wait_report("id").starts_with("uid=0 gid=0"));
    let owner = fs::metadata(rootfs.path().join("out/id"))
        .expect("report")
        .uid();
    assert_eq!(
        owner, HOST_BASE,
        "files of the container's root are owned by the mapped uid"
    );
    let dumped = virsh(&uri, &format!("dumpxml {name}")).expect_success("dumpxml");
    assert!(
        dumped
            .stdout
            .contains("<uid start='0' target='200000' count='65536'/>"),
        "{dumped}"
    );
    virsh(&uri, &format!("destroy {name}")).expect_success("destroy");
}
