//! The `<domainbackup>` document of `virDomainBackupBegin` and `backup-dumpxml`.

use crate::api::{codes, DriverError, DriverResult};
use crate::domain_xml::escape;

/// `VIR_FROM_DOMAIN` (libvirt parses backup documents in its domain code).
const BACKUP_DOMAIN: i32 = crate::api::domains::DOMAIN;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupDisk {
    pub name: String,
    pub backup: bool,
    /// The checkpoint an incremental backup starts at; `None` for a full one.
    pub incremental: Option<String>,
    pub target: Option<String>,
    /// Format of the target: "qcow2" (default) or "raw".
    pub format: String,
    /// Pull mode: the NBD export's name (default: the disk's target).
    pub export_name: Option<String>,
    /// Pull mode: the name of the exported bitmap of an incremental backup.
    pub export_bitmap: Option<String>,
}

/// Where a pull-mode backup's NBD server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NbdServer {
    Unix(String),
    Tcp { host: String, port: u16 },
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BackupDef {
    /// "push" or "pull".
    pub mode: String,
    pub incremental: Option<String>,
    pub server: Option<NbdServer>,
    pub disks: Vec<BackupDisk>,
}

fn xml_error(detail: impl Into<String>) -> DriverError {
    DriverError::new(codes::XML_ERROR, BACKUP_DOMAIN, detail)
}

/// An NBD export or bitmap name: printable, no quotes, bounded.
fn check_export_name(name: &str) -> DriverResult<()> {
    if name.is_empty()
        || name.len() > 255
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\'' || c == '"' || c == '/')
    {
        return Err(DriverError::invalid_arg(format!(
            "invalid export name '{name}'"
        )));
    }
    Ok(())
}

fn parse_server(node: roxmltree::Node) -> DriverResult<NbdServer> {
    match node.attribute("transport").unwrap_or("tcp") {
        "unix" => {
            let socket = node
                .attribute("socket")
                .ok_or_else(|| xml_error("missing socket path of the backup server"))?;
            check_path(socket)?;
            Ok(NbdServer::Unix(socket.to_string()))
        }
        "tcp" => {
            let host = node.attribute("name").unwrap_or("localhost");
            let valid_host = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if !valid_host {
                return Err(DriverError::invalid_arg(format!(
                    "invalid backup server name '{host}'"
                )));
            }
            let port = node.attribute("port").unwrap_or("10809");
            let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                DriverError::invalid_arg(format!("invalid backup server port '{port}'"))
            })?;
            Ok(NbdServer::Tcp {
                host: host.to_string(),
                port,
            })
        }
        other => Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            crate::api::domains::QEMU,
            format!("unsupported backup server transport '{other}'"),
        )),
    }
}

/// A target path the daemon may create: absolute, printable, bounded.
fn check_path(path: &str) -> DriverResult<()> {
    let ok = path.starts_with('/')
        && path.len() < 4096
        && !path.split('/').any(|c| c == "..")
        && !path.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(DriverError::invalid_arg(format!(
            "invalid backup target path '{path}'"
        )))
    }
}

pub fn parse(xml: &str) -> DriverResult<BackupDef> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| xml_error(format!("(domain_backup): {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "domainbackup" {
        return Err(xml_error("domainbackup"));
    }
    let mode = root.attribute("mode").unwrap_or("push");
    if mode != "push" && mode != "pull" {
        return Err(DriverError::new(
            codes::XML_ERROR,
            BACKUP_DOMAIN,
            format!("unknown backup mode '{mode}'"),
        ));
    }
    let incremental = root
        .children()
        .find(|c| c.has_tag_name("incremental"))
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string());
    let server = root
        .children()
        .find(|c| c.has_tag_name("server"))
        .map(parse_server)
        .transpose()?;
    if mode == "pull" && server.is_none() {
        return Err(DriverError::new(
            codes::CONFIG_UNSUPPORTED,
            crate::api::domains::QEMU,
            "pull mode backup requires a <server>",
        ));
    }
    let mut def = BackupDef {
        mode: mode.to_string(),
        incremental: incremental.clone(),
        server,
        disks: Vec::new(),
    };
    if let Some(disks) = root.children().find(|c| c.has_tag_name("disks")) {
        for d in disks.children().filter(|c| c.has_tag_name("disk")) {
            let name = d
                .attribute("name")
                .ok_or_else(|| xml_error("missing name from disk backup element"))?;
            let backup = d.attribute("backup").unwrap_or("yes") == "yes";
            let full = d.attribute("backupmode") == Some("full");
            let target = d
                .children()
                .find(|c| c.has_tag_name("target") || c.has_tag_name("scratch"))
                .and_then(|t| t.attribute("file"))
                .map(str::to_string);
            if let Some(t) = &target {
                check_path(t)?;
            }
            let format = d
                .children()
                .find(|c| c.has_tag_name("driver"))
                .and_then(|c| c.attribute("type"))
                .unwrap_or("qcow2");
            if format != "qcow2" && format != "raw" {
                return Err(DriverError::new(
                    codes::CONFIG_UNSUPPORTED,
                    crate::api::domains::QEMU,
                    format!("unsupported backup target format '{format}'"),
                ));
            }
            let export_name = d.attribute("exportname").map(str::to_string);
            let export_bitmap = d.attribute("exportbitmap").map(str::to_string);
            for n in export_name.iter().chain(export_bitmap.iter()) {
                check_export_name(n)?;
            }
            def.disks.push(BackupDisk {
                name: name.to_string(),
                backup,
                export_name,
                export_bitmap,
                incremental: if full {
                    None
                } else {
                    d.attribute("incremental")
                        .map(str::to_string)
                        .or_else(|| incremental.clone())
                },
                target,
                format: format.to_string(),
            });
        }
    }
    Ok(def)
}

impl BackupDef {
    /// The document of `virDomainBackupGetXMLDesc` for a backup in progress.
    pub fn to_xml(&self) -> String {
        let mut out = format!("<domainbackup mode='{}'>\n", escape(&self.mode));
        if let Some(i) = &self.incremental {
            out.push_str(&format!("  <incremental>{}</incremental>\n", escape(i)));
        }
        match &self.server {
            Some(NbdServer::Unix(path)) => out.push_str(&format!(
                "  <server transport='unix' socket='{}'/>\n",
                escape(path)
            )),
            Some(NbdServer::Tcp { host, port }) => out.push_str(&format!(
                "  <server transport='tcp' name='{}' port='{port}'/>\n",
                escape(host)
            )),
            None => {}
        }
        out.push_str("  <disks>\n");
        for d in &self.disks {
            if !d.backup {
                out.push_str(&format!(
                    "    <disk name='{}' backup='no'/>\n",
                    escape(&d.name)
                ));
                continue;
            }
            out.push_str(&format!(
                "    <disk name='{}' backup='yes' type='file'",
                escape(&d.name)
            ));
            match &d.incremental {
                Some(i) => out.push_str(&format!(
                    " backupmode='incremental' incremental='{}'",
                    escape(i)
                )),
                None => out.push_str(" backupmode='full'"),
            }
            if let Some(e) = &d.export_name {
                out.push_str(&format!(" exportname='{}'", escape(e)));
            }
            if let Some(b) = &d.export_bitmap {
                out.push_str(&format!(" exportbitmap='{}'", escape(b)));
            }
            out.push_str(" state='running'>\n");
            out.push_str(&format!("      <driver type='{}'/>\n", escape(&d.format)));
            let element = if self.mode == "pull" {
                "scratch"
            } else {
                "target"
            };
            if let Some(t) = &d.target {
                out.push_str(&format!("      <{element} file='{}'/>\n", escape(t)));
            }
            out.push_str("    </disk>\n");
        }
        out.push_str("  </disks>\n</domainbackup>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_applies_to_disks_without_their_own() {
        let def = parse(
            "<domainbackup><incremental>c1</incremental><disks>\
             <disk name='vda'><target file='/b/vda.qcow2'/></disk>\
             <disk name='vdb' backupmode='full'><driver type='raw'/></disk>\
             <disk name='vdc' backup='no'/></disks></domainbackup>",
        )
        .unwrap();
        assert_eq!(def.mode, "push");
        assert_eq!(def.disks[0].incremental.as_deref(), Some("c1"));
        assert_eq!(def.disks[1].incremental, None);
        assert_eq!(def.disks[1].format, "raw");
        assert!(!def.disks[2].backup);
        assert!(def.to_xml().contains("incremental='c1'"));
    }

    #[test]
    fn hostile_targets_are_refused() {
        for t in ["rel/path", "/a/../etc/x", "/a\nb"] {
            let xml = format!(
                "<domainbackup><disks><disk name='vda'><target file='{}'/></disk></disks></domainbackup>",
                t.replace('\n', "&#10;")
            );
            assert!(parse(&xml).is_err(), "{t:?}");
        }
    }
}
