//! Log settings in libvirt's syntax: `log_level`, `log_filters` and
//! `log_outputs`, with libvirt's error texts, so that libvirtd.conf files and
//! `virt-admin daemon-log-filters/-outputs` calls behave the same here.

use std::fmt;
use std::path::{Path, PathBuf};

use super::LogError;

/// libvirt's four log priorities, from most to least verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Debug = 1,
    Info = 2,
    Warning = 3,
    Error = 4,
}

impl Priority {
    pub fn from_number(number: u32) -> Option<Priority> {
        match number {
            1 => Some(Priority::Debug),
            2 => Some(Priority::Info),
            3 => Some(Priority::Warning),
            4 => Some(Priority::Error),
            _ => None,
        }
    }

    pub fn number(self) -> u32 {
        self as u32
    }

    /// The word used in log lines.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Debug => "debug",
            Priority::Info => "info",
            Priority::Warning => "warning",
            Priority::Error => "error",
        }
    }

    /// `LIBVIRT_DEBUG` accepts the number or the word.
    pub fn from_word(text: &str) -> Option<Priority> {
        match text {
            "1" | "debug" => Some(Priority::Debug),
            "2" | "info" => Some(Priority::Info),
            "3" | "warning" => Some(Priority::Warning),
            "4" | "error" => Some(Priority::Error),
            _ => None,
        }
    }

    /// tracing has one level more than libvirt: TRACE counts as debug.
    pub fn of_level(level: &tracing::Level) -> Priority {
        match *level {
            tracing::Level::ERROR => Priority::Error,
            tracing::Level::WARN => Priority::Warning,
            tracing::Level::INFO => Priority::Info,
            _ => Priority::Debug,
        }
    }

    /// syslog(3) / journald priority for this level.
    pub fn syslog_priority(self) -> libc::c_int {
        match self {
            Priority::Debug => libc::LOG_DEBUG,
            Priority::Info => libc::LOG_INFO,
            Priority::Warning => libc::LOG_WARNING,
            Priority::Error => libc::LOG_ERR,
        }
    }
}

/// One `PRIORITY:MATCH` filter. Messages whose category matches get this
/// priority threshold instead of the default level; the first matching
/// filter wins. libvirt 9.0 wraps the match in `*...*` and compares it as a
/// glob against the whole category; the `+` (stack trace) marker is still
/// accepted and, as in libvirt 9.0, ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub priority: Priority,
    /// The match text as written, without the `+` marker.
    pub pattern: String,
}

impl Filter {
    /// The glob actually compared with categories.
    pub fn glob(&self) -> String {
        format!("*{}*", self.pattern)
    }
}

/// Where an output writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stderr,
    Syslog { ident: String },
    File { path: PathBuf },
    Journald,
}

/// One `PRIORITY:DESTINATION[:DATA]` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub priority: Priority,
    pub destination: Destination,
}

impl fmt::Display for Output {
    /// The form `virt-admin daemon-log-outputs` shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = self.priority.number();
        match &self.destination {
            Destination::Stderr => write!(f, "{level}:stderr"),
            Destination::Journald => write!(f, "{level}:journald"),
            Destination::Syslog { ident } => write!(f, "{level}:syslog:{ident}"),
            Destination::File { path } => write!(f, "{level}:file:{}", path.display()),
        }
    }
}

/// Complete logging configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Threshold for messages that no filter matches.
    pub level: Priority,
    pub filters: Vec<Filter>,
    /// Never empty once built by [`LogConfig::parse`] or [`resolve`].
    pub outputs: Vec<Output>,
    /// What an empty outputs string means (used again when an
    /// administrator sets empty outputs at run time).
    pub default_outputs: Vec<Output>,
}

impl LogConfig {
    /// Builds a configuration from `log_level` (0 = unset, meaning
    /// warning), `log_filters` and `log_outputs`. Empty outputs mean stderr
    /// at the default level.
    pub fn parse(level: u32, filters: &str, outputs: &str) -> Result<LogConfig, LogError> {
        let level = match level {
            0 => Priority::Warning,
            number => {
                Priority::from_number(number).ok_or_else(|| LogError::Level(number.to_string()))?
            }
        };
        let default_outputs = vec![Output {
            priority: level,
            destination: Destination::Stderr,
        }];
        let mut outputs = parse_outputs(outputs)?;
        if outputs.is_empty() {
            outputs = default_outputs.clone();
        }
        Ok(LogConfig {
            level,
            filters: parse_filters(filters)?,
            outputs,
            default_outputs,
        })
    }

    /// Filters as `virt-admin daemon-log-filters` prints them: each one
    /// followed by a space (libvirt's exact form).
    pub fn filters_string(&self) -> String {
        self.filters
            .iter()
            .map(|filter| format!("{}:{} ", filter.priority.number(), filter.glob()))
            .collect()
    }

    /// Outputs as `virt-admin daemon-log-outputs` prints them.
    pub fn outputs_string(&self) -> String {
        let shown: Vec<String> = self.outputs.iter().map(Output::to_string).collect();
        shown.join(" ")
    }
}

/// Parses a space-separated list of filters.
pub fn parse_filters(text: &str) -> Result<Vec<Filter>, LogError> {
    text.split(' ')
        .filter(|word| !word.is_empty())
        .map(parse_filter)
        .collect()
}

fn parse_filter(word: &str) -> Result<Filter, LogError> {
    let tokens: Vec<&str> = word.split(':').collect();
    if tokens.len() < 2 {
        return Err(LogError::MalformedFilter(word.to_string()));
    }
    let priority = parse_priority(tokens[0]).ok_or_else(|| LogError::FilterPriority {
        priority: tokens[0].to_string(),
        filter: word.to_string(),
    })?;
    let pattern = tokens[1].strip_prefix('+').unwrap_or(tokens[1]);
    if pattern.is_empty() {
        return Err(LogError::EmptyMatch(tokens[1].to_string()));
    }
    Ok(Filter {
        priority,
        pattern: pattern.to_string(),
    })
}

/// Parses a space-separated list of outputs. A later output with the same
/// destination (and same file or syslog name) replaces an earlier one and
/// moves to its place at the end, as in libvirt. Relative file paths are
/// made absolute against the current directory.
pub fn parse_outputs(text: &str) -> Result<Vec<Output>, LogError> {
    let mut outputs: Vec<Output> = Vec::new();
    for word in text.split(' ').filter(|word| !word.is_empty()) {
        let output = parse_output(word)?;
        outputs.retain(|earlier| earlier.destination != output.destination);
        outputs.push(output);
    }
    Ok(outputs)
}

fn parse_output(word: &str) -> Result<Output, LogError> {
    let tokens: Vec<&str> = word.split(':').collect();
    if tokens.len() < 2 {
        return Err(LogError::MalformedOutput(word.to_string()));
    }
    let priority = parse_priority(tokens[0]).ok_or_else(|| LogError::OutputPriority {
        priority: tokens[0].to_string(),
        output: word.to_string(),
    })?;
    let kind = tokens[1];
    let wanted_tokens = match kind {
        "stderr" | "journald" => 2,
        "syslog" | "file" => 3,
        _ => {
            return Err(LogError::OutputDestination {
                destination: kind.to_string(),
                output: word.to_string(),
            })
        }
    };
    if tokens.len() != wanted_tokens {
        return Err(LogError::OutputFormat {
            output: word.to_string(),
            destination: kind.to_string(),
        });
    }
    let destination = match kind {
        "stderr" => Destination::Stderr,
        "journald" => Destination::Journald,
        "syslog" => Destination::Syslog {
            ident: tokens[2].to_string(),
        },
        _ => Destination::File {
            path: absolute(Path::new(tokens[2])),
        },
    };
    Ok(Output {
        priority,
        destination,
    })
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => Path::new("/").join(path),
    }
}

/// A priority number as libvirt reads it (`strtoul` in base 10 that must
/// consume the whole text: leading blanks and `+` allowed, no sign minus).
fn parse_priority(text: &str) -> Option<Priority> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok().and_then(Priority::from_number)
}

/// Everything the start-up log settings depend on. Precedence, lowest
/// first: configuration file, environment (`LIBVIRT_DEBUG`,
/// `LIBVIRT_LOG_FILTERS`, `LIBVIRT_LOG_OUTPUTS`), command line (`-v`).
#[derive(Debug, Clone)]
pub struct LogInputs<'a> {
    /// `log_level` from the configuration; 0 when not set.
    pub level: u32,
    pub filters: &'a str,
    pub outputs: &'a str,
    pub env_debug: Option<&'a str>,
    pub env_filters: Option<&'a str>,
    pub env_outputs: Option<&'a str>,
    pub verbose: bool,
    /// Running detached (`-d`): the default output is then journald when
    /// its socket is writable, else a file in `log_dir`.
    pub daemon: bool,
    pub journald_available: bool,
    /// Directory of the default log file: `/var/log/libvirt` for root,
    /// `$XDG_CACHE_HOME/libvirt` for a per-user daemon.
    pub log_dir: &'a Path,
}

impl Default for LogInputs<'_> {
    /// Nothing configured: a foreground daemon logging warnings to stderr.
    fn default() -> Self {
        LogInputs {
            level: 0,
            filters: "",
            outputs: "",
            env_debug: None,
            env_filters: None,
            env_outputs: None,
            verbose: false,
            daemon: false,
            journald_available: false,
            log_dir: Path::new("/var/log/libvirt"),
        }
    }
}

/// Computes the start-up configuration. Bad settings do not stop the
/// daemon (libvirt only complains); they are returned so the caller can
/// log them once logging works.
pub fn resolve(inputs: &LogInputs<'_>) -> (LogConfig, Vec<LogError>) {
    let mut problems = Vec::new();
    let mut level = Priority::Warning;
    if inputs.level != 0 {
        match Priority::from_number(inputs.level) {
            Some(priority) => level = priority,
            None => problems.push(LogError::Level(inputs.level.to_string())),
        }
    }
    let mut filters = parse_filters(inputs.filters).unwrap_or_else(|err| {
        problems.push(err);
        Vec::new()
    });
    let mut outputs = parse_outputs(inputs.outputs).unwrap_or_else(|err| {
        problems.push(err);
        Vec::new()
    });
    if let Some(text) = inputs.env_debug.filter(|text| !text.is_empty()) {
        match Priority::from_word(text) {
            Some(priority) => level = priority,
            None => problems.push(LogError::Level(text.to_string())),
        }
    }
    if let Some(text) = inputs.env_filters.filter(|text| !text.is_empty()) {
        match parse_filters(text) {
            Ok(parsed) => filters = parsed,
            Err(err) => problems.push(err),
        }
    }
    if let Some(text) = inputs.env_outputs.filter(|text| !text.is_empty()) {
        match parse_outputs(text) {
            Ok(parsed) => outputs = parsed,
            Err(err) => problems.push(err),
        }
    }
    if inputs.verbose && level > Priority::Info {
        level = Priority::Info;
    }
    let default_outputs = vec![default_output(level, inputs)];
    if outputs.is_empty() {
        outputs = default_outputs.clone();
    }
    (
        LogConfig {
            level,
            filters,
            outputs,
            default_outputs,
        },
        problems,
    )
}

fn default_output(level: Priority, inputs: &LogInputs<'_>) -> Output {
    if !inputs.daemon {
        return Output {
            priority: level,
            destination: Destination::Stderr,
        };
    }
    if inputs.journald_available {
        // Debug floods journald's rate limiting, so libvirt caps it at info.
        let priority = level.max(Priority::Info);
        return Output {
            priority,
            destination: Destination::Journald,
        };
    }
    let path = inputs.log_dir.join("libvirtd.log");
    Output {
        priority: level,
        destination: Destination::File { path },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_numbers_follow_strtoul() {
        assert_eq!(parse_priority("1"), Some(Priority::Debug));
        assert_eq!(parse_priority("01"), Some(Priority::Debug));
        assert_eq!(parse_priority("+4"), Some(Priority::Error));
        assert_eq!(parse_priority(" 2"), Some(Priority::Info));
        assert_eq!(parse_priority("2 "), None);
        assert_eq!(parse_priority("-1"), None);
        assert_eq!(parse_priority("5"), None);
        assert_eq!(parse_priority("0"), None);
        assert_eq!(parse_priority(""), None);
        assert_eq!(parse_priority("x"), None);
    }

    #[test]
    fn default_output_depends_on_mode() {
        let dir = Path::new("/var/log/libvirt");
        let foreground = LogInputs {
            log_dir: dir,
            ..LogInputs::default()
        };
        assert_eq!(resolve(&foreground).0.outputs_string(), "3:stderr");
        let journald = LogInputs {
            daemon: true,
            journald_available: true,
            level: 1,
            log_dir: dir,
            ..LogInputs::default()
        };
        assert_eq!(resolve(&journald).0.outputs_string(), "2:journald");
        let file = LogInputs {
            daemon: true,
            log_dir: dir,
            ..LogInputs::default()
        };
        assert_eq!(
            resolve(&file).0.outputs_string(),
            "3:file:/var/log/libvirt/libvirtd.log"
        );
    }
}
