//! Turns the figures of both daemons into one table with ratios and the
//! project's targets.

use std::fmt::Write as _;
use std::time::Duration;

use crate::phases::{IdleClients, Throughput};
use crate::procfs::MemorySample;
use crate::stats::Latency;
use crate::tls_run::TlsFigures;

/// Everything measured for one daemon.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Each start-up time, in the order measured.
    pub startups: Vec<Duration>,
    pub idle: Option<MemorySample>,
    pub busy_alone: Option<Latency>,
    pub idle_clients: Option<IdleClients>,
    pub throughput: Vec<Throughput>,
    pub connects_per_second: Option<f64>,
    /// `None` when the TLS phases did not run.
    pub tls: Option<TlsFigures>,
}

/// The unit a row's numbers are printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Millis,
    Micros,
    MiB,
    KiB,
    PerSecond,
    Times,
    Count,
    /// A plain number with two decimals.
    Ratio,
}

/// What the project promises about a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// ours / theirs must not exceed this.
    RatioAtMost(f64),
    /// ours / theirs must reach this.
    RatioAtLeast(f64),
    /// Our own value must not exceed this (a factor between two of our
    /// own figures).
    OursAtMost(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    pub unit: Unit,
    pub ours: Option<f64>,
    pub theirs: Option<f64>,
    pub target: Option<Target>,
}

impl Row {
    fn new(metric: impl Into<String>, unit: Unit, ours: Option<f64>, theirs: Option<f64>) -> Row {
        Row {
            metric: metric.into(),
            unit,
            ours,
            theirs,
            target: None,
        }
    }

    fn with_target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        match (self.ours, self.theirs) {
            (Some(o), Some(t)) if t != 0.0 => Some(o / t),
            _ => None,
        }
    }

    /// Whether the target is met; `None` without a target or the figures
    /// it needs.
    pub fn met(&self) -> Option<bool> {
        match self.target? {
            Target::RatioAtMost(x) => Some(self.ratio()? <= x),
            Target::RatioAtLeast(x) => Some(self.ratio()? >= x),
            Target::OursAtMost(x) => Some(self.ours? <= x),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median_ms(startups: &[Duration]) -> Option<f64> {
    crate::stats::median(startups).map(ms)
}

/// Growth of the busy client's p50 from no idle clients to many.
fn busy_growth(f: &Figures) -> Option<f64> {
    let alone = us(f.busy_alone?.p50);
    let crowded = us(f.idle_clients?.busy.p50);
    (alone > 0.0).then(|| crowded / alone)
}

/// Memory added per idle client, in KiB.
fn per_client_kib(f: &Figures) -> Option<f64> {
    let idle = f.idle?.rss_kib as f64;
    let crowded = f.idle_clients?;
    Some((crowded.memory.rss_kib as f64 - idle) / crowded.count.max(1) as f64)
}

/// The table rows, in print order. `theirs` is `None` when the real
/// libvirtd was not measured.
pub fn rows(ours: &Figures, theirs: Option<&Figures>) -> Vec<Row> {
    let both = |pick: &dyn Fn(&Figures) -> Option<f64>| (pick(ours), theirs.and_then(pick));
    let mut out = Vec::new();
    let (o, t) = both(&|f| median_ms(&f.startups));
    let starts = ours.startups.len();
    out.push(
        Row::new(
            format!("start-up to first answer (median of {starts})"),
            Unit::Millis,
            o,
            t,
        )
        .with_target(Target::RatioAtMost(0.25)),
    );
    let (o, t) = both(&|f| f.idle.map(|m| m.rss_kib as f64 / 1024.0));
    out.push(Row::new("idle RSS", Unit::MiB, o, t).with_target(Target::RatioAtMost(0.25)));
    let (o, t) = both(&|f| f.idle.map(|m| m.threads as f64));
    out.push(Row::new("idle threads", Unit::Count, o, t));
    let count = ours.idle_clients.map(|c| c.count).unwrap_or(0);
    let (o, t) = both(&|f| f.idle_clients.map(|c| c.memory.rss_kib as f64 / 1024.0));
    out.push(
        Row::new(format!("RSS with {count} idle clients"), Unit::MiB, o, t)
            .with_target(Target::RatioAtMost(0.25)),
    );
    let (o, t) = both(&per_client_kib);
    out.push(Row::new("RSS per idle client", Unit::KiB, o, t));
    for (i, tp) in ours.throughput.iter().enumerate() {
        let n = tp.connections;
        let pick = |f: &Figures| f.throughput.get(i).filter(|x| x.connections == n).copied();
        let other = theirs.and_then(pick);
        let mut calls = Row::new(
            format!("GET_LIB_VERSION calls/s, {n} conn"),
            Unit::PerSecond,
            Some(tp.calls_per_second),
            other.map(|x| x.calls_per_second),
        );
        if n == 16 {
            calls = calls.with_target(Target::RatioAtLeast(4.0));
        }
        out.push(calls);
        out.push(Row::new(
            format!("  p50, {n} conn"),
            Unit::Micros,
            Some(us(tp.latency.p50)),
            other.map(|x| us(x.latency.p50)),
        ));
        out.push(Row::new(
            format!("  p99, {n} conn"),
            Unit::Micros,
            Some(us(tp.latency.p99)),
            other.map(|x| us(x.latency.p99)),
        ));
        out.push(
            Row::new(
                format!("  server CPU per call, {n} conn"),
                Unit::Micros,
                Some(us(tp.server_cpu_per_call)),
                other.map(|x| us(x.server_cpu_per_call)),
            )
            .with_target(Target::RatioAtMost(0.1)),
        );
        out.push(Row::new(
            format!("  daemon context switches per call, {n} conn"),
            Unit::Ratio,
            Some(tp.switches_per_call),
            other.map(|x| x.switches_per_call),
        ));
    }
    let (o, t) = both(&|f| f.busy_alone.map(|l| us(l.p50)));
    out.push(Row::new(
        "busy client p50, no idle clients",
        Unit::Micros,
        o,
        t,
    ));
    let (o, t) = both(&|f| f.idle_clients.map(|c| us(c.busy.p50)));
    out.push(Row::new(
        format!("busy client p50, {count} idle clients"),
        Unit::Micros,
        o,
        t,
    ));
    let (o, t) = both(&busy_growth);
    out.push(
        Row::new(
            format!("  growth from 0 to {count} idle"),
            Unit::Times,
            o,
            t,
        )
        .with_target(Target::OursAtMost(1.5)),
    );
    let (o, t) = both(&|f| f.connects_per_second);
    out.push(Row::new(
        "connect+AUTH_LIST+OPEN+CLOSE per s",
        Unit::PerSecond,
        o,
        t,
    ));
    if let Some(tls) = &ours.tls {
        tls_rows(tls, theirs.and_then(|f| f.tls.as_ref()), &mut out);
    }
    out
}

/// Rows of the TLS phases: session set-up, then round trips over TLS.
fn tls_rows(ours: &TlsFigures, theirs: Option<&TlsFigures>, out: &mut Vec<Row>) {
    let (o, t) = (&ours.setups, theirs.map(|f| &f.setups));
    out.push(Row::new(
        "TLS sessions per s (set-up + CLOSE)",
        Unit::PerSecond,
        Some(o.per_second),
        t.map(|x| x.per_second),
    ));
    out.push(Row::new(
        "  set-up p50 (TLS+0x01+AUTH_LIST+OPEN)",
        Unit::Micros,
        Some(us(o.setup.p50)),
        t.map(|x| us(x.setup.p50)),
    ));
    out.push(Row::new(
        "  set-up p99",
        Unit::Micros,
        Some(us(o.setup.p99)),
        t.map(|x| us(x.setup.p99)),
    ));
    out.push(Row::new(
        "  server CPU per TLS session",
        Unit::Micros,
        Some(us(o.server_cpu_per_session)),
        t.map(|x| us(x.server_cpu_per_session)),
    ));
    for (i, tp) in ours.throughput.iter().enumerate() {
        let n = tp.connections;
        let other = theirs
            .and_then(|f| f.throughput.get(i))
            .filter(|x| x.connections == n);
        out.push(Row::new(
            format!("GET_LIB_VERSION over TLS calls/s, {n} conn"),
            Unit::PerSecond,
            Some(tp.calls_per_second),
            other.map(|x| x.calls_per_second),
        ));
        out.push(Row::new(
            format!("  p50 over TLS, {n} conn"),
            Unit::Micros,
            Some(us(tp.latency.p50)),
            other.map(|x| us(x.latency.p50)),
        ));
        out.push(Row::new(
            format!("  p99 over TLS, {n} conn"),
            Unit::Micros,
            Some(us(tp.latency.p99)),
            other.map(|x| us(x.latency.p99)),
        ));
        out.push(Row::new(
            format!("  server CPU per call over TLS, {n} conn"),
            Unit::Micros,
            Some(us(tp.server_cpu_per_call)),
            other.map(|x| us(x.server_cpu_per_call)),
        ));
    }
}

fn value(v: Option<f64>, unit: Unit) -> String {
    let Some(v) = v else {
        return "-".to_string();
    };
    match unit {
        Unit::Millis => format!("{v:.1} ms"),
        Unit::Micros if v < 100.0 => format!("{v:.1} us"),
        Unit::Micros => format!("{v:.0} us"),
        Unit::MiB => format!("{v:.1} MiB"),
        Unit::KiB => format!("{v:.2} KiB"),
        Unit::PerSecond => format!("{v:.0}"),
        Unit::Times => format!("{v:.2}x"),
        Unit::Count => format!("{v:.0}"),
        Unit::Ratio => format!("{v:.2}"),
    }
}

fn target_text(t: Option<Target>) -> String {
    match t {
        None => String::new(),
        Some(Target::RatioAtMost(x)) => format!("ratio <= {x}"),
        Some(Target::RatioAtLeast(x)) => format!("ratio >= {x}"),
        Some(Target::OursAtMost(x)) => format!("ours <= {x}x"),
    }
}

/// A Markdown table (aligned, so it also reads well in a terminal).
pub fn render(rows: &[Row], theirs_label: &str) -> String {
    let header = [
        "metric".to_string(),
        "ours".to_string(),
        theirs_label.to_string(),
        "ours/theirs".to_string(),
        "target".to_string(),
        "met".to_string(),
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.metric.clone(),
                value(r.ours, r.unit),
                value(r.theirs, r.unit),
                r.ratio()
                    .map(|x| format!("{x:.3}"))
                    .unwrap_or_else(|| "-".into()),
                target_text(r.target),
                match r.met() {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let mut widths = header.each_ref().map(|h| h.len());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |cols: &[String; 6], out: &mut String| {
        out.push('|');
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            // Numbers right-aligned, names left-aligned.
            let _ = if i == 0 || i >= 4 {
                write!(out, " {c:<w$} |")
            } else {
                write!(out, " {c:>w$} |")
            };
        }
        out.push('\n');
    };
    line(&header, &mut out);
    let rule = widths.map(|w| "-".repeat(w));
    line(&rule, &mut out);
    for row in &cells {
        line(row, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls_phases::TlsSetups;

    fn sample(startup_ms: u64, rss_mib: u64, cps: f64) -> Figures {
        let lat = Latency {
            p50: Duration::from_micros(50),
            p99: Duration::from_micros(150),
        };
        Figures {
            startups: vec![Duration::from_millis(startup_ms); 3],
            idle: Some(MemorySample {
                rss_kib: rss_mib * 1024,
                threads: 4,
            }),
            busy_alone: Some(lat),
            idle_clients: Some(IdleClients {
                count: 1000,
                memory: MemorySample {
                    rss_kib: rss_mib * 1024 + 2000,
                    threads: 4,
                },
                busy: Latency {
                    p50: Duration::from_micros(60),
                    p99: Duration::from_micros(200),
                },
            }),
            throughput: vec![Throughput {
                connections: 16,
                calls: 1000,
                calls_per_second: cps,
                latency: lat,
                server_cpu_per_call: Duration::from_micros(5),
                switches_per_call: 1.0,
                client_cpu_per_call: Duration::from_micros(3),
            }],
            connects_per_second: Some(1000.0),
            tls: None,
        }
    }

    fn find<'a>(rows: &'a [Row], prefix: &str) -> &'a Row {
        rows.iter().find(|r| r.metric.starts_with(prefix)).unwrap()
    }

    #[test]
    fn ratios_and_targets_are_computed() {
        let ours = sample(10, 5, 100_000.0);
        let theirs = sample(40, 25, 20_000.0);
        let rows = rows(&ours, Some(&theirs));
        let startup = find(&rows, "start-up");
        assert_eq!(startup.ratio(), Some(0.25));
        assert_eq!(startup.met(), Some(true));
        let calls = find(&rows, "GET_LIB_VERSION calls/s, 16");
        assert_eq!(calls.ratio(), Some(5.0));
        assert_eq!(calls.met(), Some(true));
        let growth = find(&rows, "  growth");
        assert_eq!(growth.ours, Some(1.2));
        assert_eq!(growth.met(), Some(true));
        let per_client = find(&rows, "RSS per idle client");
        assert_eq!(per_client.ours, Some(2.0));
    }

    fn with_tls(mut f: Figures, sessions_per_second: f64, cpu_us: u64) -> Figures {
        let tp = f.throughput[0];
        f.tls = Some(TlsFigures {
            setups: TlsSetups {
                sessions: 100,
                per_second: sessions_per_second,
                setup: Latency {
                    p50: Duration::from_micros(2000),
                    p99: Duration::from_micros(4000),
                },
                server_cpu_per_session: Duration::from_micros(cpu_us),
                client_cpu_per_session: Duration::from_micros(900),
                negotiated: "TLSv1_3".into(),
            },
            throughput: vec![Throughput {
                connections: 1,
                ..tp
            }],
        });
        f
    }

    #[test]
    fn tls_rows_follow_the_unix_rows_with_ratios() {
        let ours = with_tls(sample(10, 5, 100_000.0), 600.0, 1500);
        let theirs = with_tls(sample(40, 25, 20_000.0), 200.0, 3000);
        let rows = rows(&ours, Some(&theirs));
        let sessions = find(&rows, "TLS sessions per s");
        assert_eq!(sessions.ratio(), Some(3.0));
        let cpu = find(&rows, "  server CPU per TLS session");
        assert_eq!(cpu.ours, Some(1500.0));
        assert_eq!(cpu.ratio(), Some(0.5));
        let calls = find(&rows, "GET_LIB_VERSION over TLS calls/s, 1 conn");
        assert_eq!(calls.ratio(), Some(5.0));
        let last_unix = rows
            .iter()
            .position(|r| r.metric.starts_with("connect+"))
            .unwrap();
        assert!(rows[last_unix + 1].metric.starts_with("TLS sessions"));

        let without = super::rows(&sample(10, 5, 1.0), None);
        assert!(without.iter().all(|r| !r.metric.contains("TLS")));
    }

    #[test]
    fn missed_target_and_missing_comparison_are_visible() {
        let ours = sample(30, 5, 100_000.0);
        let theirs = sample(40, 25, 20_000.0);
        let table = render(&rows(&ours, Some(&theirs)), "libvirtd 9.0");
        let startup_line = table.lines().find(|l| l.contains("start-up")).unwrap();
        assert!(startup_line.contains("30.0 ms"), "{startup_line}");
        assert!(startup_line.contains("0.750"), "{startup_line}");
        assert!(startup_line.contains("NO"), "{startup_line}");

        let alone = render(&rows(&ours, None), "libvirtd 9.0");
        let startup_line = alone.lines().find(|l| l.contains("start-up")).unwrap();
        assert!(!startup_line.contains("NO") && !startup_line.contains("yes"));
        let growth = alone.lines().find(|l| l.contains("growth")).unwrap();
        assert!(growth.contains("yes"), "{growth}");
    }
}
