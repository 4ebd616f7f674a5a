//! Which messages a `log_filters` entry selects.
//!
//! libvirt names its log sources after its source tree (`rpc.netserver`,
//! `remote.remote_daemon_dispatch`, `qemu.qemu_driver`, `util.log`, ...), and
//! administrators write filters such as `1:qemu 1:rpc 3:util`. Our messages
//! carry tracing targets (Rust module paths such as
//! `drivers::qemu::monitor`). Each target is given a libvirt-style category
//! by replacing a known module prefix with the libvirt name of the same
//! subsystem and joining the remaining path with dots:
//!
//! | target prefix        | category prefix   |
//! |----------------------|-------------------|
//! | `daemon::logging`    | `util.log`        |
//! | `daemon::server`     | `rpc`             |
//! | `daemon::dispatch`   | `remote`          |
//! | `daemon::admin`      | `admin`           |
//! | `daemon`, `libvirtd` | `daemon.libvirtd` |
//! | `protocol`           | `rpc`             |
//! | `drivers::qemu`      | `qemu`            |
//! | `drivers::lxc`       | `lxc`             |
//! | `drivers::test`      | `test`            |
//! | `drivers`            | `conf`            |
//! | `hooks`              | `util.hook`       |
//!
//! Any other target becomes its path with `::` replaced by `.`. A filter
//! matches when its glob matches either the category or the raw target, so
//! `1:qemu` and `1:drivers` both select `drivers::qemu::monitor`. (A filter
//! cannot contain `::`: `:` separates the fields of a filter.)

/// Module prefixes and the libvirt category prefix they stand for; the
/// first (most specific) matching row is used.
const CATEGORY_PREFIXES: [(&str, &str); 12] = [
    ("daemon::logging", "util.log"),
    ("daemon::server", "rpc"),
    ("daemon::dispatch", "remote"),
    ("daemon::admin", "admin"),
    ("daemon", "daemon.libvirtd"),
    ("libvirtd", "daemon.libvirtd"),
    ("protocol", "rpc"),
    ("drivers::qemu", "qemu"),
    ("drivers::lxc", "lxc"),
    ("drivers::test", "test"),
    ("drivers", "conf"),
    ("hooks", "util.hook"),
];

/// The libvirt-style category of a tracing target.
pub fn category_of(target: &str) -> String {
    for (module, category) in CATEGORY_PREFIXES {
        let Some(rest) = target.strip_prefix(module) else {
            continue;
        };
        if rest.is_empty() {
            return category.to_string();
        }
        if let Some(rest) = rest.strip_prefix("::") {
            return format!("{category}.{}", rest.replace("::", "."));
        }
    }
    target.replace("::", ".")
}

/// Whole-string glob match with `*` (any run) and `?` (one character),
/// the rules of GLib's `g_pattern_match_simple` that libvirt uses.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    // Where the last `*` was and which text position it currently covers,
    // so a mismatch can retry with the star swallowing one more character.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&wanted) if wanted == '?' || wanted == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, covered)) => {
                    p = star + 1;
                    t = covered + 1;
                    backtrack = Some((star, covered + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_libvirt_categories() {
        assert_eq!(category_of("drivers::qemu::monitor"), "qemu.monitor");
        assert_eq!(category_of("drivers::qemu"), "qemu");
        assert_eq!(category_of("drivers::domain_xml"), "conf.domain_xml");
        assert_eq!(category_of("daemon::server::keepalive"), "rpc.keepalive");
        assert_eq!(category_of("daemon::dispatch::domain"), "remote.domain");
        assert_eq!(category_of("daemon::config"), "daemon.libvirtd.config");
        assert_eq!(category_of("daemon::logging"), "util.log");
        assert_eq!(category_of("hooks::runner"), "util.hook.runner");
        assert_eq!(category_of("libvirtd"), "daemon.libvirtd");
        // A prefix must end at a path boundary.
        assert_eq!(category_of("daemonic::x"), "daemonic.x");
        assert_eq!(category_of("tokio::net"), "tokio.net");
    }

    #[test]
    fn glob_rules() {
        assert!(glob_matches("*qemu*", "qemu.monitor"));
        assert!(glob_matches("*qemu*", "daemon.qemu"));
        assert!(!glob_matches("*qemu*", "lxc.driver"));
        assert!(glob_matches("*a*b*", "xaxxbx"));
        assert!(!glob_matches("*a*b*", "xbxxax"));
        assert!(glob_matches("q?mu", "qemu"));
        assert!(!glob_matches("q?mu", "qeemu"));
        assert!(glob_matches("***", ""));
        assert!(glob_matches("", ""));
        assert!(!glob_matches("", "x"));
        assert!(glob_matches("*util.log*", "util.log"));
    }
}
