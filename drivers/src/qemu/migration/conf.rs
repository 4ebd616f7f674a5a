//! The `migration_*` settings of qemu.conf: where an incoming migration listens
//! and which address the source is told to connect to.

use crate::virconf::ConfFile;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationConf {
    /// `migration_address`: the address QEMU listens on for incoming migrations.
    pub address: String,
    /// `migration_host`: the host name or address put in the URI the source uses
    /// (the host's name when unset).
    pub host: Option<String>,
    /// `migration_port_min` / `migration_port_max`: the ports tried, in order.
    pub port_min: u16,
    pub port_max: u16,
    /// `migrate_tls_*`: the credentials of `--tls` migrations.
    pub tls: super::tls::MigrateTlsConf,
}

impl Default for MigrationConf {
    fn default() -> Self {
        MigrationConf {
            address: "0.0.0.0".into(),
            host: None,
            port_min: 49152,
            port_max: 49215,
            tls: Default::default(),
        }
    }
}

impl MigrationConf {
    pub fn read(file: &ConfFile, problems: &mut Vec<String>) -> Self {
        let mut conf = MigrationConf {
            tls: super::tls::MigrateTlsConf::read(file, problems),
            ..MigrationConf::default()
        };
        match file.get_string("migration_address") {
            Ok(Some(v)) if super::uri::valid_host(v) => conf.address = v.to_string(),
            Ok(Some(v)) => problems.push(format!("migration_address '{v}' is not valid")),
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        match file.get_string("migration_host") {
            Ok(Some(v)) if super::uri::valid_host(v) => conf.host = Some(v.to_string()),
            Ok(Some(v)) => problems.push(format!("migration_host '{v}' is not valid")),
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        for (key, slot) in [
            ("migration_port_min", &mut conf.port_min),
            ("migration_port_max", &mut conf.port_max),
        ] {
            match file.get_ullong(key) {
                Ok(Some(v)) if (1..=65535).contains(&v) => *slot = v as u16,
                Ok(Some(v)) => problems.push(format!("{key} {v} is not a port")),
                Ok(None) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        if conf.port_min > conf.port_max {
            problems.push(format!(
                "migration_port_min ({}) is greater than migration_port_max ({})",
                conf.port_min, conf.port_max
            ));
            let default = MigrationConf::default();
            (conf.port_min, conf.port_max) = (default.port_min, default.port_max);
        }
        conf
    }
}
