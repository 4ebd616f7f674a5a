//! The destination's side of a storage migration: the NBD server its QEMU
//! runs during prepare (one writable export per copied disk, named after the
//! drive), and the destination images libvirt creates through a storage pool
//! when they are missing.

use serde_json::json;

use super::super::error::QemuError;
use super::super::Inner;
use super::nbd::{copied_disks, wanted_disks, NbdCookie};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam};
use crate::domain_xml::DomainDef;

/// `VIR_MIGRATE_PARAM_DISKS_PORT`: the port of the destination's NBD server.
const DISKS_PORT_PARAM: &str = "disks_port";

impl Inner {
    /// The destination's part of prepare: the NBD server on a port of the
    /// migration range (or `disks_port`), exporting each copied disk writable.
    /// Returns the port.
    pub(super) fn start_nbd_server(
        &self,
        dom: &DomainRef,
        listen: &str,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<Option<u16>> {
        let wanted = wanted_disks(params);
        let disks = {
            let st = self.lock();
            copied_disks(&st.get(dom)?.def, &wanted)
        };
        if disks.is_empty() {
            return Ok(None);
        }
        for disk in &disks {
            if disk.path.is_none() || disk.drive.is_empty() {
                return Err(DriverError::new(
                    codes::OPERATION_UNSUPPORTED,
                    domains::QEMU,
                    format!("Cannot migrate empty or read-only disk {}", disk.target),
                ));
            }
        }
        let conf = self.conf().migration.clone();
        let port = match super::param_u64(params, DISKS_PORT_PARAM) {
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(_) => {
                return Err(
                    DriverError::invalid_arg("nbd port must be in range 0-65535")
                        .in_domain(domains::QEMU),
                )
            }
            None => super::dest::free_port(listen, conf.port_min, conf.port_max)?,
        };
        let (monitor, _, _) = self.running_parts(dom)?;
        let host = listen.trim_start_matches('[').trim_end_matches(']');
        monitor
            .execute(
                "nbd-server-start",
                Some(json!({
                    "addr": { "type": "inet", "data": { "host": host, "port": port.to_string() } }
                })),
            )
            .map_err(QemuError::from)?;
        let _ = flags;
        for disk in &disks {
            let added = monitor.execute(
                "nbd-server-add",
                Some(json!({ "device": disk.drive, "writable": true })),
            );
            if let Err(e) = added {
                let _ = monitor.execute("nbd-server-stop", None);
                return Err(QemuError::from(e).into());
            }
        }
        Ok(Some(port))
    }

    /// libvirt creates a missing destination disk only through the storage pool
    /// whose target directory holds it, with the capacity the source announced.
    pub(super) fn precreate_storage(
        &self,
        def: &DomainDef,
        source: Option<&NbdCookie>,
        wanted: &[String],
        incremental: bool,
    ) -> DriverResult<()> {
        let Some(source) = source else {
            return Ok(());
        };
        let disks = copied_disks(def, wanted);
        for (target, capacity) in &source.disks {
            let Some(disk) = disks.iter().find(|d| &d.target == target) else {
                continue;
            };
            let Some(path) = &disk.path else {
                continue;
            };
            if std::path::Path::new(path).exists() {
                continue;
            }
            if incremental {
                return Err(DriverError::new(
                    codes::OPERATION_UNSUPPORTED,
                    domains::QEMU,
                    "pre-creation of storage targets for incremental storage migration is not supported",
                ));
            }
            let Some((dir, name)) = path.rsplit_once('/') else {
                return Err(
                    DriverError::invalid_arg(format!("malformed disk path: {path}"))
                        .in_domain(domains::QEMU),
                );
            };
            let Some(storage) = self.storage.get() else {
                return Err(no_pool_at(dir));
            };
            let conn = storage.open(false)?;
            let pool = conn.pool_lookup_by_target_path(dir)?;
            let compat = if disk.format == "qcow2" {
                "<compat>1.1</compat>"
            } else {
                ""
            };
            let xml = format!(
                "<volume><name>{}</name><capacity>{capacity}</capacity>\
                 <target><format type='{}'/>{compat}</target></volume>",
                crate::domain_xml::escape(name),
                crate::domain_xml::escape(&disk.format)
            );
            conn.vol_create_xml(&pool, &xml, 0)?;
        }
        Ok(())
    }
}

/// libvirt's storage error for a directory no pool has as its target.
fn no_pool_at(dir: &str) -> DriverError {
    let format = "Storage pool not found: %s";
    let detail = format!("no storage pool with matching target path '{dir}'");
    DriverError {
        code: 49,
        domain: 18,
        message: format.replacen("%s", &detail, 1),
        str1: Some(format.to_string()),
        str2: Some(detail),
        int1: -1,
        int2: -1,
    }
}
