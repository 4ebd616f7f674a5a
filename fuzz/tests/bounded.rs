//! Every fuzz target, bounded: the checked-in corpus replayed, then a fixed
//! number of mutated inputs from a fixed seed. A panic fails the test and
//! prints the input, which belongs in the corpus once fixed.

use fuzz::engine::{fuzz, Config};
use fuzz::targets::{find, Target};
use fuzz::{corpus, rng::Rng};

fn bounded(name: &str) {
    let target: &Target = find(name).expect("target exists");
    let seeds = corpus::load(&corpus::dir(name)).expect("corpus readable");
    assert!(
        !seeds.is_empty(),
        "{name}: empty corpus in {}",
        corpus::dir(name).display()
    );
    let config = Config {
        iterations: target.ci_iterations,
        time: None,
        seed: Rng::new(corpus::hash(name.as_bytes())).next_u64(),
        save_new: None,
    };
    let report = fuzz(target, seeds, &config);
    if let Some(crash) = report.crash {
        panic!(
            "{name} panicked after {} inputs: {}\ninput ({} bytes): {:02x?}\n\
             (as text: {:?})",
            report.executions,
            crash.message,
            crash.input.len(),
            crash.input,
            String::from_utf8_lossy(&crash.input)
        );
    }
    assert!(report.executions > target.ci_iterations);
    assert!(
        report.features > 1,
        "{name}: every input took the same path"
    );
}

#[test]
fn frames() {
    bounded("frames");
}

#[test]
fn dispatch() {
    bounded("dispatch");
}

#[test]
fn domain_xml() {
    bounded("domain_xml");
}

#[test]
fn virconf() {
    bounded("virconf");
}

#[test]
fn qmp() {
    bounded("qmp");
}

#[test]
fn status_file() {
    bounded("status_file");
}
