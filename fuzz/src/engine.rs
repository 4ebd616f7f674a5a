//! The fuzzing loop: mutate inputs from a corpus, run a target on each, keep
//! the inputs that show a fact no earlier input showed, stop at the first
//! panic.
//!
//! Why a loop of our own: the engines that need no nightly toolchain either
//! need tools this project does not ship (afl.rs and honggfuzz-rs build
//! their C runtimes with clang and make), or generate values without
//! mutating a seed corpus (bolero's stable engine), which almost never
//! produces a valid message header. A seed corpus of recorded traffic,
//! structure-aware mutations and a cheap feedback signal (each target
//! reports facts about the path it took: procedure and reply status, error
//! kinds, elements kept) find more here, with no dependency at all. `protocol/fuzz` stays
//! as the libFuzzer variant for machines with a nightly toolchain.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::corpus;
use crate::rng::Rng;
use crate::targets::Target;

/// How long and where a run goes.
pub struct Config {
    pub iterations: u64,
    /// Stops earlier when this much time has passed.
    pub time: Option<Duration>,
    pub seed: u64,
    /// Where inputs that show a new fact are written (campaigns).
    pub save_new: Option<PathBuf>,
}

/// A panic and the input that caused it.
pub struct Crash {
    pub input: Vec<u8>,
    pub message: String,
}

pub struct Report {
    pub executions: u64,
    /// Distinct facts seen.
    pub features: usize,
    pub corpus: usize,
    pub saved: usize,
    pub crash: Option<Crash>,
}

/// Runs one input, turning a panic into an error with its message.
pub fn run_one(target: &Target, input: &[u8]) -> Result<Vec<u64>, String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input).into_vec())).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic with a non-text payload".into())
    })
}

/// What a run has found so far.
struct State<'a> {
    target: &'a Target,
    config: &'a Config,
    seen: HashSet<u64>,
    pool: Vec<Vec<u8>>,
    report: Report,
}

impl State<'_> {
    /// Runs `input`; keeps it when it showed a new fact. `false` on a panic.
    fn consider(&mut self, input: Vec<u8>, fresh: bool) -> bool {
        self.report.executions += 1;
        match run_one(self.target, &input) {
            Ok(features) => {
                let new = features
                    .into_iter()
                    .filter(|f| self.seen.insert(*f))
                    .count();
                if new > 0 {
                    if let (true, Some(dir)) = (fresh, &self.config.save_new) {
                        if corpus::save(dir, &input).unwrap_or(false) {
                            self.report.saved += 1;
                        }
                    }
                    self.pool.push(input);
                }
                true
            }
            Err(message) => {
                self.report.crash = Some(Crash { input, message });
                false
            }
        }
    }
}

/// Replays `seeds`, then mutates them for `config.iterations` inputs.
pub fn fuzz(target: &Target, seeds: Vec<Vec<u8>>, config: &Config) -> Report {
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let mut state = State {
        target,
        config,
        seen: HashSet::new(),
        pool: Vec::new(),
        report: Report {
            executions: 0,
            features: 0,
            corpus: 0,
            saved: 0,
            crash: None,
        },
    };
    let replayed = seeds.into_iter().all(|seed| state.consider(seed, false));
    if state.pool.is_empty() {
        state.pool.push(Vec::new());
    }
    if replayed {
        for _ in 0..config.iterations {
            if config.time.is_some_and(|t| started.elapsed() >= t) {
                break;
            }
            let base = &state.pool[rng.below(state.pool.len())];
            let other = &state.pool[rng.below(state.pool.len())];
            let input = (target.mutate)(&mut rng, base, other);
            if !state.consider(input, true) {
                break;
            }
        }
    }
    let mut report = state.report;
    report.features = state.seen.len();
    report.corpus = state.pool.len();
    report
}
