//! `virsh domxml-to-native qemu-argv`: the environment and command line a
//! start of the given definition would run QEMU with, as one shell line.
//! Nothing is created: no taps, network ports, secrets or hook calls; the
//! monitor and channel sockets are named where a start would put them.

use super::command::{build_command_line, LaunchContext};
use super::lifecycle::check_flags;
use super::Inner;
use crate::api::{codes, domains, DriverError, DriverResult};

/// The only native format of libvirt's qemu driver.
const QEMU_ARGV: &str = "qemu-argv";

/// The environment QEMU runs with (`HOME` is the driver's state directory).
pub(super) fn qemu_env(home: &str) -> Vec<(String, String)> {
    vec![
        ("LC_ALL".to_string(), "C".to_string()),
        (
            "PATH".to_string(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ),
        ("HOME".to_string(), home.to_string()),
    ]
}

/// A word for a POSIX shell: left as it is when it has no character the shell
/// treats specially, else in single quotes (libvirt quotes the same set).
fn shell_word(text: &str) -> String {
    const SPECIAL: &str = "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~";
    if !text.is_empty() && !text.chars().any(|c| SPECIAL.contains(c)) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `K=V ... argv...` on one line, each value and argument quoted as needed.
fn shell_line(env: &[(String, String)], argv: &[String]) -> String {
    let mut words: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", shell_word(v)))
        .collect();
    words.extend(argv.iter().map(|a| shell_word(a)));
    let mut line = words.join(" ");
    line.push('\n');
    line
}

impl Inner {
    pub(super) fn xml_to_native(
        &self,
        format: &str,
        xml: &str,
        flags: u32,
    ) -> DriverResult<String> {
        check_flags(flags, 0, "qemuConnectDomainXMLToNative")?;
        if format != QEMU_ARGV {
            return Err(DriverError::new(
                codes::INVALID_ARG,
                domains::QEMU,
                format!("unsupported config type {format}"),
            ));
        }
        let mut def = self.parse_def(xml)?;
        self.name_runtime_parts(&mut def);
        let conf = self.conf();
        let channel_dir = self.paths.channel_dir(&def.name).display().to_string();
        let def = super::volumes::resolved(self, &def)?;
        let monitor = self.paths.monitor_socket(&def.name).display().to_string();
        let argv = build_command_line(
            &def,
            &LaunchContext {
                monitor_socket: &monitor,
                incoming: None,
                conf: &conf,
                host: self.host(),
                channel_dir: Some(&channel_dir),
                disk_secrets: None,
            },
        )?;
        let env = qemu_env(&self.paths.lib_dir.display().to_string());
        Ok(shell_line(&env, &argv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_the_shell_would_split_or_expand_them() {
        assert_eq!(shell_word("-name"), "-name");
        assert_eq!(
            shell_word("guest=a,debug-threads=on"),
            "guest=a,debug-threads=on"
        );
        assert_eq!(shell_word("path=/a b"), "'path=/a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_word(""), "''");
        let line = shell_line(
            &[("HOME".into(), "/var/lib/x y".into())],
            &["qemu".into(), "-S".into()],
        );
        assert_eq!(line, "HOME='/var/lib/x y' qemu -S\n");
    }
}
