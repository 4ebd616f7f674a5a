//! `virsh console` of a qemu guest: the daemon relays a unix socket; this side
//! finds the pty qemu made for the serial port (`query-chardev`), opens it and
//! copies bytes between it and the socket in two threads.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;

use super::error::QemuError;
use super::Inner;
use crate::api::{DomainRef, DriverResult};

impl Inner {
    /// A socket carrying the bytes of the guest's serial console `dev_name`
    /// (`serialN`, `console0`; none = the first serial port).
    pub(super) fn open_console(
        &self,
        dom: &DomainRef,
        dev_name: Option<&str>,
    ) -> DriverResult<UnixStream> {
        let label = chardev_label(dev_name)?;
        let (monitor, _, _) = self.running_parts(dom)?;
        let chardevs = monitor
            .execute("query-chardev", None)
            .map_err(QemuError::from)?;
        let pty = chardevs
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c.get("label").and_then(|l| l.as_str()) == Some(label.as_str()))
            .and_then(|c| c.get("filename").and_then(|f| f.as_str()))
            .and_then(|f| f.strip_prefix("pty:"))
            .map(str::to_string)
            .ok_or_else(|| {
                QemuError::Unsupported(format!(
                    "the guest has no console on a pty (character device '{label}')"
                ))
            })?;
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(&pty)
            .map_err(|e| QemuError::io("cannot open console", std::path::Path::new(&pty), e))?;
        let (ours, theirs) = UnixStream::pair()
            .map_err(|e| QemuError::Failed(format!("cannot make a socket pair: {e}")))?;
        relay(tty, ours)
            .map_err(|e| QemuError::Failed(format!("cannot relay the console: {e}")))?;
        Ok(theirs)
    }
}

/// The qemu character device behind a libvirt console name.
fn chardev_label(dev_name: Option<&str>) -> Result<String, QemuError> {
    match dev_name {
        None | Some("") | Some("console0") => Ok("charserial0".to_string()),
        Some(name) => match name
            .strip_prefix("serial")
            .and_then(|n| n.parse::<u32>().ok())
        {
            Some(index) => Ok(format!("charserial{index}")),
            None => Err(QemuError::Unsupported(format!(
                "cannot find character device {name}"
            ))),
        },
    }
}

/// Two copying threads between a character device (`dev` and its clone
/// `dev_in`) and the daemon's socket; each ends when its source or destination
/// closes (a pty at the latest when qemu exits). `on_end` runs once the way
/// from the daemon to the device has ended (the client closed its stream).
pub(super) fn relay_device<D: Read + Write + Send + 'static>(
    dev: D,
    dev_in: D,
    socket: UnixStream,
    on_end: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    let socket_out = socket.try_clone()?;
    std::thread::Builder::new()
        .name("chardev-out".into())
        .spawn(move || {
            copy(dev, &socket_out);
            // The device closed (the guest quit): the client's stream ends too.
            let _ = socket_out.shutdown(std::net::Shutdown::Both);
        })?;
    std::thread::Builder::new()
        .name("chardev-in".into())
        .spawn(move || {
            copy(&socket, dev_in);
            on_end();
        })?;
    Ok(())
}

fn relay(tty: File, socket: UnixStream) -> std::io::Result<()> {
    let tty_in = tty.try_clone()?;
    relay_device(tty, tty_in, socket, || {})
}

fn copy(mut from: impl Read, mut to: impl Write) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_names_map_to_serial_chardevs() {
        assert_eq!(chardev_label(None).expect("default"), "charserial0");
        assert_eq!(
            chardev_label(Some("console0")).expect("console0"),
            "charserial0"
        );
        assert_eq!(
            chardev_label(Some("serial1")).expect("serial1"),
            "charserial1"
        );
        assert!(chardev_label(Some("parallel0")).is_err());
    }

    #[test]
    fn relay_copies_both_ways() {
        let (tty_side, far_tty) = UnixStream::pair().expect("pair");
        let file = File::from(std::os::fd::OwnedFd::from(tty_side));
        let (ours, mut theirs) = UnixStream::pair().expect("pair");
        relay(file, ours).expect("relay");
        let mut far_tty = far_tty;
        far_tty.write_all(b"out").expect("write tty");
        let mut got = [0u8; 3];
        theirs.read_exact(&mut got).expect("read socket");
        assert_eq!(&got, b"out");
        theirs.write_all(b"in!").expect("write socket");
        far_tty.read_exact(&mut got).expect("read tty");
        assert_eq!(&got, b"in!");
    }
}
