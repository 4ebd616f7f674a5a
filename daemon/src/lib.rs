//! The `libvirtd` daemon: command line, configuration, paths, listeners,
//! client sessions, dispatch to drivers, events, signals and logging.
//! It knows no QEMU or LXC specifics: drivers come from the `drivers` crate.

pub mod activation;
pub mod cli;
pub mod config;
pub mod context;
pub mod daemon_hooks;
pub mod daemonize;
pub mod dispatch;
pub mod events;
pub mod host_shutdown;
pub mod in_process;
pub mod logging;
pub mod monitor_events;
pub mod network_events;
pub mod nodedev_events;
pub mod notify;
pub mod object_events;
pub mod paths;
pub mod peer_drivers;
pub mod pidfile;
pub mod polkit;
pub mod proxy;
pub mod run;
pub mod secret_events;
pub mod server;
pub mod signals;
pub mod startup;
pub mod storage_events;
pub mod system_token;
pub mod tls;
