//! VNC graphics: the `-vnc` display with the protection the definition and qemu.conf
//! ask for (password, TLS), and the password itself, which QEMU only takes over QMP
//! (`set_password`) so that it never shows in the process list.
//!
//! What cannot be honoured (SASL, encrypted TLS keys, several VNC displays) refuses the
//! start: a guest never runs with less protection than its administrator configured.

use std::net::IpAddr;

use serde_json::json;

use super::opt_value;
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::conf::QemuConf;
use crate::qemu::error::QemuError;
use crate::qemu::qmp::Monitor;

/// Id of the TLS credentials object the VNC display refers to (libvirt's name).
const TLS_CREDS_ID: &str = "vnc-tls-creds0";

fn vnc_graphics(def: &DomainDef) -> impl Iterator<Item = &Element> {
    def.devices
        .iter()
        .filter(|d| d.name == "graphics" && d.attr("type") == Some("vnc"))
}

/// Start-time refusals of VNC settings this driver cannot enforce.
pub(super) fn check_vnc_settings(def: &DomainDef, conf: &QemuConf) -> Result<(), QemuError> {
    let count = vnc_graphics(def).count();
    if count == 0 {
        return Ok(());
    }
    if count > 1 {
        return Err(QemuError::Unsupported(
            "only 1 graphics device of each type (sdl, vnc, spice, dbus) is supported".into(),
        ));
    }
    if conf.vnc_sasl {
        return Err(QemuError::Unsupported(
            "vnc_sasl is enabled in qemu.conf, but this daemon cannot authenticate VNC \
             clients with SASL"
                .into(),
        ));
    }
    if conf.vnc_tls && conf.vnc_tls_x509_secret_uuid.is_some() {
        return Err(QemuError::Unsupported(
            "vnc_tls_x509_secret_uuid is set in qemu.conf, but this daemon cannot decrypt \
             TLS keys with secrets"
                .into(),
        ));
    }
    for graphics in vnc_graphics(def) {
        if let Some(valid_to) = graphics.attr("passwdValidTo") {
            expiry_seconds(valid_to)?;
        }
    }
    Ok(())
}

/// The password a VNC display must ask for: its own `passwd`, else qemu.conf's
/// `vnc_password`.
fn password<'a>(graphics: &'a Element, conf: &'a QemuConf) -> Option<&'a str> {
    graphics
        .attr("passwd")
        .or(conf.vnc_password.as_ref().map(|s| s.0.as_str()))
}

/// The address in `listen='...'` or `<listen type='address' address='...'/>`.
fn listen_address(graphics: &Element) -> Option<&str> {
    graphics.attr("listen").or_else(|| {
        graphics
            .children
            .iter()
            .find(|c| c.name == "listen" && c.attr("type") == Some("address"))
            .and_then(|c| c.attr("address"))
    })
}

/// An IP address (bracketed for QEMU when IPv6) or a host name; nothing else may sit
/// in front of the display number.
fn vnc_host(listen: &str) -> Result<String, QemuError> {
    if let Ok(ip) = listen.parse::<IpAddr>() {
        return Ok(match ip {
            IpAddr::V4(_) => listen.to_string(),
            IpAddr::V6(_) => format!("[{listen}]"),
        });
    }
    let host_name = !listen.is_empty()
        && listen.len() <= 253
        && listen
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    if host_name {
        Ok(listen.to_string())
    } else {
        Err(QemuError::Unsupported(format!(
            "VNC listen address '{listen}' is neither an IP address nor a host name"
        )))
    }
}

pub(super) fn graphics_args(
    device: &Element,
    conf: &QemuConf,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    match device.attr("type") {
        Some("vnc") => {
            let mut display = match device.attr("socket") {
                Some(socket) if socket.starts_with('/') => format!("unix:{}", opt_value(socket)),
                Some(socket) => {
                    return Err(QemuError::Unsupported(format!(
                        "VNC socket path '{socket}' must be absolute"
                    )))
                }
                None => {
                    let listen = listen_address(device).unwrap_or(&conf.vnc_listen);
                    let host = vnc_host(listen)?;
                    let port: i64 = device
                        .attr("port")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(-1);
                    if port < 0 {
                        format!("{host}:0,to=100")
                    } else {
                        format!("{host}:{}", if port >= 5900 { port - 5900 } else { 0 })
                    }
                }
            };
            if conf.vnc_tls {
                argv.push("-object".into());
                argv.push(format!(
                    "tls-creds-x509,id={TLS_CREDS_ID},dir={},endpoint=server,verify-peer={}",
                    opt_value(&conf.vnc_tls_x509_cert_dir),
                    if conf.vnc_tls_x509_verify {
                        "on"
                    } else {
                        "off"
                    }
                ));
                display.push_str(&format!(",tls-creds={TLS_CREDS_ID}"));
            }
            if password(device, conf).is_some() {
                display.push_str(",password=on");
            }
            argv.push("-vnc".into());
            argv.push(display);
            Ok(())
        }
        Some("spice") => super::spice::spice_args(device, conf, argv),
        Some(other) => Err(QemuError::Unsupported(format!(
            "graphics type '{other}' is not supported by this qemu driver"
        ))),
        None => Err(QemuError::Unsupported("graphics without a type".into())),
    }
}

/// Gives QEMU the VNC password (and its expiry, `passwdValidTo`) before the guest CPUs
/// run; called once the monitor is connected.
pub fn set_vnc_passwords(
    monitor: &Monitor,
    def: &DomainDef,
    conf: &QemuConf,
) -> Result<(), QemuError> {
    for graphics in vnc_graphics(def) {
        let Some(secret) = password(graphics, conf) else {
            continue;
        };
        let monitor_error = |e: super::super::qmp::QmpError| QemuError::Monitor(e.to_string());
        monitor
            .execute(
                "set_password",
                Some(json!({ "protocol": "vnc", "password": secret })),
            )
            .map_err(monitor_error)?;
        if let Some(valid_to) = graphics.attr("passwdValidTo") {
            let time = expiry_seconds(valid_to)?.to_string();
            monitor
                .execute(
                    "expire_password",
                    Some(json!({ "protocol": "vnc", "time": time })),
                )
                .map_err(monitor_error)?;
        }
    }
    for graphics in super::spice::spice_graphics(def) {
        let Some(secret) = super::spice::spice_password(graphics, conf) else {
            continue;
        };
        monitor
            .execute(
                "set_password",
                Some(json!({ "protocol": "spice", "password": secret })),
            )
            .map_err(|e| QemuError::Monitor(e.to_string()))?;
    }
    Ok(())
}

/// `passwdValidTo` ("YYYY-MM-DDTHH:MM:SS", UTC) as seconds since the epoch.
pub fn expiry_seconds(text: &str) -> Result<i64, QemuError> {
    let bad = || {
        QemuError::Unsupported(format!(
            "cannot parse password validity time '{text}', expect YYYY-MM-DDTHH:MM:SS"
        ))
    };
    let (date, time) = text.split_once('T').ok_or_else(bad)?;
    let numbers = |part: &str, sep: char| -> Option<Vec<i64>> {
        part.split(sep).map(|n| n.parse::<i64>().ok()).collect()
    };
    let date = numbers(date, '-')
        .filter(|d| d.len() == 3)
        .ok_or_else(bad)?;
    let time = numbers(time, ':')
        .filter(|t| t.len() == 3)
        .ok_or_else(bad)?;
    let (year, month, day) = (date[0], date[1], date[2]);
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&time[0])
        && (0..60).contains(&time[1])
        && (0..=60).contains(&time[2]);
    if !valid {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + time[0] * 3600 + time[1] * 60 + time[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_times_are_utc_epoch_seconds() {
        assert_eq!(expiry_seconds("1970-01-01T00:00:00").ok(), Some(0));
        assert_eq!(
            expiry_seconds("2010-04-09T15:51:00").ok(),
            Some(1_270_828_260)
        );
        assert_eq!(
            expiry_seconds("2024-02-29T12:00:00").ok(),
            Some(1_709_208_000)
        );
        for bad in [
            "",
            "2010-04-09",
            "2010-13-01T00:00:00",
            "x-04-09T15:51:00",
            "now",
        ] {
            assert!(expiry_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn listen_addresses_are_addresses() {
        assert_eq!(vnc_host("127.0.0.1").ok().as_deref(), Some("127.0.0.1"));
        assert_eq!(vnc_host("::1").ok().as_deref(), Some("[::1]"));
        assert_eq!(
            vnc_host("vnc.example.org").ok().as_deref(),
            Some("vnc.example.org")
        );
        for bad in ["127.0.0.1,password=off", "", "a b", "0.0.0.0:1", "[::1]"] {
            assert!(vnc_host(bad).is_err(), "{bad}");
        }
    }
}
