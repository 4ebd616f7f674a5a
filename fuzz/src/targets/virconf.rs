//! virConf files (`libvirtd.conf`, `qemu.conf`, `lxc.conf`): parsed, then
//! every key read back with each typed getter the daemon and drivers use.

use drivers::virconf::ConfFile;

use super::{mutate_text, Features, Target};

pub const TARGET: Target = Target {
    name: "virconf",
    run,
    mutate: mutate_text,
    ci_iterations: 20_000,
};

fn run(input: &[u8]) -> Features {
    let text = String::from_utf8_lossy(input);
    let mut sig = Features::default();
    match ConfFile::parse(&text, "fuzz.conf") {
        Ok(conf) => {
            for entry in conf.entries() {
                let name = entry.name.as_str();
                sig.add((
                    entry.value.kind(),
                    conf.get_bool(name).is_ok(),
                    conf.get_uint(name).is_ok(),
                    conf.get_int(name).is_ok(),
                    conf.get_ullong(name).is_ok(),
                    conf.get_llong(name).is_ok(),
                    conf.get_string(name).is_ok(),
                    conf.get_string_list(name).is_ok(),
                ));
                if let Err(e) = conf.get_string_or_list(name) {
                    sig.add_kind("list", &e);
                }
            }
        }
        Err(e) => sig.add_kind("parse", &e),
    }
    sig
}
