//! From `argv` to a running daemon: options, paths, settings, logging,
//! detaching, the pid file, the listening sockets, then [`crate::run`].
//! Exit statuses follow libvirtd (1 pid file and config, 6 network, ...).
//!
//! The program name picks the daemon (`libvirtd`, `virtqemud`, `virtlxcd`,
//! see [`DaemonName`]); sockets passed by a service manager replace the ones
//! traditional mode creates (see [`crate::activation`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::error;

use crate::activation::{Activation, ActivationError};
use crate::cli::{self, CliAction, Options, UsageDefaults};
use crate::config::{self, AuthMethod, ServerLimits, Settings};
use crate::daemon_hooks;
use crate::daemonize::{self, StartupFailure, StartupReporter};
use crate::logging::{self, LogConfig, LogHandle, LogInputs};
use crate::paths::{DaemonName, Paths};
use crate::pidfile::PidFile;
use crate::run::{self, Reloader, RunOptions};
use crate::server::listener::{self, Listener, Socket};
use crate::server::{AuthScheme, Limits, ServiceKind, Transport};

/// Runs the daemon; returns the process exit status.
pub fn main_entry(args: Vec<OsString>) -> i32 {
    // Before anything opens a file: fds 3.. may be inherited sockets.
    let activation = Activation::from_env();
    // SAFETY: geteuid has no preconditions.
    let privileged = unsafe { libc::geteuid() } == 0;
    let daemon_name = args
        .first()
        .map(|arg0| DaemonName::from_program(arg0))
        .unwrap_or_default();
    let paths = Paths::from_env(privileged).for_daemon(daemon_name);
    let defaults = usage_defaults(&paths);
    let opts = match cli::parse(&args, &defaults) {
        CliAction::Run(opts) => opts,
        CliAction::Exit {
            code,
            stdout,
            stderr,
        } => {
            print!("{stdout}");
            eprint!("{stderr}");
            return code;
        }
        CliAction::Fail { code, message } => {
            let _log = logging::install(logging::resolve(&LogInputs::default()).0);
            error!(target: "daemon::startup", "{message}");
            return code;
        }
    };
    let settings = match config::load(opts.config.as_deref(), &paths.config_file, privileged) {
        Ok(s) => s,
        Err(e) => {
            let _log = logging::install(logging::resolve(&LogInputs::default()).0);
            error!(target: "daemon::startup", "Can't load config file: {e}");
            return e.exit_status();
        }
    };
    let log = logging::install(log_config(&settings, &opts, &paths));

    let reporter = if opts.daemon {
        let prog = args
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_else(|| "libvirtd".into());
        match daemonize::daemonize(&prog) {
            Ok(r) => r,
            Err(e) => {
                error!(target: "daemon::startup", "Failed to fork as daemon: {e}");
                return 1;
            }
        }
    } else {
        StartupReporter::foreground()
    };
    start(opts, settings, paths, activation, log, reporter)
}

fn start(
    opts: Options,
    settings: Settings,
    paths: Paths,
    activation: Result<Option<Activation>, ActivationError>,
    log: LogHandle,
    reporter: StartupReporter,
) -> i32 {
    let fail = |reporter: StartupReporter, failure: StartupFailure, message: String| {
        error!(target: "daemon::startup", "{message}");
        reporter.report_error(failure);
        failure.code() as i32
    };
    // Signal handlers exist before any socket does: a client (or a service
    // manager) that sees the socket may signal us at once.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                reporter,
                StartupFailure::Init,
                format!("Unable to start the event loop: {e}"),
            )
        }
    };
    let signals = {
        let _guard = runtime.enter();
        match crate::signals::listen() {
            Ok(s) => s,
            Err(e) => {
                return fail(
                    reporter,
                    StartupFailure::Signal,
                    format!("Unable to set up signal handlers: {e}"),
                )
            }
        }
    };
    let pid_path = opts
        .pid_file
        .clone()
        .unwrap_or_else(|| paths.pid_file.clone());
    let pid_file = match PidFile::acquire(&pid_path, std::process::id()) {
        Ok(p) => p,
        Err(e) => return fail(reporter, StartupFailure::PidFile, e.to_string()),
    };
    if let Err(message) = refuse_unavailable_auth(&settings) {
        let code = fail(reporter, StartupFailure::Network, message);
        let _ = pid_file.remove();
        return code;
    }
    let hooks = daemon_hooks::discover(&paths, &settings);
    if daemon_hooks::run_start(&hooks).is_err() {
        let message = "the daemon start hook script failed".to_string();
        let code = fail(reporter, StartupFailure::Hooks, message);
        let _ = pid_file.remove();
        return code;
    }
    let listeners = match activation
        .map_err(|e| e.to_string())
        .and_then(|activation| match activation {
            Some(activation) => activated_listeners(activation, &settings, &paths, opts.listen),
            None => create_listeners(&settings, &paths, opts.listen),
        }) {
        Ok(l) => l,
        Err(message) => {
            let code = fail(reporter, StartupFailure::Network, message);
            let _ = pid_file.remove();
            return code;
        }
    };
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
    };
    let tls_servers = crate::tls::listen::servers_of(&listeners);
    crate::server::client::set_auth_timeout(auth_timeout(&settings));
    let reloader = Box::new(ConfigReloader {
        explicit: opts.config.clone(),
        default_path: paths.config_file.clone(),
        privileged: paths.privileged,
        opts: opts.clone(),
        paths: paths.clone(),
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
    match result {
        Ok(_) => 0,
        Err(e) => {
            error!(target: "daemon::startup", "{e}");
            1
        }
    }
}

fn usage_defaults(paths: &Paths) -> UsageDefaults {
    let mut defaults = if paths.privileged {
        UsageDefaults::privileged()
    } else {
        UsageDefaults::unprivileged()
    };
    if paths.daemon.is_modular() {
        let name = paths.daemon.as_str();
        let (config_dir, run_dir, pid_dir) = if paths.privileged {
            ("/etc/libvirt", "/run/libvirt", "/run")
        } else {
            (
                "$XDG_CONFIG_HOME/libvirt",
                "$XDG_RUNTIME_DIR/libvirt",
                "$XDG_RUNTIME_DIR/libvirt",
            )
        };
        defaults.config_file = format!("{config_dir}/{name}.conf");
        defaults.sockets = std::iter::once(format!("{run_dir}/{name}-sock"))
            .chain(
                paths
                    .privileged
                    .then(|| format!("{run_dir}/{name}-sock-ro")),
            )
            .collect();
        defaults.pid_file = format!("{pid_dir}/{name}.pid");
        defaults.ip_sockets = false;
    }
    if paths.root.is_some() {
        let sockets = paths.unix_sockets(None);
        defaults.config_file = paths.config_file.display().to_string();
        defaults.sockets = std::iter::once(sockets.rw)
            .chain(sockets.ro)
            .map(|p| p.display().to_string())
            .collect();
        defaults.ca_certificate = paths.pki.ca_cert.display().to_string();
        defaults.server_certificate = paths.pki.server_cert.display().to_string();
        defaults.server_key = paths.pki.server_key.display().to_string();
        defaults.pid_file = paths.pid_file.display().to_string();
    }
    defaults
}

fn log_config(settings: &Settings, opts: &Options, paths: &Paths) -> LogConfig {
    let env_debug = std::env::var("LIBVIRT_DEBUG").ok();
    let env_filters = std::env::var("LIBVIRT_LOG_FILTERS").ok();
    let env_outputs = std::env::var("LIBVIRT_LOG_OUTPUTS").ok();
    let inputs = LogInputs {
        level: settings.log_level.map(|l| l as u32).unwrap_or(0),
        filters: settings.log_filters.as_deref().unwrap_or(""),
        outputs: settings.log_outputs.as_deref().unwrap_or(""),
        env_debug: env_debug.as_deref(),
        env_filters: env_filters.as_deref(),
        env_outputs: env_outputs.as_deref(),
        verbose: opts.verbose,
        daemon: opts.daemon,
        journald_available: logging::journald_available(),
        log_dir: &paths.log_dir,
    };
    let (config, problems) = logging::resolve(&inputs);
    for p in problems {
        eprintln!("libvirtd: {p}");
    }
    config
}

fn main_limits(l: &ServerLimits) -> Limits {
    Limits {
        max_clients: l.max_clients as usize,
        max_anonymous_clients: l.max_anonymous_clients as usize,
        max_client_requests: l.max_client_requests as usize,
        min_workers: l.min_workers as usize,
        max_workers: l.max_workers as usize,
        prio_workers: l.prio_workers as usize,
        keepalive_interval: l.keepalive_interval.into(),
        keepalive_count: l.keepalive_count,
    }
}

/// The admin server's limits: its anonymous-client limit is 0, which means
/// no limit (as in libvirt, and as `srv-clients-info admin` shows it).
fn admin_limits(l: &ServerLimits) -> Limits {
    main_limits(l)
}

fn scheme(method: AuthMethod) -> AuthScheme {
    match method {
        AuthMethod::None => AuthScheme::None,
        AuthMethod::Sasl => AuthScheme::Sasl,
        AuthMethod::Polkit => AuthScheme::Polkit,
    }
}

fn lookup_group(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    let cname =
        std::ffi::CString::new(name).map_err(|_| format!("Failed to parse group '{name}'"))?;
    // SAFETY: getgrnam takes a NUL-terminated name and returns a pointer into static storage or NULL.
    let entry = unsafe { libc::getgrnam(cname.as_ptr()) };
    if entry.is_null() {
        return Err(format!("Failed to parse group '{name}'"));
    }
    // SAFETY: entry is non-null and points at a valid struct group.
    Ok(unsafe { (*entry).gr_gid })
}

/// Socket activation: serves exactly the inherited sockets, claimed by name
/// (`<daemon>.socket`, `-ro`, `-admin`, and for libvirtd `-tcp` and `-tls`).
/// Socket modes and group, `listen_*`, ports and `listen_addr` do not apply;
/// authentication settings do. Inherited socket files are never unlinked.
fn activated_listeners(
    mut activation: Activation,
    settings: &Settings,
    paths: &Paths,
    listen: bool,
) -> Result<Vec<Listener>, String> {
    if listen {
        return Err(ActivationError::ListenNotPermitted.to_string());
    }
    let name = paths.daemon.as_str();
    let unix_kind = |read_only: bool, auth: AuthMethod| ServiceKind {
        admin: false,
        read_only,
        auth: scheme(auth),
        transport: Transport::Unix,
    };
    let admin_kind = ServiceKind {
        admin: true,
        read_only: false,
        auth: AuthScheme::None,
        transport: Transport::Unix,
    };
    let queue = settings.max_queued_clients;
    let mut services = vec![
        (
            format!("{name}.socket"),
            unix_kind(false, settings.auth_unix_rw),
            queue,
        ),
        (
            format!("{name}-ro.socket"),
            unix_kind(true, settings.auth_unix_ro),
            queue,
        ),
        (
            format!("{name}-admin.socket"),
            admin_kind,
            settings.admin_max_queued_clients,
        ),
    ];
    // The modular daemons have no IP services: such names stay unclaimed.
    if !paths.daemon.is_modular() {
        let tcp = format!("{name}-tcp.socket");
        if activation.has_name(&tcp) && settings.auth_tcp == AuthMethod::Sasl {
            return Err(format!(
                "SASL authentication (auth_tcp = \"sasl\") is not supported by this daemon; set auth_tcp = \"none\" to serve the activation socket '{tcp}'"
            ));
        }
        let tcp_kind = ServiceKind {
            transport: Transport::Tcp,
            ..unix_kind(false, settings.auth_tcp)
        };
        services.push((tcp, tcp_kind, queue));
    }
    let mut out = Vec::new();
    let tls = format!("{name}-tls.socket");
    if !paths.daemon.is_modular() && activation.has_name(&tls) {
        out.extend(activated_tls_listeners(
            &mut activation,
            &tls,
            settings,
            paths,
        )?);
    }
    for (fd_name, kind, backlog) in services {
        let sockets = activation
            .claim_sockets(&fd_name, backlog)
            .map_err(|e| e.to_string())?;
        for socket in sockets {
            // Clients are listed with the transport of the socket itself.
            let transport = match (&socket, kind.transport) {
                (Socket::Unix(_), _) => Transport::Unix,
                (_, Transport::Unix) => Transport::Tcp,
                (_, other) => other,
            };
            out.push(Listener {
                socket,
                kind: ServiceKind { transport, ..kind },
                unlink_on_exit: None,
            });
        }
    }
    activation.complete().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The inherited `libvirtd-tls.socket` sockets, served with the configured
/// TLS credentials (loaded first: problems with them stop start-up).
fn activated_tls_listeners(
    activation: &mut Activation,
    fd_name: &str,
    settings: &Settings,
    paths: &Paths,
) -> Result<Vec<Listener>, String> {
    let kind = crate::tls::listen::service_kind(settings)?;
    let tls = crate::tls::TlsServer::from_settings(settings, paths)?;
    let sockets = activation
        .claim_sockets(fd_name, settings.max_queued_clients)
        .map_err(|e| e.to_string())?;
    sockets
        .into_iter()
        .map(|socket| match socket {
            Socket::Tcp(l) => Ok(Listener {
                socket: Socket::Tls(l, tls.clone()),
                kind,
                unlink_on_exit: None,
            }),
            _ => Err(format!(
                "The activation socket '{fd_name}' is not a TCP socket"
            )),
        })
        .collect()
}

/// Creates the sockets of traditional mode: rw, ro and admin unix sockets,
/// plus TCP with `--listen`.
fn create_listeners(
    settings: &Settings,
    paths: &Paths,
    listen: bool,
) -> Result<Vec<Listener>, String> {
    let backlog = settings.max_queued_clients;
    let gid = settings
        .unix_sock_group
        .as_deref()
        .map(lookup_group)
        .transpose()?;
    let sockets = paths.unix_sockets(settings.unix_sock_dir.as_deref());
    let mut out = Vec::new();
    let unix = |path: &Path,
                mode: u32,
                kind: ServiceKind,
                out: &mut Vec<Listener>|
     -> Result<(), String> {
        // The admin socket queues up to admin_max_queued_clients, as in libvirt.
        let queue = if kind.admin {
            settings.admin_max_queued_clients
        } else {
            backlog
        };
        let l = listener::bind_unix(path, mode, gid, queue).map_err(|e| {
            format!(
                "Failed to bind socket to '{}': {}",
                path.display(),
                logging::os_error_text(&e)
            )
        })?;
        out.push(Listener {
            socket: Socket::Unix(l),
            kind,
            unlink_on_exit: Some(path.to_path_buf()),
        });
        Ok(())
    };
    let rw = ServiceKind {
        admin: false,
        read_only: false,
        auth: scheme(settings.auth_unix_rw),
        transport: Transport::Unix,
    };
    unix(&sockets.rw, settings.unix_sock_rw_perms, rw, &mut out)?;
    if let Some(ro) = &sockets.ro {
        let kind = ServiceKind {
            read_only: true,
            auth: scheme(settings.auth_unix_ro),
            ..rw
        };
        unix(ro, settings.unix_sock_ro_perms, kind, &mut out)?;
    }
    if let Some(admin) = &sockets.admin {
        let kind = ServiceKind {
            admin: true,
            read_only: false,
            auth: AuthScheme::None,
            transport: Transport::Unix,
        };
        unix(admin, settings.unix_sock_admin_perms, kind, &mut out)?;
        // The admin socket has its own queue length (`admin_max_queued_clients`).
        if let Some(Listener {
            socket: Socket::Unix(l),
            ..
        }) = out.last()
        {
            listener::set_backlog(
                std::os::fd::AsRawFd::as_raw_fd(l),
                settings.admin_max_queued_clients,
            )
            .map_err(|e| format!("Failed to bind socket to '{}': {e}", admin.display()))?;
        }
    }
    if listen {
        if settings.listen_tcp {
            if settings.auth_tcp == AuthMethod::Sasl {
                return Err(
                    "SASL authentication (auth_tcp = \"sasl\") is not supported by this daemon; set auth_tcp = \"none\" to accept TCP clients without authentication"
                        .to_string(),
                );
            }
            let kind = ServiceKind {
                admin: false,
                read_only: false,
                auth: scheme(settings.auth_tcp),
                transport: Transport::Tcp,
            };
            let tcp =
                listener::bind_tcp(settings.listen_addr.as_deref(), &settings.tcp_port, backlog)
                    .map_err(|e| {
                        format!(
                            "Failed to bind TCP socket on {}:{}: {}",
                            settings.listen_addr.as_deref().unwrap_or("*"),
                            settings.tcp_port,
                            logging::os_error_text(&e)
                        )
                    })?;
            out.extend(tcp.into_iter().map(|l| Listener {
                socket: Socket::Tcp(l),
                kind,
                unlink_on_exit: None,
            }));
        }
        if settings.listen_tls {
            out.extend(crate::tls::listen::bind_listeners(settings, paths)?);
        }
    }
    Ok(out)
}

/// `auth_timeout` as the session code takes it (0 disables it).
fn auth_timeout(settings: &Settings) -> Option<Duration> {
    (settings.auth_timeout > 0).then(|| Duration::from_secs(settings.auth_timeout.into()))
}

/// Authentication methods this daemon cannot provide stop start-up instead
/// of being treated as "none". (TCP and TLS are checked with their sockets.)
fn refuse_unavailable_auth(settings: &Settings) -> Result<(), String> {
    for (key, method) in [
        ("auth_unix_rw", settings.auth_unix_rw),
        ("auth_unix_ro", settings.auth_unix_ro),
    ] {
        if method == AuthMethod::Sasl {
            return Err(format!(
                "SASL authentication ({key} = \"sasl\") is not supported by this daemon; set {key} = \"polkit\" (root is always admitted) or \"none\" and restrict the socket with unix_sock_group and the unix_sock_*_perms options"
            ));
        }
    }
    Ok(())
}

/// SIGHUP: re-read the same file; apply logging, limits, `auth_timeout`, and
/// the TLS file locations and policy (the files themselves are re-read by
/// the daemon's TLS reload right after).
struct ConfigReloader {
    explicit: Option<PathBuf>,
    default_path: PathBuf,
    privileged: bool,
    opts: Options,
    paths: Paths,
    log: LogHandle,
    tls: Vec<std::sync::Arc<crate::tls::TlsServer>>,
    hooks: hooks::Hooks,
}

impl Reloader for ConfigReloader {
    fn reload(&mut self) -> Result<(Limits, Limits), String> {
        let settings = config::load(
            self.explicit.as_deref(),
            &self.default_path,
            self.privileged,
        )
        .map_err(|e| e.to_string())?;
        let log_config = log_config(&settings, &self.opts, &self.paths);
        self.log.reload(log_config).map_err(|e| e.to_string())?;
        crate::server::client::set_auth_timeout(auth_timeout(&settings));
        self.hooks
            .set_timeout(daemon_hooks::hook_timeout(&settings));
        for tls in &self.tls {
            tls.update_source(&settings, &self.paths)?;
        }
        let r = settings.reloadable();
        Ok((main_limits(&r.libvirtd), admin_limits(&r.admin)))
    }
}
