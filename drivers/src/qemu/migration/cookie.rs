//! The migration cookie: the `<qemu-migration>` XML document the phases exchange,
//! naming the guest and the host that wrote it and, when the definition moves with
//! the guest (`--persistent`), carrying that definition.

use super::super::error::QemuError;
use crate::api::Uuid;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cookie {
    pub name: String,
    pub uuid: Option<Uuid>,
    pub hostname: String,
    /// The host UUID of the writer (libvirt's peers require it).
    pub hostuuid: Option<Uuid>,
    /// The inactive definition the destination makes persistent.
    pub persistent: Option<String>,
    /// `<nbd>`: the disks a storage migration copies, and the destination's port.
    pub nbd: Option<super::nbd::NbdCookie>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

impl Cookie {
    /// A cookie of this host about the guest `name`.
    pub fn about(name: &str, uuid: Uuid) -> Cookie {
        Cookie {
            name: name.to_string(),
            uuid: Some(uuid),
            hostname: crate::host::hostname(),
            hostuuid: Some(
                *crate::host::default_host_uuid(crate::host::HostUuidSource::Smbios).as_bytes(),
            ),
            persistent: None,
            nbd: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::from("<qemu-migration>\n");
        out.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        if let Some(uuid) = self.uuid {
            out.push_str(&format!(
                "  <uuid>{}</uuid>\n",
                uuid::Uuid::from_bytes(uuid).hyphenated()
            ));
        }
        out.push_str(&format!(
            "  <hostname>{}</hostname>\n",
            escape(&self.hostname)
        ));
        if let Some(uuid) = self.hostuuid {
            out.push_str(&format!(
                "  <hostuuid>{}</hostuuid>\n",
                uuid::Uuid::from_bytes(uuid).hyphenated()
            ));
        }
        if let Some(xml) = &self.persistent {
            out.push_str("  <persistent>\n");
            out.push_str(xml.trim_end());
            out.push_str("\n  </persistent>\n");
        }
        if let Some(nbd) = &self.nbd {
            nbd.write(&mut out);
        }
        out.push_str("</qemu-migration>\n");
        // libvirt's cookies end with a NUL, as C strings sent as opaque data.
        let mut bytes = out.into_bytes();
        bytes.push(0);
        bytes
    }

    /// Reads a cookie; an empty one (a client that sends none) gives the default.
    pub fn parse(bytes: &[u8]) -> Result<Cookie, QemuError> {
        let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        if bytes.is_empty() {
            return Ok(Cookie::default());
        }
        let bad = |why: String| QemuError::Failed(format!("invalid migration cookie: {why}"));
        let text = std::str::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
        let doc = roxmltree::Document::parse(text).map_err(|e| bad(e.to_string()))?;
        let root = doc.root_element();
        if root.tag_name().name() != "qemu-migration" {
            return Err(bad("root element is not qemu-migration".into()));
        }
        let mut cookie = Cookie::default();
        for child in root.children().filter(|n| n.is_element()) {
            let value = child.text().unwrap_or("").trim().to_string();
            match child.tag_name().name() {
                "name" => cookie.name = value,
                "uuid" => {
                    cookie.uuid = Some(
                        *uuid::Uuid::parse_str(&value)
                            .map_err(|e| bad(e.to_string()))?
                            .as_bytes(),
                    )
                }
                "hostname" => cookie.hostname = value,
                "hostuuid" => {
                    cookie.hostuuid = Some(
                        *uuid::Uuid::parse_str(&value)
                            .map_err(|e| bad(e.to_string()))?
                            .as_bytes(),
                    )
                }
                "persistent" => {
                    if let Some(domain) = child.children().find(|n| n.has_tag_name("domain")) {
                        cookie.persistent = Some(text[domain.range()].to_string());
                    }
                }
                "nbd" => cookie.nbd = Some(super::nbd::NbdCookie::read(child).map_err(bad)?),
                _ => {}
            }
        }
        Ok(cookie)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cookie = Cookie {
            name: "g<1>".into(),
            uuid: Some([3; 16]),
            hostname: "h".into(),
            hostuuid: Some([4; 16]),
            persistent: Some("<domain type='qemu'><name>g</name></domain>".into()),
            nbd: Some(super::super::nbd::NbdCookie {
                port: Some(5),
                disks: vec![("vda".into(), 1 << 20)],
            }),
        };
        assert_eq!(Cookie::parse(&cookie.to_bytes()).unwrap(), cookie);
        assert_eq!(Cookie::parse(b"").unwrap(), Cookie::default());
        assert!(Cookie::parse(b"<other/>").is_err());
    }
}
