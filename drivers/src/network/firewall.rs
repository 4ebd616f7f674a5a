//! Firewall rules of virtual networks, through the backend `network.conf` picks:
//! `iptables` with libvirt 9.0's `LIBVIRT_*` chains and rule order (the default), or
//! `nftables` with a table of the driver's own (`libvirt_network`, as libvirt >= 10.4).

use super::addr::IpNet;
use super::host;
use super::xml::ForwardMode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Iptables,
    Nftables,
}

impl Backend {
    pub fn parse(text: &str) -> Option<Backend> {
        match text {
            "iptables" => Some(Backend::Iptables),
            "nftables" => Some(Backend::Nftables),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Iptables => "iptables",
            Backend::Nftables => "nftables",
        }
    }
}

/// What the rules of one network depend on.
pub struct RuleSet<'a> {
    pub mode: ForwardMode,
    pub bridge: &'a str,
    pub ips: &'a [IpNet],
    pub nat_ports: (u32, u32),
    pub forward_dev: Option<&'a str>,
}

/// One iptables rule: table, chain, whether it is appended (rejects) or inserted
/// at the top, and the match/target arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IptRule {
    pub v6: bool,
    pub table: &'static str,
    pub chain: &'static str,
    pub append: bool,
    pub args: Vec<String>,
}

fn rule(
    v6: bool,
    table: &'static str,
    chain: &'static str,
    append: bool,
    args: &[&str],
) -> IptRule {
    IptRule {
        v6,
        table,
        chain,
        append,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// The rules libvirt 9.0 adds for a network, in the order they end up listed.
pub fn iptables_rules(set: &RuleSet) -> Vec<IptRule> {
    let br = set.bridge;
    let mut out = Vec::new();
    if set.mode == ForwardMode::Open || set.mode == ForwardMode::Bridge {
        return out;
    }
    for v6 in [false, true] {
        let ips: Vec<&IpNet> = set.ips.iter().filter(|ip| ip.is_ipv4() != v6).collect();
        if ips.is_empty() && v6 {
            continue;
        }
        let (dhcp_in, dhcp_out) = if v6 { ("547", "546") } else { ("67", "68") };
        for (proto, port) in [
            ("udp", "53"),
            ("tcp", "53"),
            ("udp", dhcp_in),
            ("tcp", dhcp_in),
        ] {
            out.push(rule(
                v6,
                "filter",
                "LIBVIRT_INP",
                false,
                &[
                    "-i", br, "-p", proto, "-m", proto, "--dport", port, "-j", "ACCEPT",
                ],
            ));
        }
        for (proto, port) in [
            ("udp", "53"),
            ("tcp", "53"),
            ("udp", dhcp_out),
            ("tcp", dhcp_out),
        ] {
            out.push(rule(
                v6,
                "filter",
                "LIBVIRT_OUT",
                false,
                &[
                    "-o", br, "-p", proto, "-m", proto, "--dport", port, "-j", "ACCEPT",
                ],
            ));
        }
        for ip in &ips {
            let net = ip.cidr();
            match set.mode {
                ForwardMode::Nat if !v6 => {
                    out.push(rule(
                        v6,
                        "filter",
                        "LIBVIRT_FWI",
                        false,
                        &[
                            "-d",
                            &net,
                            "-o",
                            br,
                            "-m",
                            "conntrack",
                            "--ctstate",
                            "RELATED,ESTABLISHED",
                            "-j",
                            "ACCEPT",
                        ],
                    ));
                    out.push(rule(
                        v6,
                        "filter",
                        "LIBVIRT_FWO",
                        false,
                        &["-s", &net, "-i", br, "-j", "ACCEPT"],
                    ));
                }
                ForwardMode::Nat | ForwardMode::Route => {
                    out.push(rule(
                        v6,
                        "filter",
                        "LIBVIRT_FWI",
                        false,
                        &["-d", &net, "-o", br, "-j", "ACCEPT"],
                    ));
                    out.push(rule(
                        v6,
                        "filter",
                        "LIBVIRT_FWO",
                        false,
                        &["-s", &net, "-i", br, "-j", "ACCEPT"],
                    ));
                }
                _ => {}
            }
        }
        out.push(rule(
            v6,
            "filter",
            "LIBVIRT_FWI",
            true,
            &["-o", br, "-j", "REJECT"],
        ));
        out.push(rule(
            v6,
            "filter",
            "LIBVIRT_FWO",
            true,
            &["-i", br, "-j", "REJECT"],
        ));
        out.push(rule(
            v6,
            "filter",
            "LIBVIRT_FWX",
            false,
            &["-i", br, "-o", br, "-j", "ACCEPT"],
        ));
        if set.mode == ForwardMode::Nat && !v6 {
            for ip in &ips {
                let net = ip.cidr();
                let ports = format!("{}-{}", set.nat_ports.0, set.nat_ports.1);
                let out_dev: Vec<&str> = match set.forward_dev {
                    Some(dev) => vec!["-o", dev],
                    None => vec![],
                };
                let with_dev = |args: &[&str]| -> Vec<String> {
                    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
                    let at = 2;
                    for (i, a) in out_dev.iter().enumerate() {
                        v.insert(at + i, a.to_string());
                    }
                    v
                };
                for args in [
                    vec!["-s", &net, "-d", "224.0.0.0/24", "-j", "RETURN"],
                    vec!["-s", &net, "-d", "255.255.255.255/32", "-j", "RETURN"],
                    vec![
                        "-s",
                        &net,
                        "!",
                        "-d",
                        &net,
                        "-p",
                        "tcp",
                        "-j",
                        "MASQUERADE",
                        "--to-ports",
                        &ports,
                    ],
                    vec![
                        "-s",
                        &net,
                        "!",
                        "-d",
                        &net,
                        "-p",
                        "udp",
                        "-j",
                        "MASQUERADE",
                        "--to-ports",
                        &ports,
                    ],
                    vec!["-s", &net, "!", "-d", &net, "-j", "MASQUERADE"],
                ] {
                    out.push(IptRule {
                        v6,
                        table: "nat",
                        chain: "LIBVIRT_PRT",
                        append: false,
                        args: with_dev(&args),
                    });
                }
            }
            out.push(rule(
                v6,
                "mangle",
                "LIBVIRT_PRT",
                false,
                &[
                    "-o",
                    br,
                    "-p",
                    "udp",
                    "-m",
                    "udp",
                    "--dport",
                    "68",
                    "-j",
                    "CHECKSUM",
                    "--checksum-fill",
                ],
            ));
        }
    }
    out
}

/// libvirt's top-level chains and the built-in chains that jump to them.
const CHAINS: &[(&str, &str, &str)] = &[
    ("filter", "INPUT", "LIBVIRT_INP"),
    ("filter", "OUTPUT", "LIBVIRT_OUT"),
    ("filter", "FORWARD", "LIBVIRT_FWO"),
    ("filter", "FORWARD", "LIBVIRT_FWI"),
    ("filter", "FORWARD", "LIBVIRT_FWX"),
    ("nat", "POSTROUTING", "LIBVIRT_PRT"),
    ("mangle", "POSTROUTING", "LIBVIRT_PRT"),
];

fn ipt(v6: bool) -> &'static str {
    if v6 {
        "ip6tables"
    } else {
        "iptables"
    }
}

/// Creates the `LIBVIRT_*` chains and their jumps when missing (libvirt keeps them
/// once made, also when no network runs).
fn ensure_chains(v6: bool) -> Result<(), String> {
    for (table, builtin, chain) in CHAINS {
        if v6 && *table == "nat" {
            continue;
        }
        let listed = host::run(ipt(v6), &["-w", "-t", table, "-S", chain]);
        if listed.is_err() {
            host::run(ipt(v6), &["-w", "-t", table, "-N", chain])?;
        }
        let jump = ["-w", "-t", table, "-C", builtin, "-j", chain];
        if host::run(ipt(v6), &jump).is_err() {
            host::run(ipt(v6), &["-w", "-t", table, "-I", builtin, "-j", chain])?;
        }
    }
    Ok(())
}

fn apply(r: &IptRule, op: &str) -> Result<(), String> {
    let mut args: Vec<&str> = vec!["-w", "-t", r.table, op, r.chain];
    args.extend(r.args.iter().map(String::as_str));
    host::run(ipt(r.v6), &args).map(|_| ())
}

/// Adds a network's rules; on failure the ones added are removed again.
pub fn add(backend: Backend, set: &RuleSet) -> Result<(), String> {
    match backend {
        Backend::Iptables => {
            let rules = iptables_rules(set);
            for v6 in [false, true] {
                if rules.iter().any(|r| r.v6 == v6) {
                    ensure_chains(v6)?;
                }
            }
            // Inserted rules go in reverse so the listing shows them in order.
            let mut done: Vec<&IptRule> = Vec::new();
            let ordered = rules
                .iter()
                .filter(|r| r.append)
                .chain(rules.iter().rev().filter(|r| !r.append));
            for r in ordered {
                let op = if r.append { "-A" } else { "-I" };
                if let Err(e) = apply(r, op) {
                    for r in done {
                        let _ = apply(r, "-D");
                    }
                    return Err(e);
                }
                done.push(r);
            }
            Ok(())
        }
        Backend::Nftables => super::nftables::add(set),
    }
}

/// Removes a network's rules (best effort: a rule already gone is not an error).
pub fn remove(backend: Backend, set: &RuleSet) {
    match backend {
        Backend::Iptables => {
            for r in iptables_rules(set) {
                let _ = apply(&r, "-D");
            }
        }
        Backend::Nftables => super::nftables::remove(set),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nat_rules_match_libvirt_9_listing() {
        let ips = [IpNet {
            addr: "192.168.122.1".parse().unwrap(),
            prefix: 24,
        }];
        let set = RuleSet {
            mode: ForwardMode::Nat,
            bridge: "virbr0",
            ips: &ips,
            nat_ports: (1024, 65535),
            forward_dev: None,
        };
        let rules = iptables_rules(&set);
        let nat: Vec<String> = rules
            .iter()
            .filter(|r| r.table == "nat")
            .map(|r| r.args.join(" "))
            .collect();
        assert_eq!(
            nat[2],
            "-s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535"
        );
        assert_eq!(rules.iter().filter(|r| r.table == "filter").count(), 13);
        assert!(rules.iter().all(|r| !r.v6));
    }
}
