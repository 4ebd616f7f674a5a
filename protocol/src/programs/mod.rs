//! Program numbers, and one module per program holding its procedure
//! table (see [`crate::table`] for the row format).

/// The main hypervisor API.
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// QEMU-specific calls (monitor commands, monitor events).
pub const QEMU_PROGRAM: u32 = 0x2000_8087;
/// LXC-specific calls.
pub const LXC_PROGRAM: u32 = 0x0006_8000;
/// Keepalive PING/PONG ("keep" in ASCII).
pub const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;
/// The daemon administration API (virt-admin).
pub const ADMIN_PROGRAM: u32 = 0x0690_0690;
/// The only version of every program.
pub const PROTOCOL_VERSION: u32 = 1;

pub mod admin_proc;
pub mod keepalive;
pub mod lxc_proc;
pub mod qemu_proc;
pub mod remote_proc;

/// The name of a procedure of a known program, for logs.
pub fn procedure_name(prog: u32, proc_: i32) -> Option<&'static str> {
    match prog {
        REMOTE_PROGRAM => remote_proc::name(proc_),
        QEMU_PROGRAM => qemu_proc::name(proc_),
        LXC_PROGRAM => lxc_proc::name(proc_),
        ADMIN_PROGRAM => admin_proc::name(proc_),
        KEEPALIVE_PROGRAM => keepalive::name(proc_),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_dense(all: &[i32], max: i32) {
        let expected: Vec<i32> = (1..=max).collect();
        assert_eq!(all, expected.as_slice());
    }

    #[test]
    fn procedure_tables_are_dense() {
        assert_dense(remote_proc::ALL, remote_proc::MAX);
        assert_dense(qemu_proc::ALL, qemu_proc::MAX);
        assert_dense(lxc_proc::ALL, lxc_proc::MAX);
        assert_dense(admin_proc::ALL, admin_proc::MAX);
        assert_dense(keepalive::ALL, keepalive::MAX);
    }

    #[test]
    fn well_known_numbers() {
        assert_eq!(remote_proc::AUTH_LIST, 66);
        assert_eq!(remote_proc::CONNECT_LIST_ALL_DOMAINS, 273);
        assert_eq!(remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE, 318);
        assert_eq!(remote_proc::name(443), Some("DOMAIN_FD_ASSOCIATE"));
        assert_eq!(remote_proc::name(444), None);
        assert_eq!(remote_proc::name(0), None);
        assert_eq!(
            procedure_name(ADMIN_PROGRAM, 19),
            Some("CONNECT_SET_DAEMON_TIMEOUT")
        );
        assert_eq!(procedure_name(KEEPALIVE_PROGRAM, 1), Some("PING"));
        assert_eq!(procedure_name(7, 1), None);
    }
}
