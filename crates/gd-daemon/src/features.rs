//! The one list of the daemon's features (see [`crate::feature::Feature`]): what every node
//! registers, routes and runs. Adding a feature is one line here.

use crate::feature::Feature;

/// Every feature, in the order their routes and tasks are added.
pub fn all() -> Vec<Box<dyn Feature>> {
    vec![
        Box::new(gd_volume::Volumes),
        Box::new(gd_rebalance::Rebalance),
        Box::new(gd_heal::Heal),
        Box::new(gd_diag::Diagnostics),
        Box::new(gd_metrics::Metrics),
        Box::new(gd_hooks::Hooks),
        Box::new(gd_events::Events),
    ]
}
