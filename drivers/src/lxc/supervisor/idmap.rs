//! `<idmap>`: the container runs in a user namespace whose uid/gid ranges map to the
//! given host ranges, so its root is an unprivileged user on the host.

use std::fs::File;

use nix::unistd::{Gid, Uid};

use super::SupervisorError;
use crate::lxc::xml::IdMap;

/// Writes `/proc/PID/uid_map` and `gid_map` of the child (before it continues).
pub fn write_maps(pid: i32, map: &IdMap) -> Result<(), SupervisorError> {
    for (file, ranges) in [("uid_map", &map.uid), ("gid_map", &map.gid)] {
        let text: String = ranges
            .iter()
            .map(|(start, target, count)| format!("{start} {target} {count}\n"))
            .collect();
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, text)
            .map_err(|e| SupervisorError::io_at("cannot write", std::path::Path::new(&path), e))?;
    }
    Ok(())
}

/// The host id that id 0 inside maps to.
pub fn host_id_of_root(ranges: &[(u32, u32, u32)]) -> Option<u32> {
    ranges
        .iter()
        .find(|(start, _, count)| *start == 0 && *count > 0)
        .map(|(_, target, _)| *target)
}

/// Gives the console to the container's root, which has no rights on host-owned files.
pub fn hand_over_console(slave: &File, map: &IdMap) -> Result<(), SupervisorError> {
    let (Some(uid), Some(gid)) = (host_id_of_root(&map.uid), host_id_of_root(&map.gid)) else {
        return Ok(());
    };
    nix::unistd::fchown(slave, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .map_err(|e| SupervisorError::io("cannot hand the console to the container", e.into()))
}

/// In the child, once the maps exist: become uid and gid 0 of the namespace, so init
/// keeps its capabilities there across exec.
pub fn become_root_inside() -> Result<(), SupervisorError> {
    let root_gid = Gid::from_raw(0);
    let root_uid = Uid::from_raw(0);
    nix::unistd::setgroups(&[])
        .and_then(|()| nix::unistd::setresgid(root_gid, root_gid, root_gid))
        .and_then(|()| nix::unistd::setresuid(root_uid, root_uid, root_uid))
        .map_err(|e| SupervisorError::io("cannot become root in the user namespace", e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_host_id_of_root() {
        assert_eq!(host_id_of_root(&[(0, 100000, 65536)]), Some(100000));
        assert_eq!(host_id_of_root(&[(1, 100000, 10)]), None);
    }
}
