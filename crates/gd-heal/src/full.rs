//! A volume's full heal as a task (DESIGN §3.16): one crawl per volume, never two. The launch
//! records the task (refused while one runs), with what each crawling brick's last full crawl
//! was; one node, elected through the store, leads it and ends it once every crawling brick
//! has a newer full crawl that is no longer running. The crawls run in the self-heal daemons
//! whoever leads: a leader that dies hands the watch to another node and nothing restarts.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use gd_api::{BrickCrawls, ErrorCode};
use gd_core::{
    OpError,
    task::{self, Ended, Leading, TaskHandler, TaskState},
};
use gd_feature::Cluster;
use gd_node::node::Node;
use gd_volume::model::VolumeRecord;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The task's kind.
pub const KIND: &str = "heal-full";
/// How often the leader looks at the crawls.
const LOOK: Duration = Duration::from_secs(3);

/// The task's record of a full heal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    pub id: Uuid,
    pub volume_id: Uuid,
    /// Which node's daemon crawls which sets.
    pub parts: BTreeMap<Uuid, Vec<u32>>,
    /// Per crawling brick, the start of its last full crawl before this one ("" if none).
    pub before: BTreeMap<String, String>,
}

/// The start of each brick's last full crawl, and whether it still runs.
pub fn last_full(crawls: &[BrickCrawls]) -> BTreeMap<String, (String, bool)> {
    crawls
        .iter()
        .map(|b| {
            let last = b
                .crawls
                .iter()
                .rev()
                .find(|c| c.kind == "FULL")
                .map_or((String::new(), false), |c| (c.start.clone(), c.in_progress));
            (b.brick.clone(), last)
        })
        .collect()
}

/// Whether the full heal of `plan` is over, from its bricks' crawls now: every crawling brick
/// has a full crawl newer than the one before and none runs.
pub fn over(plan: &Plan, crawls: &[BrickCrawls]) -> bool {
    let now = last_full(crawls);
    !plan.before.is_empty()
        && plan.before.iter().all(|(brick, before)| {
            now.get(brick)
                .is_some_and(|(start, running)| !start.is_empty() && start != before && !running)
        })
}

/// Records the full heal of `vol` by `parts` (the crawls' last starts read first); refused
/// while one runs.
pub async fn begin(
    cx: &Cluster,
    vol: &VolumeRecord,
    parts: &BTreeMap<Uuid, Vec<u32>>,
) -> Result<Plan, OpError> {
    let crawls = crate::daemon::crawls_of(&cx.node, vol, parts).await?;
    let plan = Plan {
        id: Uuid::new_v4(),
        volume_id: vol.id,
        parts: parts.clone(),
        before: last_full(&crawls)
            .into_iter()
            .map(|(b, (start, _))| (b, start))
            .collect(),
    };
    let progress = serde_json::to_value(&plan).map_err(|e| OpError::internal(e.to_string()))?;
    match task::start(cx.node.store.as_ref(), KIND, &vol.name, progress).await? {
        Ok(_) => Ok(plan),
        Err(_) => Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "a full heal of volume {} runs already: one crawl at a time (GET /v1/tasks shows it)",
                vol.name
            ),
        )),
    }
}

/// Ends the full heal `id` of `volume` as failed (its launch failed).
pub async fn abandon(cx: &Cluster, volume: &str, id: Uuid, why: &str) {
    let ours = |t: &task::TaskRecord| plan_of(t).is_ok_and(|p| p.id == id);
    if let Err(e) = task::end_unled(
        cx.node.store.as_ref(),
        KIND,
        volume,
        ours,
        TaskState::Failed,
        why,
    )
    .await
    {
        tracing::warn!(volume, error = %e, "the failed full heal's task could not be ended");
    }
}

fn plan_of(t: &task::TaskRecord) -> Result<Plan, String> {
    serde_json::from_value(t.progress.clone()).map_err(|e| format!("an unreadable full heal: {e}"))
}

/// Leads full heals.
pub struct Leader {
    pub node: Arc<Node>,
}

#[async_trait]
impl TaskHandler for Leader {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, task: &mut Leading) -> Result<Ended, String> {
        let plan = plan_of(&task.record)?;
        let name = task.record.object.clone();
        let store = self.node.store.as_ref();
        loop {
            match task::get(store, KIND, &name).await {
                Ok(Some(t))
                    if t.state == TaskState::Running
                        && plan_of(&t).is_ok_and(|p| p.id == plan.id) => {}
                Ok(_) => return Ok(Ended::Stopped),
                Err(e) => tracing::debug!(error = %e, "cannot read the task yet"),
            }
            match gd_volume::model::get_volume(store, &name).await {
                Ok(Some(v)) if v.id == plan.volume_id => {
                    match crate::daemon::crawls_of(&self.node, &v, &plan.parts).await {
                        Ok(crawls) if over(&plan, &crawls) => return Ok(Ended::Succeeded),
                        Ok(_) => {}
                        // A node down: its daemon crawls on; look again when it is back.
                        Err(e) => {
                            tracing::debug!(volume = %name, error = %e.message, "cannot read the crawls yet")
                        }
                    }
                }
                Ok(_) => return Err(format!("volume {name} was deleted during its full heal")),
                Err(e) => tracing::debug!(error = %e, "cannot read the volume yet"),
            }
            tokio::select! {
                _ = tokio::time::sleep(LOOK) => {}
                _ = task.cancelled() => return Ok(Ended::Stopped),
            }
        }
    }
}

/// The handler, as the feature brings it.
pub fn handler(node: Arc<Node>) -> Arc<dyn TaskHandler> {
    Arc::new(Leader { node })
}

#[cfg(test)]
mod tests {
    use gd_api::CrawlEvent;

    use super::*;

    fn brick(name: &str, crawls: &[(&str, &str, bool)]) -> BrickCrawls {
        BrickCrawls {
            brick: name.into(),
            host_id: Uuid::nil(),
            crawls: crawls
                .iter()
                .map(|(kind, start, running)| CrawlEvent {
                    kind: (*kind).into(),
                    start: (*start).into(),
                    in_progress: *running,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn a_full_heal_is_over_when_each_brick_finished_a_newer_full_crawl() {
        let before = [brick(
            "h3:/b",
            &[("FULL", "t1", false), ("INDEX", "t2", false)],
        )];
        let plan = Plan {
            id: Uuid::new_v4(),
            volume_id: Uuid::new_v4(),
            parts: BTreeMap::new(),
            before: last_full(&before)
                .into_iter()
                .map(|(b, (s, _))| (b, s))
                .collect(),
        };
        assert_eq!(plan.before["h3:/b"], "t1");
        // Not started yet, then running, then done.
        assert!(!over(&plan, &before));
        assert!(!over(
            &plan,
            &[brick(
                "h3:/b",
                &[("FULL", "t1", false), ("FULL", "t3", true)]
            )]
        ));
        assert!(over(
            &plan,
            &[brick(
                "h3:/b",
                &[("FULL", "t1", false), ("FULL", "t3", false)]
            )]
        ));
        // A brick that never crawled before counts from nothing.
        let fresh = Plan {
            before: BTreeMap::from([("h1:/b".to_string(), String::new())]),
            ..plan.clone()
        };
        assert!(!over(&fresh, &[brick("h1:/b", &[])]));
        assert!(over(&fresh, &[brick("h1:/b", &[("FULL", "t9", false)])]));
        // Its answer missing: not over.
        assert!(!over(&plan, &[]));
    }
}
