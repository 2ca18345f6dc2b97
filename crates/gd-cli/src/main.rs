//! `glustercli`: parse the command line, run the command, map the outcome to an exit status.
//!
//! Exit statuses: 0 success, 1 any failure (printed to stderr as "Error: ..." with an optional
//! "Hint: ..." line), 2 usage errors (clap's own, and the checks of [`Cli::check`]).

use std::{
    io::{self, Write},
    process::ExitCode,
};

use gd_cli::{Cli, CliError};

fn main() -> ExitCode {
    let cli = Cli::parse_checked();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(io::stderr(), "Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gd_cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Prints `e` to stderr and returns its exit status.
fn report(e: &CliError) -> ExitCode {
    if !e.is_broken_pipe() {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "Error: {e}");
        if let Some(hint) = e.hint() {
            let _ = writeln!(err, "Hint: {hint}");
        }
    }
    ExitCode::from(e.exit_code())
}
