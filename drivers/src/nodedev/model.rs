//! What the driver knows of one host device, in the terms of libvirt's node
//! device XML.

/// A PCI address as the `<address>` elements of SR-IOV and IOMMU lists show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PciAddr {
    pub domain: u32,
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

impl PciAddr {
    /// Parses `0000:00:03.0`.
    pub fn parse(text: &str) -> Option<PciAddr> {
        let (domain, rest) = text.split_once(':')?;
        let (bus, rest) = rest.split_once(':')?;
        let (slot, function) = rest.split_once('.')?;
        Some(PciAddr {
            domain: u32::from_str_radix(domain, 16).ok()?,
            bus: u32::from_str_radix(bus, 16).ok()?,
            slot: u32::from_str_radix(slot, 16).ok()?,
            function: u32::from_str_radix(function, 16).ok()?,
        })
    }
}

/// One PCIe link (`<link validity='cap|sta' .../>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcieLink {
    pub port: Option<u32>,
    /// Speed code of the link registers (1 = 2.5 GT/s, 2 = 5, ...).
    pub speed: u32,
    pub width: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemCap {
    pub product: Option<String>,
    pub hw_vendor: Option<String>,
    pub hw_version: Option<String>,
    pub hw_serial: Option<String>,
    pub hw_uuid: String,
    pub fw_vendor: Option<String>,
    pub fw_version: Option<String>,
    pub fw_date: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciCap {
    pub class: u32,
    pub addr: PciAddr,
    pub product: u32,
    pub product_name: Option<String>,
    pub vendor: u32,
    pub vendor_name: Option<String>,
    pub phys_function: Option<PciAddr>,
    /// `sriov_totalvfs` and the virtual functions, when the device has SR-IOV.
    pub virt_functions: Option<(u32, Vec<PciAddr>)>,
    pub iommu_group: Option<(u32, Vec<PciAddr>)>,
    pub numa_node: Option<i32>,
    /// `Some` for a PCI Express device: its link capability and status when it has a link.
    pub pcie: Option<Option<(PcieLink, PcieLink)>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbDevCap {
    pub bus: u32,
    pub device: u32,
    pub product: u32,
    pub product_name: Option<String>,
    pub vendor: u32,
    pub vendor_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbInterfaceCap {
    pub number: u32,
    pub class: u32,
    pub subclass: u32,
    pub protocol: u32,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetCap {
    pub ifname: String,
    pub address: Option<String>,
    pub speed: Option<u32>,
    pub state: Option<String>,
    pub features: Vec<&'static str>,
    /// `80203` (ethernet) or `80211` (wlan).
    pub subtype: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScsiHostCap {
    pub host: u32,
    pub unique_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScsiCap {
    pub host: u32,
    pub bus: u32,
    pub target: u32,
    pub lun: u32,
    pub kind: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageCap {
    pub block: String,
    pub bus: Option<String>,
    pub drive_type: String,
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub serial: Option<String>,
    pub size: u64,
    pub logical_block_size: u64,
    pub num_blocks: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cap {
    System(SystemCap),
    Pci(PciCap),
    UsbDev(UsbDevCap),
    UsbInterface(UsbInterfaceCap),
    Net(NetCap),
    ScsiHost(ScsiHostCap),
    ScsiTarget(String),
    Scsi(ScsiCap),
    Storage(StorageCap),
}

impl Cap {
    /// The capability's name in XML, `--cap` filters and `virNodeDeviceListCaps`.
    pub fn name(&self) -> &'static str {
        match self {
            Cap::System(_) => "system",
            Cap::Pci(_) => "pci",
            Cap::UsbDev(_) => "usb_device",
            Cap::UsbInterface(_) => "usb",
            Cap::Net(_) => "net",
            Cap::ScsiHost(_) => "scsi_host",
            Cap::ScsiTarget(_) => "scsi_target",
            Cap::Scsi(_) => "scsi",
            Cap::Storage(_) => "storage",
        }
    }

    /// The `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*` bit.
    pub fn flag(&self) -> u32 {
        use crate::api::nodedev_list_flags as f;
        match self {
            Cap::System(_) => f::SYSTEM,
            Cap::Pci(_) => f::PCI_DEV,
            Cap::UsbDev(_) => f::USB_DEV,
            Cap::UsbInterface(_) => f::USB_INTERFACE,
            Cap::Net(_) => f::NET,
            Cap::ScsiHost(_) => f::SCSI_HOST,
            Cap::ScsiTarget(_) => f::SCSI_TARGET,
            Cap::Scsi(_) => f::SCSI,
            Cap::Storage(_) => f::STORAGE,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    pub path: Option<String>,
    pub devnode: Option<String>,
    pub links: Vec<String>,
    pub parent: Option<String>,
    pub driver: Option<String>,
    pub cap: Cap,
}
