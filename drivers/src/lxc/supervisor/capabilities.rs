//! Which capabilities the container's init keeps: `<features><capabilities policy=...>`
//! read from the definition, and the drop applied to the bounding, effective, permitted,
//! inheritable and ambient sets just before exec, so nothing in the container regains them.
//!
//! With policy `default` libvirt 9.0 drops SYS_MODULE, SYS_TIME, MKNOD, AUDIT_CONTROL,
//! MAC_ADMIN and SYS_BOOT (the last only where the kernel cannot confine reboot(2) to the
//! container's PID namespace). We also drop DAC_READ_SEARCH (open_by_handle_at walks
//! out of any bind mount), SYS_RAWIO (I/O ports, /dev/mem), MAC_OVERRIDE and SYSLOG
//! (the host's kernel log). `<NAME state='on'/>` keeps any of them.

use crate::domain_xml::Element;
use crate::lxc::error::LxcError;

use super::SupervisorError;

/// libvirt's capability element names and their numbers.
const NAMES: &[(&str, u32)] = &[
    ("chown", 0),
    ("dac_override", 1),
    ("dac_read_search", 2),
    ("fowner", 3),
    ("fsetid", 4),
    ("kill", 5),
    ("setgid", 6),
    ("setuid", 7),
    ("setpcap", 8),
    ("linux_immutable", 9),
    ("net_bind_service", 10),
    ("net_broadcast", 11),
    ("net_admin", 12),
    ("net_raw", 13),
    ("ipc_lock", 14),
    ("ipc_owner", 15),
    ("sys_module", 16),
    ("sys_rawio", 17),
    ("sys_chroot", 18),
    ("sys_ptrace", 19),
    ("sys_pacct", 20),
    ("sys_admin", 21),
    ("sys_boot", 22),
    ("sys_nice", 23),
    ("sys_resource", 24),
    ("sys_time", 25),
    ("sys_tty_config", 26),
    ("mknod", 27),
    ("lease", 28),
    ("audit_write", 29),
    ("audit_control", 30),
    ("setfcap", 31),
    ("mac_override", 32),
    ("mac_admin", 33),
    ("syslog", 34),
    ("wake_alarm", 35),
    ("block_suspend", 36),
];

const SYS_BOOT: u32 = 22;
/// Dropped by libvirt 9.0 under policy `default` (besides SYS_BOOT).
const LIBVIRT_DROPS: &[u32] = &[16, 25, 27, 30, 33];
/// Dropped by us as well under policy `default`.
const EXTRA_DROPS: &[u32] = &[2, 17, 32, 34];

/// `policy` of `<features><capabilities>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CapPolicy {
    /// The default drops, adjusted per capability.
    #[default]
    Default,
    /// Keep everything not switched off.
    Allow,
    /// Drop everything not switched on.
    Deny,
}

/// The parsed `<capabilities>` element: policy and per-capability states (true = on).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapabilityFeatures {
    pub policy: CapPolicy,
    pub states: Vec<(u32, bool)>,
}

impl CapabilityFeatures {
    /// Reads `<capabilities>` below `<features>` (absent: policy default, no changes).
    pub fn parse(features: Option<&Element>) -> Result<CapabilityFeatures, LxcError> {
        let Some(caps) = features.and_then(|f| f.child("capabilities")) else {
            return Ok(CapabilityFeatures::default());
        };
        let policy = match caps.attr("policy").unwrap_or("default") {
            "default" => CapPolicy::Default,
            "allow" => CapPolicy::Allow,
            "deny" => CapPolicy::Deny,
            other => {
                return Err(LxcError::Unsupported(format!(
                    "unknown capabilities policy '{other}'"
                )))
            }
        };
        let mut states = Vec::new();
        for child in &caps.children {
            let number = NAMES
                .iter()
                .find(|(name, _)| *name == child.name)
                .map(|(_, n)| *n)
                .ok_or_else(|| {
                    LxcError::Unsupported(format!("unexpected capability feature '{}'", child.name))
                })?;
            let on = match child.attr("state").unwrap_or("on") {
                "on" => true,
                "off" => false,
                other => {
                    return Err(LxcError::Unsupported(format!(
                        "unknown state attribute '{other}' of feature capability '{}'",
                        child.name
                    )))
                }
            };
            states.retain(|(n, _)| *n != number);
            states.push((number, on));
        }
        Ok(CapabilityFeatures { policy, states })
    }

    fn state(&self, cap: u32) -> Option<bool> {
        self.states
            .iter()
            .find(|(n, _)| *n == cap)
            .map(|(_, on)| *on)
    }

    /// The capabilities to drop; `keep_reboot` when reboot(2) only ends the container,
    /// `last_cap` the highest number the kernel knows.
    pub fn dropped(&self, keep_reboot: bool, last_cap: u32) -> Vec<u32> {
        (0..=last_cap)
            .filter(|cap| {
                let state = self.state(*cap);
                match self.policy {
                    CapPolicy::Deny => state != Some(true),
                    CapPolicy::Allow => state == Some(false),
                    CapPolicy::Default => {
                        let by_default = LIBVIRT_DROPS.contains(cap)
                            || EXTRA_DROPS.contains(cap)
                            || (*cap == SYS_BOOT && !keep_reboot);
                        match state {
                            Some(on) => !on,
                            None => by_default,
                        }
                    }
                }
            })
            .collect()
    }
}

/// The highest capability number of the running kernel.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(40)
}

/// Whether reboot(2) in this (non-initial) PID namespace only ends the namespace, tested
/// as libvirt does: such kernels refuse the Ctrl-Alt-Del switch there with EINVAL. The
/// switch is set to its current value, so a kernel without the support changes nothing.
pub fn reboot_is_contained() -> bool {
    let current = std::fs::read_to_string("/proc/sys/kernel/ctrl-alt-del").unwrap_or_default();
    let cmd = if current.trim() == "0" {
        rustix::system::RebootCommand::CadOff
    } else {
        rustix::system::RebootCommand::CadOn
    };
    rustix::system::reboot(cmd) == Err(rustix::io::Errno::INVAL)
}

/// Removes `caps` from every set of this process.
pub fn drop_capabilities(caps: &[u32]) -> Result<(), SupervisorError> {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
    let failed = |what: &str, e: rustix::io::Errno| {
        SupervisorError::Failed(format!("{what} failed: {}", std::io::Error::from(e)))
    };
    let mut dropped = CapabilitySet::empty();
    for cap in caps.iter().filter(|cap| **cap < 64) {
        let one = CapabilitySet::from_bits_retain(1 << cap);
        dropped |= one;
        match rustix::thread::remove_capability_from_bounding_set(one) {
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => return Err(failed("dropping a capability from the bounding set", e)),
        }
    }
    let mut sets = capabilities(None).map_err(|e| failed("capget", e))?;
    sets.effective &= !dropped;
    sets.permitted &= !dropped;
    sets.inheritable &= !dropped;
    set_capabilities(None, sets).map_err(|e| failed("capset", e))?;
    // Kernels before 4.3 have no ambient set (EINVAL), which is as good as an empty one.
    let _ = rustix::thread::clear_ambient_capability_set();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::{parse_domain_xml, ParseOptions};

    fn features(xml: &str) -> Result<CapabilityFeatures, LxcError> {
        let doc = format!(
            "<domain type='lxc'><name>c</name><memory>1024</memory>\
             <os><type>exe</type><init>/bin/sh</init></os><features>{xml}</features></domain>"
        );
        let def = parse_domain_xml(&doc, &ParseOptions::default()).expect("parses");
        CapabilityFeatures::parse(def.extra.iter().find(|e| e.name == "features"))
    }

    #[test]
    fn default_policy_drops_libvirts_set_and_ours() {
        let caps = CapabilityFeatures::default();
        assert_eq!(
            caps.dropped(true, 40),
            vec![2, 16, 17, 25, 27, 30, 32, 33, 34]
        );
        assert!(caps.dropped(false, 40).contains(&SYS_BOOT));
    }

    #[test]
    fn states_adjust_each_policy() {
        let caps = features(
            "<capabilities policy='default'><sys_rawio state='on'/><kill state='off'/>\
             </capabilities>",
        )
        .expect("valid");
        let dropped = caps.dropped(true, 40);
        assert!(!dropped.contains(&17) && dropped.contains(&5) && dropped.contains(&16));
        let allow = features("<capabilities policy='allow'><mknod state='off'/></capabilities>")
            .expect("valid");
        assert_eq!(allow.dropped(false, 40), vec![27]);
        let deny = features("<capabilities policy='deny'><chown/></capabilities>").expect("valid");
        assert_eq!(deny.dropped(false, 3), vec![1, 2, 3]);
        assert_eq!(features("").expect("absent"), CapabilityFeatures::default());
    }

    #[test]
    fn rejects_unknown_names_policies_and_states() {
        for bad in [
            "<capabilities policy='maybe'/>",
            "<capabilities><cap_everything/></capabilities>",
            "<capabilities><kill state='yes'/></capabilities>",
        ] {
            assert!(features(bad).is_err(), "{bad}");
        }
    }
}
