//! Node device events from the kernel's uevents (a `NETLINK_KOBJECT_UEVENT`
//! socket, the stream udev itself reads): after each burst of uevents the host's
//! devices are listed again and compared with the previous list, giving
//! `created` and `deleted` lifecycle events; a `change` uevent of a known device
//! gives an `update` event, as libvirt's udev backend reports them. Network
//! devices' uevents reach the network namespace that owns them, so a daemon in
//! a namespace (with that namespace's sysfs mounted) sees its own interfaces.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, recv, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

use super::NodeDevices;
use crate::api::{nodedev_event, NodeDeviceEvent, NodeDeviceEventKind, NodeDeviceEventSink};

/// How long a burst of uevents (an interface comes with its queues) may go
/// quiet before the devices are listed again.
const SETTLE: Duration = Duration::from_millis(100);

/// One uevent's action and device path (`/devices/...`).
#[derive(Debug, PartialEq, Eq)]
struct Uevent {
    action: String,
    devpath: String,
}

/// Parses a kernel uevent (`action@devpath\0KEY=value\0...`); udevd's
/// re-broadcasts (`libudev` header) are not on the kernel group.
fn parse(message: &[u8]) -> Option<Uevent> {
    let mut fields = message.split(|b| *b == 0);
    let head = std::str::from_utf8(fields.next()?).ok()?;
    let (action, _) = head.split_once('@')?;
    let devpath = fields
        .filter_map(|f| std::str::from_utf8(f).ok())
        .find_map(|f| f.strip_prefix("DEVPATH="))?;
    Some(Uevent {
        action: action.to_string(),
        devpath: devpath.to_string(),
    })
}

fn open_socket() -> nix::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkKObjectUEvent,
    )?;
    // Group 1: the kernel's own uevents.
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1))?;
    Ok(fd)
}

/// Waits up to `timeout` for a message; `None` on timeout or error.
fn receive(fd: &OwnedFd, buf: &mut [u8], timeout: Duration) -> Option<usize> {
    let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(n) if n > 0 => recv(fd.as_raw_fd(), buf, MsgFlags::empty()).ok(),
        _ => None,
    }
}

/// The devices by name with their sysfs paths.
fn snapshot(devices: &NodeDevices) -> BTreeMap<String, Option<String>> {
    devices
        .devices()
        .into_iter()
        .map(|d| (d.name, d.path))
        .collect()
}

/// The events between two listings, and updates for devices whose `change`
/// uevents arrived in between.
fn differences(
    before: &BTreeMap<String, Option<String>>,
    after: &BTreeMap<String, Option<String>>,
    changed: &[String],
) -> Vec<NodeDeviceEvent> {
    let lifecycle = |name: &String, event| NodeDeviceEvent {
        name: name.clone(),
        kind: NodeDeviceEventKind::Lifecycle { event, detail: 0 },
    };
    let mut events: Vec<NodeDeviceEvent> = before
        .keys()
        .filter(|n| !after.contains_key(*n))
        .map(|n| lifecycle(n, nodedev_event::DELETED))
        .collect();
    events.extend(
        after
            .keys()
            .filter(|n| !before.contains_key(*n))
            .map(|n| lifecycle(n, nodedev_event::CREATED)),
    );
    for (name, path) in after {
        let is_changed = path.as_deref().is_some_and(|p| {
            changed
                .iter()
                .any(|c| p.strip_prefix("/sys").is_some_and(|rest| rest == c))
        });
        if is_changed && before.contains_key(name) {
            events.push(NodeDeviceEvent {
                name: name.clone(),
                kind: NodeDeviceEventKind::Update,
            });
        }
    }
    events
}

impl NodeDevices {
    /// Starts the thread that turns uevents into events for `sink`. Without a
    /// uevent socket (no permission, no netlink) the driver works on without
    /// events; the error is returned for logging.
    pub fn watch(&self, sink: NodeDeviceEventSink) -> std::io::Result<()> {
        let fd = open_socket().map_err(std::io::Error::from)?;
        let devices = self.clone();
        std::thread::Builder::new()
            .name("nodedev-uevents".into())
            .spawn(move || {
                let mut known = snapshot(&devices);
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                        Ok(n) => n,
                        Err(nix::errno::Errno::EINTR | nix::errno::Errno::ENOBUFS) => continue,
                        Err(e) => {
                            tracing::warn!("node device uevents stopped: {e}");
                            return;
                        }
                    };
                    let mut changed = Vec::new();
                    let mut note = |len: usize, buf: &[u8]| {
                        if let Some(ev) = parse(&buf[..len]) {
                            if ev.action == "change" {
                                changed.push(ev.devpath);
                            }
                        }
                    };
                    note(n, &buf);
                    while let Some(n) = receive(&fd, &mut buf, SETTLE) {
                        note(n, &buf);
                    }
                    let now = snapshot(&devices);
                    for event in differences(&known, &now, &changed) {
                        sink(event);
                    }
                    known = now;
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_uevents() {
        let msg = b"add@/devices/virtual/net/v0\0ACTION=add\0DEVPATH=/devices/virtual/net/v0\0SUBSYSTEM=net\0";
        assert_eq!(
            parse(msg),
            Some(Uevent {
                action: "add".into(),
                devpath: "/devices/virtual/net/v0".into()
            })
        );
        assert_eq!(parse(b"libudev\0\xfe\xed"), None);
    }

    #[test]
    fn listings_give_created_deleted_and_updated() {
        let before: BTreeMap<String, Option<String>> = [
            ("computer".to_string(), None),
            (
                "net_a".to_string(),
                Some("/sys/devices/virtual/net/a".to_string()),
            ),
            (
                "net_b".to_string(),
                Some("/sys/devices/virtual/net/b".to_string()),
            ),
        ]
        .into();
        let mut after = before.clone();
        after.remove("net_b");
        after.insert("net_c".into(), Some("/sys/devices/virtual/net/c".into()));
        let events = differences(&before, &after, &["/devices/virtual/net/a".to_string()]);
        let shown: Vec<(String, NodeDeviceEventKind)> =
            events.into_iter().map(|e| (e.name, e.kind)).collect();
        assert_eq!(
            shown,
            [
                (
                    "net_b".to_string(),
                    NodeDeviceEventKind::Lifecycle {
                        event: 1,
                        detail: 0
                    }
                ),
                (
                    "net_c".to_string(),
                    NodeDeviceEventKind::Lifecycle {
                        event: 0,
                        detail: 0
                    }
                ),
                ("net_a".to_string(), NodeDeviceEventKind::Update),
            ]
        );
    }
}
