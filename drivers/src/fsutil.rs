//! Atomic file replacement for every driver: a reader (or a daemon restarted
//! after a crash) sees either the old or the new content, never a torn file.
//! What the drivers write holds guest definitions and state: files are 0600
//! and the directories created for them 0700, whatever the umask.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What failed, on which path; drivers turn it into their own error type.
#[derive(Debug, thiserror::Error)]
#[error("{what} '{}': {source}", path.display())]
pub struct FsError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

impl FsError {
    pub fn new(what: &'static str, path: &Path, source: io::Error) -> Self {
        FsError {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `content` to `path` via a temporary file in the same directory, fsync,
/// rename, then fsyncs the directory so the rename itself is durable.
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<(), FsError> {
    let fail = |what: &'static str, path: &Path, source: io::Error| FsError {
        what,
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().ok_or_else(|| {
        fail(
            "no directory for",
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no parent directory",
            ),
        )
    })?;
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        // A temporary file left by a crash is replaced; whatever else sits at
        // its name (a symlink) is unlinked, never written through.
        remove_if_exists(&tmp).map_err(|e| e.source)?;
        let mut file = create_private_file(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail("cannot write file", path, e));
    }
    Ok(())
}

/// Creates a new file with mode 0600 (whatever the umask) for writing. It
/// never follows a symlink and never opens an existing file (O_EXCL): what
/// is written cannot land anywhere but in a new file at `path`.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Makes a rename or removal in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents with mode 0700; existing
/// directories keep their mode.
pub fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| FsError {
            what: "cannot create directory",
            path: dir.to_path_buf(),
            source,
        })
}

/// Removes a file; a file that is already gone is not an error.
pub fn remove_if_exists(path: &Path) -> Result<(), FsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FsError {
            what: "cannot remove file",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile_dir("fsutil-replace");
        let path = dir.join("a.xml");
        atomic_write(&path, b"one").expect("first write");
        atomic_write(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let names: Vec<String> = fs::read_dir(&dir)
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.xml".to_string()]);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        remove_if_exists(&path).expect("remove");
        remove_if_exists(&path).expect("remove twice");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn private_files_are_new_never_through_a_symlink_and_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile_dir("fsutil-private");
        create_private_dir(&dir).expect("dir");
        let victim = dir.join("victim");
        fs::write(&victim, b"keep").expect("victim");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        assert!(create_private_file(&link).is_err(), "followed a symlink");
        assert!(
            create_private_file(&victim).is_err(),
            "opened an existing file"
        );
        assert_eq!(fs::read(&victim).expect("read"), b"keep");
        let new = dir.join("new");
        create_private_file(&new).expect("create");
        let mode = fs::metadata(&new).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // atomic_write replaces a symlink at its temporary name, not its target.
        let tmp = dir.join(format!(".a.xml.tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).expect("symlink at tmp");
        atomic_write(&dir.join("a.xml"), b"new").expect("write");
        assert_eq!(fs::read(&victim).expect("read"), b"keep");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_path_without_directory_is_refused() {
        let err = atomic_write(Path::new("/"), b"x").expect_err("no parent");
        assert_eq!(err.what, "no directory for");
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }
}
