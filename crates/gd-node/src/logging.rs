//! Structured logs through `tracing`, and traces to an OpenTelemetry collector.
//!
//! `logfile` is `stdout`, `stderr`, `-` (stdout), or a file name under `logdir` (or an
//! absolute path). File output has no colours. `loglevel` is a level or a tracing filter
//! (`info,gd_store=debug`); `RUST_LOG`, when set, wins, for debugging.
//!
//! With `otlp-endpoint`, the spans (a REST request, a transaction, each step on each node)
//! are also exported over OTLP/HTTP, batched from a thread of their own; W3C trace context
//! is the propagator, so a transaction's steps on other nodes join its trace (the
//! transaction record carries the context, `gd_core::txn`). Without it nothing is exported
//! and nothing is kept.

use std::{
    fs::OpenOptions,
    path::Path,
    sync::{Mutex, OnceLock},
};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::Config;

/// The exporting provider, flushed by [`shutdown`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

pub fn init(config: &Config) -> anyhow::Result<()> {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(config.loglevel.trim().to_ascii_lowercase()));
    let fmt = tracing_subscriber::fmt::layer().with_target(true);
    let fmt: Box<dyn Layer<_> + Send + Sync> = match config.logfile.to_ascii_lowercase().as_str() {
        "stdout" | "-" => Box::new(fmt.with_writer(std::io::stdout)),
        "stderr" => Box::new(fmt.with_writer(std::io::stderr)),
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
            Box::new(fmt.with_ansi(false).with_writer(Mutex::new(file)))
        }
    };
    let otel = match &config.otlp_endpoint {
        None => None,
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{endpoint}/v1/traces"))
                .build()
                .map_err(|e| anyhow::anyhow!("cannot export traces to {endpoint}: {e}"))?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name("glusterd2")
                        .build(),
                )
                .build();
            opentelemetry::global::set_text_map_propagator(
                opentelemetry_sdk::propagation::TraceContextPropagator::new(),
            );
            let tracer = provider.tracer("glusterd2");
            let _ = PROVIDER.set(provider);
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(EnvFilter::new("info")),
            )
        }
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    Ok(())
}

/// Exports the spans not exported yet (at exit).
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.shutdown();
    }
}
