//! A network interface's capability: MAC address, link state and speed from
//! sysfs, offload features through the ethtool ioctl (as libvirt reads them).

use std::os::fd::{AsRawFd, OwnedFd};

use super::model::NetCap;
use super::sysfs::RawDevice;

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GRXCSUM: u32 = 0x14;
const ETHTOOL_GTXCSUM: u32 = 0x16;
const ETHTOOL_GSG: u32 = 0x18;
const ETHTOOL_GTSO: u32 = 0x1e;
const ETHTOOL_GGSO: u32 = 0x23;
const ETHTOOL_GGRO: u32 = 0x2b;
const ETHTOOL_GFLAGS: u32 = 0x25;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

pub fn read(dev: &RawDevice) -> Option<NetCap> {
    let ifname = dev.prop("INTERFACE")?.to_string();
    let address = dev.attr("address");
    let (state, speed) = link_info(dev);
    let subtype = if dev.devtype() == Some("wlan") {
        "80211"
    } else {
        "80203"
    };
    Some(NetCap {
        features: features(&ifname),
        ifname,
        address,
        speed,
        state,
        subtype,
    })
}

/// A link's operational state and speed in Mbit/s, as libvirt's
/// `virNetDevGetLinkInfo` reads them: the speed of links that are up only
/// (an unknown speed, -1, reads as 4294967295, as in libvirt 9.0).
pub(crate) fn link_info(dev: &RawDevice) -> (Option<String>, Option<u32>) {
    let state = dev.attr("operstate");
    let speed = if state.as_deref() == Some("up") {
        dev.attr("speed")
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map(|s| s as u32)
    } else {
        None
    };
    (state, speed)
}

/// The offloads libvirt reports, in its order (`rx`, `tx`, `sg`, `tso`, `gso`,
/// `gro`, `lro`, `rxvlan`, `txvlan`, `ntuple`, `rxhash`).
fn features(ifname: &str) -> Vec<&'static str> {
    let Some(sock) = EthtoolSocket::open() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (cmd, name) in [
        (ETHTOOL_GRXCSUM, "rx"),
        (ETHTOOL_GTXCSUM, "tx"),
        (ETHTOOL_GSG, "sg"),
        (ETHTOOL_GTSO, "tso"),
        (ETHTOOL_GGSO, "gso"),
        (ETHTOOL_GGRO, "gro"),
    ] {
        if sock.get(ifname, cmd).is_some_and(|v| v != 0) {
            out.push(name);
        }
    }
    let flags = sock.get(ifname, ETHTOOL_GFLAGS);
    if let Some(flags) = flags {
        for (bit, name) in [
            (1 << 15, "lro"),
            (1 << 8, "rxvlan"),
            (1 << 7, "txvlan"),
            (1 << 27, "ntuple"),
            (1 << 28, "rxhash"),
        ] {
            if flags & bit != 0 {
                out.push(name);
            }
        }
    }
    if sock.udp_tunnel_offload(ifname) {
        out.push("txudptnl");
    }
    out
}

struct EthtoolSocket(OwnedFd);

impl EthtoolSocket {
    fn open() -> Option<EthtoolSocket> {
        use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
        socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .ok()
        .map(EthtoolSocket)
    }

    fn get(&self, ifname: &str, cmd: u32) -> Option<u32> {
        let mut value = EthtoolValue { cmd, data: 0 };
        self.ioctl(ifname, (&mut value as *mut EthtoolValue).cast())
            .then_some(value.data)
    }

    /// `SIOCETHTOOL` on `ifname` with `data`, a command buffer sized for its command.
    fn ioctl(&self, ifname: &str, data: *mut libc::c_void) -> bool {
        let bytes = ifname.as_bytes();
        if bytes.len() >= libc::IFNAMSIZ {
            return false;
        }
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            data,
            _pad: [0; 16],
        };
        for (dst, src) in req.name.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        // SAFETY: req is a valid ifreq whose data points to a command buffer that
        // outlives the call and is as large as its command says; the kernel
        // writes only within it.
        unsafe { libc::ioctl(self.0.as_raw_fd(), SIOCETHTOOL as _, &mut req) == 0 }
    }
}

impl EthtoolSocket {
    /// Whether feature bit 25 is active in `ETHTOOL_GFEATURES`: the bit libvirt
    /// 9.0 reads as UDP tunnel segmentation (`txudptnl`).
    fn udp_tunnel_offload(&self, ifname: &str) -> bool {
        const ETHTOOL_GFEATURES: u32 = 0x3a;
        const BLOCKS: u32 = 2;
        const TX_UDP_TNL: u32 = 25;
        // cmd, size, then BLOCKS x {available, requested, active, never_changed}.
        let mut buf = [0u32; 2 + 4 * BLOCKS as usize];
        buf[0] = ETHTOOL_GFEATURES;
        buf[1] = BLOCKS;
        if !self.ioctl(ifname, buf.as_mut_ptr().cast()) {
            return false;
        }
        let active = buf[2 + 4 * (TX_UDP_TNL / 32) as usize + 2];
        active & (1 << (TX_UDP_TNL % 32)) != 0
    }
}
