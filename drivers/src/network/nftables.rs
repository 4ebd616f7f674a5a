//! The nftables backend: tables `ip libvirt_network` and `ip6 libvirt_network` of the
//! driver's own (as libvirt >= 10.4 makes them), each rule tagged with a comment naming
//! the network's bridge so that destroying the network removes exactly its rules.

use super::addr::IpNet;
use super::firewall::RuleSet;
use super::host;
use super::xml::ForwardMode;

const TABLE: &str = "libvirt_network";

fn family(v6: bool) -> &'static str {
    if v6 {
        "ip6"
    } else {
        "ip"
    }
}

/// The table and its chains; `add table`/`add chain` leave existing ones alone.
fn skeleton(v6: bool) -> String {
    let f = family(v6);
    let mut s = format!(
        "add table {f} {TABLE}\n\
         add chain {f} {TABLE} forward {{ type filter hook forward priority filter; policy accept; }}\n\
         add chain {f} {TABLE} guest_output\n\
         add chain {f} {TABLE} guest_input\n\
         add chain {f} {TABLE} guest_cross\n\
         add chain {f} {TABLE} guest_nat {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
    );
    // The jumps are added only with a fresh table (flushing would drop other networks' rules).
    s.push_str(&format!(
        "flush chain {f} {TABLE} forward\n\
         add rule {f} {TABLE} forward counter jump guest_cross\n\
         add rule {f} {TABLE} forward counter jump guest_input\n\
         add rule {f} {TABLE} forward counter jump guest_output\n"
    ));
    s
}

fn rules(set: &RuleSet, v6: bool, ips: &[&IpNet]) -> Vec<String> {
    let f = family(v6);
    let br = set.bridge;
    let tag = format!("comment \"{br}\"");
    let addr = if v6 { "ip6" } else { "ip" };
    let mut out = Vec::new();
    for ip in ips {
        let net = ip.cidr();
        match set.mode {
            ForwardMode::Nat if !v6 => {
                out.push(format!("insert rule {f} {TABLE} guest_output iifname \"{br}\" {addr} saddr {net} counter accept {tag}"));
                out.push(format!("insert rule {f} {TABLE} guest_input oifname \"{br}\" {addr} daddr {net} ct state related,established counter accept {tag}"));
                let ports = format!("{}-{}", set.nat_ports.0, set.nat_ports.1);
                out.push(format!("add rule {f} {TABLE} guest_nat {addr} saddr {net} {addr} daddr 224.0.0.0/24 counter return {tag}"));
                out.push(format!("add rule {f} {TABLE} guest_nat {addr} saddr {net} {addr} daddr 255.255.255.255/32 counter return {tag}"));
                out.push(format!("add rule {f} {TABLE} guest_nat meta l4proto tcp {addr} saddr {net} {addr} daddr != {net} counter masquerade to :{ports} {tag}"));
                out.push(format!("add rule {f} {TABLE} guest_nat meta l4proto udp {addr} saddr {net} {addr} daddr != {net} counter masquerade to :{ports} {tag}"));
                out.push(format!("add rule {f} {TABLE} guest_nat {addr} saddr {net} {addr} daddr != {net} counter masquerade {tag}"));
            }
            ForwardMode::Nat | ForwardMode::Route => {
                out.push(format!("insert rule {f} {TABLE} guest_output iifname \"{br}\" {addr} saddr {net} counter accept {tag}"));
                out.push(format!("insert rule {f} {TABLE} guest_input oifname \"{br}\" {addr} daddr {net} counter accept {tag}"));
            }
            _ => {}
        }
    }
    out.push(format!(
        "add rule {f} {TABLE} guest_output iifname \"{br}\" counter reject {tag}"
    ));
    out.push(format!(
        "add rule {f} {TABLE} guest_input oifname \"{br}\" counter reject {tag}"
    ));
    out.push(format!("insert rule {f} {TABLE} guest_cross iifname \"{br}\" oifname \"{br}\" counter accept {tag}"));
    out
}

pub fn add(set: &RuleSet) -> Result<(), String> {
    if matches!(set.mode, ForwardMode::Open | ForwardMode::Bridge) {
        return Ok(());
    }
    for v6 in [false, true] {
        let ips: Vec<&IpNet> = set.ips.iter().filter(|ip| ip.is_ipv4() != v6).collect();
        if ips.is_empty() && v6 {
            continue;
        }
        let fresh = host::run("nft", &["list", "table", family(v6), TABLE]).is_err();
        let mut script = String::new();
        if fresh {
            script.push_str(&skeleton(v6));
        }
        for r in rules(set, v6, &ips) {
            script.push_str(&r);
            script.push('\n');
        }
        if let Err(e) = host::run_input("nft", &["-f", "-"], Some(&script)) {
            remove(set);
            return Err(e);
        }
    }
    Ok(())
}

/// Deletes every rule tagged with the network's bridge name, by handle.
pub fn remove(set: &RuleSet) {
    let tag = format!("comment \"{}\"", set.bridge);
    for v6 in [false, true] {
        let Ok(listing) = host::run("nft", &["-a", "list", "table", family(v6), TABLE]) else {
            continue;
        };
        let mut chain = String::new();
        let mut script = String::new();
        for line in listing.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("chain ") {
                chain = rest.split_whitespace().next().unwrap_or("").to_string();
            } else if t.contains(&tag) {
                if let Some(handle) = t
                    .rsplit("# handle ")
                    .next()
                    .filter(|_| t.contains("# handle "))
                {
                    script.push_str(&format!(
                        "delete rule {} {TABLE} {chain} handle {}\n",
                        family(v6),
                        handle.trim()
                    ));
                }
            }
        }
        if !script.is_empty() {
            let _ = host::run_input("nft", &["-f", "-"], Some(&script));
        }
    }
}
