//! `virConnectGetSysinfo`: the host's SMBIOS data as `<sysinfo type='smbios'>`.
//!
//! libvirt runs `dmidecode`; we read the same tables' strings from the kernel's
//! `/sys/class/dmi/id` instead, which covers the BIOS, system, base board and chassis
//! sections. Processor and memory-device entries exist only in the raw tables and are not
//! reported. Strings the firmware left unset are shown as "Not Specified", the text
//! dmidecode prints for them; the system UUID is upper-cased like dmidecode's.

use std::fmt::Write as _;
use std::path::Path;

use super::sysfs::{read_optional, HostRoots};
use super::xml_text::escape;
use crate::api::{codes, DriverError};

/// Errors of the sysinfo query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The host exposes no SMBIOS/DMI data (containers, many virtual and ARM machines).
    #[error("Host SMBIOS information is not available")]
    SmbiosUnavailable,
}

impl HostError {
    /// The libvirt error number a client sees (`VIR_ERR_CONFIG_UNSUPPORTED`).
    pub fn code(&self) -> i32 {
        codes::CONFIG_UNSUPPORTED
    }

    /// The error as a driver reports it, raised from error domain `domain`.
    pub fn to_driver_error(&self, domain: i32) -> DriverError {
        DriverError::new(self.code(), domain, self.to_string())
    }
}

/// (section element, [(entry name, sysfs file)]) in libvirt's output order.
const SECTIONS: &[(&str, &[(&str, &str)])] = &[
    (
        "bios",
        &[
            ("vendor", "bios_vendor"),
            ("version", "bios_version"),
            ("date", "bios_date"),
            ("release", "bios_release"),
        ],
    ),
    (
        "system",
        &[
            ("manufacturer", "sys_vendor"),
            ("product", "product_name"),
            ("version", "product_version"),
            ("serial", "product_serial"),
            ("uuid", "product_uuid"),
            ("sku", "product_sku"),
            ("family", "product_family"),
        ],
    ),
    (
        "baseBoard",
        &[
            ("manufacturer", "board_vendor"),
            ("product", "board_name"),
            ("version", "board_version"),
            ("serial", "board_serial"),
            ("asset", "board_asset_tag"),
        ],
    ),
    (
        "chassis",
        &[
            ("manufacturer", "chassis_vendor"),
            ("version", "chassis_version"),
            ("serial", "chassis_serial"),
            ("asset", "chassis_asset_tag"),
        ],
    ),
];

/// Value of one DMI attribute; unreadable files (serials are root-only) count as absent.
fn dmi_value(dir: &Path, file: &str) -> Option<String> {
    let value = read_optional(&dir.join(file)).ok().flatten()?;
    Some(match (file, value.is_empty()) {
        (_, true) => "Not Specified".to_string(),
        ("product_uuid", false) => value.to_ascii_uppercase(),
        _ => value,
    })
}

/// The host's sysinfo document.
pub fn sysinfo_xml() -> Result<String, HostError> {
    sysinfo_xml_at(&HostRoots::default())
}

pub(crate) fn sysinfo_xml_at(roots: &HostRoots) -> Result<String, HostError> {
    let dir = roots.sysfs.join("class/dmi/id");
    let mut body = String::new();
    for (section, fields) in SECTIONS {
        let entries: Vec<(&str, String)> = fields
            .iter()
            .filter_map(|(name, file)| dmi_value(&dir, file).map(|v| (*name, v)))
            .collect();
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(body, "  <{section}>");
        for (name, value) in entries {
            let _ = writeln!(body, "    <entry name='{name}'>{}</entry>", escape(&value));
        }
        let _ = writeln!(body, "  </{section}>");
    }
    if body.is_empty() {
        return Err(HostError::SmbiosUnavailable);
    }
    Ok(format!("<sysinfo type='smbios'>\n{body}</sysinfo>\n"))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::FakeHost;
    use super::*;

    #[test]
    fn no_dmi_is_config_unsupported() {
        let host = FakeHost::new();
        let err = sysinfo_xml_at(&host.roots).expect_err("no DMI in an empty tree");
        assert_eq!(err, HostError::SmbiosUnavailable);
        let driver_err = err.to_driver_error(10);
        assert_eq!((driver_err.code, driver_err.domain), (67, 10));
        assert_eq!(
            driver_err.message,
            "unsupported configuration: Host SMBIOS information is not available"
        );
    }

    #[test]
    fn sections_from_dmi_attributes() {
        let host = FakeHost::new();
        let dmi = "sys/class/dmi/id";
        host.write(&format!("{dmi}/bios_vendor"), "SeaBIOS\n");
        host.write(&format!("{dmi}/bios_date"), "04/01/2014\n");
        host.write(&format!("{dmi}/sys_vendor"), "QEMU & Co\n");
        host.write(&format!("{dmi}/product_version"), "\n");
        host.write(
            &format!("{dmi}/product_uuid"),
            "2a5bdcbd-4a96-4445-beda-23c3d8c46233\n",
        );
        host.write(&format!("{dmi}/chassis_vendor"), "QEMU\n");
        let xml = sysinfo_xml_at(&host.roots).expect("sysinfo");
        assert_eq!(
            xml,
            "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>SeaBIOS</entry>\n\
             \x20   <entry name='date'>04/01/2014</entry>\n  </bios>\n  <system>\n\
             \x20   <entry name='manufacturer'>QEMU &amp; Co</entry>\n\
             \x20   <entry name='version'>Not Specified</entry>\n\
             \x20   <entry name='uuid'>2A5BDCBD-4A96-4445-BEDA-23C3D8C46233</entry>\n\
             \x20 </system>\n  <chassis>\n    <entry name='manufacturer'>QEMU</entry>\n\
             \x20 </chassis>\n</sysinfo>\n"
        );
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        assert_eq!(doc.root_element().attribute("type"), Some("smbios"));
    }

    #[test]
    fn real_host_agrees_with_sysfs() {
        let has_dmi = Path::new("/sys/class/dmi/id").is_dir();
        match sysinfo_xml() {
            Ok(xml) => {
                assert!(has_dmi);
                assert!(roxmltree::Document::parse(&xml).is_ok());
            }
            Err(err) => {
                assert_eq!(err, HostError::SmbiosUnavailable);
                assert!(!has_dmi || std::fs::read_dir("/sys/class/dmi/id").is_ok());
            }
        }
    }
}
