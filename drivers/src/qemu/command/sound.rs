//! Sound cards and the audio backends they play into. Every guest has an `<audio>`
//! backend (libvirt adds `<audio id='1' type='none'/>`): sound goes nowhere on the host
//! unless the definition says otherwise.

use super::devices::pci_addr;
use crate::domain_xml::Element;
use crate::qemu::error::QemuError;

/// `-audiodev` for an `<audio>` element: only the 'none' backend (no host audio) is
/// offered, since the daemon runs without a sound server.
pub(super) fn audio_args(device: &Element, argv: &mut Vec<String>) -> Result<(), QemuError> {
    let id = device.attr("id").unwrap_or("1");
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(QemuError::Unsupported(format!(
            "cannot parse audio id '{id}'"
        )));
    }
    match device.attr("type").unwrap_or("none") {
        "none" => {
            argv.push("-audiodev".into());
            argv.push(format!("id=audio{id},driver=none"));
            Ok(())
        }
        other => Err(QemuError::Unsupported(format!(
            "audio type '{other}' is not supported by this qemu driver"
        ))),
    }
}

/// The audiodev a sound card plays into: its `<audio id>` child, else the first backend.
fn audiodev(device: &Element, first_audio: Option<&str>) -> String {
    let id = device
        .child("audio")
        .and_then(|a| a.attr("id"))
        .or(first_audio)
        .unwrap_or("1");
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
        format!("audio{id}")
    } else {
        "audio1".to_string()
    }
}

/// `-device` arguments of a `<sound>` card (HDA controllers get their duplex codec).
pub(super) fn sound_args(
    device: &Element,
    index: usize,
    first_audio: Option<&str>,
    argv: &mut Vec<String>,
) -> Result<(), QemuError> {
    let id = format!("sound{index}");
    let audio = audiodev(device, first_audio);
    let model = device.attr("model").unwrap_or("");
    let hda = match model {
        "ich6" => Some("intel-hda"),
        "ich9" => Some("ich9-intel-hda"),
        _ => None,
    };
    if let Some(controller) = hda {
        argv.push("-device".into());
        argv.push(format!("{controller},id={id}{}", pci_addr(device)));
        argv.push("-device".into());
        argv.push(format!(
            "hda-duplex,id={id}-codec0,bus={id}.0,cad=0,audiodev={audio}"
        ));
        return Ok(());
    }
    let spec = match model {
        "ac97" => format!("AC97,id={id},audiodev={audio}{}", pci_addr(device)),
        "es1370" => format!("ES1370,id={id},audiodev={audio}{}", pci_addr(device)),
        "sb16" => format!("sb16,id={id},audiodev={audio}"),
        "usb" => format!("usb-audio,id={id},audiodev={audio}"),
        other => {
            return Err(QemuError::Unsupported(format!(
                "sound card model '{other}' is not supported by this qemu driver"
            )))
        }
    };
    argv.push("-device".into());
    argv.push(spec);
    Ok(())
}
