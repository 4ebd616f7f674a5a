//! Guest channels on the virtio-serial bus (`<channel>` with a virtio target, such as
//! the QEMU guest agent channel virt-install adds) and virtio consoles.

use super::opt_value;
use crate::domain_xml::Element;
use crate::qemu::error::QemuError;

/// Whether `name` is a plain virtio-serial port name (it becomes a QEMU option value and,
/// for UNIX channels, a file name).
fn is_port_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The `-chardev` backend of a channel or console.
fn chardev_backend(
    device: &Element,
    id: &str,
    default_socket: impl FnOnce() -> Option<String>,
) -> Result<String, QemuError> {
    match device.attr("type").unwrap_or("pty") {
        "pty" => Ok(format!("pty,id={id}")),
        "null" => Ok(format!("null,id={id}")),
        "unix" => {
            let path = match device.child("source").and_then(|s| s.attr("path")) {
                Some(path) if path.starts_with('/') => path.to_string(),
                Some(path) => {
                    return Err(QemuError::Unsupported(format!(
                        "channel socket path '{path}' must be absolute"
                    )))
                }
                None => default_socket().ok_or_else(|| {
                    QemuError::Unsupported("channel socket without a path".into())
                })?,
            };
            let listen = device.child("source").and_then(|s| s.attr("mode")) != Some("connect");
            Ok(if listen {
                format!(
                    "socket,id={id},path={},server=on,wait=off",
                    opt_value(&path)
                )
            } else {
                format!("socket,id={id},path={}", opt_value(&path))
            })
        }
        "spicevmc" => Err(QemuError::Unsupported(
            "chardev 'spicevmc' (the SPICE agent channel) is not supported by this qemu driver"
                .into(),
        )),
        other => Err(QemuError::Unsupported(format!(
            "channel type '{other}' is not supported by this qemu driver"
        ))),
    }
}

/// `-chardev` and `-device virtserialport` for a virtio channel. A UNIX channel without
/// a path gets a socket named after its port in `channel_dir`, as libvirt does.
pub(super) fn channel_args(
    device: &Element,
    index: usize,
    channel_dir: Option<&str>,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let target = device.child("target");
    let target_type = target.and_then(|t| t.attr("type")).unwrap_or("virtio");
    if target_type != "virtio" {
        return Err(QemuError::Unsupported(format!(
            "channel target type '{target_type}' is not supported by this qemu driver"
        )));
    }
    let name = target.and_then(|t| t.attr("name"));
    if let Some(name) = name {
        if !is_port_name(name) {
            return Err(QemuError::Unsupported(format!(
                "channel target name '{name}' contains invalid characters"
            )));
        }
    }
    let id = format!("charchannel{index}");
    let backend = chardev_backend(device, &id, || Some(format!("{}/{}", channel_dir?, name?)))?;
    let address = device.child("address");
    let number = |attr: &str, default: &str| -> Result<u32, QemuError> {
        address
            .and_then(|a| a.attr(attr))
            .unwrap_or(default)
            .parse()
            .map_err(|_| QemuError::Unsupported(format!("Cannot parse <address> '{attr}'")))
    };
    let controller = number("controller", "0")?;
    let bus = number("bus", "0")?;
    let port = number("port", &(index + 1).to_string())?;
    let mut spec = format!(
        "virtserialport,bus=virtio-serial{controller}.{bus},nr={port},chardev={id},id=channel{index}"
    );
    if let Some(name) = name {
        spec.push_str(&format!(",name={name}"));
    }
    argv.push("-chardev".into());
    argv.push(backend);
    argv.push("-device".into());
    argv.push(spec);
    Ok(())
}

/// A `<console>` with a virtio target becomes a `virtconsole`; serial consoles are the
/// serial port they mirror and add nothing.
pub(super) fn console_args(
    device: &Element,
    index: usize,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let target_type = device
        .child("target")
        .and_then(|t| t.attr("type"))
        .unwrap_or("serial");
    match target_type {
        "serial" => Ok(()),
        "virtio" => {
            let id = format!("charconsole{index}");
            let backend = chardev_backend(device, &id, || None)?;
            argv.push("-chardev".into());
            argv.push(backend);
            argv.push("-device".into());
            argv.push(format!(
                "virtconsole,bus=virtio-serial0.0,nr=0,chardev={id},id=console{index}"
            ));
            Ok(())
        }
        other => Err(QemuError::Unsupported(format!(
            "console target type '{other}' is not supported by this qemu driver"
        ))),
    }
}
