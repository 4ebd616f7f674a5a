//! `libvirt-guests`: save or shut down the running guests when the host goes down and
//! bring them back when it comes up. See libvirt-guests(8).

fn main() {
    std::process::exit(guests::main_with_args(std::env::args_os().collect()));
}
