//! Calls answered through the guest agent (`domtime`, `domfsfreeze`, `domfsthaw`,
//! `domfsinfo`, `domfstrim`, `guestinfo`, `guestvcpus`, `set-user-password`,
//! `get-user-sshkeys`, `set-user-sshkeys`, `dompmsuspend`, `dompmwakeup`,
//! `guest-agent-timeout`): they wait for the guest, so they run on workers.

use std::sync::Arc;

use drivers::api::{codes, domains, Connection, DriverError};
use protocol::error::{codes as rpc_codes, domains as rpc_domains, RemoteError};
use protocol::header::Header;
use protocol::remote::*;

use super::tuning::wire_param;
use super::{dom_ref, drv, job, Action};

pub fn get_time(c: &Arc<dyn Connection>, h: &Header, a: DomainGetTimeArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let (seconds, nseconds) = drv(c.guest_agent().get_time(&dom_ref(&a.dom), a.flags))?;
        Ok(DomainGetTimeRet { seconds, nseconds })
    })
}

pub fn set_time(c: &Arc<dyn Connection>, h: &Header, a: DomainSetTimeArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c
            .guest_agent()
            .set_time(&dom_ref(&a.dom), a.seconds, a.nseconds, a.flags))
    })
}

pub fn fs_freeze(c: &Arc<dyn Connection>, h: &Header, a: DomainFsfreezeArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let filesystems =
            drv(c
                .guest_agent()
                .fs_freeze(&dom_ref(&a.dom), &a.mountpoints, a.flags))?;
        Ok(DomainFsfreezeRet { filesystems })
    })
}

pub fn fs_thaw(c: &Arc<dyn Connection>, h: &Header, a: DomainFsthawArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let filesystems = drv(c
            .guest_agent()
            .fs_thaw(&dom_ref(&a.dom), &a.mountpoints, a.flags))?;
        Ok(DomainFsthawRet { filesystems })
    })
}

pub fn fs_info(c: &Arc<dyn Connection>, h: &Header, a: DomainGetFsinfoArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let list = drv(c.guest_agent().fs_info(&dom_ref(&a.dom), a.flags))?;
        let info: Vec<DomainFsinfo> = list
            .into_iter()
            .take(DOMAIN_FSINFO_MAX)
            .map(|fs| DomainFsinfo {
                mountpoint: fs.mountpoint,
                name: fs.name,
                fstype: fs.fstype,
                dev_aliases: fs
                    .dev_aliases
                    .into_iter()
                    .take(DOMAIN_FSINFO_DISKS_MAX)
                    .collect(),
            })
            .collect();
        Ok(DomainGetFsinfoRet {
            ret: info.len() as u32,
            info,
        })
    })
}

pub fn guest_info(c: &Arc<dyn Connection>, h: &Header, a: DomainGetGuestInfoArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = drv(c
            .guest_agent()
            .guest_info(&dom_ref(&a.dom), a.types, a.flags))?;
        Ok(DomainGetGuestInfoRet {
            params: params
                .into_iter()
                .take(DOMAIN_GUEST_INFO_PARAMS_MAX)
                .map(wire_param)
                .collect(),
        })
    })
}

pub fn guest_vcpus(c: &Arc<dyn Connection>, h: &Header, a: DomainGetGuestVcpusArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        let params = drv(c.guest_agent().guest_vcpus(&dom_ref(&a.dom), a.flags))?;
        Ok(DomainGetGuestVcpusRet {
            params: params
                .into_iter()
                .take(DOMAIN_GUEST_VCPU_PARAMS_MAX)
                .map(wire_param)
                .collect(),
        })
    })
}

pub fn set_guest_vcpus(c: &Arc<dyn Connection>, h: &Header, a: DomainSetGuestVcpusArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c
            .guest_agent()
            .set_guest_vcpus(&dom_ref(&a.dom), &a.cpumap, a.state != 0, a.flags))
    })
}

pub fn set_user_password(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainSetUserPasswordArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let missing = |what: &str| {
            DriverError::new(
                codes::INVALID_ARG,
                domains::DOMAIN,
                format!("{what} in virDomainSetUserPassword must not be NULL"),
            )
        };
        let user = drv(a.user.ok_or_else(|| missing("user")))?;
        let password = drv(a.password.ok_or_else(|| missing("password")))?;
        drv(c
            .guest_agent()
            .set_user_password(&dom_ref(&a.dom), &user, &password, a.flags))
    })
}

pub fn set_response_timeout(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainAgentSetResponseTimeoutArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c
            .guest_agent()
            .set_response_timeout(&dom_ref(&a.dom), a.timeout, a.flags))?;
        Ok(DomainAgentSetResponseTimeoutRet { result: 0 })
    })
}

pub fn fs_trim(c: &Arc<dyn Connection>, h: &Header, a: DomainFstrimArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.guest_agent().fs_trim(
            &dom_ref(&a.dom),
            a.mount_point.as_deref(),
            a.minimum,
            a.flags,
        ))
    })
}

pub fn ssh_keys_get(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainAuthorizedSshKeysGetArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        let keys = drv(c
            .guest_agent()
            .ssh_keys_get(&dom_ref(&a.dom), &a.user, a.flags))?;
        if keys.len() > DOMAIN_AUTHORIZED_SSH_KEYS_MAX {
            return Err(RemoteError::new(
                rpc_codes::RPC,
                rpc_domains::RPC,
                format!(
                    "Number of keys {}, which exceeds max limit: {DOMAIN_AUTHORIZED_SSH_KEYS_MAX}",
                    keys.len()
                ),
            ));
        }
        Ok(DomainAuthorizedSshKeysGetRet { keys })
    })
}

pub fn ssh_keys_set(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainAuthorizedSshKeysSetArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c
            .guest_agent()
            .ssh_keys_set(&dom_ref(&a.dom), &a.user, &a.keys, a.flags))
    })
}

pub fn pm_suspend(
    c: &Arc<dyn Connection>,
    h: &Header,
    a: DomainPmSuspendForDurationArgs,
) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c
            .guest_agent()
            .pm_suspend(&dom_ref(&a.dom), a.target, a.duration, a.flags))
    })
}

pub fn pm_wakeup(c: &Arc<dyn Connection>, h: &Header, a: DomainPmWakeupArgs) -> Action {
    let c = c.clone();
    job(h, move || {
        drv(c.guest_agent().pm_wakeup(&dom_ref(&a.dom), a.flags))
    })
}
