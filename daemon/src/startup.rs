//! From `argv` to a running daemon, as a list of steps: the umask, options,
//! settings, logging, the access drivers, detaching, the event loop, signal handlers, the pid file, the
//! authentication check, the start hook, the listening sockets, then
//! [`crate::run`]. Each step fails with a [`StartupError`], which carries
//! libvirtd's exit status (1 pid file and config, 6 network, ...).
//!
//! The program name picks the daemon (`libvirtd`, `virtqemud`, `virtlxcd`,
//! see [`DaemonName`]); sockets passed by a service manager replace the ones
//! traditional mode creates (see [`crate::activation`]).

mod error;
pub mod file_modes;
mod listeners;
mod reload;
mod settings;

use std::ffi::OsString;
use std::time::Duration;

use tracing::error;

pub use error::StartupError;

use crate::activation::{Activation, ActivationError};
use crate::cli::{self, CliAction, Options};
use crate::config::{self, Settings};
use crate::daemon_hooks;
use crate::daemonize::{self, StartupReporter};
use crate::logging::{self, LogHandle};
use crate::paths::{DaemonName, Paths};
use crate::pidfile::PidFile;
use crate::run::{self, RunOptions};
use crate::server::listener::Listener;
use crate::signals::SignalEvent;
use reload::ConfigReloader;
use settings::{
    admin_limits, auth_timeout, log_config, main_limits, refuse_unavailable_auth,
    refuse_unimplemented_access_drivers, usage_defaults,
};

/// Runs the daemon; returns the process exit status.
pub fn main_entry(args: Vec<OsString>) -> i32 {
    // Before any file or thread exists: everything created from here on is
    // private unless given a mode explicitly.
    file_modes::restrict_umask();
    // Before anything opens a file: fds 3.. may be inherited sockets.
    let activation = Activation::from_env();
    let paths = daemon_paths(&args);
    let opts = match parse_options(&args, &paths) {
        Ok(opts) => opts,
        Err(Stop::Exit(code)) => return code,
        Err(Stop::Error(e)) => return e.report_with_default_logging(),
    };
    let settings = match load_settings(&opts, &paths) {
        Ok(settings) => settings,
        Err(e) => return e.report_with_default_logging(),
    };
    let log = logging::install(log_config(&settings, &opts, &paths));
    if let Err(e) = refuse_unimplemented_access_drivers(&settings) {
        return StartupError::AccessDrivers(e).report(None);
    }
    let secret_config = if paths.daemon.serves_scheme("secret") {
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(std::path::PathBuf::from);
        match drivers::secret::SecretConfig::load(
            &paths.config_dir,
            &paths.run_dir,
            credentials.as_deref(),
        ) {
            Ok(config) => config,
            Err(e) => return StartupError::DriverConfig(e).report(None),
        }
    } else {
        drivers::secret::SecretConfig::default()
    };
    let reporter = match detach(&args, &opts) {
        Ok(reporter) => reporter,
        Err(e) => return e.report(None),
    };
    let prepared = match prepare(&opts, &settings, &paths, activation) {
        Ok(prepared) => prepared,
        Err(e) => return e.report(Some(reporter)),
    };
    match serve(
        prepared,
        opts,
        settings,
        paths,
        log,
        reporter,
        secret_config,
    ) {
        Ok(()) => 0,
        Err(e) => e.report(None),
    }
}

/// How option parsing ends start-up early: `--help` and `--version` exit
/// with their own status, bad options with an error.
enum Stop {
    Exit(i32),
    Error(StartupError),
}

/// Everything acquired before serving: released in reverse on failure.
struct Prepared {
    runtime: tokio::runtime::Runtime,
    signals: tokio::sync::mpsc::UnboundedReceiver<SignalEvent>,
    pid_file: PidFile,
    hooks: hooks::Hooks,
    listeners: Vec<Listener>,
}

/// Step: which daemon this is and where its files live.
fn daemon_paths(args: &[OsString]) -> Paths {
    let privileged = nix::unistd::geteuid().is_root();
    let daemon_name = args
        .first()
        .map(|arg0| DaemonName::from_program(arg0))
        .unwrap_or_default();
    Paths::from_env(privileged).for_daemon(daemon_name)
}

/// Step: the command line (`--help` and `--version` end here).
fn parse_options(args: &[OsString], paths: &Paths) -> Result<Options, Stop> {
    match cli::parse(args, &usage_defaults(paths)) {
        CliAction::Run(opts) => Ok(opts),
        CliAction::Exit {
            code,
            stdout,
            stderr,
        } => {
            print!("{stdout}");
            eprint!("{stderr}");
            Err(Stop::Exit(code))
        }
        CliAction::Fail { code, message } => {
            Err(Stop::Error(StartupError::Usage { code, message }))
        }
    }
}

/// Step: the configuration file (`-f` or the default one).
fn load_settings(opts: &Options, paths: &Paths) -> Result<Settings, StartupError> {
    config::load(opts.config.as_deref(), &paths.config_file, paths.privileged)
        .map_err(StartupError::Config)
}

/// Step: with `-d`, fork into the background; the parent waits for the
/// reporter's verdict. Done before any thread exists.
fn detach(args: &[OsString], opts: &Options) -> Result<StartupReporter, StartupError> {
    if !opts.daemon {
        return Ok(StartupReporter::foreground());
    }
    let prog = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "libvirtd".into());
    daemonize::daemonize(&prog).map_err(StartupError::Fork)
}

/// The steps that acquire what serving needs. Signal handlers exist before
/// any socket does: a client (or a service manager) that sees the socket may
/// signal us at once. The pid file is removed again if a later step fails.
fn prepare(
    opts: &Options,
    settings: &Settings,
    paths: &Paths,
    activation: Result<Option<Activation>, ActivationError>,
) -> Result<Prepared, StartupError> {
    let runtime = event_loop()?;
    let signals = signal_handlers(&runtime)?;
    let pid_file = acquire_pid_file(opts, paths)?;
    let claimed = (|| {
        refuse_unavailable_auth(settings).map_err(StartupError::Auth)?;
        let hooks = run_start_hook(paths, settings)?;
        let listeners = open_listeners(activation, settings, paths, opts.listen)?;
        Ok((hooks, listeners))
    })();
    match claimed {
        Ok((hooks, listeners)) => Ok(Prepared {
            runtime,
            signals,
            pid_file,
            hooks,
            listeners,
        }),
        Err(e) => {
            let _ = pid_file.remove();
            Err(e)
        }
    }
}

/// Step: the tokio runtime.
fn event_loop() -> Result<tokio::runtime::Runtime, StartupError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(StartupError::EventLoop)
}

/// Step: SIGTERM, SIGINT, SIGQUIT, SIGHUP and SIGUSR2 become events.
fn signal_handlers(
    runtime: &tokio::runtime::Runtime,
) -> Result<tokio::sync::mpsc::UnboundedReceiver<SignalEvent>, StartupError> {
    let _guard = runtime.enter();
    crate::signals::listen().map_err(StartupError::Signals)
}

/// Step: the pid file (`-p` or the default one), locked for our lifetime.
fn acquire_pid_file(opts: &Options, paths: &Paths) -> Result<PidFile, StartupError> {
    let pid_path = opts
        .pid_file
        .clone()
        .unwrap_or_else(|| paths.pid_file.clone());
    PidFile::acquire(&pid_path, std::process::id()).map_err(StartupError::PidFile)
}

/// Step: the daemon hook scripts, and their `start` call.
fn run_start_hook(paths: &Paths, settings: &Settings) -> Result<hooks::Hooks, StartupError> {
    let hooks = daemon_hooks::discover(paths, settings);
    daemon_hooks::run_start(&hooks).map_err(|_| StartupError::StartHook)?;
    Ok(hooks)
}

/// Step: the inherited sockets under socket activation, otherwise new ones.
fn open_listeners(
    activation: Result<Option<Activation>, ActivationError>,
    settings: &Settings,
    paths: &Paths,
    listen: bool,
) -> Result<Vec<Listener>, StartupError> {
    match activation.map_err(|e| StartupError::Listeners(e.to_string()))? {
        Some(activation) => listeners::activated_listeners(activation, settings, paths, listen),
        None => listeners::create_listeners(settings, paths, listen),
    }
    .map_err(StartupError::Listeners)
}

/// Last step: serve until asked to stop, then run the shutdown hook and
/// remove the pid file. The reporter tells a `-d` parent once the daemon is
/// ready.
fn serve(
    prepared: Prepared,
    opts: Options,
    settings: Settings,
    paths: Paths,
    log: LogHandle,
    reporter: StartupReporter,
    secret_config: drivers::secret::SecretConfig,
) -> Result<(), StartupError> {
    let Prepared {
        runtime,
        signals,
        pid_file,
        hooks,
        listeners,
    } = prepared;
    let run_opts = RunOptions {
        daemon: paths.daemon,
        main_limits: main_limits(&settings.reloadable().libvirtd),
        admin_limits: admin_limits(&settings.reloadable().admin),
        idle_timeout: opts
            .timeout
            .or(settings.timeout)
            .filter(|t| *t > 0)
            .map(|t| Duration::from_secs(t.into())),
        hooks: hooks.clone(),
        secret_config,
    };
    let tls_servers = crate::tls::listen::servers_of(&listeners);
    crate::server::client::set_auth_timeout(auth_timeout(&settings));
    let reloader = Box::new(ConfigReloader {
        explicit: opts.config.clone(),
        default_path: paths.config_file.clone(),
        privileged: paths.privileged,
        opts,
        paths,
        log: log.clone(),
        tls: tls_servers.clone(),
        hooks: hooks.clone(),
    });
    let (daemon, requests) = run::build_daemon(&run_opts, Some(log));
    if !tls_servers.is_empty() {
        let _ = daemon.tls_reload.set(Box::new(move || {
            tls_servers.iter().try_for_each(|tls| tls.reload())
        }));
    }
    let result = runtime.block_on(run::run(
        daemon,
        requests,
        signals,
        listeners,
        run_opts,
        reloader,
        move || reporter.report_ok(),
    ));
    runtime.shutdown_timeout(Duration::from_secs(1));
    if result.is_ok() {
        daemon_hooks::run_shutdown(&hooks);
    }
    if let Err(e) = pid_file.remove() {
        error!(target: "daemon::startup", "Failed to remove pid file: {e}");
    }
    result.map(|_| ()).map_err(StartupError::Run)
}
