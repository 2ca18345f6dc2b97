//! Which hook scripts each node has: published by the node (`hooks/<peer-id>`, bound to its
//! lease, written only when it changes), so that an operation runs a hook step only on the
//! nodes that have scripts for it — an operation costs what it touches, never the cluster's
//! size — and `GET /v1/hooks` lists them without asking any node.

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Duration};

use gd_core::keys::HOOKS;
use gd_node::node::Node;
use gd_store::{Store, StoreError, record};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::scripts::{self, OPS, Phase};

/// How often a node looks at its hooks directory.
pub const RESCAN: Duration = Duration::from_secs(2);

/// A node's hook scripts: by `<op>/<pre|post>`, the names that run, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HooksRecord {
    pub scripts: BTreeMap<String, Vec<String>>,
}

impl record::Record for HooksRecord {
    const KIND: &'static str = "hooks";
    const VERSION: u32 = 1;
}

impl HooksRecord {
    /// What the directory `root` holds now.
    pub fn scan(root: &Path) -> HooksRecord {
        let mut scripts = BTreeMap::new();
        for op in OPS {
            for phase in [Phase::Pre, Phase::Post] {
                let names: Vec<String> = scripts::enabled(root, op, phase)
                    .iter()
                    .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
                    .collect();
                if !names.is_empty() {
                    scripts.insert(format!("{op}/{}", phase.dir()), names);
                }
            }
        }
        HooksRecord { scripts }
    }

    pub fn has(&self, op: &str, phase: Phase) -> bool {
        self.scripts.contains_key(&format!("{op}/{}", phase.dir()))
    }
}

pub fn key(peer: Uuid) -> String {
    format!("{HOOKS}{peer}")
}

/// Every online node's published scripts (a node's record goes with its lease).
pub async fn all(store: &dyn Store) -> Result<BTreeMap<Uuid, HooksRecord>, StoreError> {
    let mut out = BTreeMap::new();
    for kv in store.range(HOOKS, 0).await?.kvs {
        let Some(id) = kv
            .key
            .strip_prefix(HOOKS)
            .and_then(|i| Uuid::parse_str(i).ok())
        else {
            continue;
        };
        out.insert(id, record::decode::<HooksRecord>(&kv.key, &kv.value)?);
    }
    Ok(out)
}

/// The nodes with scripts for `op` in `phase`.
pub async fn nodes_with(
    store: &dyn Store,
    op: &str,
    phase: Phase,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(all(store)
        .await?
        .into_iter()
        .filter(|(_, r)| r.has(op, phase))
        .map(|(id, _)| id)
        .collect())
}

/// Makes GD1's directories under `root`, then publishes what it holds on every change, until
/// `cancel`.
pub async fn publish(node: Arc<Node>, root: std::path::PathBuf, cancel: CancellationToken) {
    if let Err(e) = scripts::make_dirs(&root) {
        tracing::warn!(dir = %root.display(), error = %e, "cannot make the hooks directories");
    }
    let mut published: Option<(gd_store::LeaseId, HooksRecord)> = None;
    loop {
        if let Some(lease) = node.liveness.lease() {
            let now = HooksRecord::scan(&root);
            if published.as_ref() != Some(&(lease, now.clone())) {
                let key = key(node.identity().peer_id);
                let put = if now.scripts.is_empty() {
                    node.store.delete(&key).await.map(drop)
                } else {
                    node.store
                        .put(&key, record::encode(&now), Some(lease))
                        .await
                        .map(drop)
                };
                match put {
                    Ok(()) => published = Some((lease, now)),
                    Err(e) => tracing::debug!(error = %e, "hook scripts not published yet"),
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
}
