//! Each node's part of the last rebalance of each volume, as figures of a metrics scrape,
//! read from the store (the parts the nodes publish), so any node answers for all.

use std::sync::Arc;

use async_trait::async_trait;
use gd_api::RebalanceState;
use gd_core::{
    keys::REBALANCE,
    metrics::{Gauges, as_gauge, labels},
};
use gd_feature::Figures;
use gd_node::node::Node;
use gd_store::{Store, StoreError, record};

use crate::model::NodeRun;

/// The rebalance feature's figures.
pub struct RebalanceFigures {
    pub node: Arc<Node>,
}

#[async_trait]
impl Figures for RebalanceFigures {
    async fn collect(&self, out: &mut Gauges) -> Result<(), StoreError> {
        let cluster = self.node.identity().cluster_id.to_string();
        for kv in self.node.store.range(REBALANCE, 0).await?.kvs {
            // `rebalance/<volume>/<peer>`; a part that cannot be read is left out.
            let Some((volume, peer)) = kv
                .key
                .strip_prefix(REBALANCE)
                .and_then(|k| k.rsplit_once('/'))
            else {
                continue;
            };
            let Ok(part) = record::decode::<NodeRun>(&kv.key, &kv.value) else {
                continue;
            };
            part_figures(&cluster, volume, peer, &part, out);
        }
        Ok(())
    }
}

/// GD1's number for a rebalance state (`gf_defrag_status_t`), as `volume rebalance status`
/// `--xml` gives it.
fn gd1_number(s: RebalanceState) -> i64 {
    (0..=8)
        .find(|n| RebalanceState::from_gd1(*n) == Some(s))
        .unwrap_or(-1)
}

fn part_figures(cluster: &str, volume: &str, peer: &str, run: &NodeRun, out: &mut Gauges) {
    let part = labels([
        ("cluster_id", cluster.to_owned()),
        ("volume", volume.to_owned()),
        ("peer_id", peer.to_owned()),
    ]);
    out.set(
        "gd2_rebalance_status",
        "The node's part of the volume's last rebalance, as GD1 numbers it (0 not started, \
         1 in progress, 2 stopped, 3 completed, 4 failed, 5-8 the same for fix-layout)",
        part.clone(),
        gd1_number(run.state),
    );
    let c = &run.counters;
    let counters: [(&'static str, &'static str, u64); 5] = [
        (
            "gd2_rebalance_files",
            "Files the node's part moved",
            c.files,
        ),
        ("gd2_rebalance_bytes", "Bytes the node's part moved", c.size),
        (
            "gd2_rebalance_scanned",
            "Files the node's part looked at",
            c.lookups,
        ),
        (
            "gd2_rebalance_failures",
            "Files the node's part failed to move",
            c.failures,
        ),
        (
            "gd2_rebalance_skipped",
            "Files the node's part skipped",
            c.skipped,
        ),
    ];
    for (name, help, value) in counters {
        out.set(name, help, part.clone(), as_gauge(value));
    }
    out.set(
        "gd2_rebalance_run_seconds",
        "Seconds the node's part has run",
        part.clone(),
        c.run_time as i64,
    );
    out.set(
        "gd2_rebalance_seconds_left",
        "Seconds the node's part estimates it has left",
        part.clone(),
        as_gauge(c.time_left),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Counters;

    #[test]
    fn a_part_becomes_gd1_numbered_figures() {
        assert_eq!(gd1_number(RebalanceState::Completed), 3);
        assert_eq!(gd1_number(RebalanceState::FixLayoutFailed), 8);
        let part = NodeRun {
            rebalance: uuid::Uuid::nil(),
            state: RebalanceState::InProgress,
            counters: Counters {
                files: 7,
                size: 7 << 20,
                lookups: 40,
                ..Counters::default()
            },
            message: String::new(),
        };
        let mut g = Gauges::default();
        part_figures("c", "v", "p", &part, &mut g);
        let mut text = String::new();
        g.write(&mut text);
        for want in [
            r#"gd2_rebalance_status{cluster_id="c",volume="v",peer_id="p"} 1"#,
            r#"gd2_rebalance_files{cluster_id="c",volume="v",peer_id="p"} 7"#,
            r#"gd2_rebalance_scanned{cluster_id="c",volume="v",peer_id="p"} 40"#,
        ] {
            assert!(text.contains(want), "{want} missing from:\n{text}");
        }
    }
}
