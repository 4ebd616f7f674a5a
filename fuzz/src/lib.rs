//! Fuzzing of everything that reads untrusted input, on the stable
//! toolchain: the wire decoders, the dispatcher with a real daemon context,
//! domain XML, virConf files, QMP replies and status files.
//!
//! `cargo test -p fuzz` replays each target's corpus (`fuzz/corpus/<target>/`)
//! and runs a fixed number of mutated inputs; `cargo run --release -p fuzz --
//! run <target> --time SECS` is a campaign that adds what it finds to the
//! corpus (see the README's Fuzzing section).

pub mod captures;
pub mod corpus;
pub mod engine;
pub mod mutate;
pub mod rng;
pub mod seeds;
pub mod targets;
