//! `libvirt-guests`: save or shut down the running guests when the host goes down and
//! bring them back when it comes up. See libvirt-guests(8).

fn main() {
    // Its lists of guests and its lock file are root's alone.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    std::process::exit(guests::main_with_args(std::env::args_os().collect()));
}
