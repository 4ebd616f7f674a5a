//! `virsh migrate --tls`: the guest's state travels between the two QEMU processes
//! inside TLS. Each QEMU gets a `tls-creds-x509` object over the files of
//! `migrate_tls_x509_cert_dir` (the destination as server, the source as client
//! checking the destination's name) and the migration parameter `tls-creds`
//! naming it; the object goes again once the migration ended here.

use serde_json::json;

use super::super::error::QemuError;
use super::super::qmp::Monitor;
use crate::api::{codes, domains, migrate_flags, DriverError, DriverResult};
use crate::virconf::ConfFile;

/// The id of the credentials object, as libvirt names it.
pub const TLS_ALIAS: &str = "objlibvirt_migrate_tls0";

/// `VIR_ERR_CONF_SYNTAX`, libvirt's code for a qemu.conf naming a missing directory.
const CONF_SYNTAX: i32 = 33;

/// The `migrate_tls_*` settings of qemu.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrateTlsConf {
    /// `migrate_tls_x509_cert_dir`, else `default_tls_x509_cert_dir`, else
    /// `<sysconfdir>/pki/qemu`: `ca-cert.pem`, `server-cert.pem`,
    /// `server-key.pem`, `client-cert.pem`, `client-key.pem`.
    pub cert_dir: String,
    /// Whether the cert dir was given by `migrate_tls_x509_cert_dir` itself
    /// (libvirt then requires that it exists).
    pub cert_dir_explicit: bool,
    /// Whether either key named the cert dir.
    pub cert_dir_given: bool,
    /// `migrate_tls_x509_verify` (else `default_tls_x509_verify`): whether the
    /// destination asks the source for a client certificate.
    pub verify: bool,
    /// `migrate_tls_force`: migrations without `--tls` are refused.
    pub force: bool,
}

impl Default for MigrateTlsConf {
    fn default() -> Self {
        MigrateTlsConf {
            cert_dir: "/etc/pki/qemu".into(),
            cert_dir_explicit: false,
            cert_dir_given: false,
            verify: true,
            force: false,
        }
    }
}

impl MigrateTlsConf {
    pub fn read(file: &ConfFile, problems: &mut Vec<String>) -> Self {
        let mut conf = MigrateTlsConf::default();
        let mut string = |key: &str| match file.get_string(key) {
            Ok(v) => v.map(str::to_string),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        if let Some(dir) = string("migrate_tls_x509_cert_dir") {
            conf.cert_dir = dir;
            conf.cert_dir_explicit = true;
            conf.cert_dir_given = true;
        } else if let Some(dir) = string("default_tls_x509_cert_dir") {
            conf.cert_dir = dir;
            conf.cert_dir_given = true;
        }
        let mut boolean = |key: &str| match file.get_bool(key) {
            Ok(v) => v,
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        if let Some(v) =
            boolean("migrate_tls_x509_verify").or_else(|| boolean("default_tls_x509_verify"))
        {
            conf.verify = v;
        }
        if let Some(v) = boolean("migrate_tls_force") {
            conf.force = v;
        }
        conf
    }

    /// The cert dir when qemu.conf names none (`<sysconfdir>/pki/qemu`).
    pub fn default_dir(&mut self, dir: &str) {
        if !self.cert_dir_given {
            self.cert_dir = dir.to_string();
        }
    }

    /// `migrate_tls_force` turns away migrations that would send the guest
    /// in the clear (tunnelled ones travel inside the daemons' connection).
    pub fn check_forced(&self, flags: u32) -> DriverResult<()> {
        if self.force && flags & (migrate_flags::TLS | migrate_flags::TUNNELLED) == 0 {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "this libvirtd instance allows migration only with VIR_MIGRATE_TLS flag",
            ));
        }
        Ok(())
    }

    /// libvirt refuses a `migrate_tls_x509_cert_dir` naming no directory; a
    /// missing default directory is left for QEMU to report (with the file it
    /// could not read).
    fn check_dir(&self) -> DriverResult<()> {
        if self.cert_dir_explicit && !std::path::Path::new(&self.cert_dir).is_dir() {
            return Err(DriverError::new(
                CONF_SYNTAX,
                domains::QEMU,
                format!(
                    "migrate_tls_x509_cert_dir directory '{}' does not exist",
                    self.cert_dir
                ),
            ));
        }
        Ok(())
    }
}

/// Which end of the TLS session a QEMU is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The destination: listens, presents `server-cert.pem`.
    Server,
    /// The source: connects, checks the destination's certificate against
    /// `hostname`.
    Client,
}

/// Adds the credentials object and points the migration at it.
pub fn enable(
    monitor: &Monitor,
    conf: &MigrateTlsConf,
    endpoint: Endpoint,
    hostname: &str,
) -> DriverResult<()> {
    conf.check_dir()?;
    // A leftover of an earlier attempt would make object-add fail.
    let _ = monitor.execute("object-del", Some(json!({ "id": TLS_ALIAS })));
    let (end, verify) = match endpoint {
        Endpoint::Server => ("server", conf.verify),
        Endpoint::Client => ("client", true),
    };
    monitor
        .execute(
            "object-add",
            Some(json!({
                "qom-type": "tls-creds-x509",
                "id": TLS_ALIAS,
                "dir": conf.cert_dir,
                "endpoint": end,
                "verify-peer": verify,
            })),
        )
        .map_err(|e| command_failed("object-add", e))?;
    let hostname = match endpoint {
        Endpoint::Server => "",
        Endpoint::Client => hostname.trim_start_matches('[').trim_end_matches(']'),
    };
    if let Err(e) = monitor.execute(
        "migrate-set-parameters",
        Some(json!({ "tls-creds": TLS_ALIAS, "tls-hostname": hostname })),
    ) {
        disable(monitor);
        return Err(command_failed("migrate-set-parameters", e));
    }
    Ok(())
}

/// Clears the parameters and removes the object (best effort: the QEMU may be
/// gone already).
pub fn disable(monitor: &Monitor) {
    let _ = monitor.execute(
        "migrate-set-parameters",
        Some(json!({ "tls-creds": "", "tls-hostname": "" })),
    );
    let _ = monitor.execute("object-del", Some(json!({ "id": TLS_ALIAS })));
}

/// libvirt's wording for a monitor command QEMU refused.
fn command_failed(command: &str, e: super::super::qmp::QmpError) -> DriverError {
    match e {
        super::super::qmp::QmpError::Command(text) => DriverError::new(
            codes::INTERNAL_ERROR,
            domains::QEMU,
            format!("unable to execute QEMU command '{command}': {text}"),
        ),
        other => QemuError::from(other).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_tls_refuses_plain_migrations() {
        let conf = MigrateTlsConf {
            force: true,
            ..Default::default()
        };
        let err = conf.check_forced(migrate_flags::LIVE).unwrap_err();
        assert_eq!(err.code, codes::OPERATION_INVALID);
        assert!(err.message.contains("only with VIR_MIGRATE_TLS flag"));
        assert!(conf.check_forced(migrate_flags::TLS).is_ok());
        assert!(MigrateTlsConf::default().check_forced(0).is_ok());
    }

    #[test]
    fn missing_directory_is_reported_as_libvirt_does() {
        let conf = MigrateTlsConf {
            cert_dir: "/nonexistent/pki".into(),
            cert_dir_explicit: true,
            ..Default::default()
        };
        let err = conf.check_dir().unwrap_err();
        assert_eq!(err.code, CONF_SYNTAX);
        assert_eq!(
            err.message,
            "migrate_tls_x509_cert_dir directory '/nonexistent/pki' does not exist"
        );
    }
}
