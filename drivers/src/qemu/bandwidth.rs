//! `<bandwidth>` of a NIC as traffic control on its tap, the way libvirt sets it up:
//! `<inbound>` (traffic to the guest, leaving the tap) shapes with an htb class under
//! the root qdisc, `<outbound>` (traffic from the guest, entering the tap) is policed
//! on the ingress qdisc. Rates are kilobytes per second, bursts kilobytes, as in the XML.
//! The root qdisc sends everything to its one class (`default 1`), so no classifier is
//! needed for inbound; outbound needs the kernel's u32 classifier and police action.

use std::process::Command;

use super::error::QemuError;
use crate::domain_xml::Element;

/// The numbers of `<inbound>`/`<outbound>`; `None` when the element is absent.
fn rates(bandwidth: &Element, which: &str) -> Result<Option<[Option<u64>; 3]>, QemuError> {
    let Some(el) = bandwidth.child(which) else {
        return Ok(None);
    };
    let number = |attr: &str| -> Result<Option<u64>, QemuError> {
        el.attr(attr)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
                    .ok_or_else(|| {
                        QemuError::Unsupported(format!(
                            "could not convert bandwidth {attr} value '{v}'"
                        ))
                    })
            })
            .transpose()
    };
    let values = [number("average")?, number("peak")?, number("burst")?];
    if values[0].is_none() {
        return Err(QemuError::Unsupported(format!(
            "Missing mandatory average attribute of bandwidth {which}"
        )));
    }
    Ok(Some(values))
}

fn tc(args: &[String]) -> Result<(), QemuError> {
    let out = Command::new("tc")
        .args(args)
        .output()
        .map_err(|e| QemuError::Failed(format!("cannot run tc: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(QemuError::Failed(format!(
            "tc {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The tc commands for `<bandwidth>` on `dev` (checked before anything runs).
fn commands(dev: &str, bandwidth: &Element) -> Result<Vec<Vec<String>>, QemuError> {
    let mut out = Vec::new();
    if let Some([Some(average), peak, burst]) = rates(bandwidth, "inbound")? {
        out.push(words(&format!(
            "qdisc add dev {dev} root handle 1: htb default 1"
        )));
        let mut class = format!("class add dev {dev} parent 1: classid 1:1 htb rate {average}kbps");
        if let Some(peak) = peak {
            class.push_str(&format!(" ceil {peak}kbps"));
        }
        if let Some(burst) = burst {
            class.push_str(&format!(" burst {burst}kb"));
        }
        out.push(words(&class));
        // Fair queueing inside the class; best effort (see `apply`).
        out.push(words(&format!(
            "qdisc add dev {dev} parent 1:1 handle 2: sfq perturb 10"
        )));
    }
    if let Some([Some(average), _, burst]) = rates(bandwidth, "outbound")? {
        out.push(words(&format!("qdisc add dev {dev} ingress")));
        let burst = burst.unwrap_or(average);
        out.push(words(&format!(
            "filter add dev {dev} parent ffff: protocol all u32 match u32 0 0 \
             police rate {average}kbps burst {burst}kb mtu 64kb drop flowid :1"
        )));
    }
    Ok(out)
}

/// Checks the `<bandwidth>` of a NIC (before any tap exists).
pub fn check(interface: &Element) -> Result<(), QemuError> {
    match interface.child("bandwidth") {
        Some(bandwidth) => commands("x", bandwidth).map(|_| ()),
        None => Ok(()),
    }
}

/// Applies the `<bandwidth>` of `interface` to its tap `dev`.
pub fn apply(dev: &str, interface: &Element) -> Result<(), QemuError> {
    let Some(bandwidth) = interface.child("bandwidth") else {
        return Ok(());
    };
    for args in commands(dev, bandwidth)? {
        match tc(&args) {
            // A kernel without sch_sfq still shapes with the htb class alone.
            Err(_) if args.iter().any(|a| a == "sfq") => {}
            other => other?,
        }
    }
    Ok(())
}

/// Removes what [`apply`] set up on `dev` (absent qdiscs are not an error).
pub fn clear(dev: &str) {
    for which in ["root", "ingress"] {
        let _ = tc(&words(&format!("qdisc del dev {dev} {which}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_shapes_and_outbound_polices() {
        let bw = Element::new("bandwidth")
            .with_child(
                Element::new("inbound")
                    .with_attr("average", "1000")
                    .with_attr("peak", "5000")
                    .with_attr("burst", "1024"),
            )
            .with_child(Element::new("outbound").with_attr("average", "128"));
        let cmds = commands("vnet0", &bw).expect("valid");
        assert_eq!(
            cmds[1].join(" "),
            "class add dev vnet0 parent 1: classid 1:1 htb rate 1000kbps ceil 5000kbps burst 1024kb"
        );
        assert!(cmds[4]
            .join(" ")
            .contains("police rate 128kbps burst 128kb"));
    }

    #[test]
    fn bad_numbers_are_refused() {
        let bw = Element::new("bandwidth")
            .with_child(Element::new("inbound").with_attr("average", "1;reboot"));
        assert!(commands("vnet0", &bw).is_err());
    }
}
