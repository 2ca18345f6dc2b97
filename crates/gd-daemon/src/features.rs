//! The one list of the daemon's features (see [`crate::feature::Feature`]): what every node
//! registers, routes and runs. Adding a feature is one line here.

use crate::feature::Feature;

/// Every feature, in the order their routes and tasks are added.
pub fn all() -> Vec<Box<dyn Feature>> {
    vec![
        Box::new(gd_volume::Volumes),
        Box::new(gd_rebalance::Rebalance),
    ]
}
