//! One `dnsmasq` (Debian `dnsmasq-base`) per virtual network with DHCP or DNS: its
//! configuration, hosts files and lease file under `<statedir>/dnsmasq` as libvirt names
//! them, its pid file in `<rundir>/network`, started detached so it outlives the daemon.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::api::DhcpLease;
use crate::fsutil::atomic_write;

use super::xml::NetworkDef;
use super::NetworkPaths;

/// How long dnsmasq may take to set up and detach.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Files {
    pub conf: PathBuf,
    pub hostsfile: PathBuf,
    pub addnhosts: PathBuf,
    pub leases: PathBuf,
    pub pid: PathBuf,
}

pub fn files(paths: &NetworkPaths, name: &str) -> Files {
    Files {
        conf: paths.dnsmasq_dir.join(format!("{name}.conf")),
        hostsfile: paths.dnsmasq_dir.join(format!("{name}.hostsfile")),
        addnhosts: paths.dnsmasq_dir.join(format!("{name}.addnhosts")),
        leases: paths.dnsmasq_dir.join(format!("{name}.leases")),
        pid: paths.run_dir.join(format!("{name}.pid")),
    }
}

/// Whether the network needs a dnsmasq at all (libvirt runs one unless DNS is off
/// and no `<ip>` has DHCP).
pub fn needed(def: &NetworkDef) -> bool {
    let ips = def.ips().unwrap_or_default();
    def.forward_mode().is_virtual()
        && (def.dns_enabled()
            || ips
                .iter()
                .any(|ip| !ip.ranges.is_empty() || !ip.hosts.is_empty()))
}

/// The configuration file text, in libvirt 9.0's order.
pub fn config(def: &NetworkDef, f: &Files) -> String {
    let name = def.name();
    let mut c = format!(
        "##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n\
         ##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:\n\
         ##    virsh net-edit {name}\n\
         ## or other application using the libvirt API.\n\
         ##\n\
         ## dnsmasq conf file created by libvirt\n\
         strict-order\n"
    );
    let forwarders = def.dns_forwarders();
    for (domain, addr) in &forwarders {
        match (domain, addr) {
            (Some(d), Some(a)) => c.push_str(&format!("server=/{d}/{a}\n")),
            (Some(d), None) => c.push_str(&format!("server=/{d}/#\n")),
            (None, Some(a)) => c.push_str(&format!("server={a}\n")),
            (None, None) => {}
        }
    }
    if forwarders.iter().any(|(d, a)| d.is_none() && a.is_some()) {
        c.push_str("no-resolv\n");
    }
    if let Some((domain, local_only)) = def.dns_domain() {
        if local_only {
            c.push_str(&format!("local=/{domain}/\n"));
        }
        c.push_str(&format!("domain={domain}\nexpand-hosts\n"));
    }
    if !def.dns_enabled() {
        c.push_str("port=0\n");
    }
    c.push_str(&format!("pid-file={}\n", f.pid.display()));
    c.push_str("except-interface=lo\nbind-dynamic\n");
    c.push_str(&format!("interface={}\n", def.bridge_name().unwrap_or("")));
    for (name, value) in def.dns_txts() {
        c.push_str(&format!("txt-record={name},{value}\n"));
    }
    for srv in def.dns_srvs() {
        let service = srv.attr("service").unwrap_or("");
        let protocol = srv.attr("protocol").unwrap_or("tcp");
        let mut rec = format!("srv-host=_{service}._{protocol}");
        if let Some(d) = srv.attr("domain") {
            rec.push_str(&format!(".{d}"));
        }
        for key in ["target", "port", "priority", "weight"] {
            rec.push(',');
            rec.push_str(srv.attr(key).unwrap_or(""));
        }
        c.push_str(rec.trim_end_matches(','));
        c.push('\n');
    }
    let ips = def.ips().unwrap_or_default();
    let mut leases: u128 = 0;
    let mut dhcp = false;
    for ip in &ips {
        for range in &ip.ranges {
            if ip.net.is_ipv4() {
                c.push_str(&format!(
                    "dhcp-range={},{},{}\n",
                    range.start,
                    range.end,
                    ip.net.netmask()
                ));
            } else {
                c.push_str(&format!(
                    "dhcp-range={},{},{}\n",
                    range.start, range.end, ip.net.prefix
                ));
            }
            leases += range.size();
            dhcp = true;
        }
        if ip.ranges.is_empty() && !ip.hosts.is_empty() {
            c.push_str(&format!("dhcp-range={},static\n", ip.net.network()));
            dhcp = true;
        }
        leases += ip.hosts.len() as u128;
    }
    if dhcp {
        c.push_str("dhcp-no-override\ndhcp-authoritative\n");
        c.push_str(&format!(
            "dhcp-lease-max={}\n",
            leases.min(u32::MAX as u128)
        ));
        c.push_str(&format!("dhcp-hostsfile={}\n", f.hostsfile.display()));
        c.push_str(&format!("dhcp-leasefile={}\n", f.leases.display()));
    }
    c.push_str(&format!("addn-hosts={}\n", f.addnhosts.display()));
    if ips.iter().any(|ip| !ip.net.is_ipv4()) {
        c.push_str("enable-ra\n");
    }
    c
}

/// `mac,ip,name` lines of the static DHCP hosts.
pub fn hostsfile(def: &NetworkDef) -> String {
    let mut out = String::new();
    for ip in def.ips().unwrap_or_default() {
        for (mac, name, addr) in &ip.hosts {
            let mut parts: Vec<String> = Vec::new();
            if let Some(m) = mac {
                parts.push(m.clone());
            }
            if let Some(a) = addr {
                parts.push(match a {
                    IpAddr::V4(a) => a.to_string(),
                    IpAddr::V6(a) => format!("[{a}]"),
                });
            }
            if let Some(n) = name {
                parts.push(n.clone());
            }
            out.push_str(&parts.join(","));
            out.push('\n');
        }
    }
    out
}

/// `ip\tname\t` lines of the DNS hosts.
pub fn addnhosts(def: &NetworkDef) -> String {
    let mut out = String::new();
    for (ip, names) in def.dns_hosts().unwrap_or_default() {
        out.push_str(&ip.to_string());
        for n in names {
            out.push('\t');
            out.push_str(&n);
        }
        out.push_str("\t\n");
    }
    out
}

/// Writes the configuration and hosts files. The hosts files are read by dnsmasq
/// after it dropped its privileges, hence readable by all (as libvirt makes them).
pub fn write_files(def: &NetworkDef, f: &Files) -> Result<(), String> {
    let write = |path: &Path, text: String, mode: u32| -> Result<(), String> {
        atomic_write(path, text.as_bytes()).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))
    };
    write(&f.conf, config(def, f), 0o600)?;
    write(&f.hostsfile, hostsfile(def), 0o644)?;
    write(&f.addnhosts, addnhosts(def), 0o644)?;
    Ok(())
}

/// Starts dnsmasq; returns its pid once it detached and wrote its pid file.
pub fn start(f: &Files) -> Result<i32, String> {
    let _ = std::fs::remove_file(&f.pid);
    if let Some(dir) = f.leases.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let conf = format!("--conf-file={}", f.conf.display());
    let program = super::host::tool("dnsmasq");
    let mut child = process::Spec::new(&program)
        .arg(&conf)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stderr(process::Stdio::Pipe)
        .group(process::Group::Session)
        .spawn()
        .map_err(|e| format!("Cannot run {program}: {e}"))?;
    let exit = child
        .wait_timeout(START_TIMEOUT)
        .map_err(|e| e.to_string())?;
    let mut err = String::new();
    if let Some(mut s) = child.stderr.take() {
        use std::io::Read;
        let _ = s.read_to_string(&mut err);
    }
    match exit {
        Some(exit) if exit.success() => {}
        Some(_) => {
            return Err(format!(
                "Child process ({program} {conf}) unexpected exit status: {}",
                err.trim()
            ))
        }
        None => {
            let _ = child.kill_group();
            let _ = child.wait();
            return Err(format!("{program} did not start in time"));
        }
    }
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(pid) = running_pid(f) {
            return Ok(pid);
        }
        if Instant::now() > deadline {
            return Err("dnsmasq did not write its pid file".to_string());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid in the pid file when that process is still our network's dnsmasq.
pub fn running_pid(f: &Files) -> Option<i32> {
    let text = std::fs::read_to_string(&f.pid).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    is_our_dnsmasq(pid, f).then_some(pid)
}

fn is_our_dnsmasq(pid: i32, f: &Files) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let conf = format!("--conf-file={}", f.conf.display());
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.first().is_some_and(|a| a.ends_with(b"dnsmasq")) && args.contains(&conf.as_bytes())
}

/// Stops the network's dnsmasq (if it runs) and removes its pid file.
pub fn stop(f: &Files) {
    if let Some(pid) = running_pid(f) {
        if let Ok(child) = process::Child::attach(pid) {
            let _ = child.signal(libc::SIGTERM);
            if !matches!(child.wait_timeout(STOP_TIMEOUT), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait_timeout(STOP_TIMEOUT);
            }
        }
    }
    let _ = std::fs::remove_file(&f.pid);
}

/// Leases from dnsmasq's lease file (`expiry mac ip hostname clientid` lines; the
/// IPv6 part follows a `duid` line with `expiry iaid ip hostname clientid`).
pub fn leases(f: &Files, bridge: &str, prefix_of: impl Fn(&IpAddr) -> u32) -> Vec<DhcpLease> {
    let Ok(text) = std::fs::read_to_string(&f.leases) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut v6 = false;
    for line in text.lines() {
        let p: Vec<&str> = line.split_whitespace().collect();
        if p.first() == Some(&"duid") {
            v6 = true;
            continue;
        }
        if p.len() < 4 {
            continue;
        }
        let Ok(ip) = p[2].parse::<IpAddr>() else {
            continue;
        };
        let opt = |s: &str| (s != "*").then(|| s.to_string());
        out.push(DhcpLease {
            iface: bridge.to_string(),
            expiry_time: p[0].parse().unwrap_or(0),
            addr_type: if ip.is_ipv4() { 0 } else { 1 },
            mac: if v6 { None } else { Some(p[1].to_string()) },
            iaid: if v6 { Some(p[1].to_string()) } else { None },
            prefix: prefix_of(&ip),
            ipaddr: ip.to_string(),
            hostname: opt(p[3]),
            clientid: p.get(4).and_then(|s| opt(s)),
        });
    }
    out
}
