//! Mount primitives of the container set-up: mount(2) with readable errors, bind mounts
//! of single files, and read-only applied to a whole mount tree.

use std::ffi::{CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::SupervisorError;

const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
#[derive(Default)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub fn c_path(path: &Path) -> Result<CString, SupervisorError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| bad("path"))
}

pub fn bad(what: &str) -> SupervisorError {
    SupervisorError::Failed(format!("{what} contains a NUL byte"))
}

pub fn make_dir(path: &Path) -> Result<(), SupervisorError> {
    fs::create_dir_all(path).map_err(|e| SupervisorError::io_at("cannot create directory", path, e))
}

/// Binds one file (a device node, a pty) onto `target`, creating the mount point.
pub fn bind_file(source: &Path, target: &Path) -> Result<(), SupervisorError> {
    if fs::symlink_metadata(target).is_err() {
        fs::File::create(target)
            .map_err(|e| SupervisorError::io_at("cannot create mount point", target, e))?;
    }
    mount(Some(source), target, None, libc::MS_BIND, None)
}

/// Makes the mount at `target` and every mount below it read-only. A plain remount
/// with MS_REC only changes the top mount, which left a read-only filesystem's
/// submounts writable.
pub fn readonly_recursive(target: &Path) -> Result<(), SupervisorError> {
    let path = c_path(target)?;
    let mut attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        ..MountAttr::default()
    };
    // SAFETY: path is a valid C string, attr a valid mount_attr of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::AT_RECURSIVE as libc::c_uint,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(SupervisorError::io_at("cannot make read-only", target, err));
    }
    // Kernels before 5.12: remount each mount of the tree, top first.
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| SupervisorError::io("cannot read the mount table", e))?;
    for point in mounts_below(&mountinfo, target) {
        remount_readonly(&point)?;
    }
    Ok(())
}

/// Remounts one bind mount read-only, keeping its other flags (the kernel refuses to
/// clear nosuid/nodev/noexec that a less privileged namespace inherited locked).
pub fn remount_readonly(target: &Path) -> Result<(), SupervisorError> {
    let kept = statvfs_flags(target);
    mount(
        None,
        target,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | kept,
        None,
    )
}

fn statvfs_flags(target: &Path) -> libc::c_ulong {
    let Ok(st) = nix::sys::statvfs::statvfs(target) else {
        return 0;
    };
    let st_flags = st.flags().bits();
    let mut flags = 0;
    for (vfs, ms) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st_flags & vfs != 0 {
            flags |= ms;
        }
    }
    flags
}

/// Mount points at or below `top` in mountinfo text, in mount order.
pub fn mounts_below(mountinfo: &str, top: &Path) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|point| point.starts_with(top))
        .collect()
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(v) = field
                .get(i + 1..i + 4)
                .and_then(|d| u8::from_str_radix(d, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), SupervisorError> {
    nix::mount::mount(
        source,
        target,
        fstype,
        nix::mount::MsFlags::from_bits_retain(flags),
        data,
    )
    .map_err(|e| {
        SupervisorError::Failed(format!(
            "cannot mount {} on '{}': {}",
            source
                .map_or_else(
                    || OsStr::new("(remount)").to_os_string(),
                    |s| s.as_os_str().to_os_string()
                )
                .to_string_lossy(),
            target.display(),
            std::io::Error::from(e)
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_mounts_of_a_tree() {
        let info = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
30 22 0:5 / /srv/c1 rw - ext4 /dev/sda1 rw
31 30 0:6 / /srv/c1/data rw - tmpfs tmpfs rw
32 31 0:7 / /srv/c1/data/a\\040b rw - tmpfs tmpfs rw
33 22 0:8 / /srv/c10 rw - tmpfs tmpfs rw";
        assert_eq!(
            mounts_below(info, Path::new("/srv/c1")),
            vec![
                PathBuf::from("/srv/c1"),
                PathBuf::from("/srv/c1/data"),
                PathBuf::from("/srv/c1/data/a b"),
            ]
        );
    }
}
