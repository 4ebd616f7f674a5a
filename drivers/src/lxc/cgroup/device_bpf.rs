//! The cgroup v2 device filter: a `BPF_CGROUP_DEVICE` program built from the allow-list
//! as raw eBPF instructions and loaded with bpf(2) through libc.
//!
//! Why no crate: the program is a dozen fixed instructions (compare type, major and minor,
//! return 1 or 0), the maintained eBPF crates (aya, libbpf-rs) bring a loader for ELF
//! objects, a build step (clang or bpf-linker, partly nightly) or a C library for what
//! here is two system calls; hand-encoding keeps the supervisor free of all three.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::devices::DeviceRule;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs that nested groups attach (systemd inside the container) run in addition to
/// this one, and every program must admit an access: they can only narrow the list.
const BPF_F_ALLOW_MULTI: u32 = 2;
/// `bpf_cgroup_dev_ctx.access_type & 0xffff` for a character device.
const DEV_CHAR: i32 = 2;

/// One eBPF instruction, as the kernel lays out `struct bpf_insn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }

    /// `dst = *(u32 *)(src + off)`
    const fn load_word(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(0x61, dst, src, off, 0)
    }

    /// `dst &= imm`
    const fn and(dst: u8, imm: i32) -> Insn {
        Insn::new(0x57, dst, 0, 0, imm)
    }

    /// `if dst != imm goto +off`
    const fn jump_if_not(dst: u8, imm: i32, off: i16) -> Insn {
        Insn::new(0x55, dst, 0, off, imm)
    }

    /// `r0 = imm`
    const fn ret_value(imm: i32) -> Insn {
        Insn::new(0xb7, 0, 0, 0, imm)
    }

    const fn exit() -> Insn {
        Insn::new(0x95, 0, 0, 0, 0)
    }

    fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[0] = self.code;
        out[1] = self.regs;
        out[2..4].copy_from_slice(&self.off.to_ne_bytes());
        out[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        out
    }
}

/// The filter: r2 = device type, r3 = major, r4 = minor (from `bpf_cgroup_dev_ctx` in
/// r1); one block per rule that returns 1 on a match; 0 at the end.
pub fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut insns = vec![
        Insn::load_word(2, 1, 0),
        Insn::and(2, 0xffff),
        Insn::load_word(3, 1, 4),
        Insn::load_word(4, 1, 8),
    ];
    for rule in rules {
        let major = rule.major as i32;
        match rule.minor {
            Some(minor) => {
                insns.push(Insn::jump_if_not(2, DEV_CHAR, 4));
                insns.push(Insn::jump_if_not(3, major, 3));
                insns.push(Insn::jump_if_not(4, minor as i32, 2));
            }
            None => {
                insns.push(Insn::jump_if_not(2, DEV_CHAR, 3));
                insns.push(Insn::jump_if_not(3, major, 2));
            }
        }
        insns.push(Insn::ret_value(1));
        insns.push(Insn::exit());
    }
    insns.push(Insn::ret_value(0));
    insns.push(Insn::exit());
    insns
}

/// `union bpf_attr` as BPF_PROG_LOAD reads it (the fields up to the attach type).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` as BPF_PROG_ATTACH reads it.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<i32> {
    // SAFETY: attr is a valid, initialised bpf_attr prefix of the given size.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as i32)
    }
}

fn load(rules: &[DeviceRule]) -> io::Result<OwnedFd> {
    let bytes: Vec<u8> = program(rules)
        .into_iter()
        .flat_map(Insn::to_bytes)
        .collect();
    // The kernel only asks for a licence string; no GPL-only helper is called.
    let license = CString::new("LGPL-2.1-or-later").map_err(io::Error::other)?;
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"lxc_devices");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: (bytes.len() / 8) as u32,
        insns: bytes.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..ProgLoadAttr::default()
    };
    let fd = match bpf(BPF_PROG_LOAD, &mut attr) {
        // Kernels before 5.11 charge programs to RLIMIT_MEMLOCK: lift it for the load only.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            with_unlimited_memlock(|| bpf(BPF_PROG_LOAD, &mut attr))?
        }
        other => other?,
    };
    // SAFETY: BPF_PROG_LOAD returned a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn with_unlimited_memlock<T>(f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let old = getrlimit(Resource::RLIMIT_MEMLOCK);
    let _ = setrlimit(Resource::RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
    let result = f();
    if let Ok((soft, hard)) = old {
        let _ = setrlimit(Resource::RLIMIT_MEMLOCK, soft, hard);
    }
    result
}

/// Loads the filter for `rules` and attaches it to the v2 group `dir`. The group keeps
/// the program alive; our descriptor is closed on return.
pub fn attach(dir: &Path, rules: &[DeviceRule]) -> io::Result<()> {
    let prog = load(rules)?;
    let group = File::open(dir)?;
    let mut attr = ProgAttachAttr {
        target_fd: group.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttachAttr::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_one_block_per_rule() {
        let rules = [
            DeviceRule {
                major: 1,
                minor: Some(3),
            },
            DeviceRule {
                major: 136,
                minor: None,
            },
        ];
        let insns = program(&rules);
        assert_eq!(insns.len(), 4 + 5 + 4 + 2);
        assert_eq!(
            Insn::load_word(2, 1, 0).to_bytes(),
            [0x61, 0x12, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(insns[4], Insn::jump_if_not(2, DEV_CHAR, 4));
        assert_eq!(insns[6], Insn::jump_if_not(4, 3, 2));
        // Every jump lands inside the program, on the next block's first instruction.
        for (i, insn) in insns.iter().enumerate() {
            if insn.code == 0x55 {
                let target = i as i64 + 1 + i64::from(insn.off);
                assert!(target < insns.len() as i64);
                assert_eq!(insns[target as usize - 1], Insn::exit());
            }
        }
        assert_eq!(insns[insns.len() - 2], Insn::ret_value(0));
    }
}
