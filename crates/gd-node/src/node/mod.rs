//! The running node: its identity, its store, and cluster membership.
//!
//! Membership (DESIGN §3.1–3.3; GD2's flow in research/gd2.md §3):
//! - **add** (initiator A, REST `POST /v1/peers`): A checks the request, creates the cluster
//!   secret if the cluster is forming, and sends B a join request with the cluster id, the
//!   secret and the store's endpoints. B accepts only while it is alone (no other peers, no
//!   volumes), switches to the cluster's store, registers itself and publishes its liveness;
//!   then A applies the requested metadata and answers with the new peer.
//! - **remove** (`DELETE /v1/peers/{id}`): A tells B to leave (a call signed with the cluster
//!   secret); B goes back to a fresh single-node state with a new cluster id; A deletes B's
//!   record. An offline peer can only be removed with `force`: a tombstone then tells it to
//!   reset itself when it comes back.
//! - **edit** (`POST /v1/peers/{id}`): a compare-and-swap of the peer record.
//!
//! Join and leave are serialised on this node by the backend mutex; peer add/remove/edit take
//! a store lock on the peer (or address), bound to this node's liveness lease.
//!
//! Every join and reset replaces the backend and bumps its *generation*. The member agent
//! reads the cluster it works for and acts on the backend only while the generation is the
//! one it read: a node that resets itself (removed while offline) must not have its fresh
//! etcd member stopped by an agent step that still saw the old cluster.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use gd_api::{
    ErrorCode, METADATA_BYTES_MAX, Peer, PeerAddReq, PeerEditReq,
    internal::{JoinReq, LeaveReq, StoreKind},
};
use gd_core::OpError;
use gd_core::failpoint;
use gd_core::keys::{BRICKS, PEERS, REMOVED, STORE_MEMBERS, VOLUMES};
use gd_store::{
    CacheOptions, CachedStore, Compare, CompareOp, Namespaced, Store, StoreError, Switchable, Txn,
    TxnOp, cluster_namespace, lock,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{
    address::{self, Addresses},
    config::{Config, PeerJoin, StoreMode},
    identity::{Identity, cluster_secret},
    liveness::Liveness,
    members::{self, MemberRecord, Role},
    peer_client::{PeerCallError, PeerClient, normalize_address},
    peers::{self, PeerRecord, ZONE_KEY, peer_key},
    store::{Backend, EtcdRunner, MemberRunner, StoreState, member_data_dir, open_backend},
};

/// How long the initiator waits for a new peer's liveness before answering.
const JOIN_ONLINE_WAIT: Duration = Duration::from_secs(10);
/// How often a node re-reads its tombstone besides watching it (a watch may be lost).
const REMOVAL_RECHECK: Duration = Duration::from_secs(60);
/// How long a node that sees its tombstone waits for the call telling it to leave before it
/// obeys on its own.
const REMOVAL_GRACE: Duration = Duration::from_secs(3);
/// How long an initiator whose join call broke after it was sent waits for the new node's
/// record (a node that died mid-join and restarts at once finishes it) before fencing it.
const JOIN_OUTCOME_WAIT: Duration = Duration::from_secs(30);
/// How long removing a peer that runs an etcd member waits for the member to be handed over.
const MEMBER_HANDOVER_MAX: Duration = Duration::from_secs(90);
/// How long a peer removal keeps repeating its (idempotent) final write while the store settles.
const REMOVAL_COMMIT_MAX: Duration = Duration::from_secs(10);
/// Bound on the length of a join token in a request.
const JOIN_TOKEN_MAX: usize = 256;
/// Bound on resolving a peer's name.
const LOOKUP_MAX: Duration = Duration::from_secs(5);
/// How many addresses a peer add may carry.
const ADDRESSES_MAX: usize = 16;

/// A running glusterd2 node.
pub struct Node {
    pub config: Config,
    /// What this node advertises to other hosts (learned at joins when not configured).
    pub addresses: Arc<Addresses>,
    identity: RwLock<Identity>,
    /// The CLI's REST secret; `None` when REST authentication is off.
    pub rest_secret: Option<String>,
    cluster_secret: RwLock<Option<String>>,
    /// The cluster store, in this cluster's namespace; switched when joining or leaving.
    pub store: Arc<Switchable>,
    backend: Mutex<Option<Backend>>,
    /// Bumped, under the backend mutex, whenever a join or reset replaces the backend.
    generation: AtomicU64,
    pub liveness: Arc<Liveness>,
    /// What this node counts as it works (its store requests among them).
    pub metrics: Arc<gd_core::metrics::Metrics>,
    peers: PeerClient,
    /// Starts etcd members (a fake in simulations).
    runner: Arc<dyn MemberRunner>,
    /// Held while obeying a removal, so that the leave call and the tombstone watch reset
    /// the node once.
    removal: Mutex<()>,
}

impl Node {
    /// Opens the store (the joined cluster's, or a fresh one from the configuration) and
    /// returns the node, not yet registered or live.
    pub async fn open(
        config: Config,
        identity: Identity,
        rest_secret: Option<String>,
    ) -> anyhow::Result<Arc<Node>> {
        let dir = config.localstatedir.clone();
        let urls = Addresses::load(&config)?.etcd_urls();
        let (state, check) = match StoreState::load(&dir)? {
            Some(state) => {
                tracing::info!(store = %state.mode, endpoints = %state.endpoints.join(","), "using the store of the cluster this node joined");
                (state, false)
            }
            None => {
                let (state, why) = StoreState::fresh(&config, &urls);
                tracing::info!(store = %state.mode, reason = why, "store mode chosen");
                (state, true)
            }
        };
        let runner: Arc<dyn MemberRunner> = Arc::new(EtcdRunner);
        let backend = open_backend(
            runner.as_ref(),
            &config,
            &urls,
            &identity.peer_id.to_string(),
            state,
            check,
        )
        .await?;
        Node::assemble(config, identity, rest_secret, backend, runner)
    }

    /// A node over a backend opened elsewhere: many nodes can share one store in one process,
    /// with a fake member runner, to simulate a large cluster (DESIGN §3.13). Time is tokio's,
    /// so a runtime with paused time gives them a fake clock.
    pub fn assemble(
        config: Config,
        identity: Identity,
        rest_secret: Option<String>,
        backend: Backend,
        runner: Arc<dyn MemberRunner>,
    ) -> anyhow::Result<Arc<Node>> {
        let metrics = Arc::new(gd_core::metrics::Metrics::default());
        let store = Switchable::observed(
            cluster_view(&backend, identity.cluster_id, &metrics),
            metrics.clone(),
        );
        let liveness = Liveness::new(store.clone(), identity.peer_id);
        Ok(Arc::new(Node {
            addresses: Arc::new(Addresses::load(&config)?),
            identity: RwLock::new(identity),
            rest_secret,
            cluster_secret: RwLock::new(cluster_secret::load(&config.localstatedir)?),
            store,
            backend: Mutex::new(Some(backend)),
            generation: AtomicU64::new(0),
            liveness,
            metrics,
            peers: PeerClient::new(config.cert_file.is_some()),
            runner,
            removal: Mutex::new(()),
            config,
        }))
    }

    pub fn identity(&self) -> Identity {
        *self.identity.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn cluster_secret(&self) -> Option<String> {
        self.cluster_secret
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Calls `path` (under `/v1/internal/`) on the glusterd2 of peer `peer` with `body`, signed
    /// with the cluster secret: its addresses in turn, until one answers. Bounded by the peer
    /// client's timeouts.
    pub async fn call_peer<Req: Serialize, Resp: serde::de::DeserializeOwned>(
        &self,
        peer: Uuid,
        path: &str,
        body: &Req,
    ) -> Result<Resp, OpError> {
        let record = crate::peers::get_peer(self.store(), peer)
            .await?
            .ok_or_else(|| {
                OpError::new(
                    ErrorCode::NotFound,
                    format!("peer {peer} is not in the cluster"),
                )
            })?;
        let secret = self
            .cluster_secret()
            .ok_or_else(|| OpError::internal("this node has no cluster secret"))?;
        let mut last = None;
        for address in record.peer_addresses.iter().chain(&record.client_addresses) {
            match self.peers.post(address, path, Some(&secret), body).await {
                Ok(answer) => return Ok(answer),
                Err(e @ PeerCallError::Unreachable { .. }) => last = Some(e),
                Err(PeerCallError::Refused { body, status, .. }) => {
                    // The peer's own refusal: its error, as it said it.
                    let e = body.errors.into_iter().next();
                    let code = e
                        .as_ref()
                        .and_then(|e| ErrorCode::from_u32(e.code))
                        .unwrap_or(ErrorCode::Generic);
                    let message = e.map_or_else(|| format!("answered {status}"), |e| e.message);
                    return Err(OpError::new(
                        code,
                        format!("peer {}: {message}", record.name),
                    ));
                }
                Err(e) => return Err(OpError::new(ErrorCode::Conflict, e.to_string())),
            }
        }
        Err(OpError::new(
            ErrorCode::Conflict,
            last.map_or_else(
                || format!("peer {} has no address", record.name),
                |e| e.to_string(),
            ),
        ))
    }

    /// This node's peer record as it registers itself.
    fn self_record(&self) -> PeerRecord {
        PeerRecord {
            id: self.identity().peer_id,
            name: hostname(),
            peer_addresses: self.addresses.peer_addresses(),
            client_addresses: self.addresses.client_addresses(),
            metadata: BTreeMap::new(),
        }
    }

    /// Registers this node in its store: its peer record, and its etcd member when it runs
    /// one. Resets the node instead when the cluster removed it while it was offline.
    ///
    /// A node that joined starts its record with what it joined as (`joining::JoinedAs`: the
    /// metadata the initiator was asked for, the address it was reached at, first).
    pub async fn register(&self) -> Result<(), StoreError> {
        let me = self.identity().peer_id;
        let mut record = self.self_record();
        let joined_as = joining::JoinedAs::load(&self.config.localstatedir);
        if let Some(j) = &joined_as {
            record.metadata = j.metadata.clone();
            if let Some(address) = &j.address {
                record.peer_addresses.retain(|a| a != address);
                record.peer_addresses.insert(0, address.clone());
            }
        }
        // The record is written only while there is no tombstone (see `join_outcome`).
        let removed = self.store().get(&format!("{REMOVED}{me}")).await?.is_some()
            || !peers::upsert_self(self.store(), record, &format!("{REMOVED}{me}")).await?;
        if removed {
            // A failed reset is retried (registration retries until it succeeds).
            return match Box::pin(self.obey_removal()).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(StoreError::Unavailable {
                    reason: "the tombstone went while registering; registering again".into(),
                }),
                Err(e) => {
                    tracing::error!(error = %e.message, "cannot reset after removal; retrying");
                    Err(StoreError::Unavailable {
                        reason: format!("reset after removal failed: {}", e.message),
                    })
                }
            };
        }
        if joined_as.is_some() {
            joining::JoinedAs::remove(&self.config.localstatedir);
        }
        // The founder of a managed cluster records its member (others are recorded by the
        // controller when it adds them).
        let founder = {
            let backend = self.backend.lock().await;
            backend.as_ref().and_then(|b| {
                (b.state.member && !b.state.joined)
                    .then(|| b.etcd.clone())
                    .flatten()
            })
        };
        if let Some(etcd) = founder {
            members::register_founder(
                self.store.as_ref(),
                self.identity().peer_id,
                self.addresses.etcd_urls(),
                &etcd,
            )
            .await?;
        }
        Ok(())
    }

    /// Retries [`Node::register`] until it succeeds: after a whole-cluster restart the store
    /// may come back only when enough peers have.
    pub async fn register_until_done(self: Arc<Self>, cancel: tokio_util::sync::CancellationToken) {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.register().await {
                Ok(()) => {
                    tracing::info!("registered in the store");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "cannot register in the store yet; retrying"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Stops the store backend (and the managed etcd member).
    pub async fn close(&self) {
        if let Some(b) = self.backend.lock().await.take() {
            b.close().await;
        }
    }

    // ---- helpers ----

    /// The kind of store and endpoints a joining node must use.
    async fn store_for_joiners(&self) -> Result<(StoreKind, Vec<String>), OpError> {
        let backend = self.backend.lock().await;
        let Some(b) = backend.as_ref() else {
            return Err(OpError::new(
                ErrorCode::StoreUnavailable,
                "this node is shutting down",
            ));
        };
        match b.state.mode {
            StoreMode::Local => Err(invalid(
                "this node uses the local store, which serves one node only: to add peers, restart glusterd2 \
                 with --store managed (with etcd installed: apt-get install etcd-server) or with --store etcd \
                 --etcdendpoints URLS",
            )),
            StoreMode::Etcd => Ok((StoreKind::Etcd, b.state.endpoints.clone())),
            _ => {
                drop(backend);
                let members = self.store().range(STORE_MEMBERS, peers::PEERS_MAX).await?;
                let endpoints = members
                    .kvs
                    .iter()
                    .map(|kv| record::decode::<MemberRecord>(&kv.key, &kv.value))
                    .filter(|m| m.as_ref().map_or(true, |m| m.role == Role::Voter))
                    .map(|m| m.map(|m| m.client_url))
                    .collect::<Result<Vec<_>, _>>()?;
                if endpoints.is_empty() {
                    return Err(OpError::new(
                        ErrorCode::StoreUnavailable,
                        "the cluster's etcd members are not registered yet; retry",
                    ));
                }
                Ok((StoreKind::Managed, endpoints))
            }
        }
    }

    fn ensure_cluster_secret(&self) -> Result<String, OpError> {
        if let Some(s) = self.cluster_secret() {
            return Ok(s);
        }
        let s = gd_auth::generate_secret();
        cluster_secret::save(&self.config.localstatedir, &s).map_err(|e| {
            OpError::new(
                ErrorCode::Internal,
                format!("cannot save the cluster secret: {e:#}"),
            )
        })?;
        *self
            .cluster_secret
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(s.clone());
        Ok(s)
    }

    /// Takes the lock of one object (`peer/<id>`, `volume/<name>`…) on this node's lease, or
    /// answers at once with "operation in progress" naming the holder.
    async fn lock_object(&self, name: &str, holder: &str) -> Result<lock::LockGuard, OpError> {
        let lease = self.lease().await?;
        lock::try_lock(&self.store.current(), name, lease, holder)
            .await?
            .map_err(|held| OpError::new(ErrorCode::OperationInProgress, held.to_string()))
    }

    /// This node's published lease (what its locks and transactions are bound to), waiting
    /// at most 2 s for it.
    pub async fn lease(&self) -> Result<gd_store::LeaseId, OpError> {
        self.liveness
            .wait_published(Duration::from_secs(2))
            .await
            .ok_or_else(|| {
                OpError::new(
                    ErrorCode::StoreUnavailable,
                    "this node is not live in the store yet (store unreachable?)",
                )
            })
    }

    /// A node is alone when its store holds no other peer and no volume.
    async fn ensure_alone(&self) -> Result<(), OpError> {
        let me = self.identity().peer_id;
        let peers = self.store().range(PEERS, 2).await?;
        if peers.kvs.iter().any(|kv| kv.key != peer_key(me)) {
            return Err(OpError::new(
                ErrorCode::Conflict,
                "this node is part of another cluster (it has peers)",
            ));
        }
        if !self.store().range(VOLUMES, 1).await?.kvs.is_empty() {
            return Err(OpError::new(
                ErrorCode::Conflict,
                "this node has volumes; it cannot join another cluster",
            ));
        }
        Ok(())
    }
}

/// What every node's store replica follows (see [`cluster_view`]).
const REPLICATED: [&str; 6] = [
    gd_core::keys::PEERS,
    gd_core::keys::ALIVE,
    gd_core::keys::REMOVED,
    gd_core::keys::STORE_NODES,
    gd_core::keys::STORE_MEMBERS,
    gd_core::keys::STORE_LEAVING,
];

/// What the daemon sees of a backend: the cluster's namespace, and for etcd a local replica
/// that answers reads (marked stale) when the store has no quorum, and fails writes in 2 s.
/// The replica follows membership only (peers, liveness, tombstones, the etcd members): what
/// every node needs, and changes seldom. Following every key would deliver every change of the
/// cluster to every node; other reads are answered under quorum loss as the store last
/// answered them (kept, bounded). The replica's watch events count into the node's `metrics`.
pub(crate) fn cluster_view(
    backend: &Backend,
    cluster_id: Uuid,
    metrics: &Arc<gd_core::metrics::Metrics>,
) -> Arc<dyn Store> {
    let ns: Arc<dyn Store> = Arc::new(Namespaced::new(
        backend.raw.clone(),
        cluster_namespace(&cluster_id.to_string()),
    ));
    if backend.etcd.is_some() {
        let metrics = metrics.clone();
        let tap = gd_store::WatchTap(Arc::new(move |ev| metrics.watch_event("replica", &ev.key)));
        CachedStore::new(
            ns,
            CacheOptions {
                tap: Some(tap),
                scope: REPLICATED.iter().map(|p| (*p).to_owned()).collect(),
                ..CacheOptions::default()
            },
        )
    } else {
        ns
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Tombstone {
    removed_by: Uuid,
}

impl Record for Tombstone {
    const KIND: &'static str = "removed-peer";
    const VERSION: u32 = 1;
}

/// Whether the peer hosts any brick. Bricks are recorded per node under `bricks/<peer-id>/`.
async fn hosts_bricks(store: &dyn Store, id: Uuid) -> Result<bool, StoreError> {
    Ok(!store
        .range(&format!("{BRICKS}{id}/"), 1)
        .await?
        .kvs
        .is_empty())
}

fn invalid(msg: impl Into<String>) -> OpError {
    OpError::new(ErrorCode::InvalidRequest, msg)
}

fn peer_not_found(id: Uuid) -> OpError {
    OpError::new(ErrorCode::NotFound, format!("peer {id} not found"))
        .field("peer-id", id.to_string())
}

/// Compares two byte strings in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn join_refused(e: PeerCallError) -> OpError {
    let code = match &e {
        PeerCallError::Unreachable { .. } => ErrorCode::InvalidRequest,
        // The new node wants its join token: the request lacks what the user must give.
        PeerCallError::Refused { status, .. } if *status == 401 => ErrorCode::InvalidRequest,
        PeerCallError::Refused { status, .. } if *status == 409 => ErrorCode::Conflict,
        _ => ErrorCode::Generic,
    };
    OpError::new(code, format!("cannot add the peer: {e}"))
}

/// GD2's metadata rules: `_` keys are reserved, keys non-empty, total size bounded.
fn check_metadata(md: &BTreeMap<String, String>, zone: Option<&str>) -> Result<(), OpError> {
    for k in md.keys() {
        if k.starts_with('_') {
            return Err(invalid(format!("metadata key {k:?} is reserved: keys starting with '_' are restricted (use zone for _zone)")).field("key", k.as_str()));
        }
        if k.trim().is_empty() {
            return Err(invalid("metadata keys must not be empty"));
        }
    }
    if let Some(z) = zone
        && (z.trim().is_empty() || z.len() > 255)
    {
        return Err(invalid("zone must be 1 to 255 characters").field("zone", z));
    }
    check_metadata_size(md)
}

fn check_metadata_size(md: &BTreeMap<String, String>) -> Result<(), OpError> {
    let size: usize = md
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if size > METADATA_BYTES_MAX {
        return Err(invalid(format!(
            "metadata size {size} bytes exceeds the maximum of {METADATA_BYTES_MAX} bytes"
        )));
    }
    Ok(())
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

mod backend;
mod initiator;
mod joining;
