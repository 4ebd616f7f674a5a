//! The host UUID shown in `<host><uuid>`, chosen by libvirtd.conf's `host_uuid_source`:
//! the SMBIOS system UUID ("smbios", the default) or /etc/machine-id ("machine-id").
//! Without usable SMBIOS data libvirt makes up a random UUID for the daemon's lifetime.

use std::path::Path;

use uuid::Uuid;

use super::sysfs::{read_optional, HostRoots};

/// Where the host UUID comes from (`host_uuid_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostUuidSource {
    Smbios,
    MachineId,
}

/// libvirt's validity rule: a UUID whose 16 bytes are all equal (all zeros, all 0xff...)
/// is a placeholder, not an identity, and is not shown.
pub fn uuid_is_valid(uuid: &Uuid) -> bool {
    let bytes = uuid.as_bytes();
    bytes.iter().any(|&b| b != bytes[0])
}

/// The SMBIOS system UUID, if the firmware provides one.
pub fn host_uuid_from_smbios() -> Option<Uuid> {
    smbios_uuid_at(&HostRoots::default())
}

pub(crate) fn smbios_uuid_at(roots: &HostRoots) -> Option<Uuid> {
    [
        "devices/virtual/dmi/id/product_uuid",
        "class/dmi/id/product_uuid",
    ]
    .iter()
    .find_map(|rel| read_optional(&roots.sysfs.join(rel)).ok().flatten())
    .and_then(|text| Uuid::parse_str(text.trim()).ok())
}

/// The UUID spelled by a machine-id file (32 hex digits).
pub fn host_uuid_from_machine_id(path: &Path) -> Option<Uuid> {
    let text = read_optional(path).ok().flatten()?;
    Uuid::parse_str(text.trim()).ok().filter(uuid_is_valid)
}

/// The host UUID for `source`, falling back to a random one like libvirtd does.
pub fn default_host_uuid(source: HostUuidSource) -> Uuid {
    let found = match source {
        HostUuidSource::Smbios => host_uuid_from_smbios(),
        HostUuidSource::MachineId => host_uuid_from_machine_id(Path::new("/etc/machine-id")),
    };
    found.unwrap_or_else(Uuid::new_v4)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::FakeHost;
    use super::*;

    #[test]
    fn validity_rejects_uniform_bytes() {
        assert!(!uuid_is_valid(&Uuid::nil()));
        assert!(!uuid_is_valid(&Uuid::from_bytes([0xff; 16])));
        assert!(uuid_is_valid(
            &Uuid::parse_str("2a5bdcbd-4a96-4445-beda-23c3d8c46233").expect("uuid")
        ));
    }

    #[test]
    fn smbios_and_machine_id_sources() {
        let host = FakeHost::new();
        assert_eq!(smbios_uuid_at(&host.roots), None);
        host.write(
            "sys/class/dmi/id/product_uuid",
            "2A5BDCBD-4A96-4445-BEDA-23C3D8C46233\n",
        );
        assert_eq!(
            smbios_uuid_at(&host.roots).map(|u| u.to_string()),
            Some("2a5bdcbd-4a96-4445-beda-23c3d8c46233".to_string())
        );
        host.write("etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
        assert_eq!(
            host_uuid_from_machine_id(&host.path("etc/machine-id")).map(|u| u.to_string()),
            Some("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4".to_string())
        );
        host.write("etc/machine-id", "not a uuid\n");
        assert_eq!(
            host_uuid_from_machine_id(&host.path("etc/machine-id")),
            None
        );
    }

    #[test]
    fn fallback_is_always_valid() {
        assert!(uuid_is_valid(&default_host_uuid(HostUuidSource::Smbios)));
    }
}
