//! The etcd backend: the [`Store`] trait over a real etcd v3 cluster, with `etcd-client`.
//!
//! This is a thin mapping, because the trait was shaped after etcd: what it adds is the part
//! etcd-client leaves to its caller.
//! - **Every call is bounded.** etcd-client waits as long as its channel does (a request to an
//!   unreachable member can wait forever for a connection), so each request runs under
//!   [`EtcdOptions::request_timeout`] and fails with [`StoreError::Timeout`].
//! - **Errors are ours.** gRPC statuses become [`StoreError`] variants: unreachable or no
//!   leader → `Unavailable`, "requested lease not found" → `LeaseNotFound`, refused requests →
//!   `Invalid`; a watch that etcd cancels because its start revision was compacted ends with
//!   `Compacted`.
//! - **Quorum loss fails fast.** Requests carry etcd's "require leader" flag by default, so
//!   without a leader they fail at once instead of hanging, and watches end with an error
//!   the caller can act on (DESIGN §3.12).
//! - **Watches are registered before `watch` returns**: it waits for etcd's "created"
//!   answer, so a watch from `None` sees every change made after the call returns.
//! - The same request checks as the local backend run before a request is sent
//!   (empty keys, txn shape, TTL range), so both backends refuse the same requests.
//!
//! Keys are UTF-8 strings in the trait. A key that is not UTF-8 (written by another program)
//! cannot be represented: `range` and watches skip it with a warning, rather than failing a
//! whole listing because of one foreign key.

use crate::types::deliver;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client as ec;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    Compare, CompareOp, CompareTarget, EventKind, KeyValue, LeaseId, ProgressAsker, RangeResponse,
    Revision, Store, StoreError, StoreResult, Txn, TxnOp, TxnOpResponse, TxnResponse,
    WATCH_QUEUE_MAX, Watch, WatchItem, validate,
};

mod channel;
mod convert;
mod options;
mod refresh;
#[cfg(test)]
mod tests;

use convert::*;
pub use options::EtcdOptions;

// gRPC status codes (tonic::Code as i32), so this crate needs no direct tonic dependency.
const GRPC_INVALID_ARGUMENT: i32 = 3;
const GRPC_DEADLINE_EXCEEDED: i32 = 4;
const GRPC_NOT_FOUND: i32 = 5;
const GRPC_FAILED_PRECONDITION: i32 = 9;
const GRPC_OUT_OF_RANGE: i32 = 11;

/// A [`Store`] backed by an etcd v3 cluster.
pub struct EtcdStore {
    client: ec::Client,
    endpoints: Vec<String>,
    opts: EtcdOptions,
    /// The leases' refresh streams kept open.
    refreshers: refresh::Refreshers,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unavailable(reason: impl Into<String>) -> StoreError {
    StoreError::Unavailable {
        reason: reason.into(),
    }
}

/// `head` followed by the causes it does not already say, on one line: tonic's errors say
/// little at the top and repeat themselves below.
fn with_causes(mut head: String, mut cause: Option<&dyn std::error::Error>) -> String {
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !head.contains(&text) {
            head.push_str(": ");
            head.push_str(&text);
        }
        cause = inner.source();
    }
    head
}

/// An error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    with_causes(e.to_string(), e.source())
}

/// Maps an etcd-client error. `lease` names the lease a "lease not found" refers to (0 when
/// the request had none); `timeout` is the request bound, for deadline errors.
fn map_error(e: ec::Error, lease: LeaseId, timeout: Duration) -> StoreError {
    match e {
        ec::Error::GRpcStatus(status) => {
            let code = i32::from(status.code());
            let msg = status.message();
            let msg = msg.strip_prefix("etcdserver: ").unwrap_or(msg);
            // A client-side status ("tcp connect error") carries the real cause as its source.
            let msg = with_causes(msg.to_owned(), std::error::Error::source(&status));
            if msg.contains("lease not found") {
                return StoreError::LeaseNotFound { lease };
            }
            // The client gave up on the connection the request was on (see
            // `EtcdOptions::keep_alive`): the member went silent, as behind a network cut.
            if msg.contains("keep-alive timed out") {
                return unavailable(
                    "the etcd member this request went to stopped answering (its connection \
                     was given up on)",
                );
            }
            match code {
                GRPC_DEADLINE_EXCEEDED => StoreError::Timeout {
                    timeout_ms: ms(timeout),
                },
                GRPC_INVALID_ARGUMENT
                | GRPC_OUT_OF_RANGE
                | GRPC_FAILED_PRECONDITION
                | GRPC_NOT_FOUND => StoreError::Invalid {
                    reason: format!("etcd refused: {msg}"),
                },
                _ => unavailable(format!("etcd: {msg}")),
            }
        }
        ec::Error::LeaseKeepAliveError(msg) if msg.contains("not found") => {
            StoreError::LeaseNotFound { lease }
        }
        ec::Error::InvalidArgs(reason) => StoreError::Invalid { reason },
        ec::Error::InvalidUri(e) => StoreError::Invalid {
            reason: format!("bad etcd endpoint: {e}"),
        },
        ec::Error::TransportError(e) => unavailable(format!("cannot reach etcd: {}", chain(&e))),
        other => unavailable(format!("etcd: {}", chain(&other))),
    }
}

impl EtcdStore {
    /// Keys from `start` (included) to the end of `prefix`, at most `limit` (`0` = all).
    async fn range_from(
        &self,
        start: Vec<u8>,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        // etcd takes no empty key: the first key of all is "\0".
        let start = if start.is_empty() { vec![0] } else { start };
        let mut opts = ec::GetOptions::new().with_range(prefix_end(prefix.as_bytes()));
        if limit > 0 {
            opts = opts.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let resp = self
            .call_read(0, || {
                let mut kv = self.client.kv_client();
                let (opts, start) = (opts.clone(), start.clone());
                async move { kv.get(start, Some(opts)).await }
            })
            .await?;
        let revision = header_revision(resp.header())?;
        let mut kvs = Vec::with_capacity(resp.kvs().len());
        for kv in resp.kvs() {
            match convert_kv(kv) {
                Ok(kv) => kvs.push(kv),
                Err(e) => tracing::warn!(error = %e, "skipping a key in a range"),
            }
        }
        Ok(RangeResponse {
            kvs,
            more: resp.more(),
            revision,
        })
    }

    /// Connects to etcd at `endpoints` (URLs such as `http://127.0.0.1:2379`) and checks,
    /// within [`EtcdOptions::connect_timeout`], that it answers; fails with `Unavailable`
    /// naming the endpoints otherwise.
    pub async fn connect(endpoints: &[String], opts: EtcdOptions) -> StoreResult<Arc<EtcdStore>> {
        let store = Self::connect_lazy(endpoints, opts).await?;
        let bound = store.opts.connect_timeout;
        match tokio::time::timeout(bound, store.revision()).await {
            Ok(Ok(_)) => Ok(store),
            Ok(Err(e)) => {
                let why = match e {
                    StoreError::Unavailable { reason } => reason,
                    other => other.to_string(),
                };
                Err(unavailable(format!(
                    "etcd at {} does not answer: {why}",
                    endpoints.join(",")
                )))
            }
            Err(_) => Err(unavailable(format!(
                "etcd at {} did not answer within {} ms",
                endpoints.join(","),
                ms(bound)
            ))),
        }
    }

    /// Like [`EtcdStore::connect`] but without the check: the connection is made by the first
    /// request. For a daemon that must start while its etcd is still down.
    pub async fn connect_lazy(
        endpoints: &[String],
        opts: EtcdOptions,
    ) -> StoreResult<Arc<EtcdStore>> {
        if endpoints.is_empty() {
            return Err(StoreError::Invalid {
                reason: "no etcd endpoints given".into(),
            });
        }
        let mut co = ec::ConnectOptions::new()
            .with_connect_timeout(opts.connect_timeout)
            .with_require_leader(opts.require_leader)
            // Detect a dead member under a long-lived watch. No pings on an idle connection:
            // etcd answers those with GOAWAY ("too many pings").
            .with_keep_alive(opts.keep_alive.0, opts.keep_alive.1)
            .with_keep_alive_while_idle(false);
        if let Some((user, password)) = &opts.user {
            co = co.with_user(user.clone(), password.clone());
        }
        let client = match tokio::time::timeout(
            opts.connect_timeout,
            ec::Client::connect_with_balanced_channel(endpoints, Some(co), channel::Tuned),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(map_error(e, 0, opts.connect_timeout)),
            Err(_) => {
                return Err(StoreError::Timeout {
                    timeout_ms: ms(opts.connect_timeout),
                });
            }
        };
        Ok(Arc::new(EtcdStore {
            client,
            endpoints: endpoints.to_vec(),
            opts,
            refreshers: refresh::Refreshers::default(),
        }))
    }

    /// The endpoints this store was connected to.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The underlying etcd-client, for what the [`Store`] trait does not cover (membership).
    pub fn client(&self) -> &ec::Client {
        &self.client
    }

    /// The members of the etcd cluster.
    pub async fn members(&self) -> StoreResult<Vec<EtcdMember>> {
        let resp = self
            .call_read(0, || {
                let mut c = self.client.clone();
                async move { c.member_list().await }
            })
            .await?;
        Ok(resp.members().iter().map(EtcdMember::from).collect())
    }

    /// Adds a learner (a non-voting member) with the given peer URL. Returns the new member's
    /// id and the `--initial-cluster` value the new member must start with.
    pub async fn add_learner(&self, name: &str, peer_url: &str) -> StoreResult<(u64, String)> {
        // Not retried: an add that reached etcd but whose answer was lost must not add twice.
        let mut c = self.client.clone();
        let opts = ec::MemberAddOptions::new().with_is_learner();
        let resp = self
            .call_once(0, c.member_add([peer_url], Some(opts)))
            .await?;
        let id = resp
            .member()
            .map(|m| m.id())
            .ok_or_else(|| unavailable("etcd added a member but did not say which"))?;
        let initial = resp
            .member_list()
            .iter()
            .filter_map(|m| {
                let mname = if m.id() == id { name } else { m.name() };
                // Members that never started have no name yet; etcd accepts them unnamed only
                // when they are the one starting, so skip the others.
                (!mname.is_empty()).then(|| {
                    m.peer_urls()
                        .iter()
                        .map(|u| format!("{mname}={u}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
            })
            .collect::<Vec<_>>()
            .join(",");
        Ok((id, initial))
    }

    /// Changes the peer URL a member advertises to the others (idempotent: an update to the
    /// same URL changes nothing).
    pub async fn update_peer_url(&self, id: u64, peer_url: &str) -> StoreResult<()> {
        self.call(0, || {
            let mut c = self.client.clone();
            let urls = vec![peer_url.to_owned()];
            async move { c.member_update(id, urls).await }
        })
        .await
        .map(drop)
    }

    /// Promotes a learner to a voter. Fails while the learner has not caught up.
    pub async fn promote(&self, id: u64) -> StoreResult<()> {
        self.call(0, || {
            let mut c = self.client.clone();
            async move { c.member_promote(id).await }
        })
        .await
        .map(drop)
    }

    /// Removes a member. Removing a member that is already gone is not an error.
    pub async fn remove_member(&self, id: u64) -> StoreResult<()> {
        if !self.members().await?.iter().any(|m| m.id == id) {
            return Ok(());
        }
        self.call(0, || {
            let mut c = self.client.clone();
            async move { c.member_remove(id).await }
        })
        .await
        .map(drop)
    }

    /// Makes the client use exactly `endpoints` (adding new ones before removing old ones).
    pub async fn set_endpoints(&self, old: &[String], endpoints: &[String]) -> StoreResult<()> {
        for e in endpoints.iter().filter(|e| !old.contains(e)) {
            self.client
                .add_endpoint(e)
                .await
                .map_err(|err| unavailable(format!("cannot add endpoint {e}: {err}")))?;
        }
        for e in old.iter().filter(|e| !endpoints.contains(e)) {
            let _ = self.client.remove_endpoint(e).await;
        }
        Ok(())
    }

    /// Runs one request under the request timeout and maps its error. A request that could
    /// not even be sent (the endpoint it was routed to refuses connections: a member that is
    /// down) is retried within the same bound, so the client's balancer picks another member.
    async fn call<T, F, Fut>(&self, lease: LeaseId, attempt: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ec::Error>>,
    {
        self.repeating(lease, false, attempt).await
    }

    /// [`Self::call`] for a request that changes nothing (a read, a watch, a keep-alive), which
    /// may be repeated whatever happened to it: one that failed on the way (the member it was
    /// routed to died mid-request: "connection reset") is sent again within the same bound.
    async fn call_read<T, F, Fut>(&self, lease: LeaseId, attempt: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ec::Error>>,
    {
        self.repeating(lease, true, attempt).await
    }

    /// Sends a request again, within the request bound, while it certainly applied nothing,
    /// or (`changes_nothing`) while it failed in a way worth another try; the bound passed,
    /// the last failure is the answer.
    async fn repeating<T, F, Fut>(
        &self,
        lease: LeaseId,
        changes_nothing: bool,
        mut attempt: F,
    ) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ec::Error>>,
    {
        let bound = self.opts.request_timeout;
        let mut last: Option<StoreError> = None;
        let retrying = async {
            loop {
                let e = match attempt().await {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                };
                let not_sent = not_sent(&e);
                let mapped = map_error(e, lease, bound);
                let again = not_sent || (changes_nothing && mapped.retryable());
                if !again {
                    return Err(mapped);
                }
                tracing::debug!(error = %mapped, "etcd request failed on the way; sending it again");
                last = Some(mapped);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        match tokio::time::timeout(bound, retrying).await {
            Ok(r) => r,
            Err(_) => Err(last.unwrap_or(StoreError::Timeout {
                timeout_ms: ms(bound),
            })),
        }
    }

    /// Runs one request once under the request timeout (for requests that must not repeat).
    async fn call_once<T>(
        &self,
        lease: LeaseId,
        fut: impl Future<Output = Result<T, ec::Error>>,
    ) -> StoreResult<T> {
        let bound = self.opts.request_timeout;
        match tokio::time::timeout(bound, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_error(e, lease, bound)),
            Err(_) => Err(StoreError::Timeout {
                timeout_ms: ms(bound),
            }),
        }
    }
}

/// Whether the request certainly applied nothing (so repeating it is safe).
fn not_sent(e: &ec::Error) -> bool {
    let text = match e {
        ec::Error::GRpcStatus(status) => with_causes(
            status.message().to_owned(),
            std::error::Error::source(status),
        ),
        ec::Error::TransportError(t) => with_causes(t.to_string(), std::error::Error::source(t)),
        _ => return false,
    };
    // "raft: stopped": the request reached a member that was just removed from the cluster
    // and is shutting down; it applied nothing. "no leader": the member refused it before
    // looking at it (the client requires a leader), as during an election, which a write
    // sent again within its bound rides out.
    text.contains("tcp connect error")
        || text.contains("Connection refused")
        || text.contains("raft: stopped")
        || text.contains("etcdserver: no leader")
}

/// Handles one watch response; false when the watch is over.
async fn forward_response(
    resp: &ec::WatchResponse,
    next: &mut Revision,
    tx: &mpsc::Sender<StoreResult<WatchItem>>,
    stop: &CancellationToken,
) -> bool {
    for ev in resp.events() {
        match convert_event(ev) {
            None => {}
            Some(Ok(ev)) => {
                *next = ev.revision + 1;
                if !deliver(tx, stop, Ok(WatchItem::Event(ev))).await {
                    return false;
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "skipping a watch event"),
        }
    }
    if resp.canceled() {
        let err = if resp.compact_revision() > 0 {
            StoreError::Compacted {
                requested: *next,
                compacted: resp.compact_revision(),
            }
        } else {
            unavailable(format!(
                "etcd cancelled the watch: {}",
                resp.cancel_reason()
            ))
        };
        deliver(tx, stop, Err(err)).await;
        return false;
    }
    // A response with nothing in it is etcd's progress notification: its header names the
    // revision the watch has delivered everything up to.
    if resp.events().is_empty()
        && !resp.created()
        && let Ok(rev) = header_revision(resp.header())
    {
        return deliver(tx, stop, Ok(WatchItem::Progress(rev))).await;
    }
    true
}

/// The task behind one etcd watch: forwards its events into the bounded channel, and asks
/// etcd for the watch's progress when its consumer does. Dropping the stream (when this
/// returns) cancels the watch on the server.
async fn forward_watch(
    mut stream: ec::WatchStream,
    first: ec::WatchResponse,
    mut next: Revision,
    tx: mpsc::Sender<StoreResult<WatchItem>>,
    asker: ProgressAsker,
    stop: CancellationToken,
    timeout: Duration,
) {
    if !forward_response(&first, &mut next, &tx, &stop).await {
        return;
    }
    loop {
        let msg = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            () = asker.asked() => {
                // A stream that cannot take the request is broken: its next message says so.
                if let Err(e) = stream.request_progress().await {
                    tracing::debug!(error = %e, "could not ask etcd for a watch's progress");
                }
                continue;
            }
            msg = stream.message() => msg,
        };
        match msg {
            Ok(Some(resp)) => {
                if !forward_response(&resp, &mut next, &tx, &stop).await {
                    return;
                }
            }
            Ok(None) => {
                deliver(&tx, &stop, Err(unavailable("etcd closed the watch stream"))).await;
                return;
            }
            Err(e) => {
                deliver(&tx, &stop, Err(map_error(e, 0, timeout))).await;
                return;
            }
        }
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        validate::key(key)?;
        let resp = self
            .call_read(0, || {
                let mut kv = self.client.kv_client();
                async move { kv.get(key, None).await }
            })
            .await?;
        resp.kvs().first().map(convert_kv).transpose()
    }

    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        self.range_from(prefix.as_bytes().to_vec(), prefix, limit)
            .await
    }

    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        // The first key after `prefix + after` is that key with a NUL byte appended.
        let mut start = format!("{prefix}{after}").into_bytes();
        start.push(0);
        self.range_from(start, prefix, limit).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        validate::put(key, &value)?;
        let opts = lease.map(|l| ec::PutOptions::new().with_lease(l));
        let resp = self
            .call(lease.unwrap_or(0), || {
                let mut kv = self.client.kv_client();
                let (value, opts) = (value.clone(), opts.clone());
                async move { kv.put(key, value, opts).await }
            })
            .await?;
        header_revision(resp.header())
    }

    async fn delete(&self, key: &str) -> StoreResult<u64> {
        validate::key(key)?;
        let resp = self
            .call(0, || {
                let mut kv = self.client.kv_client();
                async move { kv.delete(key, None).await }
            })
            .await?;
        Ok(u64::try_from(resp.deleted()).unwrap_or(0))
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        let resp = self
            .call(0, || {
                let mut kv = self.client.kv_client();
                let opts = ec::DeleteOptions::new().with_prefix();
                async move { kv.delete(prefix, Some(opts)).await }
            })
            .await?;
        Ok(u64::try_from(resp.deleted()).unwrap_or(0))
    }

    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        validate::txn(&txn)?;
        // The lease a "lease not found" refusal can refer to.
        let lease = txn
            .success
            .iter()
            .chain(&txn.failure)
            .find_map(|op| match op {
                TxnOp::Put { lease, .. } => *lease,
                _ => None,
            })
            .unwrap_or(0);
        let read_only = txn
            .success
            .iter()
            .chain(&txn.failure)
            .all(|op| matches!(op, TxnOp::Get { .. }));
        let request = ec::Txn::new()
            .when(txn.compares.into_iter().map(compare).collect::<Vec<_>>())
            .and_then(txn.success.into_iter().map(txn_op).collect::<Vec<_>>())
            .or_else(txn.failure.into_iter().map(txn_op).collect::<Vec<_>>());
        let attempt = || {
            let mut kv = self.client.kv_client();
            let request = request.clone();
            async move { kv.txn(request).await }
        };
        let resp = if read_only {
            self.call_read(lease, attempt).await?
        } else {
            self.call(lease, attempt).await?
        };
        let revision = header_revision(resp.header())?;
        let mut responses = Vec::new();
        for r in resp.op_responses() {
            responses.push(match r {
                ec::TxnOpResponse::Put(_) => TxnOpResponse::Put,
                ec::TxnOpResponse::Delete(d) => TxnOpResponse::Delete {
                    deleted: u64::try_from(d.deleted()).unwrap_or(0),
                },
                ec::TxnOpResponse::Get(g) => {
                    TxnOpResponse::Get(g.kvs().first().map(convert_kv).transpose()?)
                }
                ec::TxnOpResponse::Txn(_) => {
                    return Err(unavailable("etcd answered a nested txn that was not sent"));
                }
            });
        }
        Ok(TxnResponse {
            succeeded: resp.succeeded(),
            revision,
            responses,
        })
    }

    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch> {
        validate::start_revision(start_revision)?;
        let mut opts = ec::WatchOptions::new().with_prefix();
        if let Some(rev) = start_revision {
            opts = opts.with_start_revision(rev);
        }
        // Wait for etcd's first answer ("created"): from then on no change can be missed.
        let (stream, first) = self
            .call_read(0, || {
                let mut client = self.client.watch_client();
                let opts = opts.clone();
                async move {
                    let mut stream = client.watch(prefix, Some(opts)).await?;
                    let first = stream.message().await?;
                    Ok((stream, first))
                }
            })
            .await?;
        let first = first.ok_or_else(|| unavailable("etcd closed the watch stream at once"))?;
        let next = match start_revision {
            Some(rev) => rev,
            None => header_revision(first.header())? + 1,
        };
        let (tx, rx) = mpsc::channel(WATCH_QUEUE_MAX);
        let cancel = CancellationToken::new();
        let asker = ProgressAsker::default();
        tokio::spawn(forward_watch(
            stream,
            first,
            next,
            tx,
            asker.clone(),
            cancel.clone(),
            self.opts.request_timeout,
        ));
        Ok(Watch::with_progress(rx, asker, cancel))
    }

    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId> {
        validate::ttl(ttl_s)?;
        let resp = self
            .call(0, || {
                let mut lc = self.client.lease_client();
                async move { lc.grant(ttl_s, None).await }
            })
            .await?;
        if !resp.error().is_empty() {
            return Err(unavailable(format!(
                "etcd refused the lease: {}",
                resp.error()
            )));
        }
        Ok(resp.id())
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64> {
        // The open stream goes to the first attempt only: one that failed is not used again.
        let mut open = self.refreshers.take(lease);
        let (resp, stream) = self
            .call_read(lease, || {
                let open = open.take();
                let mut lc = self.client.lease_client();
                async move {
                    let mut stream = match open {
                        Some(stream) => stream,
                        None => refresh::Kept::open(&mut lc, lease).await?,
                    };
                    let resp = stream.refresh().await?;
                    Ok((resp, stream))
                }
            })
            .await?;
        self.refreshers.answered(lease, resp, stream)
    }

    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()> {
        self.refreshers.forget(lease);
        self.call(lease, || {
            let mut lc = self.client.lease_client();
            async move { lc.revoke(lease).await }
        })
        .await?;
        Ok(())
    }

    async fn revision(&self) -> StoreResult<Revision> {
        // A linearizable read of one (absent) key: its header carries the store revision.
        let resp = self
            .call_read(0, || {
                let mut kv = self.client.kv_client();
                async move {
                    kv.get("\0", Some(ec::GetOptions::new().with_count_only()))
                        .await
                }
            })
            .await?;
        header_revision(resp.header())
    }
}

/// A member of the etcd cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    pub id: u64,
    /// Empty until the member has started.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

impl From<&ec::Member> for EtcdMember {
    fn from(m: &ec::Member) -> Self {
        EtcdMember {
            id: m.id(),
            name: m.name().to_owned(),
            peer_urls: m.peer_urls().to_vec(),
            client_urls: m.client_urls().to_vec(),
            is_learner: m.is_learner(),
        }
    }
}
