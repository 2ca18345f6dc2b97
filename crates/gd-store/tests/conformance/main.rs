//! The store conformance suite: one set of cases, run against every backend.
//!
//! The daemon is written against the `Store` trait and tested mostly on the local backend, so
//! the local backend must behave like etcd in everything the daemon can observe: revisions,
//! txn compares, watch order and replay, lease expiry and revocation, and the locks built on
//! them. Each case is an `async fn(&Backend)`; the `conformance!` macro instantiates it once
//! per backend: `local::<case>` (redb in a temporary directory) and `etcd::<case>` (a real
//! etcd member started with `managed::EtcdProcess` on free loopback ports, one per test, so
//! tests stay independent and can run in parallel). A missing etcd binary fails the etcd
//! tests with a clear message; nothing is skipped.
//!
//! The cases live in one file per subject (`kv`, `watch`, `lease`, `locks`), the backends in
//! `backend`, the shared helpers in `support`; behaviour of one backend only is tested in
//! `local_only` (reopen, bad paths; history bounds are in `src/local/tests.rs`) and
//! `etcd_only` (compaction, failures, the managed member).

mod backend;
mod etcd_only;
mod kv;
mod lease;
mod local_only;
mod locks;
mod support;
mod watch;

use std::time::Duration;

use backend::Backend;
use kv::{kv_basics, namespaced, revisions, txn_compares};
use lease::{lease_expiry_and_keep_alive, lease_revoke};
use locks::{lock_basics, lock_contention};
use watch::{watch_from_now, watch_progress, watch_replays_from_revision};

/// The lease TTL the lease cases use: etcd's default minimum TTL is 2 s (1.5 × election
/// timeout, rounded up), so shorter TTLs are silently raised there.
const TTL: i64 = 2;
const EVENT_WAIT: Duration = Duration::from_secs(5);

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::Backend::local().await;
                    if let Err(e) = super::$case(&backend).await {
                        panic!("store error: {e}");
                    }
                    backend.shutdown().await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::Backend::etcd().await;
                    if let Err(e) = super::$case(&backend).await {
                        panic!("store error: {e}");
                    }
                    backend.shutdown().await;
                }
            )*
        }
    };
}

conformance!(
    kv_basics,
    revisions,
    txn_compares,
    watch_replays_from_revision,
    watch_from_now,
    watch_progress,
    lease_expiry_and_keep_alive,
    lease_revoke,
    lock_basics,
    lock_contention,
    namespaced,
);
