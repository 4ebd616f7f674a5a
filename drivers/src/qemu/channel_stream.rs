//! `virDomainOpenChannel`: a stream to a guest's `<channel type='unix'>`. The
//! driver connects to the channel's socket (QEMU listens on it) and relays it
//! to the daemon's socket; one stream per channel, which `FORCE` takes over.

use std::collections::HashMap;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use super::console::relay_device;
use super::error::QemuError;
use super::lifecycle::not_running;
use super::Inner;
use crate::api::{DomainRef, DriverResult};
use crate::domain_list::lock_unpoisoned;
use crate::domain_xml::Element;

/// `VIR_DOMAIN_CHANNEL_FORCE`: end an existing stream of the channel.
pub const CHANNEL_FORCE: u32 = 1;

/// A channel stream in progress: both ends, to end it on a takeover.
struct OpenStream {
    id: u64,
    guest: UnixStream,
    client: UnixStream,
}

/// Streams in progress by channel socket path (unique per domain).
static OPEN: LazyLock<Mutex<HashMap<PathBuf, OpenStream>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Inner {
    /// A socket carrying the bytes of the channel `name` (its alias, such as
    /// `channel0`, or its virtio port name; none = the first channel).
    pub(super) fn open_channel(
        &self,
        dom: &DomainRef,
        name: Option<&str>,
        flags: u32,
    ) -> DriverResult<UnixStream> {
        let path = {
            let st = self.lock();
            let obj = st.get(dom)?;
            if obj.run.is_none() {
                return Err(not_running());
            }
            channel_socket(&obj.def.devices, name)?
        };
        let mut open = lock_unpoisoned(&OPEN);
        if let Some(old) = open.get(&path) {
            if flags & CHANNEL_FORCE == 0 {
                return Err(QemuError::Failed(
                    "Active channel stream exists for this domain".into(),
                )
                .into());
            }
            let _ = old.guest.shutdown(Shutdown::Both);
            let _ = old.client.shutdown(Shutdown::Both);
            open.remove(&path);
        }
        let guest = UnixStream::connect(&path)
            .map_err(|e| QemuError::io("cannot connect to channel socket", &path, e))?;
        let (ours, theirs) = UnixStream::pair()
            .map_err(|e| QemuError::Failed(format!("cannot make a socket pair: {e}")))?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let failed =
            |e: std::io::Error| QemuError::Failed(format!("cannot relay the channel: {e}"));
        let entry = OpenStream {
            id,
            guest: guest.try_clone().map_err(failed)?,
            client: ours.try_clone().map_err(failed)?,
        };
        let guest_in = guest.try_clone().map_err(failed)?;
        let guest_end = guest.try_clone().map_err(failed)?;
        let key = path.clone();
        relay_device(guest, guest_in, ours, move || {
            // The client ended its stream: QEMU sees the channel close.
            let _ = guest_end.shutdown(Shutdown::Both);
            let mut open = lock_unpoisoned(&OPEN);
            if open.get(&key).is_some_and(|s| s.id == id) {
                open.remove(&key);
            }
        })
        .map_err(failed)?;
        open.insert(path, entry);
        Ok(theirs)
    }
}

/// The socket of the channel `name` among a live definition's devices, with
/// libvirt's errors.
fn channel_socket(devices: &[Element], name: Option<&str>) -> Result<PathBuf, QemuError> {
    let channels = devices.iter().filter(|d| d.name == "channel");
    let found = channels.enumerate().find(|(index, channel)| match name {
        None => true,
        Some(name) => {
            alias(channel, *index) == name
                || (channel
                    .child("target")
                    .is_none_or(|t| t.attr("type").unwrap_or("virtio") == "virtio")
                    && channel.child("target").and_then(|t| t.attr("name")) == Some(name))
        }
    });
    let Some((index, channel)) = found else {
        return Err(QemuError::Monitor(format!(
            "cannot find channel {}",
            name.unwrap_or("(null)")
        )));
    };
    let path = channel.child("source").and_then(|s| s.attr("path"));
    match (channel.attr("type"), path) {
        (Some("unix"), Some(path)) => Ok(PathBuf::from(path)),
        _ => Err(QemuError::Monitor(format!(
            "channel {} is not using a UNIX socket",
            alias(channel, index)
        ))),
    }
}

/// The device alias libvirt gives the channel (`<alias name=.../>` or `channelN`).
fn alias(channel: &Element, index: usize) -> String {
    channel
        .child("alias")
        .and_then(|a| a.attr("name"))
        .map_or_else(|| format!("channel{index}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kind: &str, port: &str, path: Option<&str>) -> Element {
        let mut c = Element::new("channel").with_attr("type", kind);
        if let Some(path) = path {
            c.children
                .push(Element::new("source").with_attr("path", path));
        }
        c.children.push(
            Element::new("target")
                .with_attr("type", "virtio")
                .with_attr("name", port),
        );
        c
    }

    #[test]
    fn channels_are_found_by_alias_or_port_name() {
        let devices = vec![
            Element::new("serial"),
            channel("pty", "org.example.pty", None),
            channel("unix", "org.example.echo", Some("/run/echo")),
        ];
        assert_eq!(
            channel_socket(&devices, Some("channel1")).expect("alias"),
            PathBuf::from("/run/echo")
        );
        assert_eq!(
            channel_socket(&devices, Some("org.example.echo")).expect("port"),
            PathBuf::from("/run/echo")
        );
        let missing = channel_socket(&devices, Some("nope")).expect_err("missing");
        assert_eq!(
            missing.to_string(),
            "internal error: cannot find channel nope"
        );
        let pty = channel_socket(&devices, None).expect_err("first is a pty");
        assert_eq!(
            pty.to_string(),
            "internal error: channel channel0 is not using a UNIX socket"
        );
    }
}
