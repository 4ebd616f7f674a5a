//! The typed calls libvirt's qemu driver makes through the guest agent.

use base64::Engine;
use serde_json::{json, Value};

use super::{guest_info, malformed};
use crate::api::{
    codes, domains, DomainRef, DriverError, DriverResult, GuestAgentCalls, GuestFsInfo,
    InterfaceAddresses, NamedParam, ParamValue,
};
use crate::qemu::connection::QemuConnection;
use crate::qemu::error::QemuError;
use crate::qemu::lifecycle::check_flags;
use crate::qemu::Inner;

/// `VIR_DOMAIN_TIME_SYNC`.
const TIME_SYNC: u32 = 1;
/// `VIR_DOMAIN_PASSWORD_ENCRYPTED`.
const PASSWORD_ENCRYPTED: u32 = 1;
/// `VIR_DOMAIN_AUTHORIZED_SSH_KEYS_SET_APPEND`.
const SSH_KEYS_APPEND: u32 = 1;
/// `VIR_DOMAIN_AUTHORIZED_SSH_KEYS_SET_REMOVE`.
const SSH_KEYS_REMOVE: u32 = 2;
const NANOS: i64 = 1_000_000_000;

impl Inner {
    /// `guest-network-get-interfaces`, as `virDomainInterfaceAddresses` with the
    /// agent source lists them.
    pub(in crate::qemu) fn agent_interfaces(
        &self,
        dom: &DomainRef,
    ) -> DriverResult<Vec<InterfaceAddresses>> {
        let reply = self
            .agent(dom)?
            .call("guest-network-get-interfaces", None)?;
        guest_info::interfaces(&reply)
    }

    /// `virDomainGetHostname` with the agent source.
    pub(in crate::qemu) fn agent_hostname(&self, dom: &DomainRef) -> DriverResult<String> {
        let reply = self.agent(dom)?.call("guest-get-host-name", None)?;
        reply
            .get("host-name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                DriverError::new(
                    codes::INTERNAL_ERROR,
                    domains::QEMU,
                    "malformed return value",
                )
            })
    }

    /// `guest-shutdown` in `mode` (powerdown, reboot); the agent answers nothing.
    pub(in crate::qemu) fn agent_shutdown(&self, dom: &DomainRef, mode: &str) -> DriverResult<()> {
        self.agent(dom)?
            .send("guest-shutdown", Some(json!({ "mode": mode })))
    }
}

fn fs_freeze_call(inner: &Inner, dom: &DomainRef, mounts: &[String]) -> DriverResult<i32> {
    let agent = inner.agent(dom)?;
    let reply = if mounts.is_empty() {
        agent.call("guest-fsfreeze-freeze", None)?
    } else {
        agent.call(
            "guest-fsfreeze-freeze-list",
            Some(json!({ "mountpoints": mounts })),
        )?
    };
    reply
        .as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(malformed)
}

/// Freezes the guest's filesystems (all, or `mounts`) before a quiesced snapshot.
pub(in crate::qemu) fn freeze(
    inner: &Inner,
    dom: &DomainRef,
    mounts: &[String],
) -> DriverResult<i32> {
    fs_freeze_call(inner, dom, mounts)
}

/// Thaws every frozen filesystem of the guest.
pub(in crate::qemu) fn thaw(inner: &Inner, dom: &DomainRef) -> DriverResult<i32> {
    inner
        .agent(dom)?
        .call("guest-fsfreeze-thaw", None)?
        .as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(malformed)
}

/// Parses a vCPU list such as `0-3,^2` (libvirt's bitmap syntax).
fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut set = std::collections::BTreeSet::new();
    for part in text.split(',') {
        let part = part.trim();
        if let Some(negated) = part.strip_prefix('^') {
            set.remove(&negated.parse::<u32>().ok()?);
        } else if let Some((a, b)) = part.split_once('-') {
            let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
            if a > b || b > 16_383 {
                return None;
            }
            set.extend(a..=b);
        } else {
            let n = part.parse::<u32>().ok()?;
            if n > 16_383 {
                return None;
            }
            set.insert(n);
        }
    }
    Some(set.into_iter().collect())
}

/// Formats CPU ids as libvirt prints bitmaps: `0-2,5`.
pub(super) fn format_cpu_list(ids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// `guest-get-vcpus`: (logical id, online, can go offline) per vCPU.
fn guest_cpus(inner: &Inner, dom: &DomainRef) -> DriverResult<Vec<(u32, bool, bool)>> {
    let reply = inner.agent(dom)?.call("guest-get-vcpus", None)?;
    let list = reply.as_array().ok_or_else(malformed)?;
    list.iter()
        .map(|cpu| {
            Some((
                u32::try_from(cpu.get("logical-id")?.as_u64()?).ok()?,
                cpu.get("online")?.as_bool()?,
                cpu.get("can-offline")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(malformed)
}

impl GuestAgentCalls for QemuConnection {
    fn get_time(&self, dom: &DomainRef, flags: u32) -> DriverResult<(i64, u32)> {
        check_flags(flags, 0, "qemuDomainGetTime")?;
        let reply = self.inner.agent(dom)?.call("guest-get-time", None)?;
        let nanos = reply.as_i64().ok_or_else(malformed)?;
        Ok((nanos.div_euclid(NANOS), nanos.rem_euclid(NANOS) as u32))
    }

    fn set_time(&self, dom: &DomainRef, secs: i64, nsecs: u32, flags: u32) -> DriverResult<()> {
        check_flags(flags, TIME_SYNC, "qemuDomainSetTime")?;
        let agent = self.inner.agent(dom)?;
        let arguments = if flags & TIME_SYNC != 0 {
            // The guest reads its clock back from its RTC.
            None
        } else {
            if !(i64::MIN / NANOS..=i64::MAX / NANOS).contains(&secs) {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    format!("Time '{secs}' is too big for guest agent"),
                ));
            }
            Some(json!({ "time": secs * NANOS + i64::from(nsecs) }))
        };
        agent.call("guest-set-time", arguments)?;
        // x86 guests: the RTC's missed ticks are dropped, as libvirt does.
        let (monitor, _, _) = self.inner.running_parts(dom)?;
        monitor
            .execute("rtc-reset-reinjection", None)
            .map_err(QemuError::from)?;
        Ok(())
    }

    fn fs_freeze(&self, dom: &DomainRef, mounts: &[String], flags: u32) -> DriverResult<i32> {
        check_flags(flags, 0, "qemuDomainFSFreeze")?;
        fs_freeze_call(&self.inner, dom, mounts)
    }

    fn fs_thaw(&self, dom: &DomainRef, mounts: &[String], flags: u32) -> DriverResult<i32> {
        check_flags(flags, 0, "qemuDomainFSThaw")?;
        if !mounts.is_empty() {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                "specifying mountpoints is not supported",
            ));
        }
        thaw(&self.inner, dom)
    }

    fn fs_info(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<GuestFsInfo>> {
        check_flags(flags, 0, "qemuDomainGetFSInfo")?;
        let reply = self.inner.agent(dom)?.call("guest-get-fsinfo", None)?;
        let devices = self.inner.live_devices(dom)?;
        guest_info::filesystems(&reply, &devices).map(|list| {
            list.into_iter()
                .map(|fs| GuestFsInfo {
                    mountpoint: fs.mountpoint,
                    name: fs.name,
                    fstype: fs.fstype,
                    dev_aliases: fs.disks.into_iter().filter_map(|d| d.alias).collect(),
                })
                .collect()
        })
    }

    fn guest_info(&self, dom: &DomainRef, types: u32, flags: u32) -> DriverResult<Vec<NamedParam>> {
        check_flags(flags, 0, "qemuDomainGetGuestInfo")?;
        guest_info::collect(&self.inner, dom, types)
    }

    fn guest_vcpus(&self, dom: &DomainRef, flags: u32) -> DriverResult<Vec<NamedParam>> {
        check_flags(flags, 0, "qemuDomainGetGuestVcpus")?;
        let cpus = guest_cpus(&self.inner, dom)?;
        let list = |keep: &dyn Fn(&(u32, bool, bool)) -> bool| {
            let ids: Vec<u32> = cpus.iter().filter(|c| keep(c)).map(|c| c.0).collect();
            ParamValue::String(format_cpu_list(&ids))
        };
        Ok(vec![
            NamedParam::new("vcpus", list(&|_| true)),
            NamedParam::new("online", list(&|c| c.1)),
            NamedParam::new("offlinable", list(&|c| c.2)),
        ])
    }

    fn set_guest_vcpus(
        &self,
        dom: &DomainRef,
        cpumap: &str,
        online: bool,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainSetGuestVcpus")?;
        let wanted = parse_cpu_list(cpumap).ok_or_else(|| {
            DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("failed to parse vcpu map '{cpumap}'"),
            )
        })?;
        let cpus = guest_cpus(&self.inner, dom)?;
        let mut changes = Vec::new();
        for id in &wanted {
            let Some(cpu) = cpus.iter().find(|c| c.0 == *id) else {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    "requested vcpu is not present in the guest",
                ));
            };
            if !online && !cpu.2 {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::QEMU,
                    format!("vCPU '{id}' is not offlinable"),
                ));
            }
            if cpu.1 != online {
                changes.push(json!({"logical-id": id, "online": online}));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let done = self
            .inner
            .agent(dom)?
            .call("guest-set-vcpus", Some(json!({ "vcpus": changes })))?
            .as_u64()
            .ok_or_else(malformed)?;
        if done as usize != changes.len() {
            return Err(DriverError::new(
                codes::INTERNAL_ERROR,
                domains::QEMU,
                "guest agent reports less vcpus changed than requested",
            ));
        }
        Ok(())
    }

    fn set_user_password(
        &self,
        dom: &DomainRef,
        user: &str,
        password: &str,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, PASSWORD_ENCRYPTED, "qemuDomainSetUserPassword")?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(password);
        self.inner.agent(dom)?.call(
            "guest-set-user-password",
            Some(json!({
                "crypted": flags & PASSWORD_ENCRYPTED != 0,
                "username": user,
                "password": encoded,
            })),
        )?;
        Ok(())
    }

    fn fs_trim(
        &self,
        dom: &DomainRef,
        mount_point: Option<&str>,
        minimum: u64,
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainFSTrim")?;
        if mount_point.is_some() {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                "Specifying mount point is not supported for now",
            ));
        }
        // The per-filesystem results are not reported, as in libvirt.
        self.inner
            .agent(dom)?
            .call("guest-fstrim", Some(json!({ "minimum": minimum })))?;
        Ok(())
    }

    fn ssh_keys_get(&self, dom: &DomainRef, user: &str, flags: u32) -> DriverResult<Vec<String>> {
        check_flags(flags, 0, "qemuDomainAuthorizedSSHKeysGet")?;
        let reply = self.inner.agent(dom)?.call(
            "guest-ssh-get-authorized-keys",
            Some(json!({ "username": user })),
        )?;
        reply
            .get("keys")
            .and_then(Value::as_array)
            .and_then(|keys| {
                keys.iter()
                    .map(|k| k.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                DriverError::new(
                    codes::INTERNAL_ERROR,
                    domains::QEMU,
                    "qemu agent didn't return an array of keys",
                )
            })
    }

    fn ssh_keys_set(
        &self,
        dom: &DomainRef,
        user: &str,
        keys: &[String],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(
            flags,
            SSH_KEYS_APPEND | SSH_KEYS_REMOVE,
            "qemuDomainAuthorizedSSHKeysSet",
        )?;
        let agent = self.inner.agent(dom)?;
        if flags & SSH_KEYS_REMOVE != 0 {
            agent.call(
                "guest-ssh-remove-authorized-keys",
                Some(json!({ "username": user, "keys": keys })),
            )?;
        } else {
            agent.call(
                "guest-ssh-add-authorized-keys",
                Some(json!({
                    "username": user,
                    "keys": keys,
                    "reset": flags & SSH_KEYS_APPEND == 0,
                })),
            )?;
        }
        Ok(())
    }

    fn pm_suspend(
        &self,
        dom: &DomainRef,
        target: u32,
        duration: u64,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.pm_suspend(dom, target, duration, flags)
    }

    fn pm_wakeup(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.pm_wakeup(dom, flags)
    }

    fn set_response_timeout(&self, dom: &DomainRef, timeout: i32, flags: u32) -> DriverResult<()> {
        self.inner.set_agent_timeout(dom, timeout, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_and_print_as_libvirt_bitmaps() {
        assert_eq!(parse_cpu_list("0-3,^2"), Some(vec![0, 1, 3]));
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(format_cpu_list(&[0, 1, 2, 5]), "0-2,5");
        assert_eq!(format_cpu_list(&[]), "");
    }
}
