//! Plain data shared by every backend: key-values, transactions, watch events.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::StoreResult;

/// A store revision. Starts at 1 for an empty store and only increases.
pub type Revision = i64;

/// A lease id, as etcd hands them out (never 0).
pub type LeaseId = i64;

/// One key and its metadata, as etcd returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the put that created the key (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the last put to the key.
    pub mod_revision: Revision,
    /// Number of puts since the key was created (1 after creation).
    pub version: i64,
    /// The lease the key is bound to, if any.
    pub lease: Option<LeaseId>,
}

/// The answer to [`crate::Store::range`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeResponse {
    pub kvs: Vec<KeyValue>,
    /// True when `limit` cut the answer short.
    pub more: bool,
    /// The store revision the range was read at.
    pub revision: Revision,
}

/// How a [`Compare`] relates the stored value to the given one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    Greater,
}

/// What a [`Compare`] looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareTarget {
    /// The value bytes (compared lexicographically). A missing key never matches.
    Value(Vec<u8>),
    /// The key's mod revision; a missing key has mod revision 0.
    ModRevision(Revision),
    /// The key's create revision; a missing key has create revision 0.
    CreateRevision(Revision),
    /// The key's version; a missing key has version 0.
    Version(i64),
}

/// One condition of a [`Txn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub op: CompareOp,
    pub target: CompareTarget,
}

impl Compare {
    pub fn value(key: impl Into<String>, op: CompareOp, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            op,
            target: CompareTarget::Value(value.into()),
        }
    }
    pub fn mod_revision(key: impl Into<String>, op: CompareOp, rev: Revision) -> Self {
        Self {
            key: key.into(),
            op,
            target: CompareTarget::ModRevision(rev),
        }
    }
    pub fn create_revision(key: impl Into<String>, op: CompareOp, rev: Revision) -> Self {
        Self {
            key: key.into(),
            op,
            target: CompareTarget::CreateRevision(rev),
        }
    }
    pub fn version(key: impl Into<String>, op: CompareOp, version: i64) -> Self {
        Self {
            key: key.into(),
            op,
            target: CompareTarget::Version(version),
        }
    }
    /// Holds when `key` does not exist.
    pub fn absent(key: impl Into<String>) -> Self {
        Self::create_revision(key, CompareOp::Equal, 0)
    }
    /// Holds when `key` exists.
    pub fn present(key: impl Into<String>) -> Self {
        Self::create_revision(key, CompareOp::Greater, 0)
    }
}

/// One operation of a [`Txn`] branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    Put {
        key: String,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    },
    Delete {
        key: String,
    },
    DeletePrefix {
        prefix: String,
    },
    Get {
        key: String,
    },
}

impl TxnOp {
    pub fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self::Put {
            key: key.into(),
            value: value.into(),
            lease: None,
        }
    }
    pub fn put_with_lease(
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
        lease: LeaseId,
    ) -> Self {
        Self::Put {
            key: key.into(),
            value: value.into(),
            lease: Some(lease),
        }
    }
    pub fn delete(key: impl Into<String>) -> Self {
        Self::Delete { key: key.into() }
    }
    pub fn delete_prefix(prefix: impl Into<String>) -> Self {
        Self::DeletePrefix {
            prefix: prefix.into(),
        }
    }
    pub fn get(key: impl Into<String>) -> Self {
        Self::Get { key: key.into() }
    }
}

/// A store transaction: if every compare holds, run `success`, else run `failure`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub success: Vec<TxnOp>,
    pub failure: Vec<TxnOp>,
}

impl Txn {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn when(mut self, compares: impl IntoIterator<Item = Compare>) -> Self {
        self.compares.extend(compares);
        self
    }
    pub fn and_then(mut self, ops: impl IntoIterator<Item = TxnOp>) -> Self {
        self.success.extend(ops);
        self
    }
    pub fn or_else(mut self, ops: impl IntoIterator<Item = TxnOp>) -> Self {
        self.failure.extend(ops);
        self
    }
}

/// The result of one [`TxnOp`], in the order of the branch that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOpResponse {
    Put,
    Delete { deleted: u64 },
    Get(Option<KeyValue>),
}

/// The answer to [`crate::Store::txn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResponse {
    /// True when every compare held and the `success` branch ran.
    pub succeeded: bool,
    /// The store revision after the txn.
    pub revision: Revision,
    pub responses: Vec<TxnOpResponse>,
}

/// Whether a watched key was written or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub key: String,
    /// The new value; empty for a delete.
    pub value: Vec<u8>,
    /// The revision of the change.
    pub revision: Revision,
}

/// How many undelivered events a watch may hold before it is cancelled as too slow.
pub const WATCH_QUEUE_MAX: usize = 4096;

/// Told of every event a watch delivers (a node counts what its watches cost it).
#[derive(Clone)]
pub struct WatchTap(pub std::sync::Arc<dyn Fn(&WatchEvent) + Send + Sync>);

impl std::fmt::Debug for WatchTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatchTap")
    }
}

/// What a watch that reports its progress carries: a change, or word that every change up to
/// a revision has been delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    Event(WatchEvent),
    /// Every event of every revision up to this one has been delivered before this item
    /// (etcd's progress notification, sent when asked through [`ProgressAsker`]).
    Progress(Revision),
}

/// Asks a running watch's producer to report how far it has delivered (a
/// [`WatchItem::Progress`] on the watch, as soon as the producer is caught up).
#[derive(Clone, Debug, Default)]
pub struct ProgressAsker(std::sync::Arc<tokio::sync::Notify>);

impl ProgressAsker {
    /// Asks once; asks made before the producer got to the last one count as one.
    pub fn ask(&self) {
        self.0.notify_one();
    }

    /// Waits for the next ask (the producer's side).
    pub async fn asked(&self) {
        self.0.notified().await;
    }
}

/// Where a watch's items come from.
enum Items {
    /// A producer that only sends events.
    Events(mpsc::Receiver<StoreResult<WatchEvent>>),
    /// A producer that also reports its progress when asked.
    WithProgress(mpsc::Receiver<StoreResult<WatchItem>>, ProgressAsker),
}

/// A running prefix watch. Dropping it cancels the watch.
pub struct Watch {
    items: Items,
    _cancel: tokio_util::sync::DropGuard,
    tap: Option<WatchTap>,
}

impl Watch {
    /// Builds a watch from its event channel and a token that stops the producer when dropped.
    pub fn new(
        rx: mpsc::Receiver<StoreResult<WatchEvent>>,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self {
            items: Items::Events(rx),
            _cancel: cancel.drop_guard(),
            tap: None,
        }
    }

    /// Builds a watch whose producer answers `asker` with [`WatchItem::Progress`] items.
    pub fn with_progress(
        rx: mpsc::Receiver<StoreResult<WatchItem>>,
        asker: ProgressAsker,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self {
            items: Items::WithProgress(rx, asker),
            _cancel: cancel.drop_guard(),
            tap: None,
        }
    }

    /// The same watch, telling `tap` of each event it delivers.
    pub fn tapped(mut self, tap: WatchTap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// How to ask this watch for its progress; `None` when its producer cannot tell.
    pub fn progress_asker(&self) -> Option<ProgressAsker> {
        match &self.items {
            Items::Events(_) => None,
            Items::WithProgress(_, asker) => Some(asker.clone()),
        }
    }

    /// The next event, or the progress the producer reported; `None` when the watch has
    /// ended.
    pub async fn next_item(&mut self) -> Option<StoreResult<WatchItem>> {
        let item = match &mut self.items {
            Items::Events(rx) => rx.recv().await.map(|r| r.map(WatchItem::Event)),
            Items::WithProgress(rx, _) => rx.recv().await,
        };
        if let (Some(Ok(WatchItem::Event(ev))), Some(tap)) = (&item, &self.tap) {
            (tap.0)(ev);
        }
        item
    }

    /// The next event (progress reports are passed over); `None` when the watch has ended.
    pub async fn next(&mut self) -> Option<StoreResult<WatchEvent>> {
        loop {
            match self.next_item().await? {
                Ok(WatchItem::Progress(_)) => continue,
                Ok(WatchItem::Event(ev)) => return Some(Ok(ev)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Sends one item unless the watch was cancelled; false when the watch is over.
pub(crate) async fn deliver<T>(
    tx: &mpsc::Sender<StoreResult<T>>,
    stop: &CancellationToken,
    item: StoreResult<T>,
) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        sent = tx.send(item) => sent.is_ok(),
    }
}
