//! Network interfaces of a container: a veth pair per `<interface>`, the host end joined
//! to its bridge, the other end moved into the container's network namespace as ethN.

use process::Spec;

use super::SupervisorError;
use crate::lxc::xml::InterfaceSpec;

/// Creates the pairs for the container whose init is `pid`; the host-side names go to
/// `created` as they appear, so a failure half way can be undone by the caller.
pub fn setup_interfaces(
    pid: i32,
    interfaces: &[InterfaceSpec],
    created: &mut Vec<String>,
) -> Result<(), SupervisorError> {
    for (index, iface) in interfaces.iter().enumerate() {
        let host = iface
            .host_name
            .clone()
            .unwrap_or_else(|| format!("vlxc{pid}n{index}"));
        let peer = format!("vlxc{pid}p{index}");
        ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer])?;
        created.push(host.clone());
        if let Some(mac) = &iface.mac {
            ip(&["link", "set", &peer, "address", mac])?;
        }
        if let Some(bridge) = &iface.bridge {
            ip(&["link", "set", &host, "master", bridge])?;
        }
        ip(&["link", "set", &host, "up"])?;
        ip(&["link", "set", &peer, "netns", &pid.to_string()])?;
        let ns = format!("/proc/{pid}/ns/net");
        let eth = format!("eth{index}");
        run(&[
            "nsenter",
            &format!("--net={ns}"),
            "ip",
            "link",
            "set",
            &peer,
            "name",
            &eth,
            "up",
        ])?;
    }
    Ok(())
}

/// Removes host ends that may be left (the kernel drops a pair when its namespace dies).
pub fn remove_interfaces(names: &[String]) {
    for name in names {
        let _ = helper(&["ip", "link", "del", name]).output();
    }
}

fn ip(args: &[&str]) -> Result<(), SupervisorError> {
    let argv: Vec<&str> = std::iter::once("ip").chain(args.iter().copied()).collect();
    run(&argv)
}

/// A helper program found on the usual system path, with nothing else of ours.
fn helper(argv: &[&str]) -> Spec {
    Spec::new(argv[0])
        .args(&argv[1..])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
}

fn run(argv: &[&str]) -> Result<(), SupervisorError> {
    let output = helper(argv)
        .output()
        .map_err(|e| SupervisorError::io("cannot run ip (install iproute2)", e))?;
    if !output.exit.success() {
        return Err(SupervisorError::Failed(format!(
            "{:?} failed: {}",
            argv,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// The container's own loopback device starts down; bring it up like libvirt does.
pub fn bring_up_loopback(pid: i32) -> Result<(), SupervisorError> {
    run(&[
        "nsenter",
        &format!("--net=/proc/{pid}/ns/net"),
        "ip",
        "link",
        "set",
        "lo",
        "up",
    ])
}
