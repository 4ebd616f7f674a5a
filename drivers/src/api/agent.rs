//! Calls a hypervisor answers through an agent inside the guest (the QEMU guest
//! agent): guest clock, filesystems, vCPUs, user passwords, guest information.

use super::{DomainRef, DriverError, DriverResult, NamedParam};

/// One mounted filesystem of the guest (`virDomainFSInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestFsInfo {
    pub mountpoint: String,
    pub name: String,
    pub fstype: String,
    /// Targets (`vda`) of the domain disks the filesystem lives on.
    pub dev_aliases: Vec<String>,
}

/// `VIR_DOMAIN_GUEST_INFO_*` types.
pub mod guest_info_types {
    pub const USERS: u32 = 1 << 0;
    pub const OS: u32 = 1 << 1;
    pub const TIMEZONE: u32 = 1 << 2;
    pub const HOSTNAME: u32 = 1 << 3;
    pub const FILESYSTEM: u32 = 1 << 4;
    pub const DISKS: u32 = 1 << 5;
    pub const INTERFACES: u32 = 1 << 6;
    pub const ALL: u32 = USERS | OS | TIMEZONE | HOSTNAME | FILESYSTEM | DISKS | INTERFACES;
}

/// The guest agent calls of one connection; every one is unsupported unless the
/// driver answers it.
pub trait GuestAgentCalls: Send + Sync {
    /// `virDomainGetTime`: seconds and nanoseconds of the guest's clock.
    fn get_time(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<(i64, u32)> {
        Err(DriverError::no_support("virDomainGetTime"))
    }
    /// `virDomainSetTime`.
    fn set_time(&self, _dom: &DomainRef, _secs: i64, _nsecs: u32, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetTime"))
    }
    /// `virDomainFSFreeze`: how many filesystems were frozen.
    fn fs_freeze(&self, _dom: &DomainRef, _mounts: &[String], _flags: u32) -> DriverResult<i32> {
        Err(DriverError::no_support("virDomainFSFreeze"))
    }
    /// `virDomainFSThaw`: how many filesystems were thawed.
    fn fs_thaw(&self, _dom: &DomainRef, _mounts: &[String], _flags: u32) -> DriverResult<i32> {
        Err(DriverError::no_support("virDomainFSThaw"))
    }
    /// `virDomainGetFSInfo`.
    fn fs_info(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<GuestFsInfo>> {
        Err(DriverError::no_support("virDomainGetFSInfo"))
    }
    /// `virDomainGetGuestInfo`: typed parameters of the asked `types`.
    fn guest_info(
        &self,
        _dom: &DomainRef,
        _types: u32,
        _flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetGuestInfo"))
    }
    /// `virDomainGetGuestVcpus`: `vcpus`, `online`, `offlinable` as CPU lists.
    fn guest_vcpus(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<Vec<NamedParam>> {
        Err(DriverError::no_support("virDomainGetGuestVcpus"))
    }
    /// `virDomainSetGuestVcpus`.
    fn set_guest_vcpus(
        &self,
        _dom: &DomainRef,
        _cpumap: &str,
        _online: bool,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetGuestVcpus"))
    }
    /// `virDomainSetUserPassword`.
    fn set_user_password(
        &self,
        _dom: &DomainRef,
        _user: &str,
        _password: &str,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainSetUserPassword"))
    }
    /// `virDomainFSTrim`: discards the unused blocks of the guest's filesystems.
    fn fs_trim(
        &self,
        _dom: &DomainRef,
        _mount_point: Option<&str>,
        _minimum: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainFSTrim"))
    }
    /// `virDomainAuthorizedSSHKeysGet`: the keys in `user`'s authorized_keys file.
    fn ssh_keys_get(
        &self,
        _dom: &DomainRef,
        _user: &str,
        _flags: u32,
    ) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virDomainAuthorizedSSHKeysGet"))
    }
    /// `virDomainAuthorizedSSHKeysSet`: replaces, appends to or removes from
    /// `user`'s authorized keys.
    fn ssh_keys_set(
        &self,
        _dom: &DomainRef,
        _user: &str,
        _keys: &[String],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainAuthorizedSSHKeysSet"))
    }
    /// `virDomainPMSuspendForDuration`: the guest suspends itself to `target`
    /// (`VIR_NODE_SUSPEND_TARGET_*`).
    fn pm_suspend(
        &self,
        _dom: &DomainRef,
        _target: u32,
        _duration: u64,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainPMSuspendForDuration"))
    }
    /// `virDomainPMWakeup`.
    fn pm_wakeup(&self, _dom: &DomainRef, _flags: u32) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainPMWakeup"))
    }
    /// `virDomainAgentSetResponseTimeout`.
    fn set_response_timeout(
        &self,
        _dom: &DomainRef,
        _timeout: i32,
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virDomainAgentSetResponseTimeout"))
    }
}

/// The calls of a driver without a guest agent.
pub struct NoGuestAgent;

impl GuestAgentCalls for NoGuestAgent {}
