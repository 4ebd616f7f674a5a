//! One pool as the driver holds it: its definition, whether it runs, its volumes, and
//! where that is kept on disk (definition, autostart link, status file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::pool_def::PoolDef;
use crate::api::PoolHandle;

/// Directories of the storage driver below the daemon's ones.
#[derive(Clone, Debug)]
pub struct StoragePaths {
    /// Persistent definitions: `<confdir>/storage/NAME.xml`.
    pub config_dir: PathBuf,
    /// Autostart links: `<confdir>/storage/autostart/NAME.xml`.
    pub autostart_dir: PathBuf,
    /// Status of running pools: `<rundir>/storage/NAME.xml`.
    pub run_dir: PathBuf,
    /// Formats volumes were created with: `<statedir>/storage/formats/NAME.json`.
    pub formats_dir: PathBuf,
}

impl StoragePaths {
    pub fn new(config_dir: &Path, run_dir: &Path, state_dir: &Path) -> Self {
        let config = config_dir.join("storage");
        StoragePaths {
            autostart_dir: config.join("autostart"),
            config_dir: config,
            run_dir: run_dir.join("storage"),
            formats_dir: state_dir.join("storage").join("formats"),
        }
    }

    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.xml"))
    }

    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.autostart_dir.join(format!("{name}.xml"))
    }

    pub fn status_file(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.xml"))
    }

    pub fn formats_file(&self, name: &str) -> PathBuf {
        self.formats_dir.join(format!("{name}.json"))
    }

    /// Where a path named in a pool definition lives on this host: the path
    /// itself, also under LIBVIRTD_ROOT (QEMU is given volume paths as they are,
    /// so pool targets are never moved; tests use a private mount namespace).
    pub fn host_path(&self, path: &str) -> PathBuf {
        PathBuf::from(path)
    }
}

/// A volume found in (or created in) a running pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub path: PathBuf,
    /// 0 file, 1 block, 2 dir.
    pub kind: u8,
    pub format: String,
    pub capacity: u64,
    pub allocation: u64,
    pub physical: u64,
    pub backing: Option<(String, Option<String>)>,
    pub compat: Option<String>,
    pub lazy_refcounts: bool,
    pub perms: Option<(u32, u32, u32)>,
}

impl Volume {
    pub fn key(&self) -> String {
        self.path.display().to_string()
    }
}

/// A pool and its runtime state.
#[derive(Debug)]
pub struct Pool {
    pub def: PoolDef,
    pub persistent: bool,
    pub active: bool,
    pub autostart: bool,
    pub volumes: Vec<Volume>,
    /// Capacity, allocation, available, from the last refresh.
    pub sizes: (u64, u64, u64),
    /// Formats volumes were created or uploaded with, by volume name.
    pub formats: BTreeMap<String, String>,
    /// Volumes being created without the driver's lock (libvirt's asynchronous
    /// jobs): the pool cannot be stopped or refreshed meanwhile.
    pub building: Vec<String>,
    /// A definition given while the pool runs: it takes effect when it stops.
    pub new_def: Option<PoolDef>,
}

impl Pool {
    pub fn new(def: PoolDef, persistent: bool) -> Pool {
        Pool {
            def,
            persistent,
            active: false,
            autostart: false,
            volumes: Vec::new(),
            sizes: (0, 0, 0),
            formats: BTreeMap::new(),
            building: Vec::new(),
            new_def: None,
        }
    }

    pub fn handle(&self) -> PoolHandle {
        PoolHandle {
            name: self.def.name.clone(),
            uuid: self.def.uuid,
        }
    }

    /// libvirt's refusal while volumes are being built.
    pub fn check_no_jobs(&self) -> crate::api::DriverResult<()> {
        if self.building.is_empty() {
            Ok(())
        } else {
            Err(super::errors::internal(&format!(
                "pool '{}' has asynchronous jobs running.",
                self.def.name
            )))
        }
    }

    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == name)
    }
}
