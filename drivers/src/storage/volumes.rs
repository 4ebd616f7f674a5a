//! Volume operations on the host: create (raw, qcow2 through qemu-img, partitions,
//! logical volumes), clone, delete, wipe, resize, and the volume XML.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::backend;
use super::errors;
use super::image;
use super::pool::{Pool, StoragePaths, Volume};
use super::pool_def::PoolKind;
use super::tools;
use super::vol_def::VolDef;
use crate::api::DriverResult;

/// `VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA`.
pub const CREATE_PREALLOC_METADATA: u32 = 1;
/// `VIR_STORAGE_VOL_RESIZE_*`.
pub const RESIZE_ALLOCATE: u32 = 1;
pub const RESIZE_DELTA: u32 = 2;
pub const RESIZE_SHRINK: u32 = 4;

/// Creates the volume `def` in `pool`; `source` is the volume to copy for a clone;
/// `passphrase` is the value of an encrypted volume's secret.
pub fn create(
    paths: &StoragePaths,
    pool: &Pool,
    def: &VolDef,
    source: Option<&Volume>,
    passphrase: Option<&[u8]>,
    flags: u32,
) -> DriverResult<PathBuf> {
    if def.encryption_secret.is_some()
        && (source.is_some()
            || !matches!(
                pool.def.kind,
                PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs
            ))
    {
        return Err(errors::unsupported(
            "encrypted volumes can only be created new in file pools",
        ));
    }
    match pool.def.kind {
        PoolKind::Disk => {
            if source.is_some() {
                return Err(errors::unsupported(
                    "cloning into a disk pool is not supported",
                ));
            }
            super::disk::create_partition(pool, &def.name, def.capacity)
        }
        PoolKind::Logical => {
            let path = super::logical::create_lv(pool, &def.name, def.capacity)?;
            if let Some(src) = source {
                copy_into(src, &path, "raw")?;
            }
            Ok(path)
        }
        PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs => {
            let path = backend::target(paths, pool).join(&def.name);
            let format = def.format.clone().unwrap_or_else(|| "raw".to_string());
            if format == "dir" {
                // A directory volume (for container filesystems); 0755 unless
                // the request gives a mode.
                if source.is_some() {
                    return Err(errors::unsupported("directory volumes cannot be cloned"));
                }
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&path)
                    .map_err(|e| {
                        errors::system(&format!("cannot create path '{}'", path.display()), &e)
                    })?;
                let mut def = def.clone();
                def.perms.mode = Some(def.perms.mode.unwrap_or(0o755));
                apply_perms(&path, &def)?;
                return Ok(path);
            }
            let made = match source {
                Some(src) => clone_file(src, &path, &format, def),
                None if format == "qcow2" => create_qcow2(
                    &path,
                    def,
                    passphrase.map(|p| (p, paths.run_dir.as_path())),
                    flags,
                ),
                None => create_raw(&path, def),
            };
            if let Err(e) = made {
                let _ = fs::remove_file(&path);
                return Err(e);
            }
            apply_perms(&path, def)?;
            Ok(path)
        }
    }
}

fn apply_perms(path: &Path, def: &VolDef) -> DriverResult<()> {
    let mode = def.perms.mode.unwrap_or(0o600);
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| errors::system(&format!("cannot set mode of '{}'", path.display()), &e))?;
    if def.perms.owner.is_some() || def.perms.group.is_some() {
        std::os::unix::fs::chown(path, def.perms.owner, def.perms.group)
            .map_err(|e| errors::system(&format!("cannot chown '{}'", path.display()), &e))?;
    }
    Ok(())
}

fn create_raw(path: &Path, def: &VolDef) -> DriverResult<()> {
    if def.backing_path.is_some() {
        return Err(errors::unsupported(
            "backing storage not supported for raw volumes",
        ));
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| errors::system(&format!("cannot create path '{}'", path.display()), &e))?;
    let allocation = def.allocation.unwrap_or(def.capacity).min(def.capacity);
    if allocation > 0 {
        if let Err(errno) = nix::fcntl::posix_fallocate(&file, 0, allocation as i64) {
            return Err(errors::system(
                &format!(
                    "cannot allocate {allocation} bytes in file '{}'",
                    path.display()
                ),
                &std::io::Error::from(errno),
            ));
        }
    }
    file.set_len(def.capacity)
        .map_err(|e| errors::system(&format!("cannot extend file '{}'", path.display()), &e))?;
    file.sync_all()
        .map_err(|e| errors::system(&format!("cannot sync file '{}'", path.display()), &e))
}

fn qemu_img() -> DriverResult<()> {
    tools::require("qemu-img", "qemu-utils")
}

fn qcow2_options(def: &VolDef, flags: u32) -> String {
    let compat = def.compat.clone().unwrap_or_else(|| "1.1".to_string());
    let mut opts = format!("compat={compat}");
    if def.lazy_refcounts {
        opts.push_str(",lazy_refcounts=on");
    }
    if flags & CREATE_PREALLOC_METADATA != 0 {
        opts.push_str(",preallocation=metadata");
    }
    opts
}

/// A 0600 file holding an encrypted volume's passphrase for qemu-img (never on
/// its command line), removed when dropped.
struct PassphraseFile(PathBuf);

impl PassphraseFile {
    fn write(dir: &Path, value: &[u8]) -> DriverResult<PassphraseFile> {
        use std::io::Write;
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| errors::system(&format!("cannot create '{}'", dir.display()), &e))?;
        let path = dir.join(format!(
            ".volume-secret-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_file(&path);
        let file = PassphraseFile(path);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&file.0)
            .and_then(|mut f| f.write_all(value))
            .map_err(|e| errors::system(&format!("cannot write '{}'", file.0.display()), &e))?;
        Ok(file)
    }
}

impl Drop for PassphraseFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// `encryption`: the passphrase and the private directory for its file.
fn create_qcow2(
    path: &Path,
    def: &VolDef,
    encryption: Option<(&[u8], &Path)>,
    flags: u32,
) -> DriverResult<()> {
    qemu_img()?;
    if def.encryption_secret.is_some() && encryption.is_none() {
        return Err(errors::unsupported(
            "the passphrase of the encrypted volume is not available",
        ));
    }
    if path.exists() {
        return Err(errors::vol_exists(&def.name));
    }
    if def.lazy_refcounts && def.compat.as_deref() == Some("0.10") {
        return Err(errors::unsupported(
            "lazy refcounts are only supported with compat level 1.1",
        ));
    }
    let mut argv: Vec<String> = vec![
        "qemu-img".into(),
        "create".into(),
        "-f".into(),
        "qcow2".into(),
    ];
    let mut opts = qcow2_options(def, flags);
    if let Some(backing) = &def.backing_path {
        if flags & CREATE_PREALLOC_METADATA != 0 {
            return Err(errors::unsupported(
                "metadata preallocation conflicts with backing store",
            ));
        }
        let backing_path = Path::new(backing);
        if !backing_path.exists() {
            return Err(errors::system(
                &format!("cannot access backing file '{backing}'"),
                &std::io::Error::from_raw_os_error(libc::ENOENT),
            ));
        }
        if let Err((at, _)) = image::check_chain(backing_path) {
            return Err(errors::operation_invalid(&format!(
                "backing store for {} ({}) is self-referencing",
                at.display(),
                backing
            )));
        }
        let format = def.backing_format.clone().unwrap_or_else(|| {
            if image::read_qcow2(backing_path).is_some() {
                "qcow2"
            } else {
                "raw"
            }
            .to_string()
        });
        opts = opts.replace(",preallocation=metadata", "");
        argv.extend(["-b".into(), backing.clone(), "-F".into(), format]);
    }
    let mut _passphrase_file = None;
    if let Some((value, dir)) = encryption {
        let file = PassphraseFile::write(dir, value)?;
        argv.extend([
            "--object".into(),
            format!(
                "secret,id=encrypt0,file={}",
                file.0.display().to_string().replace(',', ",,")
            ),
        ]);
        opts.push_str(",encrypt.format=luks,encrypt.key-secret=encrypt0");
        _passphrase_file = Some(file);
    }
    argv.extend([
        "-o".into(),
        opts,
        path.display().to_string(),
        def.capacity.to_string(),
    ]);
    if encryption.is_none() {
        return tools::run(&argv).map(|_| ());
    }
    run_luks_create(path, || tools::run(&argv))
}

/// What qemu-img prints when its LUKS key-derivation benchmark measured no CPU
/// time at all: with tick-based thread CPU accounting the ~10 ms first round
/// can fall between two ticks. The measurement, not the request, failed.
const PBKDF_CLOCK_MISS: &str = "Unable to get accurate CPU usage";

/// Runs an encrypted `qemu-img create`, repeating it (at most three times in
/// all) when only the PBKDF benchmark's clock reading failed; a half-written
/// image left by a failed round is removed first, the path was free before.
fn run_luks_create(path: &Path, mut run: impl FnMut() -> DriverResult<String>) -> DriverResult<()> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        match run() {
            Ok(_) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && e.message.contains(PBKDF_CLOCK_MISS) => {
                let _ = fs::remove_file(path);
                attempt += 1;
            }
            Err(e) => {
                let _ = fs::remove_file(path);
                return Err(e);
            }
        }
    }
}

/// Copies a raw file, leaving every all-zero 4 KiB block as a hole.
fn copy_raw_sparse(src: &Path, dest: &Path) -> DriverResult<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let fail = |what: &str, p: &Path, e: std::io::Error| {
        errors::system(&format!("{what} '{}'", p.display()), &e)
    };
    let mut input = fs::File::open(src).map_err(|e| fail("cannot open", src, e))?;
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dest)
        .map_err(|e| fail("cannot create", dest, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| fail("cannot read", src, e))?;
        if n == 0 {
            break;
        }
        for block in buf[..n].chunks(4096) {
            if block.iter().all(|b| *b == 0) {
                output
                    .seek(SeekFrom::Current(block.len() as i64))
                    .map_err(|e| fail("cannot seek", dest, e))?;
            } else {
                output
                    .write_all(block)
                    .map_err(|e| fail("cannot write", dest, e))?;
            }
        }
        total += n as u64;
    }
    output
        .set_len(total)
        .and_then(|_| output.sync_all())
        .map_err(|e| fail("cannot write", dest, e))
}

/// Copies `src` into a new file of `format`: raw to raw keeps zeros as holes,
/// anything else goes through qemu-img convert (which keeps holes too).
fn clone_file(src: &Volume, path: &Path, format: &str, def: &VolDef) -> DriverResult<()> {
    if path.exists() {
        return Err(errors::vol_exists(&def.name));
    }
    if src.format == "raw" && format == "raw" && src.kind == 0 {
        copy_raw_sparse(&src.path, path)?;
        if def.capacity > src.capacity {
            resize_file(path, format, def.capacity, false)?;
        }
        return Ok(());
    }
    qemu_img()?;
    let mut argv: Vec<String> = vec![
        "qemu-img".into(),
        "convert".into(),
        "-f".into(),
        src.format.clone(),
        "-O".into(),
        format.to_string(),
    ];
    if format == "qcow2" {
        argv.extend(["-o".into(), qcow2_options(def, 0)]);
    }
    argv.extend([src.path.display().to_string(), path.display().to_string()]);
    tools::run(&argv)?;
    if def.capacity > src.capacity {
        resize_file(path, format, def.capacity, false)?;
    }
    Ok(())
}

fn copy_into(src: &Volume, dest: &Path, format: &str) -> DriverResult<()> {
    qemu_img()?;
    tools::run(&[
        "qemu-img",
        "convert",
        "-n",
        "-f",
        &src.format,
        "-O",
        format,
        &src.path.display().to_string(),
        &dest.display().to_string(),
    ])
    .map(|_| ())
}

pub fn delete(pool: &Pool, vol: &Volume) -> DriverResult<()> {
    match pool.def.kind {
        PoolKind::Disk => super::disk::delete_partition(pool, &vol.path),
        PoolKind::Logical => super::logical::remove_lv(pool, &vol.name),
        _ => {
            let result = if vol.kind == 2 {
                fs::remove_dir(&vol.path)
            } else {
                fs::remove_file(&vol.path)
            };
            match result {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(errors::system(
                    &format!("cannot unlink file '{}'", vol.path.display()),
                    &e,
                )),
            }
        }
    }
}

/// Zeroes the volume's content. A qcow2 volume becomes an empty image of the same
/// size and backing store (its data reads as zeros, or as the backing's).
pub fn wipe(vol: &Volume) -> DriverResult<()> {
    if vol.kind == 2 {
        return Err(errors::unsupported("directory volumes cannot be wiped"));
    }
    if vol.format == "qcow2" {
        qemu_img()?;
        let mut argv: Vec<String> = vec![
            "qemu-img".into(),
            "create".into(),
            "-f".into(),
            "qcow2".into(),
        ];
        if let Some((b, f)) = &vol.backing {
            argv.extend([
                "-b".into(),
                b.clone(),
                "-F".into(),
                f.clone().unwrap_or_else(|| "raw".into()),
            ]);
        }
        let mut opts = format!(
            "compat={}",
            vol.compat.clone().unwrap_or_else(|| "1.1".into())
        );
        if vol.lazy_refcounts {
            opts.push_str(",lazy_refcounts=on");
        }
        argv.extend([
            "-o".into(),
            opts,
            vol.path.display().to_string(),
            vol.capacity.to_string(),
        ]);
        return tools::run(&argv).map(|_| ());
    }
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&vol.path)
        .map_err(|e| {
            errors::system(
                &format!(
                    "Failed to open storage volume with path '{}'",
                    vol.path.display()
                ),
                &e,
            )
        })?;
    if vol.kind == 0 {
        // Punching the whole file leaves it sparse and reading as zeros.
        file.set_len(0)
            .and_then(|_| file.set_len(vol.capacity))
            .and_then(|_| file.sync_all())
            .map_err(|e| {
                errors::system(
                    &format!(
                        "Failed to zero storage volume with path '{}'",
                        vol.path.display()
                    ),
                    &e,
                )
            })
    } else {
        use std::io::Write;
        let mut file = file;
        let zeros = vec![0u8; 1 << 20];
        let mut left = vol.capacity;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n]).map_err(|e| {
                errors::system(
                    &format!(
                        "wrote fewer bytes than requested to '{}'",
                        vol.path.display()
                    ),
                    &e,
                )
            })?;
            left -= n as u64;
        }
        file.sync_all()
            .map_err(|e| errors::system("cannot sync", &e))
    }
}

/// The new capacity a resize asks for, checked as libvirt does.
pub fn resize_target(vol: &Volume, capacity: u64, flags: u32, available: u64) -> DriverResult<u64> {
    let target = if flags & RESIZE_DELTA != 0 {
        if flags & RESIZE_SHRINK != 0 {
            vol.capacity
                .checked_sub(capacity)
                .ok_or_else(|| errors::invalid_arg("can't shrink capacity below zero"))?
        } else {
            vol.capacity.checked_add(capacity).ok_or_else(|| {
                crate::api::DriverError::new(
                    crate::api::codes::OVERFLOW,
                    errors::FROM_STORAGE,
                    "capacity overflows",
                )
            })?
        }
    } else {
        capacity
    };
    if target < vol.allocation && vol.kind == 0 {
        return Err(errors::invalid_arg(
            "can't shrink capacity below existing allocation",
        ));
    }
    if target < vol.capacity && flags & RESIZE_SHRINK == 0 {
        return Err(errors::invalid_arg(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
        ));
    }
    if target > vol.capacity && flags & RESIZE_SHRINK != 0 {
        return Err(errors::invalid_arg(
            "Can't expand capacity when shrink flag is specified",
        ));
    }
    if target > vol.capacity && flags & RESIZE_ALLOCATE != 0 && target - vol.capacity > available {
        return Err(errors::operation_failed(
            "Not enough space left in storage pool",
        ));
    }
    Ok(target)
}

pub fn resize(vol: &Volume, capacity: u64, flags: u32) -> DriverResult<()> {
    if vol.kind != 0 {
        return Err(errors::unsupported(
            "resizing is supported for file volumes only",
        ));
    }
    resize_file(&vol.path, &vol.format, capacity, flags & RESIZE_SHRINK != 0)?;
    if flags & RESIZE_ALLOCATE != 0 && vol.format == "raw" && capacity > vol.capacity {
        let file = OpenOptions::new()
            .write(true)
            .open(&vol.path)
            .map_err(|e| errors::system("cannot open volume", &e))?;
        if let Err(errno) = nix::fcntl::posix_fallocate(
            &file,
            vol.capacity as i64,
            (capacity - vol.capacity) as i64,
        ) {
            return Err(errors::system(
                "cannot allocate",
                &std::io::Error::from(errno),
            ));
        }
    }
    Ok(())
}

fn resize_file(path: &Path, format: &str, capacity: u64, shrink: bool) -> DriverResult<()> {
    if format == "qcow2" {
        qemu_img()?;
        let mut argv = vec!["qemu-img".to_string(), "resize".to_string()];
        if shrink {
            argv.push("--shrink".to_string());
        }
        argv.extend([
            "-f".into(),
            "qcow2".into(),
            path.display().to_string(),
            capacity.to_string(),
        ]);
        return tools::run(&argv).map(|_| ());
    }
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|f| f.set_len(capacity))
        .map_err(|e| {
            errors::system(
                &format!(
                    "Failed to truncate volume with path '{}' to {capacity} bytes",
                    path.display()
                ),
                &e,
            )
        })
}

/// `<timestamps>` of a file, as libvirt prints them (seconds.nanoseconds).
fn timestamps(out: &mut String, path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = fs::metadata(path) else {
        return;
    };
    out.push_str("    <timestamps>\n");
    out.push_str(&format!(
        "      <atime>{}.{:09}</atime>\n",
        m.atime(),
        m.atime_nsec()
    ));
    out.push_str(&format!(
        "      <mtime>{}.{:09}</mtime>\n",
        m.mtime(),
        m.mtime_nsec()
    ));
    out.push_str(&format!(
        "      <ctime>{}.{:09}</ctime>\n",
        m.ctime(),
        m.ctime_nsec()
    ));
    out.push_str("      <btime>0</btime>\n");
    out.push_str("    </timestamps>\n");
}

/// The volume XML as libvirt prints it.
pub fn format_xml(vol: &Volume) -> String {
    let esc = super::xml_escape;
    let kind = match vol.kind {
        1 => "block",
        2 => "dir",
        _ => "file",
    };
    let mut out = format!("<volume type='{kind}'>\n");
    out.push_str(&format!("  <name>{}</name>\n", esc(&vol.name)));
    out.push_str(&format!("  <key>{}</key>\n", esc(&vol.key())));
    out.push_str("  <capacity unit='bytes'>");
    out.push_str(&format!("{}</capacity>\n", vol.capacity));
    out.push_str(&format!(
        "  <allocation unit='bytes'>{}</allocation>\n",
        vol.allocation
    ));
    out.push_str(&format!(
        "  <physical unit='bytes'>{}</physical>\n",
        vol.physical
    ));
    out.push_str("  <target>\n");
    out.push_str(&format!("    <path>{}</path>\n", esc(&vol.key())));
    out.push_str(&format!("    <format type='{}'/>\n", esc(&vol.format)));
    if let Some((mode, owner, group)) = vol.perms {
        out.push_str(&format!(
            "    <permissions>\n      <mode>{mode:04o}</mode>\n      <owner>{owner}</owner>\n      <group>{group}</group>\n    </permissions>\n"
        ));
    }
    if vol.kind == 0 {
        timestamps(&mut out, &vol.path);
    }
    // As libvirt: the compat level and features are shown for images that
    // use a feature (lazy refcounts).
    if let (Some(compat), true) = (&vol.compat, vol.lazy_refcounts) {
        out.push_str(&format!("    <compat>{}</compat>\n", esc(compat)));
        out.push_str("    <features>\n      <lazy_refcounts/>\n    </features>\n");
    }
    out.push_str("  </target>\n");
    if let Some((path, format)) = &vol.backing {
        out.push_str("  <backingStore>\n");
        out.push_str(&format!("    <path>{}</path>\n", esc(path)));
        if let Some(f) = format {
            out.push_str(&format!("    <format type='{}'/>\n", esc(f)));
        }
        if let Ok(meta) = fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            out.push_str(&format!(
                "    <permissions>\n      <mode>{:04o}</mode>\n      <owner>{}</owner>\n      <group>{}</group>\n    </permissions>\n",
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            ));
            timestamps(&mut out, Path::new(path));
        }
        out.push_str("  </backingStore>\n");
    }
    out.push_str("</volume>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock_miss() -> DriverResult<String> {
        Err(errors::internal(&format!(
            "qemu-img: x.qcow2: {PBKDF_CLOCK_MISS}"
        )))
    }

    #[test]
    fn a_missed_benchmark_clock_is_retried_and_its_half_image_removed() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("v.qcow2");
        let mut rounds = 0;
        let result = run_luks_create(&image, || {
            rounds += 1;
            assert!(
                !image.exists(),
                "round {rounds} found the last round's image"
            );
            fs::write(&image, b"partial").unwrap();
            if rounds < 3 {
                clock_miss()
            } else {
                Ok(String::new())
            }
        });
        assert!(result.is_ok());
        assert_eq!(rounds, 3);
    }

    #[test]
    fn retries_are_bounded_and_other_failures_are_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("v.qcow2");
        let mut rounds = 0;
        let err = run_luks_create(&image, || {
            rounds += 1;
            clock_miss()
        })
        .unwrap_err();
        assert!(err.message.contains(PBKDF_CLOCK_MISS));
        assert_eq!(rounds, 3);
        let mut rounds = 0;
        run_luks_create(&image, || {
            rounds += 1;
            fs::write(&image, b"partial").unwrap();
            Err(errors::internal("qemu-img: no space left"))
        })
        .unwrap_err();
        assert_eq!(rounds, 1);
        assert!(!image.exists());
    }
}
