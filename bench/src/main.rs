//! Entry point: parse the command line, run the benchmark, print the table.

use std::process::ExitCode;

use bench::cli::{self, CliAction};

fn main() -> ExitCode {
    match cli::parse(std::env::args_os().skip(1)) {
        Ok(CliAction::Help) => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(CliAction::Run(opts)) => match bench::run::run(&opts, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("libvirtd-bench: {:#}", anyhow::Error::new(e));
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("libvirtd-bench: {e}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
    }
}
