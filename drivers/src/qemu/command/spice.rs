//! SPICE graphics: the `-spice` server on a TCP port (chosen by the driver for
//! `autoport`, as QEMU picks none itself), its address, and ticketing: the password
//! (the graphics' `passwd`, else qemu.conf's `spice_password`) goes to QEMU over QMP
//! (`set_password`), never on the command line; without one, ticketing is off as
//! libvirt turns it off.

use std::net::{IpAddr, TcpListener};

use super::opt_value;
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::conf::QemuConf;
use crate::qemu::error::QemuError;

/// libvirt's default range for display ports (`remote_display_port_min`/`_max`).
const PORT_MIN: u16 = 5900;
const PORT_MAX: u16 = 65535;

pub(super) fn spice_graphics(def: &DomainDef) -> impl Iterator<Item = &Element> {
    def.devices
        .iter()
        .filter(|d| d.name == "graphics" && d.attr("type") == Some("spice"))
}

/// Start-time refusals of SPICE settings this driver cannot honour.
pub(super) fn check_spice_settings(def: &DomainDef, conf: &QemuConf) -> Result<(), QemuError> {
    let count = spice_graphics(def).count();
    if count > 0 && (conf.spice_tls || conf.spice_sasl) {
        return Err(QemuError::Unsupported(
            "spice_tls or spice_sasl is enabled in qemu.conf, but this daemon supports \
             neither TLS nor SASL for SPICE"
                .into(),
        ));
    }
    if count > 1 {
        return Err(QemuError::Unsupported(
            "only 1 graphics device of each type (sdl, vnc, spice, dbus) is supported".into(),
        ));
    }
    for graphics in spice_graphics(def) {
        if graphics.attr("tlsPort").is_some_and(|p| p != "-1")
            || graphics.attr("defaultMode") == Some("secure")
        {
            return Err(QemuError::Unsupported(
                "SPICE TLS is not supported by this qemu driver".into(),
            ));
        }
        if graphics
            .children
            .iter()
            .any(|c| c.name == "listen" && c.attr("type") == Some("socket"))
        {
            return Err(QemuError::Unsupported(
                "SPICE on a UNIX socket is not supported by this qemu driver".into(),
            ));
        }
    }
    Ok(())
}

/// The password SPICE clients must give.
pub(crate) fn spice_password<'a>(graphics: &'a Element, conf: &'a QemuConf) -> Option<&'a str> {
    graphics
        .attr("passwd")
        .or(conf.spice_password.as_ref().map(|s| s.0.as_str()))
}

/// The address in `listen='...'` or `<listen type='address' address='...'/>`, else
/// qemu.conf's `spice_listen`.
fn listen<'a>(graphics: &'a Element, conf: &'a QemuConf) -> &'a str {
    graphics
        .attr("listen")
        .or_else(|| {
            graphics
                .children
                .iter()
                .find(|c| c.name == "listen" && c.attr("type") == Some("address"))
                .and_then(|c| c.attr("address"))
        })
        .unwrap_or(&conf.spice_listen)
}

/// A port nothing listens on at `addr`, from libvirt's display range.
fn free_port(addr: IpAddr) -> Result<u16, QemuError> {
    (PORT_MIN..=PORT_MAX)
        .find(|p| TcpListener::bind((addr, *p)).is_ok())
        .ok_or_else(|| {
            QemuError::Unsupported(
                "Unable to find an unused port in range 'display' (5900-65535)".into(),
            )
        })
}

/// `-spice` for `graphics` (the live XML learns the port from `query-spice`).
pub(super) fn spice_args(
    graphics: &Element,
    conf: &QemuConf,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let address = listen(graphics, conf);
    let ip: IpAddr = address.parse().map_err(|_| {
        QemuError::Unsupported(format!(
            "SPICE listen address '{address}' is not an IP address"
        ))
    })?;
    let given: i64 = graphics
        .attr("port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(-1);
    let autoport = graphics.attr("autoport") == Some("yes") || given < 0;
    let port = if autoport {
        free_port(ip)?
    } else {
        u16::try_from(given)
            .map_err(|_| QemuError::Unsupported(format!("SPICE port '{given}' is out of range")))?
    };
    let mut value = format!("port={port},addr={}", opt_value(&ip.to_string()));
    if spice_password(graphics, conf).is_none() {
        value.push_str(",disable-ticketing=on");
    }
    value.push_str(",seamless-migration=on");
    argv.push("-spice".into());
    argv.push(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ports_and_addresses_reach_the_command_line() {
        let conf = QemuConf::default();
        let graphics = Element::new("graphics")
            .with_attr("type", "spice")
            .with_attr("port", "5999")
            .with_attr("autoport", "no")
            .with_attr("listen", "127.0.0.1");
        let mut argv = Vec::new();
        spice_args(&graphics, &conf, &mut argv).expect("args");
        assert_eq!(
            argv,
            vec![
                "-spice".to_string(),
                "port=5999,addr=127.0.0.1,disable-ticketing=on,seamless-migration=on".into()
            ]
        );
        let with_password = graphics.clone().with_attr("passwd", "secret");
        let mut argv = Vec::new();
        spice_args(&with_password, &conf, &mut argv).expect("args");
        assert!(!argv[1].contains("disable-ticketing") && !argv[1].contains("secret"));
        let mut bad_listen = graphics.clone();
        bad_listen.set_attr("listen", "127.0.0.1,disable-ticketing=on");
        assert!(spice_args(&bad_listen, &conf, &mut Vec::new()).is_err());
    }
}
