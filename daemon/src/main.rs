//! `libvirtd`: parse the command line, load settings, run. See `startup`.

fn main() {
    let code = daemon::startup::main_entry(std::env::args_os().collect());
    std::process::exit(code);
}
