//! Opened outputs. Each one writes the lines of records at or above its
//! priority and, like libvirt, starts with a version line and a hostname
//! line so every log file says which daemon on which host wrote it.

use std::ffi::CString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::config::{Destination, Output, Priority};
use super::format::{hostname, Record, VERSION_BANNER};
use super::journald::{self, Journal};
use super::LogError;

enum SinkKind {
    Stderr,
    File(Mutex<File>),
    Syslog,
    Journald(Journal),
}

/// One opened output.
pub(crate) struct Sink {
    priority: Priority,
    kind: SinkKind,
    banner_pending: AtomicBool,
}

/// Where to find journald (a parameter so tests can point it elsewhere).
pub(crate) struct SinkEnvironment<'a> {
    pub journal_socket: &'a Path,
    /// Create a missing directory for file outputs: done for the default
    /// output only, as libvirt does for its default log directory.
    pub create_directories: bool,
}

impl Sink {
    /// Opens `output`. A journald output without a reachable journal
    /// falls back to stderr; the returned warning says so.
    pub fn open(
        output: &Output,
        environment: &SinkEnvironment<'_>,
    ) -> Result<(Sink, Option<LogError>), LogError> {
        let mut warning = None;
        let kind = match &output.destination {
            Destination::Stderr => SinkKind::Stderr,
            Destination::File { path } => {
                SinkKind::File(Mutex::new(open_log_file(path, environment)?))
            }
            Destination::Syslog { ident } => {
                set_syslog_ident(ident);
                SinkKind::Syslog
            }
            Destination::Journald => {
                let socket = environment.journal_socket;
                match journald::socket_is_writable(socket).then(|| Journal::connect(socket)) {
                    Some(Ok(journal)) => SinkKind::Journald(journal),
                    _ => {
                        warning = Some(LogError::JournaldUnavailable(socket.to_path_buf()));
                        SinkKind::Stderr
                    }
                }
            }
        };
        let sink = Sink {
            priority: output.priority,
            kind,
            banner_pending: AtomicBool::new(true),
        };
        Ok((sink, warning))
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Writes `record` if its priority is high enough for this output.
    pub fn write(&self, record: &Record) {
        if record.priority < self.priority {
            return;
        }
        if self.banner_pending.swap(false, Ordering::Relaxed) {
            self.emit(&record.banner(VERSION_BANNER.to_string()));
            self.emit(&record.banner(format!("hostname: {}", hostname())));
        }
        self.emit(record);
    }

    fn emit(&self, record: &Record) {
        match &self.kind {
            SinkKind::Stderr => {
                let _ = io::stderr()
                    .lock()
                    .write_all(record.line_with_timestamp().as_bytes());
            }
            SinkKind::File(file) => {
                if let Ok(mut file) = file.lock() {
                    let _ = file.write_all(record.line_with_timestamp().as_bytes());
                }
            }
            SinkKind::Syslog => write_syslog(record),
            SinkKind::Journald(journal) => journal.send(&journal_fields(record)),
        }
    }
}

fn open_log_file(path: &Path, environment: &SinkEnvironment<'_>) -> Result<File, LogError> {
    if environment.create_directories {
        if let Some(parent) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(LogError::LogDirectory)?;
        }
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| LogError::OpenFile {
            path: path.to_path_buf(),
            source,
        })
}

fn journal_fields(record: &Record) -> Vec<u8> {
    let priority = record.priority.syslog_priority().to_string();
    let line = record.line.map(|line| line.to_string()).unwrap_or_default();
    let mut fields = vec![
        ("MESSAGE", record.message.as_str()),
        ("PRIORITY", priority.as_str()),
        ("SYSLOG_FACILITY", "3"),
        ("LIBVIRT_SOURCE", record.category.as_str()),
    ];
    if let Some(file) = &record.file {
        fields.push(("CODE_FILE", file.as_str()));
    }
    if !line.is_empty() {
        fields.push(("CODE_LINE", line.as_str()));
    }
    fields.push(("CODE_FUNC", record.target.as_str()));
    journald::encode(&fields)
}

/// The ident passed to openlog(3); syslog keeps the pointer, so the string
/// must live until the next openlog.
static SYSLOG_IDENT: Mutex<Option<CString>> = Mutex::new(None);

fn set_syslog_ident(ident: &str) {
    let cleaned: Vec<u8> = ident.bytes().take_while(|&byte| byte != 0).collect();
    let Ok(ident) = CString::new(cleaned) else {
        return;
    };
    let Ok(mut current) = SYSLOG_IDENT.lock() else {
        return;
    };
    if current.as_ref() == Some(&ident) {
        return;
    }
    // SAFETY: `ident` is stored in the static below before the old string
    // is dropped, and glibc reads the tag under its own lock, so no call
    // uses the old pointer once openlog has returned.
    unsafe { libc::openlog(ident.as_ptr(), 0, 0) };
    *current = Some(ident);
}

fn write_syslog(record: &Record) {
    let Ok(text) = CString::new(record.body().replace('\0', " ")) else {
        return;
    };
    // SAFETY: both strings are NUL-terminated; the format takes one string.
    unsafe {
        libc::syslog(
            record.priority.syslog_priority(),
            c"%s".as_ptr(),
            text.as_ptr(),
        )
    };
}
