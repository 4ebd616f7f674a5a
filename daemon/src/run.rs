//! The daemon's life once settings are known: drivers, servers, accept loops,
//! signals, reload, idle timeout and orderly shutdown.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use drivers::api::DriverRegistry;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

use crate::context::{ControlRequest, Daemon};
use crate::events::EventHub;
use crate::logging::LogHandle;
use crate::notify::Notifier;
use crate::paths::DaemonName;
use crate::server::listener::{self, Listener};
use crate::server::{Limits, Server};
use crate::signals::SignalEvent;

/// What the running daemon may change on SIGHUP.
pub trait Reloader: Send {
    /// Re-reads the configuration and applies what can change live; returns the
    /// new limits of the main and admin servers, or an error to log (old
    /// settings stay).
    fn reload(&mut self) -> Result<(Limits, Limits), String>;
}

pub struct RunOptions {
    /// Which daemon runs: names the main server and picks the drivers.
    pub daemon: DaemonName,
    pub main_limits: Limits,
    pub admin_limits: Limits,
    /// `-t`: exit after this long with no client on either server, no call
    /// in flight and no driver holding the daemon (running guests).
    pub idle_timeout: Option<Duration>,
    /// The hook scripts found at start-up.
    pub hooks: hooks::Hooks,
    /// secret.conf and the secrets encryption key, read at start-up.
    pub secret_config: drivers::secret::SecretConfig,
}

/// Why `run` returned.
#[derive(Debug, PartialEq, Eq)]
pub enum ExitReason {
    Signal(&'static str),
    IdleTimeout,
    /// `virt-admin daemon-shutdown`.
    Requested {
        preserve: bool,
    },
    /// SIGUSR2: the host is going down.
    HostShutdown,
}

impl ExitReason {
    /// Whether drivers handle their guests before the daemon exits.
    fn handles_guests(&self) -> bool {
        matches!(
            self,
            ExitReason::HostShutdown | ExitReason::Requested { preserve: true }
        )
    }
}

async fn tick_opt(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Builds the shared state with the drivers this daemon runs; the receiver
/// carries the admin interface's requests to [`run`].
pub fn build_daemon(
    opts: &RunOptions,
    log: Option<LogHandle>,
) -> (Arc<Daemon>, mpsc::UnboundedReceiver<ControlRequest>) {
    let (control, requests) = mpsc::unbounded_channel();
    let events = Arc::new(EventHub::default());
    let mut drivers = DriverRegistry::new();
    let hub = events.clone();
    let sink: drivers::api::EventSink = Arc::new(move |ev| hub.publish("test", &ev));
    // networks: the secondary network driver of every hypervisor connection and
    // the primary one of network:///system; built first, the qemu driver plugs
    // guests' network interfaces into it.
    let network_events = Arc::new(crate::network_events::NetworkEventHub::default());
    let network = opts
        .daemon
        .serves_scheme("network")
        .then(|| network_driver(&network_events, &opts.hooks));
    // storage: the secondary storage driver of every hypervisor connection and
    // the primary one of storage:///system; built first, the qemu driver
    // resolves disks naming volumes through it.
    let storage_events = Arc::new(crate::storage_events::StorageEventHub::default());
    let storage = opts
        .daemon
        .serves_scheme("storage")
        .then(|| storage_driver(&storage_events));
    // A hypervisor daemon without them (virtqemud, virtlxcd) reaches the network
    // and storage drivers of virtnetworkd and virtstoraged through their sockets.
    let sock_dir = crate::paths::Paths::from_env(nix::unistd::geteuid().is_root()).sock_dir;
    let guest_network = network
        .clone()
        .unwrap_or_else(|| peer_network_driver(&sock_dir));
    let guest_storage = storage
        .clone()
        .unwrap_or_else(|| peer_storage_driver(&sock_dir));
    // secrets: secondary on hypervisor connections, primary for secret:///system;
    // the qemu driver reads disk passphrases from it (or from virtsecretd).
    let secret_events = Arc::new(crate::secret_events::SecretEventHub::default());
    let secrets = opts
        .daemon
        .serves_scheme("secret")
        .then(|| secret_driver(&secret_events, &opts.secret_config));
    let guest_secrets = secrets
        .clone()
        .unwrap_or_else(|| peer_secret_driver(&sock_dir));
    // Passphrases of encrypted volumes come from the same place.
    if let Some(storage) = &storage {
        storage.set_secret_driver(guest_secrets.clone());
    }
    // Registration order is the probe order for clients that send no URI:
    // qemu first, as libvirtd probes it first.
    let mut available: Vec<Arc<dyn drivers::api::Driver>> = Vec::new();
    if opts.daemon.serves_scheme("qemu") {
        available.push(qemu_driver(
            &events,
            &opts.hooks,
            Some(&guest_network),
            Some(&guest_storage),
            &guest_secrets,
        ));
    }
    if opts.daemon.serves_scheme("lxc") {
        available.push(lxc_driver(
            &events,
            &opts.hooks,
            Some(&guest_network),
            Some(&guest_storage),
        ));
    }
    available.push(Arc::new(drivers::test_driver::TestDriver::new(sink)));
    if let Some(secrets) = secrets {
        drivers.set_secret_driver(secrets);
        available.push(Arc::new(drivers::secret::SecretPrimaryDriver));
    }
    // node devices: read-only, secondary on hypervisor connections, primary for
    // nodedev:///system.
    let nodedev_events = Arc::new(crate::nodedev_events::NodeDeviceEventHub::default());
    if opts.daemon.serves_scheme("nodedev") {
        let devices = drivers::nodedev::NodeDevices::default();
        let hub = nodedev_events.clone();
        if let Err(e) = devices.watch(Arc::new(move |ev| hub.publish(&ev))) {
            warn!("node device driver: no device events (uevent socket: {e})");
        }
        drivers.set_nodedev_driver(Arc::new(devices));
        available.push(Arc::new(drivers::nodedev::NodeDevPrimaryDriver));
    }
    // host interfaces: read-only, secondary on hypervisor connections, primary
    // for interface:///system.
    if opts.daemon.serves_scheme("interface") {
        drivers.set_interface_driver(Arc::new(drivers::interface::Interfaces::default()));
        available.push(Arc::new(drivers::interface::InterfacePrimaryDriver));
    }
    // A modular daemon runs only its own driver; others' URIs are refused
    // with "no connection driver available for ...".
    for driver in available {
        if opts.daemon.serves_scheme(driver.scheme()) {
            drivers.register(driver);
        }
    }
    if let Some(network) = network {
        drivers.set_network_driver(network);
        drivers.register(Arc::new(drivers::network::NetworkPrimaryDriver));
    }
    if let Some(storage) = storage {
        drivers.set_storage_driver(storage);
        drivers.register(Arc::new(drivers::storage::StoragePrimary::new()));
    }
    let privileged = nix::unistd::geteuid().is_root();
    crate::host_shutdown::warn_if_libvirt_guests_too(
        &drivers,
        &crate::paths::Paths::from_env(privileged),
    );
    let daemon = Arc::new(Daemon {
        drivers,
        events,
        network_events,
        storage_events,
        secret_events,
        nodedev_events,
        proxy: opts.daemon.is_proxy().then(|| crate::proxy::ProxyTargets {
            sock_dir: crate::paths::Paths::from_env(privileged).sock_dir,
        }),
        secondary: secondary_targets(opts.daemon, sock_dir),
        main: Server::new(opts.daemon.as_str(), opts.main_limits.clone()),
        admin: Server::new("admin", opts.admin_limits.clone()),
        log,
        control,
        calls_in_flight: AtomicUsize::new(0),
        tls_reload: OnceLock::new(),
        hooks: opts.hooks.clone(),
    });
    (daemon, requests)
}

/// A per-driver hypervisor daemon (virtqemud, virtlxcd) hands the calls of
/// the secondary drivers on its connections to their daemons in `sock_dir`;
/// libvirtd serves them all itself.
fn secondary_targets(
    daemon: crate::paths::DaemonName,
    sock_dir: std::path::PathBuf,
) -> Option<crate::proxy::secondary::SecondaryTargets> {
    use protocol::table::Family;
    let hypervisor = daemon.serves_scheme("qemu") || daemon.serves_scheme("lxc");
    if daemon == crate::paths::DaemonName::Libvirtd || !hypervisor {
        return None;
    }
    let privileged = nix::unistd::geteuid().is_root();
    Some(crate::proxy::secondary::SecondaryTargets::new(
        sock_dir,
        privileged,
        |family| match family {
            Family::Network
            | Family::Storage
            | Family::Secret
            | Family::Nodedev
            | Family::Interface => daemon.serves_scheme(family.label()),
            _ => false,
        },
    ))
}

/// virtnetworkd's network driver, reached through its socket in `sock_dir`.
fn peer_network_driver(sock_dir: &std::path::Path) -> Arc<dyn drivers::api::NetworkDriver> {
    use crate::peer_drivers::{PeerNetwork, PeerSocket};
    let socket = PeerSocket::new(
        sock_dir,
        "virtnetworkd",
        "network:///system",
        "network:///session",
    );
    Arc::new(PeerNetwork::new(socket))
}

/// virtstoraged's storage driver, reached through its socket in `sock_dir`.
fn peer_storage_driver(sock_dir: &std::path::Path) -> Arc<dyn drivers::api::StorageDriver> {
    use crate::peer_drivers::{PeerSocket, PeerStorage};
    let socket = PeerSocket::new(
        sock_dir,
        "virtstoraged",
        "storage:///system",
        "storage:///session",
    );
    Arc::new(PeerStorage::new(socket))
}

/// virtsecretd's secret driver, reached through its socket in `sock_dir`.
fn peer_secret_driver(sock_dir: &std::path::Path) -> Arc<dyn drivers::api::SecretDriver> {
    use crate::peer_drivers::{PeerSecrets, PeerSocket};
    let socket = PeerSocket::new(
        sock_dir,
        "virtsecretd",
        "secret:///system",
        "secret:///session",
    );
    Arc::new(PeerSecrets::new(socket))
}

/// The secret driver over this daemon's directories, its persistent secrets loaded.
fn secret_driver(
    events: &Arc<crate::secret_events::SecretEventHub>,
    config: &drivers::secret::SecretConfig,
) -> Arc<dyn drivers::api::SecretDriver> {
    let privileged = nix::unistd::geteuid().is_root();
    let paths = crate::paths::Paths::from_env(privileged);
    let secret_paths = drivers::secret::SecretPaths::new(&paths.config_dir, &paths.run_dir);
    let hub = events.clone();
    let sink: drivers::api::SecretEventSink = Arc::new(move |ev| hub.publish(&ev));
    if let Some(path) = &config.key_path {
        info!(
            "secret driver: values are stored encrypted with the key '{}'",
            path.display()
        );
    }
    let (secrets, problems) = drivers::secret::Secrets::with_config(secret_paths, config, sink);
    for problem in problems {
        error!("Error reading secret: {problem}");
    }
    Arc::new(drivers::secret::SecretDriverHandle(secrets))
}

/// The qemu driver over this daemon's directories; it re-attaches to guests that
/// outlived a previous daemon before the first client is served.
fn qemu_driver(
    events: &Arc<EventHub>,
    hooks: &hooks::Hooks,
    network: Option<&Arc<dyn drivers::api::NetworkDriver>>,
    storage: Option<&Arc<dyn drivers::api::StorageDriver>>,
    secrets: &Arc<dyn drivers::api::SecretDriver>,
) -> Arc<dyn drivers::api::Driver> {
    let privileged = nix::unistd::geteuid().is_root();
    let paths = crate::paths::Paths::from_env(privileged);
    let qemu_paths = drivers::qemu::QemuPaths::new(
        &paths.config_dir,
        &paths.run_dir,
        &paths.state_dir,
        &paths.log_dir,
    );
    let hub = events.clone();
    let sink: drivers::api::EventSink = Arc::new(move |ev| hub.publish("qemu", &ev));
    let (driver, problems) = drivers::qemu::QemuDriver::new(qemu_paths, sink, Some(hooks.clone()));
    if let Some(network) = network {
        driver.set_network_driver(network.clone());
    }
    for problem in problems {
        warn!("qemu driver: {problem}");
    }
    if let Some(storage) = storage {
        driver.set_storage_driver(storage.clone());
    }
    driver.set_secret_driver(secrets.clone());
    Arc::new(driver)
}

/// The storage driver over this daemon's directories; running pools are
/// re-attached and autostart pools started before the first client is served.
fn storage_driver(
    events: &Arc<crate::storage_events::StorageEventHub>,
) -> Arc<dyn drivers::api::StorageDriver> {
    let privileged = nix::unistd::geteuid().is_root();
    let paths = crate::paths::Paths::from_env(privileged);
    let storage_paths =
        drivers::storage::StoragePaths::new(&paths.config_dir, &paths.run_dir, &paths.state_dir);
    let hub = events.clone();
    let sink: drivers::api::PoolEventSink = Arc::new(move |ev| hub.publish(&ev));
    let (driver, problems) = drivers::storage::Storage::new(storage_paths, sink);
    for problem in problems {
        warn!("storage driver: {problem}");
    }
    Arc::new(driver)
}

/// The lxc driver over this daemon's directories; it re-attaches to containers whose
/// supervisors outlived a previous daemon before the first client is served.
fn lxc_driver(
    events: &Arc<EventHub>,
    hooks: &hooks::Hooks,
    network: Option<&Arc<dyn drivers::api::NetworkDriver>>,
    storage: Option<&Arc<dyn drivers::api::StorageDriver>>,
) -> Arc<dyn drivers::api::Driver> {
    let privileged = nix::unistd::geteuid().is_root();
    let paths = crate::paths::Paths::from_env(privileged);
    let lxc_paths = drivers::lxc::LxcPaths::new(&paths.config_dir, &paths.run_dir, &paths.log_dir);
    let hub = events.clone();
    let sink: drivers::api::EventSink = Arc::new(move |ev| hub.publish("lxc", &ev));
    let (driver, problems) = drivers::lxc::LxcDriver::new(lxc_paths, sink, Some(hooks.clone()));
    for problem in problems {
        warn!("lxc driver: {problem}");
    }
    if let Some(network) = network {
        driver.set_network_driver(network.clone());
    }
    if let Some(storage) = storage {
        driver.set_storage_driver(storage.clone());
    }
    Arc::new(driver)
}

/// The network driver over this daemon's directories; networks that kept running
/// while no daemon was there are re-attached, autostarted ones started.
fn network_driver(
    hub: &Arc<crate::network_events::NetworkEventHub>,
    hooks: &hooks::Hooks,
) -> Arc<dyn drivers::api::NetworkDriver> {
    let privileged = nix::unistd::geteuid().is_root();
    let paths = crate::paths::Paths::from_env(privileged);
    let net_paths =
        drivers::network::NetworkPaths::new(&paths.config_dir, &paths.run_dir, &paths.state_dir);
    let hub = hub.clone();
    let sink: drivers::api::NetworkEventSink = Arc::new(move |ev| hub.publish(&ev));
    let (driver, problems) = drivers::network::Networks::new(net_paths, sink, Some(hooks.clone()));
    for problem in problems {
        warn!("network driver: {problem}");
    }
    Arc::new(drivers::network::NetworkDriverHandle(driver))
}

/// Serves `listeners` until a shutdown signal or the idle timeout. Socket files
/// this daemon created are removed before returning.
pub async fn run(
    daemon: Arc<Daemon>,
    mut requests: mpsc::UnboundedReceiver<ControlRequest>,
    mut signals: mpsc::UnboundedReceiver<SignalEvent>,
    listeners: Vec<Listener>,
    opts: RunOptions,
    mut reloader: Box<dyn Reloader>,
    ready: impl FnOnce(),
) -> std::io::Result<ExitReason> {
    let notifier = Notifier::from_env();
    let mut idle_timeout = opts.idle_timeout;
    let shutdown = CancellationToken::new();
    let mut to_unlink: Vec<PathBuf> = Vec::new();
    let mut loops = Vec::new();
    for l in listeners {
        if let Some(path) = l.unlink_on_exit.clone() {
            to_unlink.push(path);
        }
        loops.push(tokio::spawn(listener::accept_loop(
            l,
            daemon.clone(),
            shutdown.clone(),
        )));
    }
    ready();
    notifier.ready("Accepting clients");
    info!("daemon ready");
    let mut watchdog = Notifier::watchdog_interval().map(tokio::time::interval);

    let mut idle_since: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let reason = loop {
        tokio::select! {
            ev = signals.recv() => match ev {
                Some(SignalEvent::Shutdown(name)) => break ExitReason::Signal(name),
                Some(SignalEvent::HostShutdown) => break ExitReason::HostShutdown,
                Some(SignalEvent::Reload) => reload(&daemon, reloader.as_mut(), &notifier),
                None => break ExitReason::Signal("signal handler gone"),
            },
            request = requests.recv() => match request {
                Some(ControlRequest::SetIdleTimeout(secs)) => {
                    idle_timeout = (secs > 0).then(|| Duration::from_secs(secs.into()));
                    idle_since = None;
                }
                Some(ControlRequest::Shutdown { preserve }) => break ExitReason::Requested { preserve },
                None => {}
            },
            _ = tick_opt(watchdog.as_mut()), if watchdog.is_some() => notifier.send("WATCHDOG=1"),
            _ = tick.tick(), if idle_timeout.is_some() => {
                if daemon.is_idle() && !daemon.drivers.inhibits_idle() {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if idle_timeout.is_some_and(|t| since.elapsed() >= t) {
                        break ExitReason::IdleTimeout;
                    }
                } else {
                    idle_since = None;
                }
            }
        }
    };
    info!(?reason, "shutting down");
    notifier.stopping();
    shutdown.cancel();
    stop_serving(&daemon, loops, &to_unlink).await;
    finish_jobs(&daemon).await;
    if reason.handles_guests() {
        crate::host_shutdown::handle_guests(daemon).await;
    }
    Ok(reason)
}

/// SIGHUP: the configuration, TLS files, drivers' files and hook scripts are
/// read again; what fails keeps its previous state.
fn reload(daemon: &Daemon, reloader: &mut dyn Reloader, notifier: &Notifier) {
    notifier.reloading();
    match reloader.reload() {
        Ok((main, admin)) => {
            daemon.main.set_limits(main);
            daemon.admin.set_limits(admin);
            info!("configuration reloaded");
        }
        Err(e) => error!("reload failed, keeping the previous settings: {e}"),
    }
    // TLS files are re-read even when the config file is bad.
    if let Some(reload_tls) = daemon.tls_reload.get() {
        if let Err(e) = reload_tls() {
            error!("TLS reload failed, keeping the previous credentials: {e}");
        }
    }
    for problem in daemon.drivers.reload_all() {
        warn!("reload: {problem}");
    }
    // After the reload, so a changed hook_timeout applies.
    daemon.hooks.rescan();
    crate::daemon_hooks::spawn_reload(&daemon.hooks);
    notifier.ready("Accepting clients");
}

/// How long jobs in flight at shutdown (a save, a start) get to finish.
pub const JOB_GRACE: Duration = Duration::from_secs(10);
/// How long cancelled jobs then get to roll back: one monitor timeout, so a
/// rollback that asks a hung QEMU ends by itself within it.
pub const JOB_ROLLBACK: Duration = drivers::qemu::MONITOR_TIMEOUT;

/// Lets the jobs in flight finish, then has the drivers cancel and roll back
/// the rest, then undo what those still running would leave untracked. At
/// most [`JOB_GRACE`] + [`JOB_ROLLBACK`] (and a few seconds to kill processes).
async fn finish_jobs(daemon: &Arc<Daemon>) {
    if !wait_no_calls(daemon, JOB_GRACE).await {
        warn!(
            calls = daemon.calls_in_flight.load(Ordering::Relaxed),
            "jobs still running at shutdown; cancelling those that can roll back"
        );
        daemon.drivers.abort_jobs_all();
        wait_no_calls(daemon, JOB_ROLLBACK).await;
    }
    // Always: a start that slipped in after the wait must not leave an
    // unrecorded QEMU behind.
    let daemon = Arc::clone(daemon);
    let done = tokio::task::spawn_blocking(move || daemon.drivers.abandon_jobs_all())
        .await
        .unwrap_or_default();
    for what in done {
        warn!("shutdown: {what}");
    }
}

/// Waits until no call runs on a worker, at most `bound`; true when none does.
async fn wait_no_calls(daemon: &Daemon, bound: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if daemon.calls_in_flight.load(Ordering::Relaxed) == 0 && !daemon.drivers.jobs_running_any()
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops accepting, removes the socket files we created and closes every
/// session, waiting a bounded time for them to flush.
async fn stop_serving(
    daemon: &Daemon,
    loops: Vec<tokio::task::JoinHandle<()>>,
    to_unlink: &[PathBuf],
) {
    for l in loops {
        let _ = l.await;
    }
    for path in to_unlink {
        if let Err(e) = std::fs::remove_file(path) {
            warn!(path = %path.display(), "cannot remove socket: {e}");
        }
    }
    for server in daemon.servers() {
        server.clients.close_all();
    }
    // Sessions flush and close on their own; wait for them, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    for server in daemon.servers() {
        loop {
            let freed = server.capacity_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if server.clients.count() == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                break;
            }
        }
    }
}
