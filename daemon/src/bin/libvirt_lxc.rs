//! `libvirt_lxc`: the supervisor of one container, started by the daemon's lxc driver.
//! It detaches from the daemon, so the container outlives daemon restarts.

/// The usual umask, not the daemon's 077 it inherits: the supervisor builds
/// the container's filesystem (mount points, directories inside its root) and
/// starts its init, whose files must get the modes they get on any host. Its
/// own private files are created with explicit modes (the control socket
/// 0600; status files and logs are written by the daemon).
const CONTAINER_UMASK: libc::mode_t = 0o022;

fn main() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(CONTAINER_UMASK));
    std::process::exit(drivers::lxc::supervisor::main(std::env::args_os().skip(1)));
}
