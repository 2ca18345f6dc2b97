//! The participant: every node runs the steps addressed to it, and the undos it owes.

use super::*;
use crate::keys::TXN;

/// The most inbox entries a pass takes from the watch's events; past that it reads the inbox.
const INBOX_EVENTS_MAX: usize = 64;

impl Engine {
    // ---- participant ----

    /// Runs the steps addressed to this node, until cancelled.
    pub async fn run_participant(self: Arc<Self>, cancel: CancellationToken) {
        // Only a transaction writing to this node's inbox can give it something to do: its
        // own inbox is all it watches (an emptied entry asks nothing). A change is handled
        // from its event (the entry written); a reopened watch or the tick reads the inbox.
        let inbox = inbox_dir(self.me);
        // The entries written since the last pass, the last value of each.
        let written: std::sync::Mutex<BTreeMap<String, Vec<u8>>> = Default::default();
        let relevant = |ev: &gd_store::WatchEvent| {
            let put = ev.kind == gd_store::EventKind::Put;
            if put {
                let mut w = written
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if w.len() < INBOX_EVENTS_MAX || w.contains_key(&ev.key) {
                    w.insert(ev.key.clone(), ev.value.clone());
                }
            }
            put
        };
        gd_store::follow_prefixes(
            &*self.store,
            &[inbox.as_str()],
            PARTICIPANT_TICK,
            &cancel,
            relevant,
            |wake| {
                let this = &self;
                let entries = std::mem::take(
                    &mut *written
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                async move {
                    // Events that overflowed the list, or none (reopened, tick): the inbox.
                    let from_events = wake == gd_store::Wake::Changed
                        && !entries.is_empty()
                        && entries.len() < INBOX_EVENTS_MAX;
                    // A scan the store failed (a member dying under it) is tried again soon,
                    // a few times, rather than at the next change or tick: a step may be
                    // waiting.
                    for (attempt, pause_ms) in [0, 200, 1000].into_iter().enumerate() {
                        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                        let done = match from_events && attempt == 0 {
                            true => {
                                this.participate_in(entries.clone().into_iter().collect())
                                    .await
                            }
                            false => this.participate_once().await,
                        };
                        match done {
                            Ok(()) => return,
                            Err(e) => tracing::debug!(error = %e, "transaction scan failed"),
                        }
                    }
                }
            },
        )
        .await
    }

    /// Runs every step under a cursor that names this node and that it has not reported yet,
    /// and the undos a failed transaction still waits for from it: for each transaction in
    /// its inbox. An entry whose transaction is gone is removed.
    pub async fn participate_once(&self) -> Result<(), StoreError> {
        let inbox = inbox_dir(self.me);
        let entries = self.store.range(&inbox, 0).await?.kvs;
        self.participate_in(entries.into_iter().map(|kv| (kv.key, kv.value)).collect())
            .await
    }

    /// [`Self::participate_once`] for the inbox entries given (key, value).
    async fn participate_in(&self, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        let inbox = inbox_dir(self.me);
        for (key, value) in entries {
            let Some(id) = key
                .strip_prefix(&inbox)
                .and_then(|id| Uuid::parse_str(id).ok())
            else {
                continue;
            };
            // The entry holds the cursor that wrote it: whether this node reported that step
            // is read with the transaction (it is the cursor, but for a race).
            let told: Option<Cursor> = record::decode(&key, &value).ok();
            let Some((spec, cursor, failed, reported)) = self.read_running(id, told).await? else {
                self.store
                    .txn(
                        StoreTxn::new()
                            .when([Compare::absent(spec_key(id))])
                            .and_then([TxnOp::delete(&key)]),
                    )
                    .await?;
                continue;
            };
            let Some(step) = spec.steps.get(cursor.step) else {
                continue;
            };
            let here = cursor.phase == Phase::Do && self.runs_here(id, cursor.step);
            if step.nodes.contains(&self.me) && !here {
                let reported = reported.filter(|_| told == Some(cursor));
                self.run_step(
                    id,
                    spec.trace.as_deref(),
                    cursor.step,
                    step,
                    cursor.phase,
                    reported,
                )
                .await?;
            }
            // After a failure, this node also owes the undos of the earlier steps it ran
            // (it may have been down while the coordinator asked).
            if cursor.phase == Phase::Undo && failed {
                for index in (0..cursor.step).rev() {
                    let s = &spec.steps[index];
                    if s.nodes.contains(&self.me) {
                        self.run_step(id, spec.trace.as_deref(), index, s, Phase::Undo, None)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A running transaction's spec and cursor, whether it failed with undos pending, and
    /// whether this node reported the step under `told` (when given), read in one snapshot;
    /// `None` when it is not running.
    async fn read_running(
        &self,
        id: Uuid,
        told: Option<Cursor>,
    ) -> Result<Option<(TxnSpec, Cursor, bool, Option<bool>)>, StoreError> {
        let mut reads = vec![
            TxnOp::Get { key: spec_key(id) },
            TxnOp::Get {
                key: cursor_key(id),
            },
            TxnOp::Get {
                key: failed_key(id),
            },
        ];
        if let Some(c) = told {
            reads.push(TxnOp::Get {
                key: report_key(id, c.step, c.phase, self.me),
            });
        }
        let read = self.store.txn(StoreTxn::new().and_then(reads)).await?;
        let mut got = read.responses.into_iter().map(|r| match r {
            gd_store::TxnOpResponse::Get(kv) => kv,
            _ => None,
        });
        let (Some(spec), Some(cursor), failed) = (
            got.next().flatten(),
            got.next().flatten(),
            got.next().flatten(),
        ) else {
            return Ok(None);
        };
        let reported = told.map(|_| got.next().flatten().is_some());
        Ok(Some((
            record::decode(&spec.key, &spec.value)?,
            record::decode(&cursor.key, &cursor.value)?,
            failed.is_some(),
            reported,
        )))
    }

    pub(super) async fn run_step(
        &self,
        id: Uuid,
        trace: Option<&str>,
        index: usize,
        step: &Call,
        phase: Phase,
        reported: Option<bool>,
    ) -> Result<(), StoreError> {
        let key = report_key(id, index, phase, self.me);
        let reported = match reported {
            Some(r) => r,
            None => self.store.get(&key).await?.is_some(),
        };
        if reported {
            return Ok(());
        }
        let report = self.perform(id, trace, step, phase).await;
        // Report only while the transaction exists (it may have been cleaned up meanwhile).
        self.store
            .txn(
                StoreTxn::new()
                    .when([Compare::present(spec_key(id))])
                    .and_then([TxnOp::put(key, record::encode(&report))]),
            )
            .await?;
        Ok(())
    }

    /// Runs this node's part of `step` (`phase`) of transaction `id`: what its report says.
    pub(super) async fn perform(
        &self,
        id: Uuid,
        trace: Option<&str>,
        step: &Call,
        phase: Phase,
    ) -> Report {
        let started = std::time::Instant::now();
        // The step's span joins the transaction's trace, from whichever node started it.
        let span = tracing::info_span!(
            "step",
            step = %step.name,
            phase = ?phase,
            node = %self.me,
            txn = %id
        );
        crate::tracing_context::join(&span, trace);
        let run = async {
            match self.registry.get(&step.name) {
                None => Err(StepError::Failed(format!(
                    "this node has no step {}",
                    step.name
                ))),
                Some(h) => match phase {
                    Phase::Do => {
                        failpoint::hit(&failpoint::participant(&step.name, When::Before)).await;
                        let r = h.run(&step.args).await;
                        failpoint::hit(&failpoint::participant(&step.name, When::After)).await;
                        r
                    }
                    Phase::Undo => h.undo(&step.args).await.map(|()| None),
                },
            }
        };
        let result = tracing::Instrument::instrument(run, span).await;
        let phase_word = match phase {
            Phase::Do => "do",
            Phase::Undo => "undo",
        };
        self.metrics
            .step(&step.name, phase_word, result.is_ok(), started.elapsed());
        match result {
            Ok(note) => Report {
                ok: true,
                error: String::new(),
                note: note.unwrap_or_default(),
                refused: String::new(),
            },
            Err(error) => {
                tracing::warn!(txn = %id, step = %step.name, ?phase, %error, "transaction step failed here");
                let (error, refused) = match error {
                    StepError::Refused { check, reason } => (reason, check.to_owned()),
                    StepError::Failed(e) => (e, String::new()),
                };
                Report {
                    ok: false,
                    error,
                    note: String::new(),
                    refused,
                }
            }
        }
    }

    pub(super) async fn transactions(&self) -> Result<Vec<(Uuid, TxnSpec, Cursor)>, StoreError> {
        let all = self.store.range(TXN, 0).await?;
        let mut specs = BTreeMap::new();
        let mut cursors = BTreeMap::new();
        for kv in &all.kvs {
            let Some(rest) = kv.key.strip_prefix(TXN) else {
                continue;
            };
            let Some((id, leaf)) = rest.split_once('/') else {
                continue;
            };
            let Ok(id) = Uuid::parse_str(id) else {
                continue;
            };
            match leaf {
                "spec" => {
                    specs.insert(id, record::decode::<TxnSpec>(&kv.key, &kv.value)?);
                }
                "cursor" => {
                    cursors.insert(id, record::decode::<Cursor>(&kv.key, &kv.value)?);
                }
                _ => {}
            }
        }
        Ok(specs
            .into_iter()
            .filter_map(|(id, s)| cursors.get(&id).map(|c| (id, s, *c)))
            .collect())
    }
}
