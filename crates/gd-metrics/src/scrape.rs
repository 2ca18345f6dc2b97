//! One scrape: the node's counted figures and every feature's figures of the cluster, in
//! OpenMetrics text.

use std::time::Instant;

use gd_core::metrics::{Gauges, labels};
use gd_feature::Cluster;
use prometheus_client::registry::Registry;

/// OpenMetrics text's media type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The text of a scrape of this node.
pub async fn scrape(cx: &Cluster) -> String {
    let started = Instant::now();
    // Every source reads the store at once.
    let read = futures::future::join_all(cx.figures.iter().map(|f| async move {
        let mut g = Gauges::default();
        f.collect(&mut g).await.map(|()| g)
    }))
    .await;
    let mut gauges = Gauges::default();
    let mut failed = 0;
    for r in read {
        match r {
            Ok(g) => gauges.merge(g),
            // A source the store cannot answer is left out of this scrape, and counted.
            Err(e) => {
                tracing::debug!(error = %e, "a metrics source could not be read");
                failed += 1;
            }
        }
    }
    gauges.set(
        "gd2_scrape_sources_failed",
        "Sources of cluster figures this scrape could not read from the store",
        labels([]),
        failed,
    );
    gauges.set(
        "gd2_scrape_duration_microseconds",
        "Time this scrape took to read the cluster's figures",
        labels([]),
        started.elapsed().as_micros() as i64,
    );
    let mut registry = Registry::default();
    cx.node.metrics.register(&mut registry);
    let mut text = String::with_capacity(1 << 16);
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode_registry(&mut text, &registry);
    gauges.write(&mut text);
    let _ = prometheus_client::encoding::text::encode_eof(&mut text);
    text
}
