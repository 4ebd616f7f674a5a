//! `libvirtd-bench`: this project's libvirtd and the real libvirtd 9.0
//! under the same load in one run, with ratios.
//!
//! Layers: [`wire`] builds the calls and runs a blocking client over a
//! [`transport`] (Unix socket, or TLS through [`tls_client`]), [`load`]
//! drives many connections from one epoll loop, [`launch`] and
//! [`isolation`] start and confine the daemons, [`procfs`] reads their
//! memory and CPU, [`phases`] and [`tls_phases`] measure one quantity each
//! ([`flood`]: hostile clients), [`pki`] and [`tls_run`] give both daemons
//! the same TLS set-up, [`plan`] sizes the phases, [`report`] prints the
//! table and [`run`] ties it together.

pub mod cli;
pub mod containers;
pub mod domstats;
pub mod flood;
pub mod guests;
pub mod hook_overhead;
pub mod isolation;
pub mod launch;
pub mod load;
pub mod machine;
pub mod networks;
pub mod phases;
pub mod pki;
pub mod plan;
pub mod procfs;
pub mod proxy;
pub mod proxy_set;
pub mod report;
pub mod run;
pub mod stats;
pub mod tls_client;
pub mod tls_phases;
pub mod tls_run;
pub mod transport;
pub mod wire;

#[cfg(test)]
mod tls_tests;
