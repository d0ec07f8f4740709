//! The `seglens` binary: parses the command line and runs it.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = seglens::cli::Cli::parse();
    match seglens::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
