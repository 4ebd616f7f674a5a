//! `lxc.conf`: the few settings libvirt 9.0's LXC driver reads, in virConf syntax.

use std::path::Path;

use crate::virconf::{ConfError, ConfFile};

/// Settings of the lxc driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LxcConfig {
    /// `log_with_libvirtd`: also send supervisor messages to the daemon's log.
    pub log_with_libvirtd: bool,
    /// `security_driver`: only "none" exists here.
    pub security_driver: String,
}

impl Default for LxcConfig {
    fn default() -> Self {
        LxcConfig {
            log_with_libvirtd: false,
            security_driver: "none".to_string(),
        }
    }
}

impl LxcConfig {
    /// Reads the file; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<LxcConfig, ConfError> {
        if !path.exists() {
            return Ok(LxcConfig::default());
        }
        let file = ConfFile::read(path)?;
        Self::from_conf(&file)
    }

    pub fn from_conf(file: &ConfFile) -> Result<LxcConfig, ConfError> {
        let defaults = LxcConfig::default();
        Ok(LxcConfig {
            log_with_libvirtd: file
                .get_bool("log_with_libvirtd")?
                .unwrap_or(defaults.log_with_libvirtd),
            security_driver: file
                .get_string("security_driver")?
                .map(str::to_string)
                .unwrap_or(defaults.security_driver),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_keys_and_defaults() {
        let file = ConfFile::parse("log_with_libvirtd = 1\nunknown = 3\n", "lxc.conf")
            .expect("valid syntax");
        let conf = LxcConfig::from_conf(&file).expect("valid values");
        assert!(conf.log_with_libvirtd);
        assert_eq!(conf.security_driver, "none");
        let bad = ConfFile::parse("log_with_libvirtd = \"yes\"\n", "lxc.conf").expect("syntax");
        assert!(LxcConfig::from_conf(&bad).is_err());
        assert_eq!(
            LxcConfig::load(Path::new("/nonexistent/lxc.conf")).expect("missing is fine"),
            LxcConfig::default()
        );
    }
}
