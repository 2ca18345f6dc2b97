//! Watches: the bounded in-memory history of recent events, and the task behind each watch
//! that copies the events under its prefix from there to its consumer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::lock;
use crate::types::deliver;
use crate::{ProgressAsker, Revision, StoreError, StoreResult, WatchEvent, WatchItem};

/// How many events one watch copies out of the history per lock.
const WATCH_BATCH: usize = 256;
/// Bytes counted per history event on top of its key and value.
const EVENT_OVERHEAD: usize = 64;

/// The recent events watches replay from, oldest first.
pub(super) struct History {
    pub(super) events: VecDeque<WatchEvent>,
    pub(super) bytes: usize,
    /// Every event of every revision `>= oldest` is in `events`.
    pub(super) oldest: Revision,
    pub(super) max_events: usize,
    pub(super) max_bytes: usize,
}

/// What one look at the history gave a watch.
struct Batch {
    events: Vec<WatchEvent>,
    /// The next revision the watch owes its consumer.
    next: Revision,
    /// The batch was cut short; look again before waiting.
    more: bool,
}

fn event_bytes(e: &WatchEvent) -> usize {
    e.key.len() + e.value.len() + EVENT_OVERHEAD
}

impl History {
    pub(super) fn push(&mut self, events: Vec<WatchEvent>) {
        for e in events {
            self.bytes += event_bytes(&e);
            self.events.push_back(e);
        }
        let newest = self.events.back().map_or(0, |e| e.revision);
        // Over the bounds, drop the oldest events, but never the newest revision's: a watch
        // that is keeping up must not lag because one write was large.
        while self.events.len() > self.max_events || self.bytes > self.max_bytes {
            if self.events.front().is_none_or(|e| e.revision >= newest) {
                break;
            }
            let Some(e) = self.events.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(event_bytes(&e));
            self.oldest = self.oldest.max(e.revision + 1);
        }
    }

    /// The events under `prefix` from revision `next` on, whole revisions at a time, about
    /// `max` of them.
    fn collect(&self, prefix: &str, next: Revision, max: usize) -> StoreResult<Batch> {
        if next < self.oldest {
            return Err(StoreError::WatchLagged {
                queue_max: self.max_events,
            });
        }
        let start = self.events.partition_point(|e| e.revision < next);
        let mut batch = Batch {
            events: Vec::new(),
            next,
            more: false,
        };
        for e in self.events.range(start..) {
            if batch.events.len() >= max && e.revision >= batch.next {
                batch.more = true;
                break;
            }
            if e.key.starts_with(prefix) {
                batch.events.push(e.clone());
            }
            batch.next = e.revision + 1;
        }
        Ok(batch)
    }
}

/// The task behind one watch: copies matching events from the history to the consumer, and
/// says how far it got when asked.
pub(super) async fn run_watch(
    history: Arc<Mutex<History>>,
    mut published: watch::Receiver<Revision>,
    prefix: String,
    mut next: Revision,
    tx: mpsc::Sender<StoreResult<WatchItem>>,
    asker: ProgressAsker,
    stop: CancellationToken,
) {
    let mut store_closed = false;
    let mut progress_asked = false;
    loop {
        // Mark the current revision seen *before* looking, so a revision published while we
        // look wakes us below. Every event up to it is in the history already.
        let head = *published.borrow_and_update();
        loop {
            let batch = lock(&history).collect(&prefix, next, WATCH_BATCH);
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    deliver(&tx, &stop, Err(e)).await;
                    return;
                }
            };
            next = batch.next;
            for ev in batch.events {
                if !deliver(&tx, &stop, Ok(WatchItem::Event(ev))).await {
                    return;
                }
            }
            if !batch.more {
                break;
            }
        }
        if std::mem::take(&mut progress_asked)
            && !deliver(&tx, &stop, Ok(WatchItem::Progress(head))).await
        {
            return;
        }
        if store_closed {
            let closed = StoreError::Unavailable {
                reason: "the local store was closed".into(),
            };
            deliver(&tx, &stop, Err(closed)).await;
            return;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            changed = published.changed() => store_closed = changed.is_err(),
            () = asker.asked() => progress_asked = true,
        }
    }
}
