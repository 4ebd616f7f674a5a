//! How big each phase of a run is: the full run and the `--quick` one.

use std::time::Duration;

use crate::load::Bounds;
use crate::phases::Rounds;
use crate::tls_run::TlsPlan;

/// Sizes of every phase.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub starts: usize,
    /// Every GET_LIB_VERSION phase (busy client, throughput).
    pub rounds: Rounds,
    pub connect_phase: Bounds,
    pub idle_clients: usize,
    pub concurrency: [usize; 4],
    pub tls: TlsPlan,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            starts: 7,
            rounds: rounds(5),
            connect_phase: bounds(20_000, 2_000),
            idle_clients: 1000,
            concurrency: [1, 4, 16, 64],
            tls: TlsPlan {
                setups: bounds(5_000, 3_000),
                rounds: rounds(5),
                concurrency: [1, 16],
            },
        }
    }

    pub fn quick() -> Plan {
        Plan {
            starts: 3,
            rounds: quick_rounds(),
            connect_phase: bounds(5_000, 500),
            tls: TlsPlan {
                setups: bounds(1_000, 1_000),
                rounds: quick_rounds(),
                concurrency: [1, 16],
            },
            ..Plan::full()
        }
    }
}

pub fn rounds(count: usize) -> Rounds {
    Rounds {
        count,
        warmup: bounds(10_000, 100),
        each: bounds(400_000, 600),
    }
}

pub fn quick_rounds() -> Rounds {
    Rounds {
        count: 3,
        warmup: bounds(2_000, 50),
        each: bounds(150_000, 250),
    }
}

pub fn bounds(max_calls: u64, millis: u64) -> Bounds {
    Bounds {
        max_calls,
        max_time: Duration::from_millis(millis),
    }
}
