//! Errors of the virConf reader, worded like libvirt's so that logs and client-visible
//! messages read the same.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading a virConf file or one of its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// The text is not valid virConf syntax. `line` is where the reader stood when it
    /// gave up, which for unterminated constructs is the last line it looked at
    /// (libvirt reports the same line).
    #[error("configuration file syntax error: {file}:{line}: {problem}")]
    Syntax {
        file: String,
        line: usize,
        problem: SyntaxProblem,
    },

    /// The file could not be opened.
    #[error("Failed to open file '{}': {reason}", .path.display())]
    Open {
        path: PathBuf,
        kind: io::ErrorKind,
        reason: String,
    },

    /// The file was opened but could not be read (a directory, too large, I/O error).
    #[error("Failed to read file '{}': {reason}", .path.display())]
    Read { path: PathBuf, reason: String },

    /// An entry exists but its value has the wrong type or range for the setting that
    /// asked for it. libvirt words these `FILE: expected ...`; we also name the line of
    /// the entry, because that is what a user needs to fix it.
    #[error("{file}:{line}: {}", .problem.describe(.key))]
    Value {
        file: String,
        line: usize,
        key: String,
        problem: ValueProblem,
    },
}

impl ConfError {
    /// True when the error means "the file does not exist", which callers reading an
    /// optional default file treat as "use the built-in defaults".
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfError::Open { kind, .. } if *kind == io::ErrorKind::NotFound)
    }
}

/// What the syntax reader found wrong, with libvirt's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxProblem {
    ExpectingName,
    ExpectingAssignment,
    ExpectingValue,
    ExpectingSeparator,
    ExpectingListSeparator,
    ListNotClosed,
    UnterminatedString,
    UnterminatedNumber,
    /// Our addition: libvirt silently wraps such numbers around.
    NumberOutOfRange,
}

impl fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyntaxProblem::ExpectingName => "expecting a name",
            SyntaxProblem::ExpectingAssignment => "expecting an assignment",
            SyntaxProblem::ExpectingValue => "expecting a value",
            SyntaxProblem::ExpectingSeparator => "expecting a separator",
            SyntaxProblem::ExpectingListSeparator => "expecting a separator in list",
            SyntaxProblem::ListNotClosed => "list is not closed with ]",
            SyntaxProblem::UnterminatedString => "unterminated string",
            SyntaxProblem::UnterminatedNumber => "unterminated number",
            SyntaxProblem::NumberOutOfRange => "number out of range",
        })
    }
}

/// Why a present value cannot be used as the requested type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueProblem {
    ExpectedBool,
    BoolNotZeroOrOne,
    ExpectedUnsigned,
    ExpectedSigned,
    ExpectedString,
    ExpectedStringList,
    ExpectedStringOrStringList,
    /// The integer is valid but does not fit the setting's C type.
    OutOfRange {
        min: i64,
        max: u64,
    },
}

impl ValueProblem {
    /// The message for setting `key`, as libvirt words it.
    pub fn describe(&self, key: &str) -> String {
        match self {
            ValueProblem::ExpectedBool => format!("expected a bool for '{key}' parameter"),
            ValueProblem::BoolNotZeroOrOne => {
                format!("value for '{key}' parameter must be 0 or 1")
            }
            ValueProblem::ExpectedUnsigned => {
                format!("expected an unsigned integer for '{key}' parameter")
            }
            ValueProblem::ExpectedSigned => {
                format!("expected a signed integer for '{key}' parameter")
            }
            ValueProblem::ExpectedString => format!("expected a string for '{key}' parameter"),
            ValueProblem::ExpectedStringList => {
                format!("expected a string list for '{key}' parameter")
            }
            ValueProblem::ExpectedStringOrStringList => {
                format!("expected a string or string list for '{key}' parameter")
            }
            ValueProblem::OutOfRange { min, max } => {
                format!("value for '{key}' parameter must be in range {min}:{max}")
            }
        }
    }
}

/// The C library's text for an I/O error (`No such file or directory`), without the
/// ` (os error 2)` suffix Rust appends, so messages match libvirt's.
pub(crate) fn io_reason(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(cut) if err.raw_os_error().is_some() => text[..cut].to_string(),
        _ => text,
    }
}
