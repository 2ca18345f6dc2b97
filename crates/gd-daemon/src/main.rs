//! `glusterd2`: parse the configuration, set up logging, run the daemon.
//! Exit codes: 0 after a clean shutdown, 1 on a runtime error, 2 on a configuration error.

use std::process::ExitCode;

use clap::Parser;
use gd_daemon::config::{Config, Flags};

fn main() -> ExitCode {
    let flags = Flags::parse();
    let config = match Config::load(flags, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("glusterd2: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = gd_daemon::logging::init(&config) {
        eprintln!("glusterd2: {e:#}");
        return ExitCode::from(2);
    }
    gd_daemon::memory::limit_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("glusterd2: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ended = runtime.block_on(gd_daemon::run(config));
    gd_daemon::logging::shutdown();
    match ended {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("glusterd2: {e:#}");
            ExitCode::FAILURE
        }
    }
}
