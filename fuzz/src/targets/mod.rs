//! The fuzz targets: each runs one input through production code and
//! returns a signature of the path it took (the engine's feedback).

mod dispatch;
mod domain_xml;
mod frames;
mod qmp;
mod status_file;
mod virconf;

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::rng::Rng;

pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> Features,
    pub mutate: fn(&mut Rng, &[u8], &[u8]) -> Vec<u8>,
    /// Mutated inputs per `cargo test` run, sized so that all targets
    /// together take well under a minute in a debug build.
    pub ci_iterations: u64,
}

pub const TARGETS: [Target; 6] = [
    frames::TARGET,
    dispatch::TARGET,
    domain_xml::TARGET,
    virconf::TARGET,
    qmp::TARGET,
    status_file::TARGET,
];

pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// What a run saw, as a set of hashed facts (a procedure answered with
/// some error code, an element that survived parsing, ...): an input that
/// adds a fact no earlier input showed joins the corpus.
#[derive(Default)]
pub struct Features(Vec<u64>);

impl Features {
    pub fn add(&mut self, fact: impl Hash) {
        let mut h = DefaultHasher::new();
        fact.hash(&mut h);
        self.0.push(h.finish());
    }

    /// The kind of an error, without its details (its `Debug` text up to
    /// the first parenthesis, brace or space), so that messages do not
    /// flood the feature space.
    pub fn add_kind(&mut self, site: &str, err: &impl std::fmt::Debug) {
        self.add((site, error_kind(err)));
    }

    pub fn into_vec(self) -> Vec<u64> {
        self.0
    }
}

/// A header reduced to what selects code paths: a known program (others
/// are all 0), a procedure of its table (others are all -1), and message
/// type and status when they are known values.
pub fn header_fact(h: &protocol::Header) -> (u32, i32, u32, u32) {
    let known = protocol::table::rows(h.prog).is_some();
    let proc_ = if protocol::programs::procedure_name(h.prog, h.proc_).is_some() {
        h.proc_
    } else {
        -1
    };
    let prog = if known { h.prog } else { 0 };
    (prog, proc_, h.mtype.min(6), h.status.min(3))
}

pub fn error_kind(err: &impl std::fmt::Debug) -> String {
    let text = format!("{err:?}");
    text.split(['(', '{', ' ']).next().unwrap_or("").to_string()
}

/// Inputs to text parsers are at most this long.
pub const MAX_TEXT: usize = 64 * 1024;

/// Text inputs: byte mutations, then lossily made UTF-8 by the target.
pub fn mutate_text(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    crate::mutate::bytes(rng, base, other, MAX_TEXT)
}
