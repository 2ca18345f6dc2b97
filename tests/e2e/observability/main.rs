//! End-to-end: what a cluster tells those who watch it — Prometheus metrics, read by a real
//! OpenMetrics parser (Python's prometheus_client, installed by the test setup); GD1's hook
//! scripts run around the volume operations.

mod events;
mod hooks;
mod metrics;
mod traces;
mod webhooks;
