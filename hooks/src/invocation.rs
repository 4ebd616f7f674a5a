//! What a script is started with: its four arguments and the environment
//! libvirt gives child processes, and the one-line rendering of both that
//! appears in error messages.

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::PathBuf;

/// Variables passed on from the daemon's environment when set, in libvirt's
/// order, after `LC_ALL=C`.
const PASSED_VARIABLES: [&str; 9] = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_FORCE_FLAT_NAMESPACE",
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
];

/// `PATH` for scripts when the daemon itself has none (libvirt would then
/// give none, leaving the search path to each interpreter's built-in guess).
pub(crate) const FALLBACK_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Characters that make the shell rendering of a word need quotes.
const SHELL_SPECIAL: &[u8] = b"\r\t\n !\"#$&'()*;<>?[\\]^`{|}~";

/// One script run: program, arguments and environment, all fixed up front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub program: PathBuf,
    /// `object operation sub-operation extra`, `-` standing for an empty one.
    pub args: [String; 4],
    /// The complete environment of the script.
    pub env: Vec<(OsString, OsString)>,
}

impl Invocation {
    /// Builds the invocation; `lookup` reads the daemon's environment.
    pub fn new(
        program: PathBuf,
        args: [&str; 4],
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Invocation {
        let args = args.map(|arg| if arg.is_empty() { "-" } else { arg }.to_string());
        let mut env = vec![(OsString::from("LC_ALL"), OsString::from("C"))];
        for name in PASSED_VARIABLES {
            let value = match lookup(name) {
                Some(value) => Some(value),
                None if name == "PATH" => Some(OsString::from(FALLBACK_PATH)),
                None => None,
            };
            if let Some(value) = value {
                env.push((OsString::from(name), value));
            }
        }
        Invocation { program, args, env }
    }

    /// The environment and command as a shell could re-run them, the way
    /// libvirt shows a child process in its messages:
    /// `LC_ALL=C PATH=... /etc/libvirt/hooks/qemu guest prepare begin -`.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.env {
            out.push_str(&name.to_string_lossy());
            out.push('=');
            out.push_str(&shell_quote(&value.to_string_lossy()));
            out.push(' ');
        }
        out.push_str(&shell_quote(&self.program.to_string_lossy()));
        for arg in &self.args {
            out.push(' ');
            out.push_str(&shell_quote(arg));
        }
        out
    }
}

/// Quotes `word` for `/bin/sh` only when it needs it: single quotes, with an
/// embedded `'` written as `'\''`.
fn shell_quote(word: &str) -> Cow<'_, str> {
    if word.is_empty() {
        return Cow::Borrowed("''");
    }
    if !word.bytes().any(|b| SHELL_SPECIAL.contains(&b)) {
        return Cow::Borrowed(word);
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\'");
        }
        out.push(c);
    }
    out.push('\'');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn env_names(inv: &Invocation) -> Vec<String> {
        inv.env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn arguments_use_a_dash_for_empty_values() {
        let inv = Invocation::new(
            "/etc/libvirt/hooks/daemon".into(),
            ["", "start", "", "start"],
            lookup(&[]),
        );
        assert_eq!(inv.args, ["-", "start", "-", "start"]);
    }

    #[test]
    fn environment_is_lc_all_then_passed_variables_in_order() {
        let inv = Invocation::new(
            "/h/qemu".into(),
            ["vm", "prepare", "begin", "-"],
            lookup(&[
                ("LOGNAME", "root"),
                ("HOME", "/root"),
                ("PATH", "/usr/bin:/bin"),
                ("USER", "root"),
                ("SECRET", "must not pass"),
                ("LIBVIRTD_ROOT", "/tmp/x"),
            ]),
        );
        assert_eq!(
            env_names(&inv),
            ["LC_ALL", "PATH", "HOME", "USER", "LOGNAME"]
        );
        assert_eq!(
            inv.display(),
            "LC_ALL=C PATH=/usr/bin:/bin HOME=/root USER=root LOGNAME=root \
             /h/qemu vm prepare begin -"
        );
    }

    #[test]
    fn missing_path_gets_the_fallback() {
        let inv = Invocation::new("/h/lxc".into(), ["c", "start", "begin", "-"], lookup(&[]));
        assert_eq!(
            inv.env,
            vec![
                (OsString::from("LC_ALL"), OsString::from("C")),
                (OsString::from("PATH"), OsString::from(FALLBACK_PATH)),
            ]
        );
    }

    #[test]
    fn words_with_shell_characters_are_quoted() {
        assert_eq!(shell_quote("plain-word_1.2/x:y"), "plain-word_1.2/x:y");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        let inv = Invocation::new(
            "/h/qemu".into(),
            ["my guest", "start", "begin", "-"],
            lookup(&[("PATH", "/bin"), ("TMPDIR", "/tmp dir")]),
        );
        assert_eq!(
            inv.display(),
            "LC_ALL=C PATH=/bin TMPDIR='/tmp dir' /h/qemu 'my guest' start begin -"
        );
    }
}
