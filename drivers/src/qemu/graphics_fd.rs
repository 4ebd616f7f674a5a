//! Clients of the guest's display server that the daemon connects itself
//! (`virDomainOpenGraphics`, `virDomainOpenGraphicsFD`): QEMU takes one end
//! of a socket through the monitor (`getfd`, passed with SCM_RIGHTS) and
//! adopts it as a VNC or SPICE client (`add_client`).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use serde_json::json;

use super::error::QemuError;
use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult};

/// `VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH`: the display server skips its own
/// authentication for this client.
const SKIPAUTH: u32 = 1;

/// Numbers the names sockets go by in QEMU between `getfd` and
/// `add_client`, so that concurrent calls do not replace each other's.
static NEXT_FD_NAME: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Inner {
    pub(super) fn open_graphics_fd(
        &self,
        dom: &DomainRef,
        idx: u32,
        flags: u32,
    ) -> DriverResult<OwnedFd> {
        check_flags(flags, SKIPAUTH, "qemuDomainOpenGraphicsFD")?;
        let protocol = self.graphics_protocol(dom, idx)?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| {
            DriverError::new(
                codes::SYSTEM_ERROR,
                domains::QEMU,
                format!("Unable to create socket pair: {e}"),
            )
        })?;
        self.add_display_client(dom, protocol, theirs.into(), flags)?;
        Ok(ours.into())
    }

    pub(super) fn open_graphics(
        &self,
        dom: &DomainRef,
        idx: u32,
        fd: OwnedFd,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, SKIPAUTH, "qemuDomainOpenGraphics")?;
        let protocol = self.graphics_protocol(dom, idx)?;
        self.add_display_client(dom, protocol, fd, flags)
    }

    /// The display protocol of the running domain's graphics device `idx`.
    fn graphics_protocol(&self, dom: &DomainRef, idx: u32) -> DriverResult<&'static str> {
        let st = self.lock();
        let obj = st.get(dom)?;
        if !obj.is_active() {
            return Err(DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "domain is not running",
            ));
        }
        let graphics = obj
            .def
            .devices
            .iter()
            .filter(|d| d.name == "graphics")
            .nth(idx as usize)
            .ok_or_else(|| {
                DriverError::new(
                    codes::INTERNAL_ERROR,
                    domains::QEMU,
                    format!("No graphics backend with index {idx}"),
                )
            })?;
        match graphics.attr("type") {
            Some("vnc") => Ok("vnc"),
            Some("spice") => Ok("spice"),
            other => Err(DriverError::new(
                codes::CONFIG_UNSUPPORTED,
                domains::QEMU,
                format!(
                    "Can only open VNC or SPICE graphics backends, not {}",
                    other.unwrap_or("")
                ),
            )),
        }
    }

    /// Passes `fd` to QEMU and makes it a client of its `protocol` server.
    fn add_display_client(
        &self,
        dom: &DomainRef,
        protocol: &str,
        fd: OwnedFd,
        flags: u32,
    ) -> DriverResult<()> {
        let (monitor, _, _) = self.running_parts(dom)?;
        let n = NEXT_FD_NAME.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fd_name = format!("graphicsfd{n}");
        monitor
            .execute_with_fd("getfd", Some(json!({ "fdname": fd_name })), fd.as_fd())
            .map_err(QemuError::from)?;
        // QEMU holds its own copy now.
        drop(fd);
        let added = monitor.execute(
            "add_client",
            Some(json!({
                "protocol": protocol,
                "fdname": fd_name,
                "skipauth": flags & SKIPAUTH != 0,
                "tls": false,
            })),
        );
        if let Err(e) = added {
            let _ = monitor.execute("closefd", Some(json!({ "fdname": fd_name })));
            return Err(QemuError::from(e).into());
        }
        Ok(())
    }
}
