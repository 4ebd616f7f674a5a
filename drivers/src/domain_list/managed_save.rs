//! Managed save: one image per domain, `<dir>/NAME.save`, that the next start
//! resumes from unless the caller forces a fresh boot.

use std::path::{Path, PathBuf};

use crate::api::create_flags;
use crate::fsutil::{create_private_dir, remove_if_exists, FsError};

/// Where a driver keeps its managed save images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedSave {
    pub dir: PathBuf,
}

/// How `virDomainCreateWithFlags` starts a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartFrom {
    Boot,
    /// Restore from this image, and remove it once the guest runs.
    Image(PathBuf),
}

impl ManagedSave {
    pub fn new(dir: &Path) -> Self {
        ManagedSave {
            dir: dir.to_path_buf(),
        }
    }

    pub fn image(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.save"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.image(name).exists()
    }

    /// Forgets the image; none at all is fine.
    pub fn remove(&self, name: &str) -> Result<(), FsError> {
        remove_if_exists(&self.image(name))
    }

    /// The directory, created private, before an image is written into it.
    pub fn prepare_dir(&self) -> Result<(), FsError> {
        create_private_dir(&self.dir)
    }

    /// libvirt's decision for a start with `flags`: the image when there is
    /// one, unless `VIR_DOMAIN_START_FORCE_BOOT` asks to discard it.
    pub fn start_from(&self, name: &str, flags: u32) -> Result<StartFrom, FsError> {
        let image = self.image(name);
        if !image.exists() {
            return Ok(StartFrom::Boot);
        }
        if flags & create_flags::FORCE_BOOT != 0 {
            remove_if_exists(&image)?;
            return Ok(StartFrom::Boot);
        }
        Ok(StartFrom::Image(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_is_used_unless_force_boot() {
        let dir = std::env::temp_dir().join(format!("managed-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let saves = ManagedSave::new(&dir);
        assert_eq!(saves.start_from("g", 0).expect("no image"), StartFrom::Boot);
        saves.prepare_dir().expect("dir");
        std::fs::write(saves.image("g"), b"state").expect("image");
        assert!(saves.has("g"));
        assert_eq!(
            saves.start_from("g", 0).expect("image"),
            StartFrom::Image(dir.join("g.save"))
        );
        assert_eq!(
            saves
                .start_from("g", create_flags::FORCE_BOOT)
                .expect("forced"),
            StartFrom::Boot
        );
        assert!(!saves.has("g"), "force boot discards the image");
        saves.remove("g").expect("removing nothing is fine");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
