//! The parsed form of a virConf file: ordered entries with their values and lines.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::error::{io_reason, ConfError};
use super::parser;

/// libvirt refuses configuration files above 10 MiB as a sanity check; so do we.
const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// One value as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `"..."`, `'...'` or `"""..."""`, without the quotes; no escapes exist.
    String(String),
    /// An integer. `signed` is true when it was written with a leading `-`, which is
    /// what makes libvirt refuse it for unsigned and boolean settings (`-0` included).
    Int { value: i64, signed: bool },
    /// `[ v, v, ... ]`; elements may be of any kind, including lists.
    List(Vec<Value>),
}

impl Value {
    /// Short name of the kind of value, for diagnostics.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int { signed: true, .. } => "signed integer",
            Value::Int { signed: false, .. } => "unsigned integer",
            Value::List(_) => "list",
        }
    }
}

/// One `name = value` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub value: Value,
    /// 1-based line on which the entry's name starts.
    pub line: usize,
}

/// A parsed configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    filename: String,
    entries: Vec<Entry>,
}

impl ConfFile {
    /// Parses `text`; `filename` is only used in error messages.
    pub fn parse(text: &str, filename: &str) -> Result<ConfFile, ConfError> {
        let entries = parser::parse_entries(text, filename)?;
        Ok(ConfFile {
            filename: filename.to_string(),
            entries,
        })
    }

    /// Reads and parses the file at `path`. Errors name the path as given, like
    /// libvirt's `Failed to open file 'P': No such file or directory`.
    pub fn read(path: &Path) -> Result<ConfFile, ConfError> {
        let mut file = File::open(path).map_err(|err| ConfError::Open {
            path: path.to_path_buf(),
            kind: err.kind(),
            reason: io_reason(&err),
        })?;
        let read_error = |err: std::io::Error| ConfError::Read {
            path: path.to_path_buf(),
            reason: io_reason(&err),
        };
        let mut bytes = Vec::new();
        // Read one byte past the limit so an oversized file is detected without
        // trusting the size the metadata reports (it is 0 for /proc files).
        file.by_ref()
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(read_error(std::io::Error::from_raw_os_error(
                libc::EOVERFLOW,
            )));
        }
        let text = String::from_utf8_lossy(&bytes);
        ConfFile::parse(&text, &path.display().to_string())
    }

    /// The name errors are reported under (the path as given to [`ConfFile::read`]).
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The first entry called `key`, if any: the first occurrence wins.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.name == key)
    }

    /// Every entry in file order, duplicates included.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
