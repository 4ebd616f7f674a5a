//! A container filesystem that names a directory volume
//! (`<filesystem type='volume'>`): bound into the container at start; a file
//! volume is refused with a clear error.

mod lxc_common;

use std::fs;

use integration_tests::{virsh, Daemon};
use lxc_common::{
    container_name, domain_xml, lxc_uri_of, require_container_host, ContainerCleanup, RootFs,
};

#[test]
fn directory_volume_is_a_container_filesystem() {
    require_container_host();
    let daemon = Daemon::start();
    let uri = lxc_uri_of(&daemon);
    let name = container_name("vol");
    let _cleanup = ContainerCleanup::new(daemon.root(), &name);
    let pool = daemon.root().join("vpool");
    let ok = |cmd: &str| {
        let out = virsh(&uri, cmd);
        assert!(out.success(), "virsh {cmd}: {out}\n{}", daemon.log());
        out
    };
    ok(&format!(
        "pool-create-as vp dir --target {} --build",
        pool.display()
    ));
    // A directory volume, with a file put in it.
    ok("vol-create-as vp shared 0 --format dir; vol-create-as vp file.raw 1M");
    assert!(ok("vol-info --pool vp shared").stdout.contains("dir"));
    assert!(ok("vol-dumpxml --pool vp shared")
        .stdout
        .contains("<format type='dir'/>"));
    fs::write(pool.join("shared/hello"), "from the volume\n").expect("file in volume");

    let root = RootFs::new("cat /data/hello > /out/.tmp; mv /out/.tmp /out/hello\nsleep 100000");
    fs::create_dir_all(root.path().join("data")).expect("mount point");
    let device = |vol: &str| {
        format!(
            "    <filesystem type='volume'>\n      <source pool='vp' volume='{vol}'/>\n      <target dir='/data'/>\n    </filesystem>\n"
        )
    };
    let xml = daemon.root().join("c.xml");
    fs::write(
        &xml,
        domain_xml(&name, root.path(), 64, &device("file.raw")),
    )
    .unwrap();
    ok(&format!("define {}", xml.display()));
    let out = virsh(&uri, &format!("start {name}"));
    assert!(
        !out.success()
            && out
                .stderr
                .contains("only directory volumes can be container filesystems"),
        "{out}"
    );
    fs::write(&xml, domain_xml(&name, root.path(), 64, &device("shared"))).unwrap();
    ok(&format!("define {}", xml.display()));
    ok(&format!("start {name}"));
    assert_eq!(root.wait_report("hello"), "from the volume\n");
    ok(&format!("destroy {name}; undefine {name}"));
    fs::remove_file(pool.join("shared/hello")).unwrap();
    ok("vol-delete --pool vp shared; pool-destroy vp");
    assert!(!pool.join("shared").exists());
}
