//! Volume streams: `vol-upload --sparse` / `vol-download --sparse` keep bytes and
//! holes; python3-libvirt's listAllVolumes, createXML and virStream upload and
//! download; a client killed half way through an upload leaves no volume that
//! passes for complete; pool events reach python clients.

mod storage_support;

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use integration_tests::wait_until;
use storage_support::{allocated, python_inline, QemuHost};

/// A 64 MiB file with two data extents and holes around them.
fn sparse_source(path: &Path) -> Vec<u8> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .expect("create source");
    file.set_len(64 << 20).expect("size source");
    let mut content = vec![0u8; 64 << 20];
    for (offset, len, seed) in [(10usize << 20, 3usize << 20, 7u8), (40 << 20, 2 << 20, 91)] {
        let data: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(1))
            .collect();
        file.seek(SeekFrom::Start(offset as u64)).expect("seek");
        file.write_all(&data).expect("write extent");
        content[offset..offset + len].copy_from_slice(&data);
    }
    file.sync_all().expect("sync");
    content
}

/// The data extents of a file, from SEEK_DATA / SEEK_HOLE.
fn data_extents(path: &Path) -> Vec<(u64, u64)> {
    use nix::unistd::{lseek, Whence};
    let file = fs::File::open(path).expect("open");
    let len = file.metadata().expect("stat").len() as i64;
    let mut out = Vec::new();
    let mut pos = 0i64;
    while pos < len {
        let Ok(data) = lseek(&file, pos, Whence::SeekData) else {
            break;
        };
        let hole = lseek(&file, data, Whence::SeekHole).unwrap_or(-1);
        out.push((data as u64, hole as u64));
        pos = hole;
    }
    out
}

#[test]
fn sparse_upload_and_download_keep_bytes_and_holes() {
    let host = QemuHost::start();
    let dir = host.root().join("pool");
    host.virsh_ok(&format!(
        "pool-create-as s dir --target {} --build",
        dir.display()
    ));
    let src = host.root().join("src.img");
    let content = sparse_source(&src);
    host.virsh_ok("vol-create-as s up.raw 64M --allocation 0");
    host.virsh_ok(&format!(
        "vol-upload --pool s up.raw {} --sparse",
        src.display()
    ));
    let vol = dir.join("up.raw");
    assert_eq!(fs::read(&vol).expect("volume"), content);
    assert!(
        allocated(&vol) <= 6 << 20,
        "holes were filled: {} bytes",
        allocated(&vol)
    );

    let sparse = host.root().join("down-sparse.img");
    host.virsh_ok(&format!(
        "vol-download --pool s up.raw {} --sparse",
        sparse.display()
    ));
    assert_eq!(fs::read(&sparse).expect("download"), content);
    assert!(
        allocated(&sparse) <= 6 << 20,
        "download lost the holes: {}",
        allocated(&sparse)
    );
    let extents = data_extents(&src);
    assert_eq!(extents.len(), 2, "{extents:?}");
    assert_eq!(data_extents(&vol), extents, "the volume's holes differ");
    assert_eq!(
        data_extents(&sparse),
        extents,
        "the download's holes differ"
    );

    let dense = host.root().join("down-dense.img");
    host.virsh_ok(&format!("vol-download --pool s up.raw {}", dense.display()));
    assert_eq!(fs::read(&dense).expect("download"), content);

    // Offset and length.
    let part = host.root().join("part.img");
    host.virsh_ok(&format!(
        "vol-download --pool s up.raw {} --offset {} --length 4096",
        part.display(),
        10 << 20
    ));
    assert_eq!(
        fs::read(&part).unwrap(),
        &content[10 << 20..(10 << 20) + 4096]
    );
    host.virsh_ok("pool-destroy s");
}

const PY_API: &str = r#"
import sys, libvirt
uri, target = sys.argv[1], sys.argv[2]
conn = libvirt.open(uri)
events = []
def lifecycle(conn, pool, event, detail, opaque):
    events.append((pool.name(), event))
def refresh(conn, pool, opaque):
    events.append((pool.name(), 'refresh'))
libvirt.virEventRegisterDefaultImpl()
conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, lifecycle, None)
conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh, None)
pool = conn.storagePoolDefineXML("<pool type='dir'><name>default</name><target><path>%s</path></target></pool>" % target, 0)
pool.build(0)
pool.create(0)
pool.setAutostart(1)
vol = pool.createXML("<volume><name>py.raw</name><capacity unit='MiB'>2</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>", 0)
data = bytes(range(256)) * 4096
st = conn.newStream(0)
vol.upload(st, 0, len(data), 0)
st.send(data)
st.finish()
st = conn.newStream(0)
vol.download(st, 0, 0, 0)
got = b''
while True:
    chunk = st.recv(262144)
    if not chunk:
        break
    got += chunk
st.finish()
assert got[:len(data)] == data, 'download differs'
assert len(got) == 2 * 1024 * 1024, len(got)
pool.refresh(0)
# The old list calls and the lookups.
print('num', conn.numOfStoragePools(), conn.listStoragePools(), conn.numOfDefinedStoragePools(), conn.listDefinedStoragePools())
print('vols', pool.numOfVolumes(), pool.listVolumes())
flags = libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_DIR | libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE | libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART
print('all', [p.name() for p in conn.listAllStoragePools(flags)], [p.name() for p in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)], [p.name() for p in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_DISK)])
print('lookups', conn.storagePoolLookupByUUIDString(pool.UUIDString()).name(), vol.storagePoolLookupByVolume().name(), conn.storageVolLookupByKey(vol.key()).name(), conn.storageVolLookupByPath(vol.path()).name(), pool.isActive(), pool.isPersistent(), pool.autostart())
try:
    conn.storagePoolLookupByName('nothere')
except libvirt.libvirtError as e:
    print('error', e.get_error_code(), e.get_error_domain())
for _ in range(50):
    libvirt.virEventRunDefaultImpl() if not events or len(events) < 4 else None
    if len(events) >= 4:
        break
vols = conn.storagePoolLookupByName('default').listAllVolumes()
print('volumes', sorted(v.name() for v in vols))
print('path', vol.path())
print('info', pool.info()[0], vol.info())
print('events', events)
pool.destroy()
pool.undefine()
"#;

#[test]
fn python_default_pool_volumes_streams_and_events() {
    let host = QemuHost::start();
    let target = host.root().join("images");
    let out = python_inline(PY_API, &[&host.uri(), &target.display().to_string()]);
    assert!(out.success(), "{out}\n{}", host.diagnostics());
    assert!(out.stdout.contains("volumes ['py.raw']"), "{out}");
    assert!(
        out.stdout
            .contains(&format!("path {}/py.raw", target.display())),
        "{out}"
    );
    assert!(out.stdout.contains("info 2 [0, 2097152,"), "{out}");
    assert!(out.stdout.contains("num 1 ['default'] 0 []"), "{out}");
    assert!(out.stdout.contains("vols 1 ['py.raw']"), "{out}");
    assert!(out.stdout.contains("all ['default'] [] []"), "{out}");
    assert!(
        out.stdout
            .contains("lookups default default py.raw py.raw 1 1 1"),
        "{out}"
    );
    // VIR_ERR_NO_STORAGE_POOL from VIR_FROM_STORAGE.
    assert!(out.stdout.contains("error 49 18"), "{out}");
    for wanted in ["('default', 0)", "('default', 2)", "('default', 'refresh')"] {
        assert!(out.stdout.contains(wanted), "event {wanted} missing: {out}");
    }
}

const PY_ABORTED_UPLOAD: &str = r#"
import os, signal, sys, libvirt
conn = libvirt.open(sys.argv[1])
vol = conn.storagePoolLookupByName('s').storageVolLookupByName('half.raw')
st = conn.newStream(0)
vol.upload(st, 0, 0, 0)
st.send(b'\xee' * (4 * 1024 * 1024))
print('sent', flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"#;

#[test]
fn a_client_killed_during_an_upload_leaves_the_volume_as_it_was() {
    let host = QemuHost::start();
    let dir = host.root().join("pool");
    host.virsh_ok(&format!(
        "pool-create-as s dir --target {} --build",
        dir.display()
    ));
    host.virsh_ok("vol-create-as s half.raw 16M --allocation 0");
    let out = python_inline(PY_ABORTED_UPLOAD, &[&host.uri()]);
    assert!(out.stdout.contains("sent"), "{out}");
    assert!(!out.success(), "the client was meant to die: {out}");
    // The partial copy goes away; the volume keeps its old content and size.
    let clean = wait_until(Duration::from_secs(20), || {
        fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) == 1
    });
    assert!(
        clean,
        "partial upload left behind: {:?}",
        fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    let vol = dir.join("half.raw");
    assert_eq!(fs::metadata(&vol).unwrap().len(), 16 << 20);
    assert!(
        fs::read(&vol).unwrap().iter().all(|b| *b == 0),
        "half-written data in the volume"
    );
    let list = host.virsh_ok("vol-list s");
    assert!(
        list.contains("half.raw") && !list.contains(".half.raw"),
        "{list}"
    );
    host.virsh_ok("pool-destroy s");
}
