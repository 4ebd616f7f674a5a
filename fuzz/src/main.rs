//! `fuzz`: campaigns, corpus import and minimisation.
//!
//! ```text
//! fuzz list
//! fuzz run <target> [--time SECS] [--iterations N] [--seed N]
//! fuzz import [<target>]
//! fuzz minimize [<target>]
//! fuzz replay <target> FILE...
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuzz::engine::{self, Config};
use fuzz::targets::{self, Target, TARGETS};
use fuzz::{corpus, seeds};

fn usage() -> ExitCode {
    eprintln!(
        "usage: fuzz list | run <target> [--time SECS] [--iterations N] [--seed N] \
         | import [<target>] | minimize [<target>] | replay <target> FILE..."
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        return usage();
    };
    let chosen = |i: usize| -> Result<Vec<&'static Target>, ExitCode> {
        match args.get(i) {
            None => Ok(TARGETS.iter().collect()),
            Some(name) => targets::find(name).map(|t| vec![t]).ok_or_else(|| {
                eprintln!("fuzz: no target {name:?}");
                ExitCode::from(2)
            }),
        }
    };
    let result = match command.as_str() {
        "list" => {
            for t in &TARGETS {
                println!("{}", t.name);
            }
            Ok(())
        }
        "run" => match (chosen(1), args.get(1)) {
            (Ok(t), Some(_)) => run(t[0], &args[2..]),
            (Err(code), _) => return code,
            _ => return usage(),
        },
        "import" => chosen(1).map(|ts| ts.iter().for_each(|t| import(t))),
        "minimize" => chosen(1).map(|ts| ts.iter().for_each(|t| minimize(t))),
        "replay" => match chosen(1) {
            Ok(t) if args.len() > 2 => replay(t[0], &args[2..]),
            Err(code) => return code,
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn number(args: &[String], flag: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1)?.parse().ok()
}

/// A campaign: new finds go to the corpus, a panic to `fuzz/crashes/`.
fn run(target: &Target, args: &[String]) -> Result<(), ExitCode> {
    let time = number(args, "--time").map(Duration::from_secs);
    let iterations =
        number(args, "--iterations").unwrap_or(if time.is_some() { u64::MAX } else { 100_000 });
    let seed = number(args, "--seed").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let dir = corpus::dir(target.name);
    let seeds = corpus::load(&dir).map_err(|e| {
        eprintln!("fuzz: cannot read {}: {e}", dir.display());
        ExitCode::FAILURE
    })?;
    let config = Config {
        iterations,
        time,
        seed,
        save_new: Some(dir.clone()),
    };
    eprintln!(
        "fuzz: {} from {} inputs, seed {seed}",
        target.name,
        seeds.len()
    );
    let report = engine::fuzz(target, seeds, &config);
    eprintln!(
        "fuzz: {} executions, {} facts, {} new inputs saved in {}",
        report.executions,
        report.features,
        report.saved,
        dir.display()
    );
    if let Some(crash) = report.crash {
        let crashes = corpus::crash_dir(target.name);
        let _ = corpus::save(&crashes, &crash.input);
        eprintln!(
            "fuzz: {} panicked: {}\ninput saved as {}",
            target.name,
            crash.message,
            crashes.join(corpus::name(&crash.input)).display()
        );
        return Err(ExitCode::FAILURE);
    }
    Ok(())
}

/// Adds the generated seeds to the corpus.
fn import(target: &Target) {
    let dir = corpus::dir(target.name);
    let mut added = 0;
    for seed in seeds::for_target(target.name) {
        if corpus::save(&dir, &seed).unwrap_or(false) {
            added += 1;
        }
    }
    println!("{}: {added} seeds added to {}", target.name, dir.display());
}

/// Keeps the smallest inputs that together show every fact the corpus shows.
fn minimize(target: &Target) {
    let dir = corpus::dir(target.name);
    let mut inputs = corpus::load(&dir).unwrap_or_default();
    inputs.sort_by_key(Vec::len);
    let mut seen = std::collections::HashSet::new();
    let (mut kept, mut removed) = (0, 0);
    for input in inputs {
        let keep = match engine::run_one(target, &input) {
            Ok(features) => features.into_iter().filter(|f| seen.insert(*f)).count() > 0,
            Err(_) => true,
        };
        if keep {
            kept += 1;
        } else if std::fs::remove_file(dir.join(corpus::name(&input))).is_ok() {
            removed += 1;
        }
    }
    println!("{}: kept {kept}, removed {removed}", target.name);
}

fn replay(target: &Target, files: &[String]) -> Result<(), ExitCode> {
    let mut failed = false;
    for file in files {
        let input = std::fs::read(Path::new(file)).map_err(|e| {
            eprintln!("fuzz: {file}: {e}");
            ExitCode::FAILURE
        })?;
        match engine::run_one(target, &input) {
            Ok(features) => println!("{file}: ok ({} facts)", features.len()),
            Err(message) => {
                println!("{file}: panicked: {message}");
                failed = true;
            }
        }
    }
    if failed {
        Err(ExitCode::FAILURE)
    } else {
        Ok(())
    }
}
