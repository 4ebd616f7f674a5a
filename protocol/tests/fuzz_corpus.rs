//! The fuzz target's check, run on the stable toolchain over a fixed
//! pseudo-random corpus: random bytes, mutated recorded messages, and
//! selector-prefixed bodies that reach every decoder.

mod common;

use common::rng::Rng;
use protocol::selfcheck::exercise;

const INPUTS: usize = 100_000;

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = [0x00, 0xff, 0x7f, 0x80, 0x01][rng.below(5)];
            }
            2 => v.truncate(rng.below(v.len() + 1)),
            3 => {
                let extra = rng.bytes_below(16);
                v.extend(extra);
            }
            _ if v.len() >= 4 => {
                let i = rng.below(v.len() / 4) * 4;
                v[i..i + 4].copy_from_slice(&rng.next_u32().to_be_bytes());
            }
            _ => {}
        }
    }
    v
}

#[test]
fn exercise_never_panics_or_breaks_invariants() {
    let seeds: Vec<Vec<u8>> = common::capture_files()
        .iter()
        .flat_map(|f| common::load(f))
        .filter(|m| m.complete && m.wire.len() < 4096)
        .map(|m| m.wire)
        .collect();
    assert!(seeds.len() > 500, "only {} seed messages", seeds.len());

    let mut rng = Rng::new(0x5eed);
    for i in 0..INPUTS {
        let input = match i % 4 {
            0 => rng.bytes_below(96),
            1 => {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            }
            2 => {
                // Selector + a recorded body: valid bodies under many types.
                let seed = &seeds[rng.below(seeds.len())];
                let mut v = rng.next_u32().to_be_bytes().to_vec();
                v.extend_from_slice(&seed[28..]);
                v
            }
            _ => {
                let seed = &seeds[rng.below(seeds.len())];
                let mut v = rng.next_u32().to_be_bytes().to_vec();
                v.extend(mutate(&mut rng, &seed[28..]));
                v
            }
        };
        if let Err(e) = exercise(&input) {
            panic!("input #{i} {input:02x?}: {e}");
        }
    }
}

#[test]
fn recorded_messages_pass_unchanged() {
    for f in common::capture_files() {
        for m in common::load(&f).into_iter().filter(|m| m.complete) {
            assert_eq!(exercise(&m.wire), Ok(()), "{}", m.label);
        }
    }
}
