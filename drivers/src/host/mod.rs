//! Facts about the machine the daemon runs on, as libvirt's QEMU driver reports them:
//! node info (`virsh nodeinfo`), the capabilities document, SMBIOS sysinfo and the host
//! name.
//!
//! Everything is read from /proc, /sys and the KVM device of the running host; nothing
//! here talks to libvirt. QEMU binaries are started only to learn their machine types,
//! once per binary, and the answers are cached.

mod arch;
mod cache_banks;
mod caps_guests;
mod caps_xml;
mod cpuinfo;
mod emulators;
mod host_cpu;
mod host_uuid;
mod hostname;
mod kvm;
mod machines;
mod node_stats;
mod nodeinfo;
mod numa;
mod sysfs;
mod sysinfo;
mod xml_text;

#[cfg(test)]
mod caps_tests;
#[cfg(test)]
mod fixtures;

pub use caps_xml::{capabilities_xml, CapsOptions, CapsSecModel};
pub use host_uuid::{
    default_host_uuid, host_uuid_from_machine_id, host_uuid_from_smbios, uuid_is_valid,
    HostUuidSource,
};
pub use hostname::hostname;
pub use kvm::kvm_max_vcpus;
pub use node_stats::{node_cpu_stats, node_memory_stats};
pub use nodeinfo::{node_info, HostNodeInfo};
pub use sysinfo::{sysinfo_xml, HostError};
