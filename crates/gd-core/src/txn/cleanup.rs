//! The cleanup leader and the recovery of a restarted initiator: ending the transactions whose
//! coordinator is gone (committed when their last step completed, else rolled back).

use super::*;
use crate::keys::{ALIVE, TXN, TXN_CLEANUP_LOCK};

impl Engine {
    // ---- cleanup leader ----

    /// Campaigns for the cleanup lock (bound to the lease `lease()` returns) and, while
    /// holding it, rolls back transactions whose initiator is gone or that ran too long, and
    /// forgets failed ones once their undos are confirmed or too old. Runs until cancelled.
    pub async fn run_cleanup(
        self: Arc<Self>,
        lease: impl Fn() -> Option<LeaseId> + Send + 'static,
        cancel: CancellationToken,
    ) {
        let mut guard: Option<lock::LockGuard> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(RESCAN) => {}
            }
            let Some(lease) = lease() else {
                guard = None;
                continue;
            };
            if guard.as_ref().is_some_and(|g| g.lease() != lease) {
                guard = None;
            }
            if guard.is_none() {
                // Waits for the lock by watching it: the nodes that do not lead cost the store
                // nothing at rest.
                let holder = format!("transaction cleanup on {}", self.me);
                let campaign =
                    lock::lock(&self.store, TXN_CLEANUP_LOCK, lease, &holder, CAMPAIGN_WAIT);
                let won = tokio::select! {
                    _ = cancel.cancelled() => break,
                    won = campaign => won,
                };
                match won {
                    Ok(Ok(g)) => guard = Some(g),
                    _ => continue,
                }
            }
            if let Err(e) = self.cleanup_once().await {
                tracing::warn!(error = %e, "transaction cleanup failed");
            }
        }
        if let Some(g) = guard {
            let _ = g.unlock().await;
        }
    }

    pub(super) async fn alive_nodes(&self) -> Result<BTreeSet<Uuid>, StoreError> {
        let alive = self.store.range(ALIVE, 0).await?;
        Ok(alive
            .kvs
            .iter()
            .filter_map(|kv| {
                kv.key
                    .strip_prefix(ALIVE)
                    .and_then(|k| Uuid::parse_str(k).ok())
            })
            .collect())
    }

    /// One pass of the cleanup leader.
    pub async fn cleanup_once(&self) -> Result<(), StoreError> {
        let running = self.transactions().await?;
        if running.is_empty() {
            return Ok(());
        }
        let alive = self.alive_nodes().await?;
        let now = now_ms();
        for (id, spec, cursor) in running {
            if let Some(kv) = self.store.get(&failed_key(id)).await? {
                // Failed: forget it once every undo is confirmed, or when it is too old.
                let failed: Failed = record::decode(&kv.key, &kv.value)?;
                let pending = self.pending_undos(&spec, cursor).await?;
                if pending.is_empty()
                    || now.saturating_sub(failed.failed_unix_ms)
                        > failpoint::scaled(TXN_KEEP_MAX).as_millis() as u64
                {
                    if !pending.is_empty() {
                        tracing::warn!(txn = %id, ?pending, "forgetting a failed transaction whose undo some nodes never confirmed");
                    }
                    let mut cleared = clear_inboxes(id, spec.nodes());
                    let mut forget = std::mem::take(&mut cleared.first);
                    forget.push(TxnOp::DeletePrefix {
                        prefix: format!("{TXN}{id}/"),
                    });
                    self.store.txn(StoreTxn::new().and_then(forget)).await?;
                    cleared.write_rest(self.store.as_ref()).await?;
                }
                continue;
            }
            let orphaned = !alive.contains(&spec.initiator);
            if orphaned || stalled(&spec, cursor, now) {
                let reason = if orphaned {
                    "its initiator died"
                } else {
                    "its coordinator stopped making progress"
                };
                self.finish_abandoned(
                    &spec,
                    cursor,
                    reason,
                    &format!("the cleanup leader ({})", self.me),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Ends a transaction whose coordinator is gone: committed when its last step completed on
    /// every node (every change was made: undoing it would take back what the user may have
    /// been told succeeded, and what is already in use), else undone.
    pub(super) async fn finish_abandoned(
        &self,
        spec: &TxnSpec,
        cursor: Cursor,
        reason: &str,
        ended_by: &str,
    ) -> Result<(), StoreError> {
        let id = spec.id;
        let last = spec.steps.len().saturating_sub(1);
        if cursor.phase == Phase::Do && cursor.step == last {
            let step = &spec.steps[last];
            let mut done = 0;
            for node in &step.nodes {
                let key = report_key(id, last, Phase::Do, *node);
                if let Some(kv) = self.store.get(&key).await?
                    && record::decode::<Report>(&key, &kv.value)?.ok
                {
                    done += 1;
                }
            }
            if done == step.nodes.len() {
                tracing::warn!(txn = %id, operation = %spec.operation, reason, "every step of an abandoned transaction completed; committing it");
                let notes = self.notes_of(spec).await?;
                self.end(spec, None, vec![], notes, ended_by).await?;
                return Ok(());
            }
        }
        tracing::warn!(txn = %id, operation = %spec.operation, reason, "rolling back an abandoned transaction");
        let failure = Failure::Abandoned {
            reason: reason.to_owned(),
        };
        self.roll_back(spec, cursor.step, failure, ended_by).await?;
        Ok(())
    }

    /// The notes nodes gave on the steps of a transaction that completed.
    async fn notes_of(&self, spec: &TxnSpec) -> Result<Vec<Note>, StoreError> {
        let mut notes = vec![];
        for (index, step) in spec.steps.iter().enumerate() {
            let dir = report_dir(spec.id, index, Phase::Do);
            for kv in self.store.range(&dir, 0).await?.kvs {
                let Some(node) = kv
                    .key
                    .strip_prefix(&dir)
                    .and_then(|n| Uuid::parse_str(n).ok())
                else {
                    continue;
                };
                let report: Report = record::decode(&kv.key, &kv.value)?;
                if !report.note.is_empty() {
                    notes.push(Note {
                        step: step.name.clone(),
                        node,
                        text: report.note,
                    });
                }
            }
        }
        Ok(notes)
    }

    /// Ends the transactions this node started before it restarted: their coordinator died
    /// with the old process, and nobody else ends them while this node is alive again. Run once
    /// at start-up (the transactions this process starts meanwhile are left alone). Returns how
    /// many it ended.
    pub async fn recover_own(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for (id, spec, cursor) in self.transactions().await? {
            if spec.initiator != self.me
                || spec.instance == Some(self.instance)
                || self.store.get(&failed_key(id)).await?.is_some()
            {
                continue;
            }
            self.finish_abandoned(
                &spec,
                cursor,
                "its initiator restarted",
                "its initiator, restarted",
            )
            .await?;
            n += 1;
        }
        Ok(n)
    }

    /// Ends transaction `id`, which this node's coordinator stopped driving for want of the
    /// store (a write whose outcome it could not know, during an election or a cut): as soon
    /// as the store answers, within [`SETTLE_WITHIN`], a transaction that was recorded after
    /// all is ended as an abandoned one is (undone, or committed when its last step completed
    /// everywhere), so that its objects are free again at once instead of after the cleanup
    /// leader's stall bound (minutes) — until then every operation on them is "busy".
    pub(super) async fn settle_own(&self, id: Uuid) {
        let deadline = tokio::time::Instant::now() + SETTLE_WITHIN;
        let mut pause = Duration::from_millis(250);
        loop {
            match self.settle_once(id).await {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() + pause > deadline => {
                    tracing::warn!(txn = %id, error = %e, "a transaction this node could not drive is left to the cleanup leader");
                    return;
                }
                Err(e) => {
                    tracing::debug!(txn = %id, error = %e, "the store cannot say yet whether a transaction was recorded")
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn settle_once(&self, id: Uuid) -> Result<(), StoreError> {
        // Only what the store itself answers: a node's copy may predate the record.
        let (read, stale) = gd_store::track_staleness(async {
            let spec = self.store.get(&spec_key(id)).await?;
            let cursor = self.store.get(&cursor_key(id)).await?;
            let failed = self.store.get(&failed_key(id)).await?;
            Ok::<_, StoreError>((spec, cursor, failed))
        })
        .await;
        let (spec, cursor, failed) = read?;
        if stale.is_some() {
            return Err(StoreError::Unavailable {
                reason: "the store has no quorum".into(),
            });
        }
        let (Some(spec), Some(cursor), None) = (spec, cursor, failed) else {
            // Never recorded, ended already, or failed with undos pending (the cleanup
            // leader's to finish).
            return Ok(());
        };
        let spec: TxnSpec = record::decode(&spec.key, &spec.value)?;
        let cursor: Cursor = record::decode(&cursor.key, &cursor.value)?;
        self.finish_abandoned(
            &spec,
            cursor,
            "its coordinator lost the store",
            "its initiator, once the store answered",
        )
        .await
    }

    /// Nodes that have not confirmed the undo of a step they were asked to undo.
    pub(super) async fn pending_undos(
        &self,
        spec: &TxnSpec,
        cursor: Cursor,
    ) -> Result<Vec<(usize, Uuid)>, StoreError> {
        let mut pending = vec![];
        for index in 0..=cursor.step.min(spec.steps.len().saturating_sub(1)) {
            for node in &spec.steps[index].nodes {
                if self
                    .store
                    .get(&report_key(spec.id, index, Phase::Undo, *node))
                    .await?
                    .is_none()
                {
                    pending.push((index, *node));
                }
            }
        }
        Ok(pending)
    }
}

/// Whether the cursor of a running transaction has not moved for its step's bound plus
/// [`TXN_STALL_MARGIN`] (`now` in Unix milliseconds).
fn stalled(spec: &TxnSpec, cursor: Cursor, now: u64) -> bool {
    let bound = match cursor.phase {
        Phase::Do => spec
            .steps
            .get(cursor.step)
            .and_then(|s| s.timeout)
            .unwrap_or(STEP_TIMEOUT),
        Phase::Undo => UNDO_TIMEOUT,
    } + TXN_STALL_MARGIN;
    let bound = failpoint::scaled(bound);
    let since = if cursor.moved_unix_ms > 0 {
        cursor.moved_unix_ms
    } else {
        spec.created_unix_ms
    };
    now.saturating_sub(since) > bound.as_millis() as u64
}
