//! The host side of a virtual network: running `ip`, `iptables`, `nft`; the bridge
//! device with its addresses; subnet collisions with the host's routes; IP forwarding.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use super::addr::IpNet;
use super::xml::NetworkDef;

/// Longest a host tool may take (a stuck `iptables -w` waiting on the xtables lock).
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Finds `name` in the usual system directories (the daemon's environment is not trusted
/// for PATH, and the children get a cleared one).
pub fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    name.to_string()
}

/// Runs a host tool with a cleared environment; its stdout, or its stderr as the error.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    run_input(program, args, None)
}

/// Like [`run`], with `input` on stdin (an `nft -f -` script).
pub fn run_input(program: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    let path = tool(program);
    let spec = process::Spec::new(&path)
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(if input.is_some() {
            process::Stdio::Pipe
        } else {
            process::Stdio::Null
        })
        .stdout(process::Stdio::Pipe)
        .stderr(process::Stdio::Pipe);
    let mut child = spec
        .spawn()
        .map_err(|e| format!("Cannot run {path}: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        let _ = stdin.write_all(text.as_bytes());
    }
    let mut out = String::new();
    let mut err = String::new();
    // Outputs are small (rule listings); reading stdout to the end before stderr
    // cannot deadlock on these tools' output sizes.
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let exit = match child.wait_timeout(TOOL_TIMEOUT) {
        Ok(Some(exit)) => exit,
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{path} {} timed out", args.join(" ")));
        }
    };
    if exit.success() {
        Ok(out)
    } else {
        Err(format!(
            "{path} {} failed: {}",
            args.join(" "),
            err.trim().lines().next().unwrap_or("")
        ))
    }
}

/// Whether a network device of that name exists in the daemon's network namespace
/// (asked of the kernel, not of /sys, which shows the namespace it was mounted in).
pub fn link_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok_and(|index| index != 0)
}

/// Creates the bridge of a virtual network with its MAC, STP, MTU and addresses, up.
/// On failure what was made is removed.
pub fn create_bridge(def: &NetworkDef, ips: &[IpNet]) -> Result<(), String> {
    let name = def.bridge_name().ok_or("network has no bridge name")?;
    if link_exists(name) {
        return Err(format!("Unable to create bridge {name}: File exists"));
    }
    run("ip", &["link", "add", name, "type", "bridge"])
        .map_err(|e| format!("Unable to create bridge {name}: {e}"))?;
    let result = configure_bridge(def, name, ips);
    if result.is_err() {
        let _ = delete_bridge(name);
    }
    result
}

fn configure_bridge(def: &NetworkDef, name: &str, ips: &[IpNet]) -> Result<(), String> {
    if let Some(mac) = def.mac() {
        run("ip", &["link", "set", "dev", name, "address", mac])?;
    }
    let stp = if def.bridge_stp() { "1" } else { "0" };
    // The kernel counts the forward delay in hundredths of a second.
    let delay = (def.bridge_delay().max(2) * 100).to_string();
    run(
        "ip",
        &[
            "link",
            "set",
            "dev",
            name,
            "type",
            "bridge",
            "stp_state",
            stp,
            "forward_delay",
            &delay,
        ],
    )?;
    if let Some(mtu) = def.mtu() {
        run("ip", &["link", "set", "dev", name, "mtu", &mtu.to_string()])?;
    }
    for ip in ips {
        let addr = format!("{}/{}", ip.addr, ip.prefix);
        if ip.is_ipv4() {
            let broadcast = broadcast(ip).to_string();
            run(
                "ip",
                &["addr", "add", &addr, "broadcast", &broadcast, "dev", name],
            )?;
        } else {
            run("ip", &["-6", "addr", "add", &addr, "dev", name])?;
        }
    }
    run("ip", &["link", "set", "dev", name, "up"])?;
    Ok(())
}

fn broadcast(ip: &IpNet) -> Ipv4Addr {
    match ip.addr {
        IpAddr::V4(a) => {
            let host_bits = if ip.prefix >= 32 {
                0
            } else {
                u32::MAX >> ip.prefix
            };
            Ipv4Addr::from(u32::from(a) | host_bits)
        }
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

pub fn delete_bridge(name: &str) -> Result<(), String> {
    if !link_exists(name) && !Path::new("/sys/class/net").join(name).exists() {
        return Ok(());
    }
    let _ = run("ip", &["link", "set", "dev", name, "down"]);
    run("ip", &["link", "del", "dev", name]).map(|_| ())
}

/// The interface whose IPv4 route overlaps `net` (libvirt refuses to start a network
/// on a subnet the host already reaches), read from `/proc/net/route` of this namespace.
pub fn route_collision(net: &IpNet) -> Option<String> {
    if !net.is_ipv4() {
        return None;
    }
    let text = std::fs::read_to_string("/proc/net/route").ok()?;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dest), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
        else {
            continue;
        };
        // The kernel prints the network-order word as a native integer.
        let dest = Ipv4Addr::from(dest.to_ne_bytes());
        let mask = Ipv4Addr::from(mask.to_ne_bytes());
        let prefix = u32::from(mask).leading_ones() as u8;
        if prefix == 0 {
            continue; // the default route
        }
        let route = IpNet {
            addr: IpAddr::V4(dest),
            prefix,
        };
        if route.overlaps(net) {
            return Some(f[0].to_string());
        }
    }
    None
}

/// Turns on forwarding for the address families a routed or NATed network needs.
pub fn enable_forwarding(v4: bool, v6: bool) -> Result<(), String> {
    if v4 {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1\n")
            .map_err(|e| format!("cannot enable /proc/sys/net/ipv4/ip_forward: {e}"))?;
    }
    if v6 {
        std::fs::write("/proc/sys/net/ipv6/conf/all/forwarding", "1\n")
            .map_err(|e| format!("cannot enable /proc/sys/net/ipv6/conf/all/forwarding: {e}"))?;
    }
    Ok(())
}
