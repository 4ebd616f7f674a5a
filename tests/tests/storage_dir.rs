//! The storage driver with `dir` pools through virsh: pool lifecycle, persistence
//! across daemon restarts and SIGHUP, raw and qcow2 volumes (backing stores,
//! clone, resize, wipe, lookups), refresh, and bad input answered with
//! libvirt's errors without losing anything.

mod storage_support;

use std::fs;
use std::path::Path;

use integration_tests::virsh;
use storage_support::{run, virsh_err, QemuHost};

fn pool_dir(host: &QemuHost, name: &str) -> String {
    host.root().join(name).display().to_string()
}

#[test]
fn dir_pool_lifecycle_volumes_and_persistence() {
    let mut host = QemuHost::start();
    let dir = pool_dir(&host, "pool1");

    // A target directory that does not exist: starting without a build fails.
    host.virsh_ok(&format!("pool-define-as p1 dir --target {dir}"));
    let err = virsh_err(&host, "pool-start p1");
    assert!(
        err.contains(&format!(
            "cannot open directory '{dir}': No such file or directory"
        )),
        "{err}"
    );
    assert!(host.virsh_ok("pool-list --all").contains("p1     inactive"));
    host.virsh_ok("pool-build p1");
    assert!(Path::new(&dir).is_dir());
    host.virsh_ok("pool-start p1; pool-autostart p1");
    let info = host.virsh_ok("pool-info p1");
    assert!(info.contains("State:          running"), "{info}");
    assert!(info.contains("Autostart:      yes"), "{info}");
    let conf = host.root().join("etc/libvirt/storage");
    assert!(conf.join("p1.xml").is_file());
    assert!(fs::symlink_metadata(conf.join("autostart/p1.xml"))
        .expect("autostart link")
        .file_type()
        .is_symlink());
    assert!(host.root().join("run/libvirt/storage/p1.xml").is_file());

    // Volumes: raw (sparse and allocated), qcow2 with features, a backing chain.
    host.virsh_ok("vol-create-as p1 a.raw 8M --allocation 0");
    host.virsh_ok("vol-create-as p1 full.raw 4M");
    host.virsh_ok("vol-create-as p1 base.qcow2 16M --format qcow2 --prealloc-metadata");
    let xml_path = host.root().join("top.xml");
    fs::write(
        &xml_path,
        format!(
            "<volume><name>top.qcow2</name><capacity unit='MiB'>16</capacity>\
             <target><format type='qcow2'/><compat>1.1</compat><features><lazy_refcounts/></features></target>\
             <backingStore><path>{dir}/base.qcow2</path><format type='qcow2'/></backingStore></volume>"
        ),
    )
    .expect("write volume xml");
    host.virsh_ok(&format!("vol-create p1 {}", xml_path.display()));
    let top = host.virsh_ok("vol-dumpxml --pool p1 top.qcow2");
    assert!(top.contains("<format type='qcow2'/>"), "{top}");
    assert!(top.contains("<lazy_refcounts/>"), "{top}");
    assert!(
        top.contains(&format!(
            "<backingStore>\n    <path>{dir}/base.qcow2</path>"
        )),
        "{top}"
    );
    let img = run(
        "qemu-img",
        "qemu-utils",
        &["info", &format!("{dir}/top.qcow2")],
    );
    assert!(img.contains("backing file: "), "{img}");
    assert!(img.contains("lazy refcounts: true"), "{img}");
    let a = fs::metadata(format!("{dir}/a.raw")).expect("a.raw");
    assert_eq!(a.len(), 8 << 20);
    assert!(storage_support::allocated(Path::new(&format!("{dir}/a.raw"))) < 1 << 20);
    assert!(storage_support::allocated(Path::new(&format!("{dir}/full.raw"))) >= 4 << 20);

    // Lookups by name, key and path; the pool of a volume.
    let key = host.virsh_ok("vol-key --pool p1 a.raw");
    assert_eq!(key, format!("{dir}/a.raw"));
    assert_eq!(host.virsh_ok(&format!("vol-path {key}")), key);
    assert_eq!(host.virsh_ok(&format!("vol-name {key}")), "a.raw");
    assert_eq!(host.virsh_ok(&format!("vol-pool {key}")), "p1");

    // Clone, resize (grow, refused shrink, shrink), wipe.
    fs::write(format!("{dir}/a.raw"), vec![0xabu8; 8 << 20]).expect("fill a.raw");
    host.virsh_ok("vol-clone --pool p1 a.raw b.raw");
    assert_eq!(
        fs::read(format!("{dir}/b.raw")).expect("b.raw"),
        vec![0xabu8; 8 << 20]
    );
    // Wiping leaves zeros (and, for a raw file, no allocation).
    host.virsh_ok("vol-wipe --pool p1 b.raw");
    assert_eq!(
        fs::read(format!("{dir}/b.raw")).expect("b.raw"),
        vec![0u8; 8 << 20]
    );
    host.virsh_ok("vol-resize --pool p1 b.raw 12M");
    assert_eq!(
        fs::metadata(format!("{dir}/b.raw")).unwrap().len(),
        12 << 20
    );
    let err = virsh_err(&host, "vol-resize --pool p1 b.raw 4M");
    assert!(
        err.contains(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified"
        ),
        "{err}"
    );
    host.virsh_ok("vol-resize --pool p1 b.raw 4M --shrink");
    assert_eq!(fs::metadata(format!("{dir}/b.raw")).unwrap().len(), 4 << 20);
    // As libvirt: never below what is allocated.
    let err = virsh_err(&host, "vol-resize --pool p1 a.raw 4M --shrink");
    assert!(
        err.contains("can't shrink capacity below existing allocation"),
        "{err}"
    );
    host.virsh_ok("vol-resize --pool p1 top.qcow2 32M");
    assert!(host
        .virsh_ok("vol-info --pool p1 top.qcow2")
        .contains("32.00 MiB"));

    // Refresh finds an image made behind the daemon's back, with its format.
    run(
        "qemu-img",
        "qemu-utils",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            &format!("{dir}/behind.qcow2"),
            "1M",
        ],
    );
    assert!(!host.virsh_ok("vol-list p1").contains("behind.qcow2"));
    host.virsh_ok("pool-refresh p1");
    let behind = host.virsh_ok("vol-dumpxml --pool p1 behind.qcow2");
    assert!(behind.contains("<format type='qcow2'/>"), "{behind}");

    // A raw volume whose content looks like qcow2 stays raw.
    let header = fs::read(format!("{dir}/behind.qcow2")).expect("qcow2 image");
    let mut content = fs::read(format!("{dir}/full.raw")).expect("full.raw");
    content[..header.len().min(4096)].copy_from_slice(&header[..header.len().min(4096)]);
    fs::write(format!("{dir}/full.raw"), content).expect("write qcow2 header into raw");
    host.virsh_ok("pool-refresh p1");
    let raw = host.virsh_ok("vol-dumpxml --pool p1 full.raw");
    assert!(raw.contains("<format type='raw'/>"), "{raw}");
    assert!(
        raw.contains("<capacity unit='bytes'>4194304</capacity>"),
        "{raw}"
    );

    // A killed daemon comes back with the pool running and its volumes; a
    // definition dropped into the config directory is read on SIGHUP.
    // An upload the killed daemon left unfinished is cleared at start.
    let stale = Path::new(&dir).join(".a.raw.upload");
    fs::write(&stale, b"partial").expect("stale upload");
    host.kill_daemon();
    host.start_daemon();
    let list = host.virsh_ok("pool-list --all --details");
    assert!(list.contains("p1") && list.contains("running"), "{list}");
    assert!(!stale.exists(), "the unfinished upload was left behind");
    // After a host reboot (no status file) the autostart pool is started.
    host.kill_daemon();
    fs::remove_file(host.root().join("run/libvirt/storage/p1.xml")).expect("remove status");
    host.start_daemon();
    let list = host.virsh_ok("pool-list --all --details");
    assert!(list.contains("p1") && list.contains("running"), "{list}");
    // Read-only clients see pools and volumes but change nothing.
    let ro = format!(
        "qemu+unix:///system?socket={}",
        host.root().join("run/libvirt/libvirt-sock-ro").display()
    );
    let out = virsh(&ro, "pool-list; vol-list p1");
    assert!(out.success() && out.stdout.contains("top.qcow2"), "{out}");
    let out = virsh(&ro, "vol-delete --pool p1 a.raw");
    assert!(
        out.stderr
            .contains("read only access prevents virStorageVolDelete"),
        "{out}"
    );
    assert!(host.virsh_ok("vol-list p1").contains("top.qcow2"));
    let dir2 = pool_dir(&host, "pool2");
    fs::write(
        conf.join("p2.xml"),
        format!("<pool type='dir'><name>p2</name><target><path>{dir2}</path></target></pool>"),
    )
    .expect("write p2.xml");
    host.signal_daemon(libc::SIGHUP);
    let seen = integration_tests::wait_until(std::time::Duration::from_secs(20), || {
        host.virsh("pool-list --all").stdout.contains("p2")
    });
    assert!(seen, "SIGHUP did not load p2\n{}", host.diagnostics());

    // A definition given while the pool runs waits for it to stop.
    let inactive = host.virsh_ok("pool-dumpxml --inactive p1");
    let moved = host.root().join("p1-moved.xml");
    fs::write(&moved, inactive.replace(&dir, &format!("{dir}-moved"))).unwrap();
    host.virsh_ok(&format!("pool-define {}", moved.display()));
    assert!(host
        .virsh_ok("pool-dumpxml p1")
        .contains(&format!("<path>{dir}</path>")));
    assert!(host
        .virsh_ok("pool-dumpxml --inactive p1")
        .contains(&format!("<path>{dir}-moved</path>")));
    let back = host.root().join("p1-back.xml");
    fs::write(&back, &inactive).unwrap();
    host.virsh_ok(&format!("pool-define {}", back.display()));

    // Tear down: delete volumes, destroy, delete, undefine; nothing is left.
    for vol in [
        "a.raw",
        "b.raw",
        "full.raw",
        "top.qcow2",
        "base.qcow2",
        "behind.qcow2",
    ] {
        host.virsh_ok(&format!("vol-delete --pool p1 {vol}"));
    }
    assert!(host.virsh_ok("vol-list p1").lines().count() <= 2);
    let err = virsh_err(&host, "pool-delete p1");
    assert!(err.contains("storage pool 'p1' is still active"), "{err}");
    host.virsh_ok("pool-destroy p1; pool-delete p1; pool-undefine p1; pool-undefine p2");
    assert!(!Path::new(&dir).exists());
    assert!(!conf.join("p1.xml").exists());
    assert!(!conf.join("autostart/p1.xml").exists());
    assert!(!host.root().join("run/libvirt/storage/p1.xml").exists());
    assert!(!host.virsh_ok("pool-list --all").contains("p1"));
}

#[test]
fn bad_input_is_refused_with_libvirt_errors() {
    let host = QemuHost::start();
    let dir = pool_dir(&host, "bad");
    host.virsh_ok(&format!("pool-create-as bad dir --target {dir} --build"));
    host.virsh_ok("vol-create-as bad keep.raw 1M");

    let err = virsh_err(&host, "vol-create-as bad x/y 1M");
    assert!(
        err.contains("volume name 'x/y' cannot contain '/'"),
        "{err}"
    );

    let xml = host.root().join("huge.xml");
    fs::write(
        &xml,
        "<volume><name>huge</name><capacity unit='EiB'>20000000</capacity></volume>",
    )
    .unwrap();
    let err = virsh_err(&host, &format!("vol-create bad {}", xml.display()));
    assert!(err.contains("numerical overflow"), "{err}");

    // A backing chain that loops (made behind the daemon's back).
    host.virsh_ok("vol-create-as bad l1.qcow2 1M --format qcow2");
    host.virsh_ok("vol-create-as bad l2.qcow2 1M --format qcow2 --backing-vol l1.qcow2 --backing-vol-format qcow2");
    run(
        "qemu-img",
        "qemu-utils",
        &[
            "rebase",
            "-u",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            &format!("{dir}/l2.qcow2"),
            &format!("{dir}/l1.qcow2"),
        ],
    );
    let err = virsh_err(
        &host,
        "vol-create-as bad l3.qcow2 1M --format qcow2 --backing-vol l2.qcow2 --backing-vol-format qcow2",
    );
    assert!(err.contains("is self-referencing"), "{err}");
    assert!(!Path::new(&format!("{dir}/l3.qcow2")).exists());

    let err = virsh_err(&host, "vol-create-as bad keep.raw 1M");
    assert!(
        err.contains("storage volume 'keep.raw' exists already"),
        "{err}"
    );
    let err = virsh_err(&host, "vol-info --pool bad nothere");
    // virsh tries the name, the key, then the path; the last error is shown.
    assert!(
        err.contains("Storage volume not found: no storage vol with matching"),
        "{err}"
    );
    let err = virsh_err(&host, "pool-info nopool");
    assert!(
        err.contains("Storage pool not found: no storage pool with matching name 'nopool'"),
        "{err}"
    );

    // Nothing was lost.
    assert_eq!(
        fs::metadata(format!("{dir}/keep.raw")).unwrap().len(),
        1 << 20
    );
    let list = host.virsh_ok("vol-list bad");
    assert!(
        list.contains("keep.raw") && list.contains("l1.qcow2"),
        "{list}"
    );
    let err = virsh_err(&host, "pool-undefine bad");
    assert!(err.contains("storage pool 'bad' is still active"), "{err}");
    host.virsh_ok("pool-destroy bad");
    // Transient: gone once destroyed.
    assert!(!host.virsh_ok("pool-list --all").contains("bad"));
}

#[test]
fn storage_uri_serves_pools_and_the_test_driver_has_none() {
    let host = QemuHost::start();
    let socket = host.root().join("run/libvirt/libvirt-sock");
    let uri = format!("storage+unix:///system?socket={}", socket.display());
    let dir = pool_dir(&host, "s");
    let out = virsh(
        &uri,
        &format!("uri; pool-create-as s dir --target {dir} --build; pool-list"),
    );
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("storage+unix:///system"), "{out}");
    assert!(out.stdout.contains(" s      active"), "{out}");
    let out = virsh(
        &format!("test+unix:///default?socket={}", socket.display()),
        "pool-list",
    );
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains("this function is not supported by the connection driver"),
        "{out}"
    );
    host.virsh_ok("pool-destroy s");
}

#[test]
fn virtstoraged_serves_only_storage() {
    use std::os::unix::process::CommandExt;
    let root = tempfile::Builder::new()
        .prefix("lvs-")
        .tempdir()
        .expect("root");
    let mut child = std::process::Command::new(integration_tests::libvirtd_bin())
        .arg0("virtstoraged")
        .env("LIBVIRTD_ROOT", root.path())
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("NOTIFY_SOCKET")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn virtstoraged");
    let socket = root.path().join("run/libvirt/virtstoraged-sock");
    let ready = integration_tests::wait_until(std::time::Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    let dir = root.path().join("vp");
    let ours = virsh(
        &format!("storage+unix:///system?socket={}", socket.display()),
        &format!(
            "pool-create-as vp dir --target {} --build; vol-create-as vp v 1M; vol-list vp",
            dir.display()
        ),
    );
    let qemu = virsh(
        &format!("qemu+unix:///system?socket={}", socket.display()),
        "list",
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-(child.id() as i32)),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = child.wait();
    assert!(ready, "virtstoraged did not listen on {}", socket.display());
    assert!(ours.success() && ours.stdout.contains(" v "), "{ours}");
    assert!(dir.join("v").is_file());
    assert!(
        qemu.stderr
            .contains("no connection driver available for qemu:///system"),
        "{qemu}"
    );
}
