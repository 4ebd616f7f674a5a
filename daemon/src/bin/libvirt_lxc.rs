//! `libvirt_lxc`: the supervisor of one container, started by the daemon's lxc driver.
//! It detaches from the daemon, so the container outlives daemon restarts.

fn main() {
    std::process::exit(drivers::lxc::supervisor::main(std::env::args_os().skip(1)));
}
