//! `CachedStore` when its store loses quorum (DESIGN §3.12): reads answer from the replica and
//! say they are stale, writes fail within their bound with "store has no quorum", nothing
//! hangs, and the replica reloads when the store comes back.
//!
//! Most cases run against `Flaky`, a `LocalStore` that can be switched to fail every call
//! (`Mode::Unavailable`) or to hang every call (`Mode::Hang`), with short timeouts. The last
//! case runs against a real etcd member that is killed.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gd_store::managed::{EtcdMemberConfig, EtcdProcess};
use gd_store::{
    CacheOptions, CachedStore, Compare, CompareOp, EtcdStore, KeyValue, RangeResponse, Revision,
    Staleness, Store, StoreError, StoreResult, Txn, TxnOp, TxnOpResponse, etcd::EtcdOptions,
    track_staleness,
};

const SHORT: Duration = Duration::from_millis(200);
/// What a call bounded by `SHORT` may take in all, on a loaded test machine.
const SHORT_MAX: Duration = Duration::from_millis(1500);
const NO_QUORUM: &str = "store unavailable: store has no quorum: ";

mod flaky;

use flaky::{Flaky, Mode};

// ---------------------------------------------------------------------------------------------
// Helpers

fn short() -> CacheOptions {
    CacheOptions {
        read_timeout: SHORT,
        write_timeout: SHORT,
        ..CacheOptions::default()
    }
}

async fn wait_until(what: &str, within: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the cache follows the store and has seen every change made so far.
async fn caught_up(cache: &CachedStore, store: &dyn Store) -> Revision {
    let rev = store.revision().await.expect("store revision");
    wait_until(
        "the cache follows the store",
        Duration::from_secs(5),
        || cache.is_synced() && cache.cached_revision() == Some(rev),
    )
    .await;
    rev
}

fn keys(resp: &RangeResponse) -> Vec<&str> {
    resp.kvs.iter().map(|kv| kv.key.as_str()).collect()
}

fn value(kv: Option<KeyValue>) -> Option<String> {
    kv.map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
}

/// Runs `f` in a staleness scope and times it.
async fn timed<F: std::future::Future>(f: F) -> (F::Output, Option<Staleness>, Duration) {
    let start = Instant::now();
    let (out, stale) = track_staleness(f).await;
    (out, stale, start.elapsed())
}

/// A store with `a`, `b/1`, `b/3` (after an update of `a` and the deletion of `b/2`), its
/// cache caught up with it. Returns the store revision.
async fn populated(opts: CacheOptions) -> (Arc<Flaky>, Arc<CachedStore>, Revision) {
    let flaky = Flaky::new().await;
    let cache = CachedStore::new(flaky.clone(), opts);
    for (k, v) in [("a", "1"), ("b/1", "x"), ("b/2", "y"), ("b/3", "z")] {
        cache.put(k, v.into(), None).await.expect("put");
    }
    // Changes made while the cache already follows the store.
    cache.put("a", b"2".to_vec(), None).await.expect("put");
    assert_eq!(cache.delete("b/2").await.expect("delete"), 1);
    let rev = caught_up(&cache, &*flaky).await;
    (flaky, cache, rev)
}

// ---------------------------------------------------------------------------------------------
// Cases

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_reads_come_from_the_store() {
    let (flaky, cache, _) = populated(short()).await;
    // Written behind the cache's back: a fresh read sees it before any watch event could.
    flaky
        .local
        .put("c", b"new".to_vec(), None)
        .await
        .expect("put");
    let (got, stale, _) = timed(cache.get("c")).await;
    assert_eq!(value(got.expect("get")), Some("new".into()));
    assert_eq!(stale, None);
    let (got, stale, _) = timed(cache.range("", 0)).await;
    assert_eq!(keys(&got.expect("range")), ["a", "b/1", "b/3", "c"]);
    assert_eq!(stale, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_from_the_replica_when_the_store_is_unavailable() {
    let (flaky, cache, rev) = populated(short()).await;
    let a_before = flaky.local.get("a").await.expect("get");
    flaky.set(Mode::Unavailable);

    let (got, stale, took) = timed(cache.get("a")).await;
    let got = got.expect("a stale get");
    assert_eq!(value(got.clone()), Some("2".into()));
    let (got, before) = (got.expect("a"), a_before.expect("a"));
    assert_eq!(
        (got.create_revision, got.mod_revision, got.version),
        (before.create_revision, before.mod_revision, before.version)
    );
    let stale = stale.expect("the answer is marked stale");
    assert_eq!(stale.revision, rev);
    assert!(stale.age() < Duration::from_secs(5));
    assert!(took < SHORT_MAX, "took {took:?}");

    let (got, stale, _) = timed(cache.get("b/2")).await;
    assert_eq!(got.expect("get of a deleted key"), None);
    assert_eq!(stale.map(|s| s.revision), Some(rev));

    let (got, stale, _) = timed(cache.range("", 0)).await;
    let got = got.expect("range");
    assert_eq!(keys(&got), ["a", "b/1", "b/3"]);
    assert_eq!((got.more, got.revision), (false, rev));
    assert!(stale.is_some());

    let got = cache.range("b/", 1).await.expect("range with a limit");
    assert_eq!((keys(&got), got.more), (vec!["b/1"], true));
    let got = cache.range("b/", 2).await.expect("range with a limit");
    assert_eq!((keys(&got), got.more), (vec!["b/1", "b/3"], false));
    assert!(cache.range("zz", 0).await.expect("range").kvs.is_empty());

    // Bad requests are still refused, not answered from the replica.
    assert!(matches!(
        cache.get("").await,
        Err(StoreError::Invalid { .. })
    ));

    // The watch broke: the replica is behind, but still answers.
    wait_until("the cache notices", Duration::from_secs(2), || {
        !cache.is_synced()
    })
    .await;
    assert_eq!(cache.cached_revision(), Some(rev));
    // Outside a scope a stale read is served all the same.
    assert_eq!(
        value(cache.get("b/3").await.expect("get")),
        Some("z".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_replica_says_how_far_behind_the_store_it_is() {
    let opts = CacheOptions {
        scope: vec!["b/".into()],
        ..short()
    };
    let (flaky, cache, _) = populated(opts).await;
    // Writes outside the scope reach no watch of the replica; asked, its watch confirms it
    // has delivered everything up to them all the same.
    for i in 0..3 {
        flaky.local.put("a", vec![i], None).await.expect("put");
    }
    let head = flaky.local.revision().await.expect("revision");
    let applied = cache.replica_applied(head, Duration::from_secs(5)).await;
    assert_eq!(applied, Some(head));
    // A watch gone silent confirms nothing more: the answer comes at the bound, behind.
    flaky.set(Mode::Hang);
    flaky
        .local
        .put("a", b"x".to_vec(), None)
        .await
        .expect("put");
    flaky
        .local
        .put("b/9", b"y".to_vec(), None)
        .await
        .expect("put");
    let head2 = flaky.local.revision().await.expect("revision");
    let start = Instant::now();
    let behind = cache
        .replica_applied(head2, SHORT)
        .await
        .expect("a replica");
    assert!(start.elapsed() < SHORT_MAX, "took {:?}", start.elapsed());
    assert_eq!(behind, head, "applied through the last confirmed revision");
    // Back up: the replica reloads and has everything again.
    flaky.set(Mode::Up);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let applied = cache.replica_applied(head2, SHORT).await;
        if applied >= Some(head2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still behind: {applied:?} < {head2}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A store that keeps no replica has nothing to say.
    assert_eq!(flaky.replica_applied(head2, SHORT).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_replica_follows_its_prefixes_and_keeps_the_last_answers_to_others() {
    let events = Arc::new(AtomicUsize::new(0));
    let counted = events.clone();
    let opts = CacheOptions {
        scope: vec!["b/".into(), "c/".into()],
        tap: Some(gd_store::WatchTap(Arc::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        }))),
        ..short()
    };
    let (flaky, cache, _) = populated(opts).await;
    let c1 = flaky
        .local
        .put("c/1", b"w".to_vec(), None)
        .await
        .expect("put");
    wait_until("the replica sees c/1", Duration::from_secs(5), || {
        cache.cached_revision() == Some(c1)
    })
    .await;
    // Outside the scope: its changes reach no watch of the replica.
    let before = events.load(Ordering::SeqCst);
    for i in 0..5 {
        flaky.local.put("a", vec![i], None).await.expect("put");
    }
    flaky
        .local
        .put("b/4", b"v".to_vec(), None)
        .await
        .expect("put");
    wait_until("the replica sees b/4", Duration::from_secs(5), || {
        cache.cached_revision().is_some() && events.load(Ordering::SeqCst) == before + 1
    })
    .await;
    // Reads outside the scope, made while the store answers: kept.
    let a = cache.get("a").await.expect("get").expect("a");
    let all = cache.range("", 0).await.expect("range");
    let rev = flaky.local.revision().await.expect("revision");
    assert_eq!(all.revision, rev);
    flaky.set(Mode::Unavailable);

    // In the scope: the replica answers, each prefix followed.
    let (got, stale, _) = timed(cache.range("b/", 0)).await;
    assert_eq!(keys(&got.expect("range")), ["b/1", "b/3", "b/4"]);
    assert_eq!(stale.map(|s| s.revision), Some(rev));
    let (got, stale, _) = timed(cache.get("c/1")).await;
    assert_eq!(value(got.expect("get")), Some("w".into()));
    assert!(stale.is_some());
    // Outside it: the last answers, as they were, stale at their own revision.
    let (got, stale, took) = timed(cache.get("a")).await;
    assert_eq!(got.expect("a kept get"), Some(a));
    assert!(stale.is_some());
    assert!(took < SHORT_MAX, "took {took:?}");
    let (got, stale, _) = timed(cache.range("", 0)).await;
    assert_eq!(got.expect("a kept range"), all);
    assert_eq!(stale.map(|s| s.revision), Some(rev));
    // A read never made cannot be answered: the store's error.
    assert!(cache.range("a", 1).await.is_err());
    assert!(cache.get("zz").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_store_does_not_hang_reads() {
    let (flaky, cache, rev) = populated(short()).await;
    flaky.set(Mode::Hang);
    let (got, stale, took) = timed(cache.get("a")).await;
    assert_eq!(value(got.expect("get")), Some("2".into()));
    assert_eq!(stale.map(|s| s.revision), Some(rev));
    assert!(took >= SHORT && took < SHORT_MAX, "took {took:?}");

    let (got, stale, took) = timed(cache.range("b/", 0)).await;
    assert_eq!(keys(&got.expect("range")), ["b/1", "b/3"]);
    assert!(stale.is_some());
    assert!(took < SHORT_MAX, "took {took:?}");

    // A watch cannot be served from the replica; it fails within its bound.
    let start = Instant::now();
    assert!(matches!(
        cache.watch("", None).await,
        Err(StoreError::Timeout { .. })
    ));
    assert!(start.elapsed() < SHORT_MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_txns_are_served_from_the_replica() {
    let (flaky, cache, rev) = populated(short()).await;
    let lease = cache.lease_grant(60).await.expect("lease");
    flaky.set(Mode::Unavailable);
    let txn = Txn::new()
        .when([
            Compare::value("a", CompareOp::Equal, "2"),
            Compare::absent("b/2"),
        ])
        .and_then([TxnOp::get("b/1"), TxnOp::get("b/2")])
        .or_else([TxnOp::get("a")]);
    let (got, stale, _) = timed(cache.txn(txn)).await;
    let got = got.expect("a read-only txn");
    assert!(got.succeeded);
    assert_eq!(got.revision, rev);
    assert!(matches!(
        got.responses.as_slice(),
        [TxnOpResponse::Get(Some(kv)), TxnOpResponse::Get(None)] if kv.value == b"x"
    ));
    assert_eq!(stale.map(|s| s.revision), Some(rev));

    let failing = Txn::new()
        .when([Compare::mod_revision("a", CompareOp::Greater, rev)])
        .or_else([TxnOp::get("a")]);
    let got = cache.txn(failing).await.expect("a read-only txn");
    assert!(!got.succeeded);
    assert!(matches!(
        got.responses.as_slice(),
        [TxnOpResponse::Get(Some(kv))] if kv.value == b"2"
    ));

    // One write op makes it a write.
    let write = Txn::new().and_then([TxnOp::get("a"), TxnOp::put("c", "1")]);
    let err = cache.txn(write).await.expect_err("a write txn fails");
    assert!(err.to_string().starts_with(NO_QUORUM), "{err}");
    let err = cache
        .lease_keep_alive(lease)
        .await
        .expect_err("keep-alive fails");
    assert!(err.to_string().starts_with(NO_QUORUM), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_fail_fast_without_quorum() {
    for mode in [Mode::Unavailable, Mode::Hang] {
        let (flaky, cache, _) = populated(short()).await;
        let lease = cache.lease_grant(60).await.expect("lease");
        flaky.set(mode);
        let results: Vec<(&str, StoreResult<()>, Duration)> = vec![
            {
                let s = Instant::now();
                let r = cache.put("a", b"3".to_vec(), None).await.map(drop);
                ("put", r, s.elapsed())
            },
            {
                let s = Instant::now();
                let r = cache.delete("a").await.map(drop);
                ("delete", r, s.elapsed())
            },
            {
                let s = Instant::now();
                let r = cache.delete_prefix("b/").await.map(drop);
                ("delete_prefix", r, s.elapsed())
            },
            {
                let s = Instant::now();
                let r = cache
                    .txn(Txn::new().and_then([TxnOp::put("c", "1")]))
                    .await
                    .map(drop);
                ("txn", r, s.elapsed())
            },
            {
                let s = Instant::now();
                let r = cache.lease_grant(60).await.map(drop);
                ("lease_grant", r, s.elapsed())
            },
            {
                let s = Instant::now();
                let r = cache.lease_revoke(lease).await.map(drop);
                ("lease_revoke", r, s.elapsed())
            },
            {
                let s = Instant::now();
                let r = cache.revision().await.map(drop);
                ("revision", r, s.elapsed())
            },
        ];
        for (what, result, took) in results {
            let err = result.expect_err(what).to_string();
            assert!(err.starts_with(NO_QUORUM), "{mode:?} {what}: {err}");
            assert!(took < SHORT_MAX, "{mode:?} {what} took {took:?}");
            match (mode, what) {
                (Mode::Unavailable | Mode::Up, _) => {
                    assert!(err.ends_with("fake: no leader"), "{err}")
                }
                (Mode::Hang, "revision") => {
                    assert_eq!(err, format!("{NO_QUORUM}no answer within 200 ms"))
                }
                (Mode::Hang, "lease_grant" | "lease_revoke") => assert!(
                    err.ends_with(
                        "no answer within 200 ms (the lease request may not have been applied)"
                    ),
                    "{err}"
                ),
                (Mode::Hang, _) => assert_eq!(
                    err,
                    format!(
                        "{NO_QUORUM}no answer within 200 ms (the write may not have been applied)"
                    )
                ),
            }
        }
        // Nothing was written.
        assert_eq!(
            value(flaky.local.get("a").await.expect("get")),
            Some("2".into())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_fails_within_the_default_two_seconds() {
    let (flaky, cache, _) = populated(CacheOptions::default()).await;
    flaky.set(Mode::Hang);
    let start = Instant::now();
    let err = cache
        .put("a", b"3".to_vec(), None)
        .await
        .expect_err("the put fails");
    let took = start.elapsed();
    assert_eq!(
        err.to_string(),
        "store unavailable: store has no quorum: no answer within 2 s \
         (the write may not have been applied)"
    );
    assert!(err.retryable());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2500),
        "took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_store_is_down_calls_give_up_sooner() {
    let opts = CacheOptions {
        read_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
        down_timeout: Duration::from_millis(100),
        ..CacheOptions::default()
    };
    let (flaky, cache, _) = populated(opts).await;
    // Down: the replica's watch failed and so did a call.
    flaky.set(Mode::Unavailable);
    wait_until(
        "the replica stops following",
        Duration::from_secs(5),
        || !cache.is_synced(),
    )
    .await;
    assert!(cache.put("a", b"3".to_vec(), None).await.is_err());
    flaky.set(Mode::Hang);
    for _ in 0..3 {
        let start = Instant::now();
        let err = cache
            .put("a", b"3".to_vec(), None)
            .await
            .expect_err("the put fails");
        let took = start.elapsed();
        assert_eq!(
            err.to_string(),
            "store unavailable: store has no quorum: no answer within 100 ms \
             (the write may not have been applied)"
        );
        assert!(took < Duration::from_millis(600), "took {took:?}");
        let start = Instant::now();
        let (got, stale) = track_staleness(cache.get("a")).await;
        assert_eq!(value(got.expect("a stale get")), Some("2".into()));
        assert!(stale.is_some());
        assert!(start.elapsed() < Duration::from_millis(600));
    }
    // Back: the first answer ends the outage, and a silent store gets the whole bound again.
    flaky.set(Mode::Up);
    cache.put("a", b"4".to_vec(), None).await.expect("put");
    caught_up(&cache, &*flaky).await;
    flaky.set(Mode::Hang);
    let start = Instant::now();
    assert!(cache.put("a", b"5".to_vec(), None).await.is_err());
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_that_never_loaded_returns_the_error() {
    let flaky = Flaky::new().await;
    flaky
        .local
        .put("a", b"1".to_vec(), None)
        .await
        .expect("put");
    flaky.set(Mode::Unavailable);
    let cache = CachedStore::new(flaky.clone(), short());
    let (got, stale, _) = timed(cache.get("a")).await;
    assert!(
        matches!(got, Err(StoreError::Unavailable { ref reason })
            if reason == "store has no quorum: fake: no leader, and this node keeps no copy of what was asked"),
        "{got:?}"
    );
    assert_eq!(stale, None);
    assert!(cache.range("", 0).await.is_err());
    assert_eq!(cache.cached_revision(), None);
    assert!(!cache.is_synced());

    flaky.set(Mode::Hang);
    let (got, _, took) = timed(cache.get("a")).await;
    assert!(
        matches!(got, Err(StoreError::Unavailable { ref reason })
            if reason.starts_with("store has no quorum: no answer within ")),
        "{got:?}"
    );
    assert!(took < SHORT_MAX, "took {took:?}");

    // Once the store is back, the cache loads.
    flaky.set(Mode::Up);
    caught_up(&cache, &*flaky).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replica_reloads_when_the_store_comes_back() {
    for outage in [Mode::Unavailable, Mode::Hang] {
        let (flaky, cache, rev) = populated(short()).await;
        flaky.set(outage);
        let (got, stale, _) = timed(cache.get("a")).await;
        assert_eq!(value(got.expect("get")), Some("2".into()));
        assert_eq!(stale.map(|s| s.revision), Some(rev));

        // A change the cache cannot see (made by another node, say), then the store returns.
        let changed = flaky
            .local
            .put("a", b"other".to_vec(), None)
            .await
            .expect("put");
        flaky.local.delete("b/1").await.expect("delete");
        let after = changed + 1;
        flaky.set(Mode::Up);
        wait_until(
            "the cache reloads after the outage",
            Duration::from_secs(5),
            || cache.is_synced() && cache.cached_revision() == Some(after),
        )
        .await;
        let (got, stale, _) = timed(cache.get("a")).await;
        assert_eq!(value(got.expect("get")), Some("other".into()));
        assert_eq!(stale, None, "{outage:?}: reads are fresh again");

        // And it follows the store again: later changes reach the replica.
        let last = cache.put("c", b"1".to_vec(), None).await.expect("put");
        caught_up(&cache, &*flaky).await;
        flaky.set(Mode::Unavailable);
        let (got, stale, _) = timed(cache.range("", 0)).await;
        assert_eq!(keys(&got.expect("range")), ["a", "b/3", "c"]);
        assert_eq!(stale.map(|s| s.revision), Some(last));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_too_large_disables_the_cache() {
    // Too large at the first load.
    let flaky = Flaky::new().await;
    for k in ["a", "b", "c"] {
        flaky.local.put(k, b"1".to_vec(), None).await.expect("put");
    }
    let opts = CacheOptions {
        max_keys: 2,
        ..short()
    };
    let cache = CachedStore::new(flaky.clone(), opts.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cache.cached_revision(), None);
    flaky.set(Mode::Unavailable);
    assert!(cache.get("a").await.is_err());

    // Grown too large while following.
    let flaky = Flaky::new().await;
    flaky
        .local
        .put("a", b"1".to_vec(), None)
        .await
        .expect("put");
    let cache = CachedStore::new(flaky.clone(), opts);
    caught_up(&cache, &*flaky).await;
    cache.put("a", b"2".to_vec(), None).await.expect("put");
    cache.put("b", b"1".to_vec(), None).await.expect("put");
    cache.put("c", b"1".to_vec(), None).await.expect("put");
    wait_until("the cache gives up", Duration::from_secs(2), || {
        cache.cached_revision().is_none()
    })
    .await;
    assert!(!cache.is_synced());
    flaky.set(Mode::Unavailable);
    assert!(cache.get("a").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_cache_stops_its_watch() {
    let (flaky, cache, _) = populated(short()).await;
    assert_eq!(flaky.open_watches.load(Ordering::SeqCst), 1);
    drop(cache);
    wait_until(
        "the cache's watch is closed",
        Duration::from_secs(2),
        || flaky.open_watches.load(Ordering::SeqCst) == 0,
    )
    .await;
    assert_eq!(Arc::strong_count(&flaky), 1, "the task let go of the store");
}

// ---------------------------------------------------------------------------------------------
// Against a real etcd

fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    (
        a.local_addr().expect("port").port(),
        b.local_addr().expect("port").port(),
    )
}

async fn start_etcd(dir: &std::path::Path) -> EtcdProcess {
    let mut last_error = None;
    // A port picked free can be taken by a parallel test before etcd binds it: retry.
    for attempt in 0..3 {
        let (client, peer) = free_ports();
        let cfg = EtcdMemberConfig::new(
            "cache",
            dir.join(format!("etcd-{attempt}")),
            format!("http://127.0.0.1:{client}"),
            format!("http://127.0.0.1:{peer}"),
        );
        match EtcdProcess::start(cfg).await {
            Ok(etcd) => return etcd,
            Err(e) if e.to_string().contains("not found") => {
                panic!("this test needs an etcd binary: {e}")
            }
            Err(e) => last_error = Some(e),
        }
    }
    panic!("cannot start etcd: {last_error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_killed_reads_go_stale_and_writes_fail_fast() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let etcd = start_etcd(dir.path()).await;
    let url = etcd.client_url().to_owned();
    let store = EtcdStore::connect(std::slice::from_ref(&url), EtcdOptions::default())
        .await
        .expect("connect to etcd");
    let cache = CachedStore::new(store, CacheOptions::default());
    for (k, v) in [("peers/1", "one"), ("peers/2", "two"), ("volumes/v", "vol")] {
        cache.put(k, v.into(), None).await.expect("put");
    }
    cache.delete("peers/2").await.expect("delete");
    let rev = caught_up(&cache, &*cache).await;

    etcd.kill().await.expect("kill etcd");
    let bound = Duration::from_millis(2500);

    let (got, stale, took) = timed(cache.get("peers/1")).await;
    assert_eq!(value(got.expect("a stale get")), Some("one".into()));
    assert_eq!(stale.map(|s| s.revision), Some(rev));
    assert!(took < bound, "get took {took:?}");

    let (got, stale, took) = timed(cache.range("peers/", 0)).await;
    assert_eq!(keys(&got.expect("a stale range")), ["peers/1"]);
    assert_eq!(stale.map(|s| s.revision), Some(rev));
    assert!(took < bound, "range took {took:?}");

    let start = Instant::now();
    let err = cache
        .put("peers/3", b"three".to_vec(), None)
        .await
        .expect_err("a put without etcd fails");
    let took = start.elapsed();
    assert!(err.to_string().starts_with(NO_QUORUM), "{err}");
    assert!(took < bound, "put took {took:?}");

    wait_until("the cache notices", Duration::from_secs(5), || {
        !cache.is_synced()
    })
    .await;
    assert_eq!(cache.cached_revision(), Some(rev));
}
