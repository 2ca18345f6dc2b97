//! Elastic managed etcd (DESIGN §3.2): which nodes run etcd members, and keeping it so.
//!
//! Voters: 1 while the cluster has 1–2 nodes, 3 from 3 nodes, 5 from `etcd-five-voters-from`
//! nodes; every other node is a client of the voters. Two cooperating loops:
//!
//! - the **controller** runs on one node at a time (elected with a store lock bound to the
//!   node's lease). It compares the cluster (peers, liveness, candidates, members) with the
//!   wanted voter count and takes one step at a time: add a live candidate as a learner,
//!   promote a learner once it has caught up, remove a member that is leaving, dead past the
//!   grace period, or surplus. [`plan`] is the decision, pure and unit-tested; the controller
//!   only executes it.
//! - the **member agent** runs on every managed node: it makes the local etcd process match
//!   the node's `store/members/<id>` record (start a new member with the initial cluster the
//!   controller recorded; stop and wipe a member that was removed), and points the node's etcd
//!   client at the current voters, persisting them in `store.toml` so a restart of the whole
//!   cluster, in any order, finds its store again.
//!
//! Keys (cluster namespace): `store/nodes/<id>` (a managed node's etcd URLs: it may become a
//! member), `store/members/<id>` (a member: id, URLs, role, initial cluster),
//! `store/leaving/<id>` (a peer being removed: move its member away first).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use gd_core::keys::{
    ALIVE, PEERS, STORE_CONTROLLER_LOCK, STORE_LEAVING, STORE_MEMBERS, STORE_NODES,
};
use gd_store::{
    EtcdStore, Store, StoreError, lock,
    record::{self, Record},
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use crate::members::{MemberRecord, NodeRecord, Role};
use crate::{config::StoreMode, node::Node, peers::PEERS_MAX, store::StoreState};

/// How soon the controller looks again after a step it took or that failed, and how often a
/// node that does not control tries its campaign; the member agent's slow tick when no
/// change arrives.
const CONTROLLER_TICK: Duration = Duration::from_secs(1);
const AGENT_TICK: Duration = Duration::from_secs(5);
/// How long the controller waits, when nothing changes and no judgement falls due, before it
/// looks anyway (what its watches would have missed).
const CONTROLLER_IDLE: Duration = Duration::from_secs(60);
/// How long one campaign for the controller lock waits (watching the lock) before checking
/// the lease again.
const CAMPAIGN_WAIT: Duration = Duration::from_secs(30);
/// What the controller's decisions read, and so what it watches.
const CONTROLLER_WATCHES: [&str; 5] = [STORE_MEMBERS, STORE_NODES, STORE_LEAVING, ALIVE, PEERS];
/// A learner that cannot be promoted for this long is removed again.
const LEARNER_PROMOTE_MAX: Duration = Duration::from_secs(120);

/// Tuning of the elastic store.
#[derive(Debug, Clone, Copy)]
pub struct ElasticConfig {
    /// From this many nodes on, the store has 5 voters.
    pub five_voters_from: usize,
    /// How long a voter may be dead before another node replaces it.
    pub voter_grace: Duration,
}

/// How many voters a cluster of `nodes` nodes wants.
pub fn voters_wanted(nodes: usize, five_voters_from: usize) -> usize {
    match nodes {
        0..=2 => 1,
        n if n < five_voters_from => 3,
        _ => 5,
    }
}

/// What the controller sees.
#[derive(Debug, Default, Clone)]
pub struct View {
    pub peers: BTreeSet<Uuid>,
    pub alive: BTreeSet<Uuid>,
    /// Nodes that can run a member.
    pub candidates: BTreeSet<Uuid>,
    pub members: BTreeMap<Uuid, Role>,
    pub leaving: BTreeSet<Uuid>,
    /// Members dead (not alive) for longer than the grace period.
    pub dead_past_grace: BTreeSet<Uuid>,
    /// Learners that have waited too long for promotion.
    pub stuck_learners: BTreeSet<Uuid>,
    /// The node running the controller: its own member goes last when shrinking.
    pub controller: Option<Uuid>,
}

/// One step towards the wanted membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AddLearner(Uuid),
    Promote(Uuid),
    Remove(Uuid),
}

/// The next step, or `None` when the membership is as wanted. A dead member is removed before
/// its replacement is added (etcd adds nothing while a voter is unreachable); a live member
/// that leaves goes only after its replacement is in, so a lone voter is never removed before
/// another has taken over.
pub fn plan(v: &View, cfg: &ElasticConfig) -> Option<Action> {
    // Finish what is under way: a learner is promoted (or dropped when stuck or dead).
    for (id, role) in &v.members {
        if *role == Role::Learner {
            if v.stuck_learners.contains(id)
                || v.dead_past_grace.contains(id)
                || v.leaving.contains(id)
            {
                return Some(Action::Remove(*id));
            }
            return Some(Action::Promote(*id));
        }
    }
    let staying_nodes = v.peers.iter().filter(|p| !v.leaving.contains(p)).count();
    let healthy: Vec<Uuid> = v
        .members
        .keys()
        .filter(|id| !v.leaving.contains(id) && !v.dead_past_grace.contains(id))
        .copied()
        .collect();
    let free: Vec<Uuid> = v
        .candidates
        .iter()
        .filter(|id| {
            v.peers.contains(id)
                && v.alive.contains(id)
                && !v.members.contains_key(id)
                && !v.leaving.contains(id)
        })
        .copied()
        .collect();
    let want = voters_wanted(staying_nodes, cfg.five_voters_from).min(healthy.len() + free.len());
    // A member dead past the grace period goes first: etcd refuses to add members while a
    // voter is unreachable. (etcd itself refuses a removal that would lose quorum.)
    // A member whose node is being removed while it is down needs no grace period.
    let gone = |id: &&Uuid| {
        v.dead_past_grace.contains(*id) || (v.leaving.contains(*id) && !v.alive.contains(*id))
    };
    if !healthy.is_empty()
        && let Some(id) = v.members.keys().find(gone)
    {
        return Some(Action::Remove(*id));
    }
    if healthy.len() < want
        && let Some(id) = free.first()
    {
        return Some(Action::AddLearner(*id));
    }
    // A leaving member goes once its replacement is in (or none can be had), as long as
    // someone healthy remains.
    if !healthy.is_empty()
        && let Some(id) = v.members.keys().find(|id| v.leaving.contains(id))
    {
        return Some(Action::Remove(*id));
    }
    // Members of nodes no longer in the cluster.
    if let Some(id) = v.members.keys().find(|id| !v.peers.contains(id))
        && healthy.len() > 1
    {
        return Some(Action::Remove(*id));
    }
    if healthy.len() > want.max(1) {
        let not_controller = |id: &&Uuid| Some(**id) != v.controller;
        return healthy
            .iter()
            .rev()
            .filter(not_controller)
            .find(|id| !v.alive.contains(id))
            .or(healthy.iter().rev().find(not_controller))
            .map(|id| Action::Remove(*id));
    }
    None
}

/// The cluster's etcd members as it records them, by node.
pub async fn list_members(store: &dyn Store) -> Result<BTreeMap<Uuid, MemberRecord>, StoreError> {
    let kv = store.range(STORE_MEMBERS, PEERS_MAX).await?;
    Ok(decode_all(&kv.kvs, STORE_MEMBERS))
}

fn decode_all<T: Record>(kvs: &[gd_store::KeyValue], prefix: &str) -> BTreeMap<Uuid, T> {
    kvs.iter()
        .filter_map(|kv| {
            let id = Uuid::parse_str(kv.key.strip_prefix(prefix)?).ok()?;
            match record::decode::<T>(&kv.key, &kv.value) {
                Ok(r) => Some((id, r)),
                Err(e) => {
                    tracing::error!(error = %e, "skipping an undecodable record");
                    None
                }
            }
        })
        .collect()
}

async fn ids(store: &dyn Store, prefix: &str) -> Result<BTreeSet<Uuid>, StoreError> {
    let r = store.range(prefix, PEERS_MAX).await?;
    Ok(r.kvs
        .iter()
        .filter_map(|kv| Uuid::parse_str(kv.key.strip_prefix(prefix)?).ok())
        .collect())
}

/// The membership controller: campaigns for the controller lock and, while it holds it, drives
/// the membership towards [`plan`]'s target. Runs until cancelled.
pub async fn run_controller(node: Arc<Node>, cfg: ElasticConfig, cancel: CancellationToken) {
    let mut dead_since: HashMap<Uuid, Instant> = HashMap::new();
    let mut learner_since: HashMap<Uuid, Instant> = HashMap::new();
    let mut guard: Option<lock::LockGuard> = None;
    // While it controls: the changes of what it decides on, and when it must look again
    // whatever changes (a step it took, a grace period ending).
    let mut changes: Option<Changes> = None;
    let mut again: Option<Instant> = None;
    loop {
        let wake = async {
            match (&guard, &changes) {
                (Some(_), Some(c)) if !c.broken() => {
                    let until = again.unwrap_or_else(|| Instant::now() + CONTROLLER_IDLE);
                    tokio::select! {
                        _ = c.notify.notified() => {}
                        _ = tokio::time::sleep_until(until) => {}
                    }
                }
                _ => tokio::time::sleep(CONTROLLER_TICK).await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = wake => {}
        }
        let Some(etcd) = node.etcd_client().await else {
            continue;
        };
        let Some(lease) = node.liveness.lease() else {
            guard = None;
            changes = None;
            continue;
        };
        if guard.as_ref().is_some_and(|g| g.lease() != lease) {
            guard = None;
            changes = None;
        }
        if guard.is_none() {
            // The lock lives in the store of this moment: should the node switch clusters, the
            // guard keeps pointing at the old one and can never release another's lock.
            let store: Arc<dyn Store> = node.store.current();
            // Wait for the lock by watching it, so the nodes that do not control cost nothing.
            let holder = format!("store controller on {}", node.identity().peer_id);
            let campaign = lock::lock(&store, STORE_CONTROLLER_LOCK, lease, &holder, CAMPAIGN_WAIT);
            let won = tokio::select! {
                _ = cancel.cancelled() => break,
                won = campaign => won,
            };
            match won {
                Ok(Ok(g)) => {
                    tracing::info!("this node now controls the etcd membership");
                    guard = Some(g);
                    dead_since.clear();
                    learner_since.clear();
                }
                Ok(Err(_held)) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "controller campaign failed");
                    continue;
                }
            }
        }
        if let Some(g) = &guard {
            match g.still_held().await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lost the etcd membership controller lock");
                    guard = None;
                    changes = None;
                    continue;
                }
                Err(_) => continue,
            }
        }
        // Watch before the pass, so that no change after it is missed.
        if changes.as_ref().is_none_or(Changes::broken) {
            changes = Changes::open(node.store.clone(), &CONTROLLER_WATCHES).await;
        }
        again = match control_step(&node, &etcd, &cfg, &mut dead_since, &mut learner_since).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "membership controller step failed");
                Some(Instant::now() + CONTROLLER_TICK)
            }
        };
    }
    if let Some(g) = guard {
        let _ = g.unlock().await;
    }
}

/// Changes under some prefixes, as one signal: a task per watch notifies on each event (a
/// notification waits if nobody listens, so none is lost between two waits). Dropping it ends
/// the watches.
struct Changes {
    notify: Arc<tokio::sync::Notify>,
    broken: Arc<std::sync::atomic::AtomicBool>,
    _stop: tokio_util::sync::DropGuard,
}

impl Changes {
    /// Watches `prefixes`; `None` when a watch cannot be opened (the caller then polls).
    async fn open(store: Arc<dyn Store>, prefixes: &[&str]) -> Option<Changes> {
        let notify = Arc::new(tokio::sync::Notify::new());
        let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = CancellationToken::new();
        // Made first, so that a watch that cannot be opened ends the ones opened before.
        let ends_all = stop.clone().drop_guard();
        for prefix in prefixes {
            let mut watch = store.watch(prefix, None).await.ok()?;
            let (notify, broken, stop) = (notify.clone(), broken.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        ev = watch.next() => match ev {
                            Some(Ok(_)) => notify.notify_one(),
                            _ => {
                                broken.store(true, std::sync::atomic::Ordering::Relaxed);
                                notify.notify_one();
                                return;
                            }
                        },
                    }
                }
            });
        }
        Some(Changes {
            notify,
            broken,
            _stop: ends_all,
        })
    }

    /// Whether a watch ended (it must be opened again).
    fn broken(&self) -> bool {
        self.broken.load(std::sync::atomic::Ordering::Relaxed)
    }
}

async fn control_step(
    node: &Node,
    etcd: &EtcdStore,
    cfg: &ElasticConfig,
    dead_since: &mut HashMap<Uuid, Instant>,
    learner_since: &mut HashMap<Uuid, Instant>,
) -> Result<Option<Instant>, StoreError> {
    let store = node.store.as_ref();
    let members_kv = store.range(STORE_MEMBERS, PEERS_MAX).await?;
    let members: BTreeMap<Uuid, MemberRecord> = decode_all(&members_kv.kvs, STORE_MEMBERS);
    let nodes_kv = store.range(STORE_NODES, PEERS_MAX).await?;
    let nodes: BTreeMap<Uuid, NodeRecord> = decode_all(&nodes_kv.kvs, STORE_NODES);
    let view_alive = ids(store, ALIVE).await?;
    let now = Instant::now();
    dead_since.retain(|id, _| members.contains_key(id) && !view_alive.contains(id));
    for id in members.keys().filter(|id| !view_alive.contains(id)) {
        dead_since.entry(*id).or_insert(now);
    }
    learner_since.retain(|id, _| members.get(id).is_some_and(|m| m.role == Role::Learner));
    for (id, m) in &members {
        if m.role == Role::Learner {
            learner_since.entry(*id).or_insert(now);
        }
    }
    let view = View {
        peers: ids(store, PEERS).await?,
        alive: view_alive,
        candidates: nodes.keys().copied().collect(),
        members: members.iter().map(|(id, m)| (*id, m.role)).collect(),
        leaving: ids(store, STORE_LEAVING).await?,
        dead_past_grace: dead_since
            .iter()
            .filter(|(_, t)| now.duration_since(**t) >= cfg.voter_grace)
            .map(|(id, _)| *id)
            .collect(),
        stuck_learners: learner_since
            .iter()
            .filter(|(_, t)| now.duration_since(**t) >= LEARNER_PROMOTE_MAX)
            .map(|(id, _)| *id)
            .collect(),
        controller: Some(node.identity().peer_id),
    };
    // With nothing to do, the next judgement that falls due on its own: a dead member's
    // grace ending, a learner stuck too long.
    let due = dead_since
        .values()
        .map(|t| *t + cfg.voter_grace)
        .chain(learner_since.values().map(|t| *t + LEARNER_PROMOTE_MAX))
        .filter(|t| *t > now)
        .min();
    let Some(action) = plan(&view, cfg) else {
        return Ok(due);
    };
    tracing::info!(?action, "etcd membership change");
    match action {
        Action::AddLearner(id) => {
            let Some(n) = nodes.get(&id) else {
                return Ok(due);
            };
            let (member_id, initial_cluster) =
                etcd.add_learner(&id.to_string(), &n.peer_url).await?;
            let rec = MemberRecord {
                client_url: n.client_url.clone(),
                peer_url: n.peer_url.clone(),
                role: Role::Learner,
                member_id,
                initial_cluster,
            };
            store
                .put(&format!("{STORE_MEMBERS}{id}"), record::encode(&rec), None)
                .await?;
        }
        Action::Promote(id) => {
            let Some(m) = members.get(&id) else {
                return Ok(due);
            };
            match etcd.promote(m.member_id).await {
                Ok(()) => {
                    let rec = MemberRecord {
                        role: Role::Voter,
                        ..m.clone()
                    };
                    store
                        .put(&format!("{STORE_MEMBERS}{id}"), record::encode(&rec), None)
                        .await?;
                    tracing::info!(peer = %id, "etcd learner promoted to voter");
                }
                // Not caught up yet: the next tick tries again.
                Err(e) => tracing::debug!(peer = %id, error = %e, "learner not promotable yet"),
            }
        }
        Action::Remove(id) => {
            if let Some(m) = members.get(&id) {
                etcd.remove_member(m.member_id).await?;
            }
            store.delete(&format!("{STORE_MEMBERS}{id}")).await?;
            tracing::info!(peer = %id, "etcd member removed");
        }
    }
    // One step at a time: look again soon (a learner not promotable yet, the next step).
    Ok(Some(Instant::now() + CONTROLLER_TICK))
}

/// The member agent of one node: makes its etcd process and client follow the cluster's
/// records. Runs until cancelled.
pub async fn run_member_agent(node: Arc<Node>, cancel: CancellationToken) {
    // Re-examine on every membership change, and on a slow tick in case a watch was lost.
    let store = node.store.clone();
    gd_store::follow_prefix(
        &*store,
        STORE_MEMBERS,
        AGENT_TICK,
        &cancel,
        |_| true,
        || async {
            if let Err(e) = agent_step(&node).await {
                tracing::debug!(error = %e, "member agent step failed");
            }
        },
    )
    .await
}

async fn agent_step(node: &Node) -> Result<(), StoreError> {
    let me = node.identity().peer_id;
    // Everything below acts for the backend of this generation only (see `node`).
    let Some((state, generation)) = node.store_state().await else {
        return Ok(());
    };
    if state.mode != StoreMode::Managed {
        return Ok(());
    }
    let store = node.store.as_ref();
    let cfg = &node.config;
    crate::members::publish_candidate(
        node.store.as_ref(),
        node.identity().peer_id,
        node.addresses.etcd_urls(),
    )
    .await?;
    let members_kv = store.range(STORE_MEMBERS, PEERS_MAX).await?;
    let members: BTreeMap<Uuid, MemberRecord> = decode_all(&members_kv.kvs, STORE_MEMBERS);
    let mine = members.get(&me);
    let running = node.member_running().await;
    match (mine, running) {
        (Some(m), false) => {
            // A new member starts from nothing (leftovers of an earlier membership would
            // clash) with the initial cluster the controller recorded; a member that exists
            // already restarts from its data.
            // No data directory: a start was cut short before etcd wrote any (its state was
            // recorded first), so it starts afresh too.
            let fresh = !state.member || !crate::store::member_data_dir(cfg).exists();
            tracing::info!(role = ?m.role, fresh, "starting this node's etcd member");
            let initial =
                (fresh && !m.initial_cluster.is_empty()).then(|| m.initial_cluster.clone());
            match node.start_own_member(generation, initial, fresh).await {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot start the etcd member"),
            }
        }
        // Removed from the etcd cluster (the records are sane: someone is a voter), whether
        // its process still runs or did not even start.
        (None, _) if state.member && members.values().any(|m| m.role == Role::Voter) => {
            if !node.drop_own_member(generation).await {
                return Ok(());
            }
            tracing::info!("this node's etcd member was removed; stopped it, now a client");
        }
        _ => {}
    }
    // Point the client at the voters, and remember them for restarts.
    let voters: Vec<String> = members
        .values()
        .filter(|m| m.role == Role::Voter)
        .map(|m| m.client_url.clone())
        .collect();
    if !voters.is_empty() {
        let peers_n = store.range(PEERS, 3).await?.kvs.len();
        node.update_endpoints(generation, voters, peers_n > 1).await;
    }
    Ok(())
}

impl StoreState {
    /// Whether this state belongs to a managed node.
    pub fn is_managed(&self) -> bool {
        self.mode == StoreMode::Managed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: ElasticConfig = ElasticConfig {
        five_voters_from: 7,
        voter_grace: Duration::from_secs(60),
    };

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn view(peers: &[u128], voters: &[u128]) -> View {
        View {
            peers: peers.iter().map(|n| id(*n)).collect(),
            alive: peers.iter().map(|n| id(*n)).collect(),
            candidates: peers.iter().map(|n| id(*n)).collect(),
            members: voters.iter().map(|n| (id(*n), Role::Voter)).collect(),
            ..View::default()
        }
    }

    #[test]
    fn voter_counts() {
        assert_eq!(voters_wanted(1, 7), 1);
        assert_eq!(voters_wanted(2, 7), 1);
        assert_eq!(voters_wanted(3, 7), 3);
        assert_eq!(voters_wanted(6, 7), 3);
        assert_eq!(voters_wanted(7, 7), 5);
        assert_eq!(voters_wanted(1000, 7), 5);
    }

    #[test]
    fn grows_to_three_one_learner_at_a_time() {
        assert_eq!(plan(&view(&[1, 2], &[1]), &CFG), None);
        assert_eq!(
            plan(&view(&[1, 2, 3], &[1]), &CFG),
            Some(Action::AddLearner(id(2)))
        );
        let mut v = view(&[1, 2, 3], &[1]);
        v.members.insert(id(2), Role::Learner);
        assert_eq!(plan(&v, &CFG), Some(Action::Promote(id(2))));
        assert_eq!(
            plan(&view(&[1, 2, 3], &[1, 2]), &CFG),
            Some(Action::AddLearner(id(3)))
        );
        assert_eq!(plan(&view(&[1, 2, 3], &[1, 2, 3]), &CFG), None);
    }

    #[test]
    fn dead_voter_is_removed_then_replaced() {
        let mut v = view(&[1, 2, 3, 4, 5], &[1, 2, 3]);
        v.alive.remove(&id(2));
        assert_eq!(
            plan(&v, &CFG),
            None,
            "within the grace period nothing happens"
        );
        v.dead_past_grace.insert(id(2));
        assert_eq!(
            plan(&v, &CFG),
            Some(Action::Remove(id(2))),
            "etcd adds nothing while a voter is unreachable"
        );
        v.members.remove(&id(2));
        assert_eq!(plan(&v, &CFG), Some(Action::AddLearner(id(4))));
    }

    #[test]
    fn a_leaving_lone_voter_hands_over_first() {
        let mut v = view(&[1, 2], &[1]);
        v.leaving.insert(id(1));
        assert_eq!(plan(&v, &CFG), Some(Action::AddLearner(id(2))));
        v.members.insert(id(2), Role::Voter);
        assert_eq!(plan(&v, &CFG), Some(Action::Remove(id(1))));
    }

    #[test]
    fn a_dead_member_being_removed_goes_at_once() {
        let mut v = view(&[1, 2, 3], &[1, 2, 3]);
        v.alive.remove(&id(3));
        v.leaving.insert(id(3));
        assert_eq!(plan(&v, &CFG), Some(Action::Remove(id(3))));
    }

    #[test]
    fn no_candidate_means_no_removal_of_the_last_voter() {
        let mut v = view(&[1], &[1]);
        v.leaving.insert(id(1));
        assert_eq!(plan(&v, &CFG), None);
    }

    #[test]
    fn shrinks_when_nodes_leave() {
        let mut v = view(&[1, 2, 3], &[1, 2, 3]);
        v.leaving.insert(id(3));
        assert_eq!(plan(&v, &CFG), Some(Action::Remove(id(3))));
        let v = view(&[1, 2], &[1, 2, 3]);
        assert_eq!(
            plan(&v, &CFG),
            Some(Action::Remove(id(3))),
            "member of a removed peer"
        );
        let v = view(&[1, 2], &[1, 2]);
        assert_eq!(
            plan(&v, &CFG),
            Some(Action::Remove(id(2))),
            "2 nodes want 1 voter"
        );
        let mut v = view(&[1, 2], &[1, 2]);
        v.controller = Some(id(2));
        assert_eq!(
            plan(&v, &CFG),
            Some(Action::Remove(id(1))),
            "the controller keeps its own member"
        );
    }

    #[test]
    fn dead_nodes_are_not_candidates() {
        let mut v = view(&[1, 2, 3], &[1]);
        v.alive.remove(&id(2));
        assert_eq!(plan(&v, &CFG), Some(Action::AddLearner(id(3))));
    }
}
