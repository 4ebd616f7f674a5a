//! The driver's view of [`crate::fsutil`]: the same atomic writes, with
//! failures as [`QemuError`].

use std::path::Path;

use super::error::QemuError;
use crate::fsutil;

/// See [`fsutil::atomic_write`].
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<(), QemuError> {
    Ok(fsutil::atomic_write(path, content)?)
}

/// See [`fsutil::remove_if_exists`].
pub fn remove_if_exists(path: &Path) -> Result<(), QemuError> {
    Ok(fsutil::remove_if_exists(path)?)
}
