//! Every node's rebalance agent: runs this node's part of each running rebalance of a volume
//! it holds bricks of, and publishes the part's state and counters.
//!
//! Each pass (every second while this node has a part to run or a rebalance process to look
//! after, at once when a rebalance process pushes its status or the rebalance tasks change)
//! looks at the running rebalance tasks. At rest (no part here, no process) it reads nothing:
//! a watch of the tasks marks the next pass due (and once a minute, should a change go
//! unseen). For a volume with bricks here whose part has not ended, it
//! makes sure exactly one rebalance process runs (the pid file names the one already running,
//! also one a previous glusterd2 left), asks it for its status, and forwards a stop request.
//! A process that ends pushes its final counters (EVENT_NOTIFY), which end the part. A process
//! that ended without its push reaching glusterd2 (glusterd2 was down or restarting) logged
//! its end: the part ends as its log says. One that vanished without either has failed
//! (killed, crashed), as GD1 decides; one this agent never saw and whose log says nothing is
//! started again, as GD1 does after a restart: a second crawl finds the files in place.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use gd_core::task::{self, TaskState};
use gd_node::node::Node;
use gd_rpc_server::EventSink;
use gd_store::{Compare, CompareOp, Store, StoreError, Txn, TxnOp, record};
use gd_sunrpc::Dict;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    model::{self, Counters, KIND, NodeRun, Plan},
    process::{self, Launch, Report},
};

/// How often a pass runs without a push.
const PASS: Duration = Duration::from_secs(1);
/// How often a pass runs at rest with no change of the tasks seen.
const RESYNC: Duration = Duration::from_secs(60);
/// How long a process this agent saw may be gone before its part is called failed: its final
/// push, sent just before it exits, may still be on its way.
const PUSH_GRACE: Duration = Duration::from_secs(3);
/// The longest wait for a rebalance's common start.
const MAX_START_WAIT: Duration = Duration::from_secs(5);
/// How long a process no running rebalance has is given to exit by itself once told to stop
/// (it ends the migrations in flight, putting back a file it had not finished) before it is
/// killed.
const ORPHAN_GRACE: Duration = Duration::from_secs(30);

/// This node's rebalance agent.
pub struct Agent {
    node: Arc<Node>,
    /// The rebalance whose part this node runs, by volume: where a push belongs.
    current: Mutex<BTreeMap<String, Plan>>,
    /// The volumes whose process this agent has seen running, and since when one is gone.
    seen: Mutex<BTreeMap<String, Seen>>,
    /// The volumes whose process no running rebalance had, and since when it has been told
    /// to stop (until it is gone).
    orphans: Mutex<BTreeMap<String, tokio::time::Instant>>,
    wake: Notify,
}

#[derive(Clone, Copy)]
struct Seen {
    rebalance: Uuid,
    gone_since: Option<tokio::time::Instant>,
}

impl Agent {
    pub fn new(node: Arc<Node>) -> Arc<Agent> {
        Arc::new(Agent {
            node,
            current: Mutex::default(),
            seen: Mutex::default(),
            orphans: Mutex::default(),
            wake: Notify::new(),
        })
    }

    /// Runs passes until `cancel`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let due = Arc::new(AtomicBool::new(true));
        // Ends with `cancel`, as the loop does.
        {
            let (this, due, cancel) = (self.clone(), due.clone(), cancel.clone());
            tokio::spawn(async move {
                let prefix = format!("{}{KIND}/", gd_core::keys::TASKS);
                gd_store::follow_prefix(
                    &*this.node.store,
                    &prefix,
                    RESYNC,
                    &cancel,
                    |_| true,
                    || {
                        due.store(true, Ordering::SeqCst);
                        this.wake.notify_one();
                        async {}
                    },
                )
                .await
            });
        }
        loop {
            if (due.swap(false, Ordering::SeqCst) || self.busy())
                && let Err(e) = self.pass().await
            {
                due.store(true, Ordering::SeqCst);
                tracing::debug!(error = %e, "cannot look at the running rebalances yet");
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(PASS) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Whether this node has a rebalance part to run or a rebalance process to look after
    /// (one a previous glusterd2 left included: its pid file).
    fn busy(&self) -> bool {
        !lock(&self.current).is_empty()
            || !lock(&self.orphans).is_empty()
            || std::fs::read_dir(process::piddir(&self.node.config)).is_ok_and(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".pid")))
            })
    }

    async fn pass(&self) -> Result<(), StoreError> {
        let me = self.node.identity().peer_id;
        let mut current = BTreeMap::new();
        for t in task::list_kind(self.node.store.as_ref(), KIND).await? {
            if t.state != TaskState::Running {
                continue;
            }
            let Ok(plan) = model::plan_of(&t) else {
                continue;
            };
            if plan.nodes.contains(&me) {
                current.insert(t.object.clone(), plan);
            }
        }
        *lock(&self.current) = current.clone();
        lock(&self.seen).retain(|vol, _| current.contains_key(vol));
        self.stop_orphans(&current).await;
        for (vol, plan) in current {
            if let Err(e) = self.drive(&vol, &plan).await {
                tracing::debug!(volume = %vol, error = %e, "rebalance part not updated");
            }
        }
        Ok(())
    }

    /// Stops every rebalance process of this node that no running rebalance has a part of here
    /// (its task ended: stopped, or ended by an undone remove-brick start): a process runs only
    /// for its task. It is told to stop first, as GD1 does, and killed only if it has not
    /// exited within [`ORPHAN_GRACE`]: killed in the middle of moving a file, it would leave
    /// the file half moved (the source marked as migrating), which no later crawl moves.
    async fn stop_orphans(&self, current: &BTreeMap<String, Plan>) {
        let config = &self.node.config;
        let Ok(dir) = std::fs::read_dir(process::piddir(config)) else {
            return;
        };
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(vol) = name.to_str().and_then(|n| n.strip_suffix(".pid")) else {
                continue;
            };
            // A process told to stop stays an orphan until it is gone, even when a new
            // rebalance of its volume started meanwhile (that one's process waits for it).
            if current.contains_key(vol) && !lock(&self.orphans).contains_key(vol) {
                continue;
            }
            if let Some(p) = process::running(config, vol) {
                let told = lock(&self.orphans).get(vol).copied();
                match told {
                    None => {
                        tracing::info!(
                            volume = vol,
                            pid = p.pid,
                            "telling a rebalance process no running task has to stop"
                        );
                        if let Err(e) = process::stop(config, vol).await {
                            tracing::debug!(volume = vol, error = %e, "the stop was not taken");
                        }
                        lock(&self.orphans).insert(vol.to_owned(), tokio::time::Instant::now());
                        continue;
                    }
                    Some(at) if at.elapsed() < ORPHAN_GRACE => continue,
                    Some(_) => {
                        tracing::warn!(
                            volume = vol,
                            pid = p.pid,
                            "killing a rebalance process that did not exit when told to stop"
                        );
                        gd_node::process::stop_all(&[p]).await;
                    }
                }
            }
            lock(&self.orphans).remove(vol);
            let _ = std::fs::remove_file(process::pidfile(config, vol));
        }
    }

    /// Moves this node's part of `plan` on by one step.
    async fn drive(&self, vol: &str, plan: &Plan) -> Result<(), StoreError> {
        let config = &self.node.config;
        let store = self.node.store.as_ref();
        let me = self.node.identity().peer_id;
        let key = model::part_key(vol, me);
        let part = match store.get(&key).await? {
            Some(kv) => {
                Some(record::decode::<NodeRun>(&key, &kv.value)?).filter(|p| p.rebalance == plan.id)
            }
            None => None,
        };
        if part.as_ref().is_some_and(|p| p.state.ended()) {
            return Ok(());
        }
        if lock(&self.orphans).contains_key(vol) {
            // The process of an earlier rebalance is still ending: this one starts after.
            return Ok(());
        }
        let stop = model::stop_request(store, vol).await? == Some(plan.id);
        if process::running(config, vol).is_some() {
            lock(&self.seen).insert(
                vol.to_owned(),
                Seen {
                    rebalance: plan.id,
                    gone_since: None,
                },
            );
            if stop && let Err(e) = process::stop(config, vol).await {
                tracing::warn!(volume = %vol, error = %e, "cannot stop the rebalance process");
            }
            match process::status(config, vol).await {
                Ok(report) => self.publish(vol, plan, report, "").await?,
                Err(e) => tracing::debug!(volume = %vol, error = %e, "no rebalance status yet"),
            }
            return Ok(());
        }
        let seen = lock(&self.seen)
            .get(vol)
            .copied()
            .filter(|s| s.rebalance == plan.id);
        let last = part.as_ref().map(|p| p.counters).unwrap_or_default();
        if stop {
            let report = Report {
                state: plan.command.stopped_state(),
                counters: last,
            };
            return self.publish(vol, plan, report, "").await;
        }
        match seen {
            Some(Seen {
                gone_since: None, ..
            }) => {
                lock(&self.seen).insert(
                    vol.to_owned(),
                    Seen {
                        rebalance: plan.id,
                        gone_since: Some(tokio::time::Instant::now()),
                    },
                );
                Ok(())
            }
            Some(Seen {
                gone_since: Some(t),
                ..
            }) if t.elapsed() < PUSH_GRACE => Ok(()),
            Some(_) => {
                let why = match process::logged_end(config, vol, plan.start_at_ms) {
                    Ok(end) => return self.publish(vol, plan, end, "").await,
                    Err(why) => {
                        format!("the rebalance process ended without reporting its end: {why}")
                    }
                };
                let report = Report {
                    state: plan.command.failed_state(),
                    counters: last,
                };
                self.publish(vol, plan, report, &why).await
            }
            // Ended while glusterd2 was not there to take its final push: its log says how.
            None => match process::logged_end(config, vol, plan.start_at_ms) {
                Ok(end) if end.state.ended() => self.publish(vol, plan, end, "").await,
                _ => self.start(vol, plan, last).await,
            },
        }
    }

    async fn start(&self, vol: &str, plan: &Plan, last: Counters) -> Result<(), StoreError> {
        // Wait for the common start (bounded: a start time far ahead is a clock apart).
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let wait = Duration::from_millis(plan.start_at_ms.saturating_sub(now_ms));
        tokio::time::sleep(wait.min(MAX_START_WAIT)).await;
        let launch = Launch {
            volume: vol.to_owned(),
            command: plan.command,
            commit_hash: plan.commit_hash,
            node_id: self.node.identity().peer_id,
            volfile_server: SocketAddr::new(
                gd_volume::processes::node_ip(&self.node),
                self.node.config.client_addr.port(),
            ),
        };
        match process::start(&self.node.config, &launch).await {
            Ok(p) => {
                tracing::info!(volume = %vol, pid = p.pid, "started the rebalance process");
                self.node.metrics.process_start("rebalance", false);
                lock(&self.seen).insert(
                    vol.to_owned(),
                    Seen {
                        rebalance: plan.id,
                        gone_since: None,
                    },
                );
                let report = Report {
                    state: plan.command.running_state(),
                    counters: last,
                };
                self.publish(vol, plan, report, "").await
            }
            Err(why) => {
                tracing::warn!(volume = %vol, error = %why, "cannot start the rebalance process");
                let report = Report {
                    state: plan.command.failed_state(),
                    counters: last,
                };
                self.publish(vol, plan, report, &why).await
            }
        }
    }

    /// Writes this node's part of `plan`, unless it has ended already (an end is final: a
    /// late status answer never turns it back to running).
    async fn publish(
        &self,
        vol: &str,
        plan: &Plan,
        report: Report,
        message: &str,
    ) -> Result<(), StoreError> {
        let store = self.node.store.as_ref();
        let key = model::part_key(vol, self.node.identity().peer_id);
        let run = NodeRun {
            rebalance: plan.id,
            state: report.state,
            counters: report.counters,
            message: message.to_owned(),
        };
        for _ in 0..3 {
            let (when, old) = match store.get(&key).await? {
                None => (Compare::absent(&key), None),
                Some(kv) => (
                    Compare::mod_revision(&key, CompareOp::Equal, kv.mod_revision),
                    Some(record::decode::<NodeRun>(&key, &kv.value)?),
                ),
            };
            if let Some(old) = &old
                && old.rebalance == plan.id
                && (old.state.ended() || *old == run)
            {
                return Ok(());
            }
            let put = TxnOp::put(&key, record::encode(&run));
            if store
                .txn(Txn::new().when([when]).and_then([put]))
                .await?
                .succeeded
            {
                if run.state.ended() {
                    tracing::info!(volume = %vol, state = run.state.as_str(), "rebalance part ended");
                }
                return Ok(());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl EventSink for Agent {
    /// A rebalance process's push: its counters, and at its end its final state.
    async fn defrag_status(&self, volume: &str, status: Dict) {
        let Some(plan) = lock(&self.current).get(volume).cloned() else {
            tracing::debug!(
                volume,
                "a rebalance status push for no running rebalance here"
            );
            return;
        };
        match process::parse_report(&status) {
            Ok(report) => {
                if let Err(e) = self.publish(volume, &plan, report, "").await {
                    tracing::warn!(volume, error = %e, "cannot record the rebalance status");
                }
                self.wake.notify_one();
            }
            Err(e) => tracing::warn!(volume, error = %e, "a garbled rebalance status push"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
