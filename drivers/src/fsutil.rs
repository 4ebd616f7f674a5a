//! Atomic file replacement for every driver: a reader (or a daemon restarted
//! after a crash) sees either the old or the new content, never a torn file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What failed, on which path; drivers turn it into their own error type.
#[derive(Debug)]
pub struct FsError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
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
    fs::create_dir_all(dir).map_err(|e| fail("cannot create directory", dir, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail("cannot write file", path, e));
    }
    Ok(())
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
        remove_if_exists(&path).expect("remove");
        remove_if_exists(&path).expect("remove twice");
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
