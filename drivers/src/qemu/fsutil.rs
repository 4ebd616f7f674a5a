//! Atomic file replacement: a reader (or a daemon restarted after a crash) sees either
//! the old or the new content, never a torn file.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use super::error::QemuError;

/// Writes `content` to `path` via a temporary file in the same directory, fsync, rename,
/// then fsyncs the directory so the rename itself is durable.
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<(), QemuError> {
    let dir = path
        .parent()
        .ok_or_else(|| QemuError::Failed(format!("no directory for '{}'", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| QemuError::io("cannot create directory", dir, e))?;
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
        return Err(QemuError::io("cannot write file", path, e));
    }
    Ok(())
}

/// Removes a file; a file that is already gone is not an error.
pub fn remove_if_exists(path: &Path) -> Result<(), QemuError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(QemuError::io("cannot remove file", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("qemu-fsutil-{}", std::process::id()));
        let path = dir.join("a.xml");
        atomic_write(&path, b"one").expect("first write");
        atomic_write(&path, b"two").expect("second write");
        assert_eq!(fs::read_to_string(&path).expect("read back"), "two");
        let names: Vec<String> = fs::read_dir(&dir)
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.xml".to_string()]);
        remove_if_exists(&path).expect("remove");
        remove_if_exists(&path).expect("remove twice");
        let _ = fs::remove_dir(&dir);
    }
}
