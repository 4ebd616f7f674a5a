//! `--quiesce`: a disk-only snapshot of a running guest is taken with the guest's
//! filesystems frozen through its agent, and thawed right after, as libvirt does.

use crate::api::{
    codes, domains, snapshot_create_flags as cf, DomainRef, DriverError, DriverResult,
};
use crate::qemu::agent;
use crate::qemu::Inner;

/// Refuses `--quiesce` without `--disk-only`.
pub fn check(flags: u32, disk_only: bool) -> DriverResult<()> {
    if flags & cf::QUIESCE != 0 && !disk_only {
        return Err(DriverError::new(
            codes::OPERATION_INVALID,
            domains::QEMU,
            "quiesce requires disk-only",
        ));
    }
    Ok(())
}

/// Runs `take` between a freeze and a thaw of the guest's filesystems when `flags`
/// ask for quiescing. A failed thaw fails an otherwise successful snapshot.
pub fn around<T>(
    inner: &Inner,
    dom: &DomainRef,
    flags: u32,
    take: impl FnOnce() -> DriverResult<T>,
) -> DriverResult<T> {
    if flags & cf::QUIESCE == 0 {
        return take();
    }
    agent::freeze(inner, dom, &[])?;
    let taken = take();
    let thawed = agent::thaw(inner, dom);
    let taken = taken?;
    thawed?;
    Ok(taken)
}
