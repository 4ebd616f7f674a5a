//! Command line of `libvirtd`.
//!
//! Scripts and unit files pass options to libvirtd exactly as glibc's
//! `getopt_long` understands them, so this parser follows the same rules:
//! bundled short options (`-vl`), attached or separate arguments (`-t5`,
//! `-t 5`, `--timeout=5`, `--timeout 5`), unambiguous prefixes of long
//! options (`--verb`), argument permutation (options after a non-option
//! still count) and `--` to end the options. Options act in the order they
//! appear: `-V` or `-h` end parsing at once, a bad timeout is reported at
//! its position, and only after every option has been read are stray
//! non-option arguments refused. Error texts are glibc's and libvirtd's.
//!
//! [`parse`] is pure: it never prints or exits, the caller does what the
//! returned [`CliAction`] says.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Version printed by `-V`, after the program name.
pub const VERSION_SUFFIX: &str = "(libvirt) 9.0.0";

/// Largest accepted `--timeout`: the daemon multiplies it by 1000 into a C
/// `int` of milliseconds, so libvirt refuses anything above `INT_MAX / 1000`.
pub const MAX_TIMEOUT_SECS: u32 = (i32::MAX / 1000) as u32;

/// Settings taken from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `-v`: raise the default log priority to at least "info".
    pub verbose: bool,
    /// `-d`: detach into the background.
    pub daemon: bool,
    /// `-l`: honour `listen_tcp` / `listen_tls` from the configuration.
    pub listen: bool,
    /// `-t`: seconds without clients before quitting. `-t 0` means no
    /// timeout, exactly like leaving the option out, so it is `None` too.
    pub timeout: Option<u32>,
    /// `-f`: configuration file instead of the default one.
    pub config: Option<PathBuf>,
    /// `-p`: pid file instead of the default one. An empty path means
    /// "no pid file at all", as in libvirt.
    pub pid_file: Option<PathBuf>,
}

/// What the caller must do after [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliAction {
    /// Start the daemon with these options.
    Run(Options),
    /// Print `stdout` and `stderr` verbatim, then exit with `code`.
    Exit {
        code: i32,
        stdout: String,
        stderr: String,
    },
    /// Log `message` at error priority through the logging system, then
    /// exit with `code`. libvirtd reports a bad `--timeout` this way, so the
    /// line carries the usual timestamp, thread and priority prefix.
    Fail { code: i32, message: String },
}

/// Default paths listed by `--help`. They are plain strings because the
/// unprivileged daemon prints unexpanded `$XDG_...` names, just as libvirtd
/// does; a daemon running under `LIBVIRTD_ROOT` passes its real paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDefaults {
    pub config_file: String,
    /// Listening sockets: read-write first, then read-only when there is one.
    pub sockets: Vec<String>,
    pub ca_certificate: String,
    pub server_certificate: String,
    pub server_key: String,
    pub pid_file: String,
    /// Whether the daemon can listen on TCP/TLS: only then `-l | --listen`
    /// exists and the TLS files are listed. The modular daemons (`virtqemud`,
    /// `virtlxcd`) serve UNIX sockets only and, as in libvirt, have no `-l`.
    pub ip_sockets: bool,
}

impl UsageDefaults {
    /// The defaults of a daemon running as root.
    pub fn privileged() -> Self {
        UsageDefaults {
            config_file: "/etc/libvirt/libvirtd.conf".into(),
            sockets: vec![
                "/run/libvirt/libvirt-sock".into(),
                "/run/libvirt/libvirt-sock-ro".into(),
            ],
            ca_certificate: "/etc/pki/CA/cacert.pem".into(),
            server_certificate: "/etc/pki/libvirt/servercert.pem".into(),
            server_key: "/etc/pki/libvirt/private/serverkey.pem".into(),
            pid_file: "/run/libvirtd.pid".into(),
            ip_sockets: true,
        }
    }

    /// The defaults of a per-user daemon, with the environment variables
    /// left unexpanded.
    pub fn unprivileged() -> Self {
        UsageDefaults {
            config_file: "$XDG_CONFIG_HOME/libvirt/libvirtd.conf".into(),
            sockets: vec!["$XDG_RUNTIME_DIR/libvirt/libvirt-sock".into()],
            ca_certificate: "$HOME/.pki/libvirt/cacert.pem".into(),
            server_certificate: "$HOME/.pki/libvirt/servercert.pem".into(),
            server_key: "$HOME/.pki/libvirt/serverkey.pem".into(),
            pid_file: "$XDG_RUNTIME_DIR/libvirt/libvirtd.pid".into(),
            ip_sockets: true,
        }
    }
}

/// One option of the table, in libvirtd's order (glibc lists ambiguous
/// candidates in table order).
struct OptionSpec {
    long: &'static str,
    short: u8,
    takes_argument: bool,
}

const OPTION_TABLE: [OptionSpec; 8] = [
    OptionSpec {
        long: "verbose",
        short: b'v',
        takes_argument: false,
    },
    OptionSpec {
        long: "daemon",
        short: b'd',
        takes_argument: false,
    },
    OptionSpec {
        long: "listen",
        short: b'l',
        takes_argument: false,
    },
    OptionSpec {
        long: "config",
        short: b'f',
        takes_argument: true,
    },
    OptionSpec {
        long: "timeout",
        short: b't',
        takes_argument: true,
    },
    OptionSpec {
        long: "pid-file",
        short: b'p',
        takes_argument: true,
    },
    OptionSpec {
        long: "version",
        short: b'V',
        takes_argument: false,
    },
    OptionSpec {
        long: "help",
        short: b'h',
        takes_argument: false,
    },
];

/// Help lines: option column and description.
const HELP_LINES: [(&str, &str); 8] = [
    ("-h | --help", "Show this help, then exit"),
    ("-v | --verbose", "Log informational messages as well"),
    (
        "-d | --daemon",
        "Detach into the background (the PID file is written)",
    ),
    (
        "-l | --listen",
        "Accept TCP and TLS connections as configured",
    ),
    (
        "-t | --timeout <secs>",
        "Quit after <secs> seconds without clients",
    ),
    ("-f | --config <file>", "Read the configuration from <file>"),
    ("-V | --version", "Show the version, then exit"),
    ("-p | --pid-file <file>", "Write the process ID to <file>"),
];

/// Text printed by `-h` (and after an option error), always to stderr.
pub fn usage(prog: &str, paths: &UsageDefaults) -> String {
    let mut text = String::new();
    text.push_str("\nUsage:\n");
    text.push_str(&format!("  {prog} [options]\n\n"));
    text.push_str("Options:\n");
    for (option, description) in HELP_LINES {
        if option.starts_with("-l") && !paths.ip_sockets {
            continue;
        }
        text.push_str(&format!("  {option:<22} {description}\n"));
    }
    text.push('\n');
    text.push_str("libvirt management daemon:\n\n");
    text.push_str("  Default paths:\n\n");
    text.push_str("    Configuration file (used unless -f is given):\n");
    text.push_str(&format!("      {}\n\n", paths.config_file));
    text.push_str("    Sockets:\n");
    for socket in &paths.sockets {
        text.push_str(&format!("      {socket}\n"));
    }
    text.push('\n');
    if paths.ip_sockets {
        push_tls_paths(&mut text, paths);
    }
    text.push_str("    PID file (used unless -p is given):\n");
    text.push_str(&format!("      {}\n\n", paths.pid_file));
    text.push_str("  Environment:\n\n");
    text.push_str("    LIBVIRTD_ROOT=<dir>\n");
    text.push_str("      Treat <dir> as the file system root for every default path the\n");
    text.push_str("      daemon reads or writes (configuration, sockets, PID file, state,\n");
    text.push_str("      logs, hooks and certificates). Paths given with -f or -p are used\n");
    text.push_str("      as they are.\n\n");
    text
}

fn push_tls_paths(text: &mut String, paths: &UsageDefaults) {
    text.push_str("    TLS:\n");
    text.push_str(&format!("      CA certificate: {}\n", paths.ca_certificate));
    text.push_str(&format!(
        "      Server certificate: {}\n",
        paths.server_certificate
    ));
    text.push_str(&format!(
        "      Server private key: {}\n\n",
        paths.server_key
    ));
}

/// Parses `args` (including `args[0]`, the program name used in messages).
pub fn parse(args: &[OsString], paths: &UsageDefaults) -> CliAction {
    let prog = args
        .first()
        .map(|arg| arg.to_string_lossy().into_owned())
        .unwrap_or_else(|| "libvirtd".to_string());
    let mut parser = Parser {
        prog,
        paths,
        options: Options::default(),
    };
    let mut non_options = 0usize;
    let mut index = 1;
    while index < args.len() {
        let arg = args[index].as_bytes();
        index += 1;
        if arg == b"--" {
            non_options += args.len() - index;
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            non_options += 1;
            continue;
        }
        let next = args.get(index).map(|next| next.as_bytes());
        let step = if let Some(body) = arg.strip_prefix(b"--") {
            parser.long_option(body, next)
        } else {
            parser.short_cluster(&arg[1..], next)
        };
        match step {
            Step::Continue { used_next } => index += usize::from(used_next),
            Step::Stop(action) => return action,
        }
    }
    if non_options > 0 {
        return CliAction::Exit {
            code: 1,
            stdout: String::new(),
            stderr: format!(
                "{}: unexpected, non-option, command line arguments\n",
                parser.prog
            ),
        };
    }
    CliAction::Run(parser.options)
}

/// Outcome of handling one command line word.
enum Step {
    /// Keep going; `used_next` tells whether the following word was taken
    /// as this option's argument.
    Continue {
        used_next: bool,
    },
    Stop(CliAction),
}

struct Parser<'a> {
    prog: String,
    paths: &'a UsageDefaults,
    options: Options,
}

/// Result of looking a long option name up, prefixes included.
enum LongMatch {
    Found(&'static OptionSpec),
    Ambiguous(Vec<&'static OptionSpec>),
    Unknown,
}

fn find_long(name: &[u8]) -> LongMatch {
    if let Some(exact) = OPTION_TABLE
        .iter()
        .find(|spec| spec.long.as_bytes() == name)
    {
        return LongMatch::Found(exact);
    }
    let candidates: Vec<&OptionSpec> = OPTION_TABLE
        .iter()
        .filter(|spec| spec.long.as_bytes().starts_with(name))
        .collect();
    match candidates.len() {
        0 => LongMatch::Unknown,
        1 => LongMatch::Found(candidates[0]),
        _ => LongMatch::Ambiguous(candidates),
    }
}

impl Parser<'_> {
    /// Handles `--name`, `--name=value` or `--name value`.
    fn long_option(&mut self, body: &[u8], next: Option<&[u8]>) -> Step {
        let (name, attached) = match body.iter().position(|&byte| byte == b'=') {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        let spec = match self.offered(find_long(name)) {
            LongMatch::Found(spec) => spec,
            LongMatch::Unknown => {
                let text = String::from_utf8_lossy(body);
                return self.option_error(format!("unrecognized option '--{text}'"));
            }
            LongMatch::Ambiguous(candidates) => {
                let text = String::from_utf8_lossy(body);
                let mut message = format!("option '--{text}' is ambiguous; possibilities:");
                for candidate in candidates {
                    message.push_str(&format!(" '--{}'", candidate.long));
                }
                return self.option_error(message);
            }
        };
        if !spec.takes_argument {
            if attached.is_some() {
                let long = spec.long;
                return self.option_error(format!("option '--{long}' doesn't allow an argument"));
            }
            return self.apply(spec.short, None, false);
        }
        match (attached, next) {
            (Some(value), _) => self.apply(spec.short, Some(value), false),
            (None, Some(value)) => self.apply(spec.short, Some(value), true),
            (None, None) => {
                let long = spec.long;
                self.option_error(format!("option '--{long}' requires an argument"))
            }
        }
    }

    /// Handles a word of bundled short options such as `-vl` or `-vt5`.
    fn short_cluster(&mut self, letters: &[u8], next: Option<&[u8]>) -> Step {
        for (at, &letter) in letters.iter().enumerate() {
            let offered = OPTION_TABLE
                .iter()
                .find(|spec| spec.short == letter)
                .filter(|spec| self.is_offered(spec));
            let Some(spec) = offered else {
                let shown = char::from(letter);
                return self.option_error(format!("invalid option -- '{shown}'"));
            };
            if !spec.takes_argument {
                if let Step::Stop(action) = self.apply(letter, None, false) {
                    return Step::Stop(action);
                }
                continue;
            }
            let rest = &letters[at + 1..];
            return match (rest.is_empty(), next) {
                (false, _) => self.apply(letter, Some(rest), false),
                (true, Some(value)) => self.apply(letter, Some(value), true),
                (true, None) => {
                    let shown = char::from(letter);
                    self.option_error(format!("option requires an argument -- '{shown}'"))
                }
            };
        }
        Step::Continue { used_next: false }
    }

    /// Whether this daemon has the option at all: the modular daemons lack `-l`.
    fn is_offered(&self, spec: &OptionSpec) -> bool {
        spec.short != b'l' || self.paths.ip_sockets
    }

    /// Drops the options this daemon lacks from a lookup, as if they were not
    /// in its table (so `--listen` is "unrecognized" for virtqemud).
    fn offered(&self, found: LongMatch) -> LongMatch {
        match found {
            LongMatch::Found(spec) if !self.is_offered(spec) => LongMatch::Unknown,
            LongMatch::Ambiguous(list) => {
                let mut list: Vec<_> = list.into_iter().filter(|s| self.is_offered(s)).collect();
                match list.len() {
                    0 => LongMatch::Unknown,
                    1 => LongMatch::Found(list.remove(0)),
                    _ => LongMatch::Ambiguous(list),
                }
            }
            other => other,
        }
    }

    /// glibc prints its complaint, then libvirtd prints the usage and fails.
    fn option_error(&self, complaint: String) -> Step {
        Step::Stop(CliAction::Exit {
            code: 1,
            stdout: String::new(),
            stderr: format!(
                "{}: {complaint}\n{}",
                self.prog,
                usage(&self.prog, self.paths)
            ),
        })
    }

    fn apply(&mut self, letter: u8, value: Option<&[u8]>, used_next: bool) -> Step {
        let value = value.unwrap_or_default();
        match letter {
            b'v' => self.options.verbose = true,
            b'd' => self.options.daemon = true,
            b'l' => self.options.listen = true,
            b't' => match parse_timeout(value) {
                Some(0) => self.options.timeout = None,
                Some(seconds) => self.options.timeout = Some(seconds),
                None => {
                    return Step::Stop(CliAction::Fail {
                        code: 1,
                        message: "Invalid value for timeout".into(),
                    })
                }
            },
            b'f' => self.options.config = Some(PathBuf::from(OsStr::from_bytes(value))),
            b'p' => self.options.pid_file = Some(PathBuf::from(OsStr::from_bytes(value))),
            b'V' => {
                return Step::Stop(CliAction::Exit {
                    code: 0,
                    stdout: format!("{} {VERSION_SUFFIX}\n", self.prog),
                    stderr: String::new(),
                })
            }
            _ => {
                return Step::Stop(CliAction::Exit {
                    code: 0,
                    stdout: String::new(),
                    stderr: usage(&self.prog, self.paths),
                })
            }
        }
        Step::Continue { used_next }
    }
}

/// Reads a timeout the way libvirtd does: C `strtol` in base 10 (leading
/// white space and a sign allowed, anything after the digits ignored), the
/// result must fit an `int` and lie in `0..=MAX_TIMEOUT_SECS`.
fn parse_timeout(text: &[u8]) -> Option<u32> {
    let is_c_space = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let start = text
        .iter()
        .position(|byte| !is_c_space(byte))
        .unwrap_or(text.len());
    let mut rest = &text[start..];
    let mut negative = false;
    if let Some((&sign, after)) = rest.split_first() {
        if sign == b'+' || sign == b'-' {
            negative = sign == b'-';
            rest = after;
        }
    }
    let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut magnitude: i64 = 0;
    for &digit in &rest[..digits] {
        magnitude = magnitude * 10 + i64::from(digit - b'0');
        if magnitude > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    let value = if negative { -magnitude } else { magnitude };
    if value < 0 || value > i64::from(MAX_TIMEOUT_SECS) {
        return None;
    }
    u32::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_follows_strtol_rules() {
        assert_eq!(parse_timeout(b"5"), Some(5));
        assert_eq!(parse_timeout(b" +7"), Some(7));
        assert_eq!(parse_timeout(b"12abc"), Some(12));
        assert_eq!(parse_timeout(b"0x10"), Some(0));
        assert_eq!(parse_timeout(b"-0"), Some(0));
        assert_eq!(parse_timeout(b"2147483"), Some(2_147_483));
        assert_eq!(parse_timeout(b"2147484"), None);
        assert_eq!(parse_timeout(b"-1"), None);
        assert_eq!(parse_timeout(b""), None);
        assert_eq!(parse_timeout(b" "), None);
        assert_eq!(parse_timeout(b"abc"), None);
        assert_eq!(parse_timeout(b"99999999999999999999"), None);
    }

    #[test]
    fn long_prefixes_resolve_or_are_ambiguous() {
        assert!(matches!(find_long(b"verb"), LongMatch::Found(spec) if spec.short == b'v'));
        assert!(matches!(find_long(b"pid"), LongMatch::Found(spec) if spec.short == b'p'));
        assert!(matches!(find_long(b"ver"), LongMatch::Ambiguous(list) if list.len() == 2));
        assert!(matches!(find_long(b""), LongMatch::Ambiguous(list) if list.len() == 8));
        assert!(matches!(find_long(b"foo"), LongMatch::Unknown));
    }

    fn modular_defaults() -> UsageDefaults {
        UsageDefaults {
            ip_sockets: false,
            ..UsageDefaults::privileged()
        }
    }

    fn stderr_of(action: CliAction) -> String {
        match action {
            CliAction::Exit {
                code: 1, stderr, ..
            } => stderr,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn modular_daemons_have_no_listen_option() {
        let defaults = modular_defaults();
        let run = |words: &[&str]| {
            let args: Vec<OsString> = words.iter().map(OsString::from).collect();
            parse(&args, &defaults)
        };
        let short = stderr_of(run(&["virtqemud", "-l"]));
        assert!(
            short.starts_with("virtqemud: invalid option -- 'l'\n"),
            "{short}"
        );
        let long = stderr_of(run(&["virtqemud", "--listen"]));
        assert!(
            long.starts_with("virtqemud: unrecognized option '--listen'\n"),
            "{long}"
        );
        let prefix = stderr_of(run(&["virtqemud", "--li"]));
        assert!(
            prefix.starts_with("virtqemud: unrecognized option '--li'\n"),
            "{prefix}"
        );
        assert!(
            !long.contains("--listen "),
            "usage still offers -l:\n{long}"
        );
        assert!(!long.contains("TLS:"), "usage lists TLS files:\n{long}");
        assert!(
            matches!(run(&["virtqemud", "-v", "-t", "3"]), CliAction::Run(o) if o.timeout == Some(3))
        );
    }
}
