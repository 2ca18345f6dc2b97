//! The metrics feature: `GET /metrics` on the REST port, in OpenMetrics text, for Prometheus.
//!
//! A scrape answers two kinds of figures: what this node counted as it worked (REST requests,
//! transactions, steps, store requests, process starts: `gd_core::metrics::Metrics`, one per
//! node), and what the cluster is (peers, volumes, bricks and their file systems, entries to
//! heal, rebalance parts), which every feature reads from the store at each scrape
//! (`gd_feature::Figures`) — so any node answers the cluster's figures, none is asked, and
//! nothing is kept twice. Names and labels are gluster-prometheus's where it has the figure
//! (`docs/metrics.md` maps them).
//!
//! Open by default, as Ceph's mgr serves its scrapers on their own network; with
//! `metrics-token-file` set, a scrape must send `Authorization: Bearer <the file's token>`.
//!
//! Modules: [`scrape`] builds the text; [`peers`] the membership's and the store's figures;
//! [`rest`] the route.
//!
//! **API boundary:** [`Metrics`].

pub mod peers;
pub mod rest;
pub mod scrape;

use std::sync::Arc;

use gd_core::txn::{DuplicateStep, Registry};
use gd_feature::{Cluster, Feature, Figures, Parts, Task};
use utoipa_axum::router::OpenApiRouter;

/// The metrics feature, as the daemon lists it.
pub struct Metrics;

impl Feature for Metrics {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn assemble(
        &self,
        _parts: &Parts,
        _registry: &mut Registry,
    ) -> Result<Vec<Task>, DuplicateStep> {
        Ok(vec![])
    }

    fn figures(&self, parts: &Parts) -> Vec<Arc<dyn Figures>> {
        vec![Arc::new(peers::PeerFigures {
            node: parts.node.clone(),
        })]
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }
}
