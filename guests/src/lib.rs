//! `libvirt-guests`: saves or shuts down the running guests when the host goes down
//! and brings them back when it comes up, as libvirt's `libvirt-guests.sh` does, but
//! as a direct client of the remote protocol (no virsh, no libvirt library).
//!
//! Commands, messages, state files and exit codes follow libvirt 9.0's script; see
//! libvirt-guests(8) for where we deliberately differ.

pub mod config;
pub mod connection;
pub mod domains;
pub mod paths;
pub mod shell_vars;
mod start;
pub mod state_files;
mod status;
mod stop;
pub mod target;
pub mod tls;

use std::ffi::OsString;
use std::io::Write;

use crate::paths::Paths;
use config::{OnShutdown, Settings};
use connection::Client;
use state_files::StateFiles;

/// LSB exit status: the program is not configured (bad configuration).
pub const EXIT_NOT_CONFIGURED: i32 = 6;
/// Exit status of a usage error.
pub const EXIT_USAGE: i32 = 2;

const COMMANDS: &str =
    "start|stop|status|restart|condrestart|try-restart|reload|force-reload|gueststatus|shutdown";

/// One run of the program: settings, where things are, and the exit status so far
/// (any failed guest operation turns it to 1 without stopping the others).
pub struct Guests {
    pub settings: Settings,
    pub paths: Paths,
    pub files: StateFiles,
    pub retval: i32,
}

impl Guests {
    pub fn new(settings: Settings, paths: Paths) -> Guests {
        let files = StateFiles::new(|p| paths.rooted(p));
        Guests {
            settings,
            paths,
            files,
            retval: 0,
        }
    }

    /// Opens `uri`, or says it is skipped (and why, on stderr).
    fn connect(&self, uri: &str) -> Option<Client> {
        let opened = target::resolve(uri, &self.paths)
            .map_err(|e| e.to_string())
            .and_then(|t| Client::open(&t).map_err(|e| e.to_string()));
        match opened {
            Ok(client) => Some(client),
            Err(reason) => {
                eprintln!("error: {reason}");
                say_line(&format!("Can't connect to {uri}. Skipping."));
                None
            }
        }
    }

    /// Records a failed operation: its error on stderr, exit status 1.
    fn failed(&mut self, error: impl std::fmt::Display) {
        eprintln!("error: {error}");
        self.retval = 1;
    }
}

/// Prints a whole line and flushes, so progress shows up as it happens.
fn say_line(text: &str) {
    say(&format!("{text}\n"));
}

/// Prints without a line end (the rest of the line follows later).
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    // Output going nowhere (a closed pipe) must not stop guests from being saved.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn usage(program: &str, code: i32) -> i32 {
    say_line(&format!("Usage: {program} {{{COMMANDS}}}"));
    code
}

/// Runs the program with `args` (including the program name) and returns the exit
/// status.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let program = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "libvirt-guests".to_string());
    if args.len() != 2 {
        return usage(&program, EXIT_USAGE);
    }
    let command = args[1].to_string_lossy().into_owned();
    if !COMMANDS.split('|').any(|c| c == command) {
        return usage(&program, if command == "--help" { 0 } else { EXIT_USAGE });
    }

    let privileged = running_as_root();
    let paths = Paths::from_env(privileged);
    // Nothing to configure for these two: they work even with a broken file.
    if matches!(command.as_str(), "reload" | "force-reload") {
        return 0;
    }
    if command == "status" {
        return status::status(&StateFiles::new(|p| paths.rooted(p)));
    }
    let file = config::config_file(|p| paths.rooted(p));
    if let Some(ignored) = config::ignored_file(|p| paths.rooted(p)) {
        eprintln!(
            "warning: ignoring {}: only {} is read",
            ignored.display(),
            config::CONFIG_FILE
        );
    }
    let settings = match config::load(file.as_deref()) {
        Ok((settings, skipped)) => {
            for line in skipped {
                eprintln!(
                    "warning: {}:{}: ignoring line that is not an assignment: {}",
                    file.as_deref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default(),
                    line.line,
                    line.text.trim()
                );
            }
            settings
        }
        Err(e) => {
            say_line(&e.to_string());
            return EXIT_NOT_CONFIGURED;
        }
    };

    let mut guests = Guests::new(settings, paths);
    match command.as_str() {
        "start" => guests.start(),
        "stop" => {
            guests.stop();
        }
        "gueststatus" => guests.gueststatus(),
        "restart" => {
            if guests.stop() == 0 {
                guests.start();
            }
        }
        "condrestart" | "try-restart" => {
            if guests.files.lock_exists() && guests.stop() == 0 {
                guests.start();
            }
        }
        "shutdown" => {
            guests.settings.on_shutdown = OnShutdown::Shutdown;
            guests.stop();
        }
        _ => return usage(&program, EXIT_USAGE),
    }
    guests.retval
}

/// Whether we run as root (the system daemon's locations) or as a user (the session
/// daemon's), like libvirt's clients decide.
fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}
