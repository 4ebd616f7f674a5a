//! Atomic file replacement, so a daemon restarted after a crash finds either the old or
//! the new definition or status, never a torn file.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use super::error::LxcError;

/// Writes through a temporary file in the same directory, fsync, rename, directory fsync.
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<(), LxcError> {
    let dir = path
        .parent()
        .ok_or_else(|| LxcError::Failed(format!("no directory for '{}'", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| LxcError::io("cannot create directory", dir, e))?;
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
        return Err(LxcError::io("cannot write file", path, e));
    }
    Ok(())
}

/// Removes a file; one that is already gone is fine.
pub fn remove_if_exists(path: &Path) -> Result<(), LxcError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LxcError::io("cannot remove file", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_without_leftovers() {
        let dir = std::env::temp_dir().join(format!("lxc-fsutil-{}", std::process::id()));
        let path = dir.join("c.xml");
        atomic_write(&path, b"one").expect("first write");
        atomic_write(&path, b"two").expect("second write");
        assert_eq!(fs::read_to_string(&path).expect("read back"), "two");
        let count = fs::read_dir(&dir).expect("list").count();
        assert_eq!(count, 1);
        remove_if_exists(&path).expect("remove");
        remove_if_exists(&path).expect("remove again");
        let _ = fs::remove_dir(&dir);
    }
}
