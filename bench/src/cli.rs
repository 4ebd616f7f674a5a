//! Command line of `libvirtd-bench`.

use std::ffi::OsString;
use std::path::PathBuf;

pub const USAGE: &str = "\
Usage: libvirtd-bench [--ours PATH] [--theirs PATH | --no-theirs] [--quick] [--domstats-only | --proxy-only]

Starts this project's libvirtd and, when installed, the real libvirtd 9.0,
puts both under the same load (on the Unix socket, then over TLS with
certificates made by certtool) and prints a table of both figures and their
ratios.

  --ours PATH     our daemon (default: libvirtd next to this program,
                  i.e. target/release/libvirtd)
  --theirs PATH   the real libvirtd (default: /usr/sbin/libvirtd)
  --no-theirs     measure our daemon only
  --quick         fewer starts and shorter phases (a rough run in ~25 s)
  --domstats-only only the domstats and disk hot plug table
  --proxy-only    only getLibVersion and listAllDomains of qemu:///system
                  through virtproxyd (Unix socket and TLS), straight to
                  virtqemud, and on the real libvirtd
  -h, --help      this text
";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("unknown argument {0:?}")]
    Unknown(OsString),
    #[error("--theirs and --no-theirs exclude each other")]
    TheirsConflict,
}

/// Which real libvirtd to compare with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Theirs {
    /// /usr/sbin/libvirtd if it exists, otherwise skip with a note.
    #[default]
    Installed,
    /// This binary; it must exist.
    Path(PathBuf),
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub ours: Option<PathBuf>,
    pub theirs: Theirs,
    pub quick: bool,
    /// Only the bulk statistics and hot plug phase.
    pub domstats_only: bool,
    /// Only the virtproxyd phase.
    pub proxy_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliAction {
    Run(Options),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<CliAction, CliError> {
    let mut opts = Options::default();
    let mut theirs_given = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (text.clone(), None),
        };
        let mut value = |name: &str| -> Result<PathBuf, CliError> {
            match &inline {
                Some(v) => Ok(PathBuf::from(v)),
                None => args
                    .next()
                    .map(PathBuf::from)
                    .ok_or_else(|| CliError::MissingValue(name.to_string())),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(CliAction::Help),
            "--quick" => opts.quick = true,
            "--domstats-only" => opts.domstats_only = true,
            "--proxy-only" => opts.proxy_only = true,
            "--ours" => opts.ours = Some(value("--ours")?),
            "--theirs" => {
                if opts.theirs == Theirs::Skip {
                    return Err(CliError::TheirsConflict);
                }
                opts.theirs = Theirs::Path(value("--theirs")?);
                theirs_given = true;
            }
            "--no-theirs" => {
                if theirs_given {
                    return Err(CliError::TheirsConflict);
                }
                opts.theirs = Theirs::Skip;
            }
            _ => return Err(CliError::Unknown(arg)),
        }
    }
    Ok(CliAction::Run(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<CliAction, CliError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(CliAction::Run(Options::default())));
    }

    #[test]
    fn paths_in_both_spellings() {
        let expected = Options {
            ours: Some(PathBuf::from("/a/libvirtd")),
            theirs: Theirs::Path(PathBuf::from("/b/libvirtd")),
            quick: true,
            domstats_only: false,
            proxy_only: false,
        };
        assert_eq!(
            run(&["--ours", "/a/libvirtd", "--theirs=/b/libvirtd", "--quick"]),
            Ok(CliAction::Run(expected))
        );
        let only = run(&["--domstats-only"]);
        assert!(matches!(only, Ok(CliAction::Run(o)) if o.domstats_only));
        let proxy = run(&["--proxy-only", "--quick"]);
        assert!(matches!(proxy, Ok(CliAction::Run(o)) if o.proxy_only && o.quick));
    }

    #[test]
    fn errors() {
        assert_eq!(
            run(&["--ours"]),
            Err(CliError::MissingValue("--ours".into()))
        );
        assert_eq!(
            run(&["--theirs", "x", "--no-theirs"]),
            Err(CliError::TheirsConflict)
        );
        assert_eq!(
            run(&["--no-theirs", "--theirs", "x"]),
            Err(CliError::TheirsConflict)
        );
        assert_eq!(run(&["-x"]), Err(CliError::Unknown("-x".into())));
        assert_eq!(run(&["--quick", "--help"]), Ok(CliAction::Help));
    }
}
