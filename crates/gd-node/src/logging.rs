//! Structured logs through `tracing`.
//!
//! `logfile` is `stdout`, `stderr`, `-` (stdout), or a file name under `logdir` (or an
//! absolute path). File output has no colours. `loglevel` is a level or a tracing filter
//! (`info,gd_store=debug`); `RUST_LOG`, when set, wins, for debugging.

use std::{fs::OpenOptions, path::Path, sync::Mutex};

use tracing_subscriber::EnvFilter;

use crate::config::Config;

pub fn init(config: &Config) -> anyhow::Result<()> {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(config.loglevel.trim().to_ascii_lowercase()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    match config.logfile.to_ascii_lowercase().as_str() {
        "stdout" | "-" => builder.with_writer(std::io::stdout).init(),
        "stderr" => builder.with_writer(std::io::stderr).init(),
        _ => {
            let p = Path::new(&config.logfile);
            let path = if p.is_absolute() {
                p.to_owned()
            } else {
                config.logdir.join(p)
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .init()
        }
    }
    Ok(())
}
