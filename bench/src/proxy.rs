//! What virtproxyd costs a client: `getLibVersion` and `listAllDomains` of
//! `qemu:///system` through this project's virtproxyd (on its Unix socket
//! and over TLS), straight to virtqemud's socket, and on the real libvirtd
//! 9.0 (Unix socket and TLS; Debian 12 ships no modular daemons, so its
//! monolithic daemon is the reference).
//!
//! virtqemud and virtproxyd are this project's binary under those names in
//! one private `LIBVIRTD_ROOT`; a few inactive domains are defined on each
//! side first, so `listAllDomains` returns something. Every cell is
//! [`ProxyPlan::rounds`] short lock-step rounds on fresh connections, as the
//! other load phases run them; the targets take turns cell by cell so all
//! see the same machine.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::programs::remote_proc;
use protocol::remote::{
    ConnectListAllDomainsArgs, ConnectListAllDomainsRet, ConnectOpenArgs, DomainDefineXmlArgs,
};
use protocol::xdr::{from_bytes, to_bytes};

use crate::hook_overhead::unpin;
use crate::launch::{log_tail, DaemonSpec, LaunchError};
use crate::load::{run_lockstep, LoadError};
use crate::phases::Rounds;
use crate::plan::{bounds, quick_rounds};
use crate::proxy_set::{start_modular, start_theirs};
use crate::stats::{latency, Latency};
use crate::tls_run::{TlsMaterial, TlsRunError};
use crate::transport::Endpoint;
use crate::wire::{Session, WireError};

/// The URI every client of this phase opens.
pub const QEMU_URI: &str = "qemu:///system";
/// How many inactive domains each side holds.
pub const DEFINED_DOMAINS: usize = 5;
/// How long a daemon of the set may take to serve its first client.
pub(crate) const READY_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("preparing {path}: {source}")]
    Prepare { path: PathBuf, source: io::Error },
    #[error("starting {name}: {source}")]
    Spawn {
        name: &'static str,
        source: io::Error,
    },
    #[error("{name} did not serve {QEMU_URI} within {READY_LIMIT:?}: {last}; its output ends with:\n{tail}")]
    NotReady {
        name: &'static str,
        last: String,
        tail: String,
    },
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Tls(#[from] TlsRunError),
    #[error("listAllDomains on {0} returned {1} domains, {DEFINED_DOMAINS} were defined")]
    Listing(&'static str, usize),
    #[error("a phase completed no call")]
    NoCalls,
    #[error("writing the report: {0}")]
    Output(#[from] io::Error),
}

/// The two calls measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    LibVersion,
    ListAllDomains,
}

impl Call {
    pub const ALL: [Call; 2] = [Call::LibVersion, Call::ListAllDomains];

    pub fn name(self) -> &'static str {
        match self {
            Call::LibVersion => "getLibVersion",
            Call::ListAllDomains => "listAllDomains",
        }
    }

    fn proc_(self) -> i32 {
        match self {
            Call::LibVersion => remote_proc::CONNECT_GET_LIB_VERSION,
            Call::ListAllDomains => remote_proc::CONNECT_LIST_ALL_DOMAINS,
        }
    }

    fn body(self) -> Vec<u8> {
        match self {
            Call::LibVersion => Vec::new(),
            Call::ListAllDomains => to_bytes(&ConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            }),
        }
    }
}

/// Where the clients of one cell connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// (a) virtproxyd's read-write Unix socket.
    ProxyUnix,
    /// (b) virtproxyd's TLS port.
    ProxyTls,
    /// (c) virtqemud's own socket.
    Direct,
    /// (d) the real libvirtd 9.0's Unix socket.
    TheirsUnix,
    /// (d) the real libvirtd 9.0's TLS port.
    TheirsTls,
}

impl Route {
    pub fn label(self) -> &'static str {
        match self {
            Route::ProxyUnix => "virtproxyd, unix",
            Route::ProxyTls => "virtproxyd, TLS",
            Route::Direct => "virtqemud, unix",
            Route::TheirsUnix => "libvirtd 9.0, unix",
            Route::TheirsTls => "libvirtd 9.0, TLS",
        }
    }
}

/// Sizes of the phase.
#[derive(Debug, Clone, Copy)]
pub struct ProxyPlan {
    pub rounds: Rounds,
    pub concurrency: [usize; 2],
}

impl ProxyPlan {
    pub fn new(quick: bool) -> ProxyPlan {
        ProxyPlan {
            rounds: if quick {
                quick_rounds()
            } else {
                Rounds {
                    count: 3,
                    warmup: bounds(5_000, 100),
                    each: bounds(300_000, 500),
                }
            },
            concurrency: [1, 16],
        }
    }
}

/// One measured cell: a call, a route, a number of connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub call: Call,
    pub route: Route,
    pub connections: usize,
    pub calls_per_second: f64,
    pub latency: Latency,
}

/// What the proxy adds to a call, from the proxied and the direct cell of
/// the same call and connection count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Added {
    /// Proxied minus direct p50, microseconds (negative when the proxied
    /// path was faster, which noise can make).
    pub p50_us: f64,
    pub p99_us: f64,
    /// Proxied calls/s divided by direct calls/s.
    pub throughput_ratio: f64,
}

/// The proxy's added latency and throughput ratio.
pub fn added(proxied: &Cell, direct: &Cell) -> Added {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Added {
        p50_us: us(proxied.latency.p50) - us(direct.latency.p50),
        p99_us: us(proxied.latency.p99) - us(direct.latency.p99),
        throughput_ratio: ratio(proxied.calls_per_second, direct.calls_per_second),
    }
}

/// `a / b`, NaN when `b` is not positive.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// The cell of `cells` for this call, route and connection count.
pub fn find(cells: &[Cell], call: Call, route: Route, connections: usize) -> Option<&Cell> {
    cells
        .iter()
        .find(|c| c.call == call && c.route == route && c.connections == connections)
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

fn signed_us(v: f64) -> String {
    format!("{v:+.1} us")
}

fn ratio_text(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.2}"),
        _ => "-".to_string(),
    }
}

/// The Markdown tables: every cell, then the derived figures.
pub fn write_tables(out: &mut impl Write, cells: &[Cell], plan: &ProxyPlan) -> io::Result<()> {
    writeln!(
        out,
        "\n### Through virtproxyd ({QEMU_URI}, {DEFINED_DOMAINS} defined inactive domains)\n"
    )?;
    writeln!(out, "| call | conn | route | calls/s | p50 | p99 |")?;
    writeln!(out, "|---|---:|---|---:|---:|---:|")?;
    for cell in cells {
        writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} |",
            cell.call.name(),
            cell.connections,
            cell.route.label(),
            cell.calls_per_second,
            us(cell.latency.p50),
            us(cell.latency.p99)
        )?;
    }
    writeln!(
        out,
        "\n| call | conn | added p50 (a - c) | added p99 (a - c) | calls/s a / c | \
         a / libvirtd unix | b / libvirtd TLS | b / a |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for call in Call::ALL {
        for connections in plan.concurrency {
            let get = |route| find(cells, call, route, connections);
            let (Some(a), Some(c)) = (get(Route::ProxyUnix), get(Route::Direct)) else {
                continue;
            };
            let add = added(a, c);
            let versus = |x: Option<&Cell>, y: Option<&Cell>| {
                Some(ratio(x?.calls_per_second, y?.calls_per_second))
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {:.2} | {} | {} | {} |",
                call.name(),
                connections,
                signed_us(add.p50_us),
                signed_us(add.p99_us),
                add.throughput_ratio,
                ratio_text(versus(Some(a), get(Route::TheirsUnix))),
                ratio_text(versus(get(Route::ProxyTls), get(Route::TheirsTls))),
                ratio_text(versus(get(Route::ProxyTls), Some(a))),
            )?;
        }
    }
    Ok(())
}

/// AUTH_LIST and CONNECT_OPEN of [`QEMU_URI`] on a new connection.
pub fn open_qemu(endpoint: &Endpoint) -> Result<Session, WireError> {
    let mut session = Session::connect_to(endpoint)?;
    session.call(remote_proc::AUTH_LIST, &[])?;
    let open = to_bytes(&ConnectOpenArgs {
        name: Some(QEMU_URI.to_string()),
        flags: 0,
    });
    session.call(remote_proc::CONNECT_OPEN, &open)?;
    Ok(session)
}

/// The XML of the `index`th defined domain.
pub fn domain_xml(index: usize) -> String {
    format!(
        "<domain type='qemu'><name>proxybench{index}</name><memory unit='MiB'>64</memory>\
         <os><type arch='x86_64'>hvm</type></os></domain>"
    )
}

/// Defines the domains on `endpoint` and checks that a listing sees them.
fn define_domains(endpoint: &Endpoint, label: &'static str) -> Result<(), ProxyError> {
    let mut session = open_qemu(endpoint)?;
    for index in 0..DEFINED_DOMAINS {
        let args = to_bytes(&DomainDefineXmlArgs {
            xml: domain_xml(index),
        });
        session.call(remote_proc::DOMAIN_DEFINE_XML, &args)?;
    }
    listing_size(endpoint, label)
}

/// Fails unless `listAllDomains` on `endpoint` returns every defined domain.
fn listing_size(endpoint: &Endpoint, label: &'static str) -> Result<(), ProxyError> {
    let mut session = open_qemu(endpoint)?;
    let body = session.call(Call::ListAllDomains.proc_(), &Call::ListAllDomains.body())?;
    let listed = from_bytes::<ConnectListAllDomainsRet>(&body)
        .map_err(|_| WireError::Body("CONNECT_LIST_ALL_DOMAINS"))?
        .domains
        .len();
    if listed < DEFINED_DOMAINS {
        return Err(ProxyError::Listing(label, listed));
    }
    Ok(())
}

/// The rounds of one cell, pooled.
fn measure(
    endpoint: &Endpoint,
    call: Call,
    route: Route,
    connections: usize,
    rounds: Rounds,
) -> Result<Cell, ProxyError> {
    let body = call.body();
    let (mut calls, mut elapsed, mut samples) = (0u64, Duration::ZERO, Vec::new());
    for _ in 0..rounds.count.max(1) {
        let mut sessions = (0..connections)
            .map(|_| open_qemu(endpoint))
            .collect::<Result<Vec<_>, _>>()?;
        run_lockstep(&mut sessions, call.proc_(), &body, rounds.warmup)?;
        let outcome = run_lockstep(&mut sessions, call.proc_(), &body, rounds.each)?;
        calls += outcome.calls;
        elapsed += outcome.elapsed;
        samples.extend(outcome.latencies_ns);
    }
    let latency = latency(&mut samples).ok_or(ProxyError::NoCalls)?;
    Ok(Cell {
        call,
        route,
        connections,
        calls_per_second: ratio(calls as f64, elapsed.as_secs_f64()),
        latency,
    })
}

/// The load average of the last minute, as `/proc/loadavg` gives it.
pub fn load_average(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// Runs the phase and writes its tables and notes to `out`.
pub fn report(
    ours: &Path,
    theirs: Option<&DaemonSpec>,
    tls: Option<&TlsMaterial>,
    scratch: &Path,
    quick: bool,
    out: &mut impl Write,
) -> Result<(), ProxyError> {
    let plan = ProxyPlan::new(quick);
    let mut notes = Vec::new();
    if let Err(e) = unpin() {
        notes.push(format!("the load generator stayed pinned to one CPU: {e}"));
    }
    eprintln!("libvirtd-bench: virtqemud + virtproxyd");
    let set = start_modular(ours, &scratch.join("modular"), tls)?;
    define_domains(&set.direct, "virtqemud")?;
    let mut endpoints = set.endpoints.clone();
    let mut theirs_daemon = None;
    if let Some(spec) = theirs {
        eprintln!("libvirtd-bench: {}: {QEMU_URI}", spec.label);
        match start_theirs(spec, &scratch.join("proxy-theirs"), tls) {
            Ok((daemon, theirs_endpoints)) => {
                match define_domains(&theirs_endpoints[0].1, spec.label) {
                    Ok(()) => {
                        endpoints.extend(theirs_endpoints);
                        theirs_daemon = Some(daemon);
                    }
                    Err(e) => notes.push(format!(
                        "{} was not measured: defining domains on {QEMU_URI} failed: {e}; its log ends with:\n{}",
                        spec.label,
                        log_tail(&daemon.log)
                    )),
                }
            }
            Err(e) => notes.push(format!("{} was not measured: {e}", spec.label)),
        }
    }
    for (route, endpoint) in &endpoints {
        listing_size(endpoint, route.label())?;
    }
    let load_before = fs::read_to_string("/proc/loadavg")
        .ok()
        .as_deref()
        .and_then(load_average);
    let mut cells = Vec::new();
    for call in Call::ALL {
        for connections in plan.concurrency {
            eprintln!(
                "libvirtd-bench: {} with {connections} connections",
                call.name()
            );
            for (route, endpoint) in &endpoints {
                cells.push(measure(endpoint, call, *route, connections, plan.rounds)?);
            }
        }
    }
    let load_after = fs::read_to_string("/proc/loadavg")
        .ok()
        .as_deref()
        .and_then(load_average);
    if let Some(daemon) = theirs_daemon {
        daemon.stop()?;
    }
    set.proxy.stop();
    set.qemud.stop();
    write_tables(out, &cells, &plan)?;
    if tls.is_none() {
        notes.push("no TLS routes: certtool (package gnutls-bin) is missing".to_string());
    }
    if let (Some(before), Some(after)) = (load_before, load_after) {
        notes.push(format!(
            "load average (1 min) {before:.2} before, {after:.2} after the measurements"
        ));
    }
    notes.push(format!(
        "{} round(s) per cell of at most {:?} each after a {:?} warm-up, on fresh connections",
        plan.rounds.count, plan.rounds.each.max_time, plan.rounds.warmup.max_time
    ));
    for note in notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(route: Route, per_second: f64, p50_us: u64, p99_us: u64) -> Cell {
        Cell {
            call: Call::LibVersion,
            route,
            connections: 1,
            calls_per_second: per_second,
            latency: Latency {
                p50: Duration::from_micros(p50_us),
                p99: Duration::from_micros(p99_us),
            },
        }
    }

    #[test]
    fn added_latency_is_proxied_minus_direct() {
        let a = cell(Route::ProxyUnix, 10_000.0, 50, 120);
        let c = cell(Route::Direct, 40_000.0, 20, 150);
        let add = added(&a, &c);
        assert!((add.p50_us - 30.0).abs() < 1e-9);
        assert!((add.p99_us + 30.0).abs() < 1e-9);
        assert!((add.throughput_ratio - 0.25).abs() < 1e-12);
        assert!(ratio(1.0, 0.0).is_nan());
    }

    #[test]
    fn tables_show_cells_and_derived_figures() {
        let cells = [
            cell(Route::ProxyUnix, 10_000.0, 50, 120),
            cell(Route::Direct, 40_000.0, 20, 150),
            cell(Route::TheirsUnix, 5_000.0, 200, 400),
        ];
        let mut out = Vec::new();
        write_tables(&mut out, &cells, &ProxyPlan::new(true)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("| getLibVersion | 1 | virtproxyd, unix | 10000 | 50.0 us | 120.0 us |")
        );
        // a - c, a / c, a / libvirtd unix; no TLS cells: dashes.
        assert!(
            text.contains("| getLibVersion | 1 | +30.0 us | -30.0 us | 0.25 | 2.00 | - | - |"),
            "{text}"
        );
        assert!(!text.contains("| listAllDomains | 1 | +"), "{text}");
    }

    #[test]
    fn load_average_is_the_first_field() {
        assert_eq!(load_average("3.53 11.30 16.64 2/900 12345\n"), Some(3.53));
        assert_eq!(load_average(""), None);
    }

    #[test]
    fn calls_carry_their_procedures_and_arguments() {
        assert_eq!(
            Call::LibVersion.proc_(),
            remote_proc::CONNECT_GET_LIB_VERSION
        );
        assert!(Call::LibVersion.body().is_empty());
        // need_results = 1, flags = 0
        assert_eq!(Call::ListAllDomains.body(), vec![0, 0, 0, 1, 0, 0, 0, 0]);
        assert!(domain_xml(3).contains("<name>proxybench3</name>"));
    }
}
