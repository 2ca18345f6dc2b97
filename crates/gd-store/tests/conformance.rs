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
//! Local-only behaviour (reopen, history bounds) is tested at the end of this file and in
//! `src/local.rs`.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gd_store::lock::{self, Held};
use gd_store::managed::{EtcdMemberConfig, EtcdProcess};
use gd_store::{
    Compare, CompareOp, EtcdStore, EventKind, LocalStore, Namespaced, Store, StoreError,
    StoreResult, Txn, TxnOp, TxnOpResponse, Watch, WatchEvent, cluster_namespace,
    etcd::EtcdOptions,
};

/// The lease TTL the lease cases use: etcd's default minimum TTL is 2 s (1.5 × election
/// timeout, rounded up), so shorter TTLs are silently raised there.
const TTL: i64 = 2;
const EVENT_WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Backends

enum Kind {
    Local,
    Etcd { url: String },
}

struct Backend {
    kind: Kind,
    store: Arc<dyn Store>,
    etcd: Option<EtcdProcess>,
    _dir: tempfile::TempDir,
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// Two distinct free ports on 127.0.0.1 (both listeners are held until both are picked).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    (
        a.local_addr().expect("port").port(),
        b.local_addr().expect("port").port(),
    )
}

impl Backend {
    async fn local() -> Backend {
        let dir = tempdir();
        let store = LocalStore::open(&dir.path().join("store.redb"))
            .await
            .expect("open the local store");
        Backend {
            kind: Kind::Local,
            store,
            etcd: None,
            _dir: dir,
        }
    }

    async fn etcd() -> Backend {
        let dir = tempdir();
        let mut last_error = None;
        // A port picked free can be taken by a parallel test before etcd binds it: retry.
        for attempt in 0..3 {
            let (client, peer) = free_ports();
            let cfg = EtcdMemberConfig::new(
                "conformance",
                dir.path().join(format!("etcd-{attempt}")),
                format!("http://127.0.0.1:{client}"),
                format!("http://127.0.0.1:{peer}"),
            );
            match EtcdProcess::start(cfg).await {
                Ok(etcd) => {
                    let url = etcd.client_url().to_owned();
                    let store =
                        EtcdStore::connect(std::slice::from_ref(&url), EtcdOptions::default())
                            .await
                            .expect("connect to the etcd just started");
                    return Backend {
                        kind: Kind::Etcd { url },
                        store,
                        etcd: Some(etcd),
                        _dir: dir,
                    };
                }
                Err(e) if e.to_string().contains("not found") => {
                    panic!("the etcd conformance tests need an etcd binary: {e}")
                }
                Err(e) => last_error = Some(e),
            }
        }
        panic!(
            "cannot start etcd for the conformance suite: {}",
            last_error.expect("an error")
        );
    }

    /// Another client of the same store (a second connection for etcd).
    async fn client(&self) -> Arc<dyn Store> {
        match &self.kind {
            Kind::Local => self.store.clone(),
            Kind::Etcd { url } => {
                EtcdStore::connect(std::slice::from_ref(url), EtcdOptions::default())
                    .await
                    .expect("connect a second etcd client")
            }
        }
    }

    async fn shutdown(mut self) {
        if let Some(etcd) = self.etcd.take() {
            etcd.kill().await.expect("kill etcd");
        }
    }
}

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
    lease_expiry_and_keep_alive,
    lease_revoke,
    lock_basics,
    lock_contention,
    namespaced,
);

// ---------------------------------------------------------------------------------------------
// Helpers

async fn next_event(w: &mut Watch) -> WatchEvent {
    match tokio::time::timeout(EVENT_WAIT, w.next()).await {
        Err(_) => panic!("no watch event within {EVENT_WAIT:?}"),
        Ok(None) => panic!("the watch ended"),
        Ok(Some(Err(e))) => panic!("watch error: {e}"),
        Ok(Some(Ok(ev))) => ev,
    }
}

async fn assert_quiet(w: &mut Watch, wait: Duration) {
    if let Ok(item) = tokio::time::timeout(wait, w.next()).await {
        panic!("expected no watch event, got {item:?}");
    }
}

fn ev(kind: EventKind, key: &str, value: &str, revision: i64) -> WatchEvent {
    WatchEvent {
        kind,
        key: key.to_owned(),
        value: value.as_bytes().to_vec(),
        revision,
    }
}

fn put_ev(key: &str, value: &str, revision: i64) -> WatchEvent {
    ev(EventKind::Put, key, value, revision)
}

fn del_ev(key: &str, revision: i64) -> WatchEvent {
    ev(EventKind::Delete, key, "", revision)
}

fn keys(kvs: &[gd_store::KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

fn is_invalid<T: std::fmt::Debug>(r: StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Invalid { .. }))
}

fn is_lease_not_found<T: std::fmt::Debug>(r: StoreResult<T>, lease: i64) -> bool {
    matches!(r, Err(StoreError::LeaseNotFound { lease: l }) if l == lease)
}

/// Polls `check` every 50 ms until it holds; false after `bound`.
async fn eventually<F, Fut>(bound: Duration, mut check: F) -> StoreResult<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<bool>>,
{
    let give_up = Instant::now() + bound;
    loop {
        if check().await? {
            return Ok(true);
        }
        if Instant::now() >= give_up {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn kv_basics(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    assert_eq!(s.get("a").await?, None);

    let r1 = s.put("a", b"1".to_vec(), None).await?;
    let kv = s.get("a").await?.expect("a exists");
    assert_eq!((kv.key.as_str(), kv.value.as_slice()), ("a", &b"1"[..]));
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version, kv.lease),
        (r1, r1, 1, None)
    );

    let r2 = s.put("a", b"2".to_vec(), None).await?;
    assert_eq!(r2, r1 + 1);
    let kv = s.get("a").await?.expect("a exists");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (r1, r2, 2)
    );
    assert_eq!(kv.value, b"2");

    // An empty value is a value.
    s.put("empty", Vec::new(), None).await?;
    assert_eq!(s.get("empty").await?.expect("empty exists").value, b"");
    assert_eq!(s.delete("empty").await?, 1);

    for k in ["dir/z", "dir/x", "dirt", "dir/y"] {
        s.put(k, k.as_bytes().to_vec(), None).await?;
    }
    let all = s.range("dir/", 0).await?;
    assert_eq!(keys(&all.kvs), ["dir/x", "dir/y", "dir/z"]);
    assert!(!all.more);
    assert_eq!(all.revision, s.revision().await?);
    assert_eq!(all.kvs[1].value, b"dir/y");

    let cut = s.range("dir/", 2).await?;
    assert_eq!(keys(&cut.kvs), ["dir/x", "dir/y"]);
    assert!(cut.more);
    let exact = s.range("dir/", 3).await?;
    assert_eq!(exact.kvs.len(), 3);
    assert!(!exact.more);
    assert!(s.range("nothing/", 0).await?.kvs.is_empty());
    assert_eq!(
        keys(&s.range("", 0).await?.kvs),
        ["a", "dir/x", "dir/y", "dir/z", "dirt"]
    );

    assert_eq!(s.delete("a").await?, 1);
    assert_eq!(s.delete("a").await?, 0);
    assert_eq!(s.get("a").await?, None);
    // Re-created: a new create revision, version 1.
    let r3 = s.put("a", b"3".to_vec(), None).await?;
    let kv = s.get("a").await?.expect("a exists");
    assert_eq!((kv.create_revision, kv.version), (r3, 1));

    assert_eq!(s.delete_prefix("dir/").await?, 3);
    assert_eq!(keys(&s.range("", 0).await?.kvs), ["a", "dirt"]);
    assert_eq!(s.delete_prefix("dir/").await?, 0);

    assert!(is_invalid(s.get("").await));
    assert!(is_invalid(s.put("", b"x".to_vec(), None).await));
    assert!(is_invalid(s.delete("").await));
    Ok(())
}

async fn revisions(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let r0 = s.revision().await?;
    assert!(r0 >= 1);

    let r1 = s.put("k", b"1".to_vec(), None).await?;
    assert_eq!(r1, r0 + 1, "a put bumps the revision by one");
    assert_eq!(s.revision().await?, r1);

    // No-ops do not bump.
    assert_eq!(s.delete("missing").await?, 0);
    assert_eq!(s.delete_prefix("missing/").await?, 0);
    let read_only = s
        .txn(Txn::new().and_then([TxnOp::get("k"), TxnOp::delete("missing")]))
        .await?;
    assert!(read_only.succeeded);
    assert_eq!(read_only.revision, r1);
    let failed = s
        .txn(
            Txn::new()
                .when([Compare::absent("k")])
                .and_then([TxnOp::put("x", "1")]),
        )
        .await?;
    assert!(!failed.succeeded);
    assert_eq!(failed.revision, r1);
    let lease = s.lease_grant(60).await?;
    s.lease_revoke(lease).await?; // a lease without keys
    assert_eq!(
        s.revision().await?,
        r1,
        "no-ops and key-less leases leave the revision"
    );

    // A txn writing several keys is one revision.
    let multi = s
        .txn(Txn::new().and_then([
            TxnOp::put("m/1", "a"),
            TxnOp::put("m/2", "b"),
            TxnOp::delete("k"),
            TxnOp::put("m/3", "c"),
        ]))
        .await?;
    assert_eq!(multi.revision, r1 + 1);
    for k in ["m/1", "m/2", "m/3"] {
        assert_eq!(
            s.get(k).await?.expect("written").mod_revision,
            multi.revision
        );
    }
    assert_eq!(s.get("k").await?, None);

    // A delete_prefix of several keys is one revision too.
    assert_eq!(s.delete_prefix("m/").await?, 3);
    assert_eq!(s.revision().await?, r1 + 2);
    assert_eq!(s.range("", 0).await?.revision, r1 + 2);

    // Revisions only increase.
    let mut last = r1 + 2;
    for i in 0..5 {
        let r = s.put("seq", vec![i], None).await?;
        assert_eq!(r, last + 1);
        last = r;
    }
    Ok(())
}

async fn txn_compares(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let created = s.put("k", b"v1".to_vec(), None).await?;

    // Value: equal → success branch, whose Get sees the put made before it.
    let ok = s
        .txn(
            Txn::new()
                .when([Compare::value("k", CompareOp::Equal, "v1")])
                .and_then([TxnOp::put("k", "v2"), TxnOp::get("k")])
                .or_else([TxnOp::get("k")]),
        )
        .await?;
    assert!(ok.succeeded);
    assert_eq!(ok.revision, created + 1);
    assert_eq!(ok.responses.len(), 2);
    assert_eq!(ok.responses[0], TxnOpResponse::Put);
    match &ok.responses[1] {
        TxnOpResponse::Get(Some(kv)) => {
            assert_eq!(
                (kv.value.as_slice(), kv.mod_revision, kv.version),
                (&b"v2"[..], ok.revision, 2)
            );
        }
        other => panic!("expected a Get with the key, got {other:?}"),
    }

    // Value: no longer equal → failure branch, nothing written.
    let fail = s
        .txn(
            Txn::new()
                .when([Compare::value("k", CompareOp::Equal, "v1")])
                .and_then([TxnOp::put("k", "v3")])
                .or_else([TxnOp::get("k"), TxnOp::get("missing")]),
        )
        .await?;
    assert!(!fail.succeeded);
    assert_eq!(fail.revision, ok.revision);
    match &fail.responses[..] {
        [TxnOpResponse::Get(Some(kv)), TxnOpResponse::Get(None)] => assert_eq!(kv.value, b"v2"),
        other => panic!("expected [Get(k), Get(None)], got {other:?}"),
    }

    let holds = |c: Compare| async move {
        let r = s.txn(Txn::new().when([c])).await?;
        StoreResult::Ok(r.succeeded)
    };
    // Values compare as bytes.
    assert!(holds(Compare::value("k", CompareOp::Greater, "v1")).await?);
    assert!(holds(Compare::value("k", CompareOp::Less, "v3")).await?);
    assert!(holds(Compare::value("k", CompareOp::NotEqual, "v1")).await?);
    assert!(!holds(Compare::value("k", CompareOp::Less, "v2")).await?);
    // A missing key never matches a value compare, not even NotEqual.
    assert!(!holds(Compare::value("missing", CompareOp::NotEqual, "x")).await?);
    assert!(!holds(Compare::value("missing", CompareOp::Equal, "")).await?);

    // Mod revision.
    assert!(holds(Compare::mod_revision("k", CompareOp::Equal, ok.revision)).await?);
    assert!(!holds(Compare::mod_revision("k", CompareOp::Equal, created)).await?);
    assert!(holds(Compare::mod_revision("k", CompareOp::Greater, created)).await?);
    assert!(holds(Compare::mod_revision("missing", CompareOp::Equal, 0)).await?);
    // Create revision.
    assert!(holds(Compare::create_revision("k", CompareOp::Equal, created)).await?);
    assert!(!holds(Compare::create_revision("k", CompareOp::Less, created)).await?);
    // Version.
    assert!(holds(Compare::version("k", CompareOp::Equal, 2)).await?);
    assert!(holds(Compare::version("missing", CompareOp::Equal, 0)).await?);
    // Absence and presence.
    assert!(holds(Compare::present("k")).await?);
    assert!(!holds(Compare::absent("k")).await?);
    assert!(holds(Compare::absent("missing")).await?);
    // Every compare must hold.
    assert!(!holds_all(s, [Compare::present("k"), Compare::present("missing")]).await?);
    assert!(holds_all(s, [Compare::present("k"), Compare::absent("missing")]).await?);

    // Create-if-absent, twice: the second sees the first.
    let create = || {
        Txn::new()
            .when([Compare::absent("new")])
            .and_then([TxnOp::put("new", "first")])
            .or_else([TxnOp::get("new")])
    };
    assert!(s.txn(create()).await?.succeeded);
    let again = s.txn(create()).await?;
    assert!(!again.succeeded);
    assert!(matches!(&again.responses[..], [TxnOpResponse::Get(Some(kv))] if kv.value == b"first"));

    // Delete ops report counts.
    for k in ["p/1", "p/2", "p/3"] {
        s.put(k, b"x".to_vec(), None).await?;
    }
    let del = s
        .txn(Txn::new().and_then([
            TxnOp::delete("p/1"),
            TxnOp::delete_prefix("p/"),
            TxnOp::delete("p/1"),
        ]))
        .await?;
    assert_eq!(
        del.responses,
        [
            TxnOpResponse::Delete { deleted: 1 },
            TxnOpResponse::Delete { deleted: 2 },
            TxnOpResponse::Delete { deleted: 0 }
        ]
    );

    // Atomic: a put with an unknown lease fails the whole txn.
    let before = s.revision().await?;
    let bad_lease = 0x7eadbeef;
    let r = s
        .txn(Txn::new().and_then([
            TxnOp::put("atomic", "1"),
            TxnOp::put_with_lease("atomic2", "1", bad_lease),
        ]))
        .await;
    assert!(is_lease_not_found(r, bad_lease));
    assert_eq!(s.get("atomic").await?, None);
    assert_eq!(s.revision().await?, before);

    // etcd's shape rules.
    let dup = Txn::new().and_then([TxnOp::put("d", "1"), TxnOp::put("d", "2")]);
    assert!(is_invalid(s.txn(dup).await));
    let overlap = Txn::new().and_then([TxnOp::delete_prefix("d"), TxnOp::put("d/x", "2")]);
    assert!(is_invalid(s.txn(overlap).await));
    let too_many =
        Txn::new().and_then((0..=gd_store::MAX_TXN_OPS).map(|i| TxnOp::put(format!("t/{i}"), "x")));
    assert!(is_invalid(s.txn(too_many).await));
    assert_eq!(s.revision().await?, before);
    Ok(())
}

async fn holds_all<const N: usize>(s: &Arc<dyn Store>, cs: [Compare; N]) -> StoreResult<bool> {
    Ok(s.txn(Txn::new().when(cs)).await?.succeeded)
}

async fn watch_replays_from_revision(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let start = s.revision().await? + 1;
    let mut expected = Vec::new();

    let r = s.put("w/a", b"1".to_vec(), None).await?;
    expected.push(put_ev("w/a", "1", r));
    let r = s.put("w/b", b"2".to_vec(), None).await?;
    expected.push(put_ev("w/b", "2", r));
    s.put("other/x", b"not watched".to_vec(), None).await?;
    let r = s.put("w/a", b"3".to_vec(), None).await?;
    expected.push(put_ev("w/a", "3", r));
    let t = s
        .txn(Txn::new().and_then([TxnOp::put("w/d", "4"), TxnOp::put("w/c", "5")]))
        .await?;
    expected.push(put_ev("w/d", "4", t.revision));
    expected.push(put_ev("w/c", "5", t.revision));
    s.delete("w/b").await?;
    expected.push(del_ev("w/b", s.revision().await?));
    s.delete_prefix("w/").await?;
    let r = s.revision().await?;
    // A range delete deletes in key order.
    for k in ["w/a", "w/c", "w/d"] {
        expected.push(del_ev(k, r));
    }
    let lease = s.lease_grant(60).await?;
    let r = s.put("w/leased", b"6".to_vec(), Some(lease)).await?;
    expected.push(put_ev("w/leased", "6", r));
    s.lease_revoke(lease).await?;
    expected.push(del_ev("w/leased", s.revision().await?));

    // Started after all of it: everything is replayed, in order.
    let mut w = s.watch("w/", Some(start)).await?;
    for want in &expected {
        assert_eq!(&next_event(&mut w).await, want);
    }
    // Then live events follow without a gap.
    let r = s.put("w/live", b"7".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("w/live", "7", r));

    // A watch from the middle starts exactly there.
    let mid = expected[3].revision;
    let mut w2 = s.watch("w/", Some(mid)).await?;
    assert_eq!(next_event(&mut w2).await, expected[3]);
    assert_eq!(next_event(&mut w2).await, expected[4]);

    // A watch from a future revision waits for it.
    let future = s.revision().await? + 2;
    let mut w3 = s.watch("w/", Some(future)).await?;
    s.put("w/f1", b"x".to_vec(), None).await?;
    let r = s.put("w/f2", b"y".to_vec(), None).await?;
    assert_eq!(next_event(&mut w3).await, put_ev("w/f2", "y", r));

    assert!(is_invalid(s.watch("w/", Some(0)).await.map(|_| ())));
    Ok(())
}

async fn watch_from_now(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    s.put("n/before", b"0".to_vec(), None).await?;
    let mut w = s.watch("n/", None).await?;
    let mut all = s.watch("", None).await?;
    s.put("elsewhere", b"x".to_vec(), None).await?;
    let r1 = s.put("n/after", b"1".to_vec(), None).await?;
    let r2 = s.put("n/after", b"2".to_vec(), None).await?;
    s.delete("n/before").await?;
    let r3 = s.revision().await?;
    assert_eq!(next_event(&mut w).await, put_ev("n/after", "1", r1));
    assert_eq!(next_event(&mut w).await, put_ev("n/after", "2", r2));
    assert_eq!(next_event(&mut w).await, del_ev("n/before", r3));
    assert_quiet(&mut w, Duration::from_millis(200)).await;
    // The empty prefix watches everything.
    assert_eq!(next_event(&mut all).await.key, "elsewhere");
    assert_eq!(next_event(&mut all).await.key, "n/after");

    // Dropping a watch stops it; others go on.
    drop(all);
    let r4 = s.put("n/later", b"3".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("n/later", "3", r4));
    Ok(())
}

async fn lease_expiry_and_keep_alive(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let granted = Instant::now();
    let short = s.lease_grant(TTL).await?;
    let kept = s.lease_grant(TTL).await?;
    assert!(short > 0 && kept > 0 && short != kept);
    let start = s.revision().await? + 1;
    let r_short = s.put("l/short", b"s".to_vec(), Some(short)).await?;
    s.put("l/kept", b"k".to_vec(), Some(kept)).await?;
    s.put("l/plain", b"p".to_vec(), None).await?;
    assert_eq!(s.get("l/short").await?.expect("put").lease, Some(short));
    let mut w = s.watch("l/short", Some(start)).await?;

    // Keep one lease alive in the background, more often than its TTL.
    let stop = Arc::new(AtomicBool::new(false));
    let keeper = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let ttl = s.lease_keep_alive(kept).await?;
                assert!(ttl >= TTL, "keep-alive granted {ttl} s");
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            StoreResult::Ok(())
        })
    };

    let expired = eventually(Duration::from_secs(10), || async {
        Ok(s.get("l/short").await?.is_none())
    })
    .await?;
    assert!(
        expired,
        "the key of an expired lease is still there after 10 s"
    );
    let took = granted.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "the lease expired early, after {took:?}"
    );

    // Its delete arrives on the watch, after its put.
    assert_eq!(next_event(&mut w).await, put_ev("l/short", "s", r_short));
    let gone = next_event(&mut w).await;
    assert_eq!(
        (gone.kind, gone.key.as_str()),
        (EventKind::Delete, "l/short")
    );
    assert!(gone.revision > r_short);

    // Well past the TTL, the kept lease's key is still there.
    let past_ttl = Duration::from_secs(TTL as u64) + Duration::from_millis(1500);
    if let Some(rest) = past_ttl.checked_sub(granted.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    assert!(
        s.get("l/kept").await?.is_some(),
        "keep-alive did not keep the lease"
    );
    assert!(s.get("l/plain").await?.is_some());
    stop.store(true, Ordering::SeqCst);
    keeper.await.expect("keeper task")?;

    // The expired lease is gone for good.
    assert!(is_lease_not_found(s.lease_keep_alive(short).await, short));
    assert!(is_lease_not_found(
        s.put("l/again", b"x".to_vec(), Some(short)).await,
        short
    ));
    assert!(is_lease_not_found(s.lease_revoke(short).await, short));
    assert!(is_invalid(s.lease_grant(0).await));
    Ok(())
}

async fn lease_revoke(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let lease = s.lease_grant(60).await?;
    s.put("r/1", b"1".to_vec(), Some(lease)).await?;
    s.put("r/2", b"2".to_vec(), Some(lease)).await?;
    s.put("r/3", b"3".to_vec(), None).await?;
    // Re-putting without the lease detaches the key from it.
    s.put("r/4", b"4".to_vec(), Some(lease)).await?;
    s.put("r/4", b"4".to_vec(), None).await?;
    assert_eq!(s.get("r/4").await?.expect("put").lease, None);

    let mut w = s.watch("r/", None).await?;
    let before = s.revision().await?;
    s.lease_revoke(lease).await?;
    let after = s.revision().await?;
    assert_eq!(
        after,
        before + 1,
        "revoking deletes all its keys in one revision"
    );
    assert_eq!(next_event(&mut w).await, del_ev("r/1", after));
    assert_eq!(next_event(&mut w).await, del_ev("r/2", after));
    assert_quiet(&mut w, Duration::from_millis(200)).await;
    assert_eq!(keys(&s.range("r/", 0).await?.kvs), ["r/3", "r/4"]);

    assert!(is_lease_not_found(s.lease_revoke(lease).await, lease));
    assert!(is_lease_not_found(s.lease_keep_alive(lease).await, lease));
    let never = 0x5eed;
    assert!(is_lease_not_found(
        s.put("r/5", b"5".to_vec(), Some(never)).await,
        never
    ));
    Ok(())
}

async fn lock_basics(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let lease = s.lease_grant(60).await?;
    let guard = lock::try_lock(s, "vol1", lease, "volume start by n1")
        .await?
        .expect("free");
    assert_eq!(guard.name(), "vol1");
    assert_eq!(
        s.get("locks/vol1").await?.expect("lock key").lease,
        Some(lease)
    );

    // Busy: answered at once, naming the operation.
    let held = lock::try_lock(s, "vol1", lease, "volume stop by n2")
        .await?
        .expect_err("held");
    assert_eq!(
        held,
        Held {
            name: "vol1".into(),
            holder: "volume start by n1".into()
        }
    );
    assert!(
        held.to_string()
            .contains("volume start by n1 is in progress"),
        "{held}"
    );
    // Waiting is bounded.
    let t = Instant::now();
    let r = lock::lock(
        s,
        "vol1",
        lease,
        "volume stop by n2",
        Duration::from_millis(300),
    )
    .await?;
    assert_eq!(r.expect_err("still held").holder, "volume start by n1");
    assert!(t.elapsed() >= Duration::from_millis(300) && t.elapsed() < Duration::from_secs(3));
    // Locks are per object: a name that extends another is another lock.
    let other = lock::try_lock(s, "vol10", lease, "x").await?.expect("free");

    // Writes can be fenced on holding the lock.
    let fenced = Txn::new()
        .when([guard.held_compare()])
        .and_then([TxnOp::put("fenced", "1")]);
    assert!(s.txn(fenced.clone()).await?.succeeded);
    assert!(guard.unlock().await?, "unlock of a held lock");
    assert!(
        !s.txn(fenced).await?.succeeded,
        "the fence holds only while the lock is held"
    );
    assert!(other.unlock().await?);

    // A lock goes with its lease, and its late unlock does not remove the next holder's lock.
    let lease2 = s.lease_grant(60).await?;
    let stale = lock::try_lock(s, "vol2", lease2, "n2")
        .await?
        .expect("free");
    s.lease_revoke(lease2).await?;
    let next = lock::try_lock(s, "vol2", lease, "n1")
        .await?
        .expect("freed by the lease");
    assert!(!stale.unlock().await?, "a stale guard must not unlock");
    assert!(s.get("locks/vol2").await?.is_some());

    // A waiter gets the lock as soon as it is released.
    let waiter = {
        let s = s.clone();
        tokio::spawn(
            async move { lock::lock(&s, "vol2", lease, "n3", Duration::from_secs(10)).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let released = Instant::now();
    assert!(next.unlock().await?);
    let got = waiter
        .await
        .expect("waiter task")?
        .expect("acquired after release");
    assert!(
        released.elapsed() < Duration::from_secs(2),
        "the waiter took {:?}",
        released.elapsed()
    );
    assert_eq!(s.get("locks/vol2").await?.expect("held").value, b"n3");

    // Dropping a guard releases the lock in the background.
    drop(got);
    let freed = eventually(Duration::from_secs(5), || async {
        Ok(s.get("locks/vol2").await?.is_none())
    })
    .await?;
    assert!(freed, "a dropped guard did not release its lock");

    assert!(is_lease_not_found(
        lock::try_lock(s, "vol3", 0x5eed, "x")
            .await
            .map(|r| r.is_ok()),
        0x5eed
    ));
    assert!(is_invalid(
        lock::try_lock(s, "", lease, "x").await.map(|r| r.is_ok())
    ));
    Ok(())
}

async fn lock_contention(b: &Backend) -> StoreResult<()> {
    const ROUNDS: usize = 10;
    let inside = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..2 {
        let store = b.client().await;
        let inside = inside.clone();
        workers.push(tokio::spawn(async move {
            let lease = store.lease_grant(30).await?;
            let mut rounds = 0;
            for _ in 0..ROUNDS {
                let guard = lock::lock(
                    &store,
                    "contended",
                    lease,
                    &format!("worker {i}"),
                    Duration::from_secs(10),
                )
                .await?
                .unwrap_or_else(|held| panic!("worker {i} waited 10 s: {held}"));
                assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.store(false, Ordering::SeqCst);
                assert!(guard.unlock().await?);
                rounds += 1;
                tokio::task::yield_now().await;
            }
            StoreResult::Ok(rounds)
        }));
    }
    let done = Arc::new(AtomicUsize::new(0));
    for w in workers {
        let rounds = w.await.expect("worker task")?;
        assert_eq!(rounds, ROUNDS);
        done.fetch_add(rounds, Ordering::SeqCst);
    }
    assert_eq!(done.load(Ordering::SeqCst), 2 * ROUNDS);
    Ok(())
}

async fn namespaced(b: &Backend) -> StoreResult<()> {
    assert_eq!(cluster_namespace("c1"), "gluster-c1/");
    let a = Namespaced::new(b.store.clone(), cluster_namespace("a"));
    let c = Namespaced::new(b.store.clone(), cluster_namespace("c"));
    a.put("k", b"a".to_vec(), None).await?;
    c.put("k", b"c".to_vec(), None).await?;
    let kv = a.get("k").await?.expect("a/k");
    assert_eq!((kv.key.as_str(), kv.value.as_slice()), ("k", &b"a"[..]));
    assert_eq!(c.get("k").await?.expect("c/k").value, b"c");
    assert_eq!(b.store.get("gluster-a/k").await?.expect("raw").value, b"a");
    assert_eq!(keys(&a.range("", 0).await?.kvs), ["k"]);

    let mut w = a.watch("", None).await?;
    c.put("x", b"c".to_vec(), None).await?;
    let r = a.put("x", b"a".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("x", "a", r));

    let t = a
        .txn(
            Txn::new()
                .when([Compare::absent("y")])
                .and_then([TxnOp::put("y", "1"), TxnOp::get("y")]),
        )
        .await?;
    assert!(t.succeeded);
    assert!(matches!(&t.responses[1], TxnOpResponse::Get(Some(kv)) if kv.key == "y"));
    assert_eq!(next_event(&mut w).await.key, "y");

    assert_eq!(a.delete_prefix("").await?, 3);
    assert_eq!(keys(&c.range("", 0).await?.kvs), ["k", "x"]);
    let ev = next_event(&mut w).await;
    assert_eq!((ev.kind, ev.key.as_str()), (EventKind::Delete, "k"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Local only

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_reopen_keeps_data_revision_and_leases() -> StoreResult<()> {
    let dir = tempdir();
    let path = dir.path().join("store.redb");
    let (rev, long, short) = {
        let s = LocalStore::open(&path).await?;
        s.put("a", b"1".to_vec(), None).await?;
        s.put("a", b"2".to_vec(), None).await?;
        let long = s.lease_grant(60).await?;
        let short = s.lease_grant(1).await?;
        s.put("long", b"l".to_vec(), Some(long)).await?;
        s.put("short", b"s".to_vec(), Some(short)).await?;
        (s.revision().await?, long, short)
    };
    // Closed for longer than the short lease's TTL.
    tokio::time::sleep(Duration::from_millis(1300)).await;

    let s = LocalStore::open(&path).await?;
    let kv = s.get("a").await?.expect("data survives");
    assert_eq!((kv.value.as_slice(), kv.version), (&b"2"[..], 2));
    assert_eq!(
        s.get("short").await?,
        None,
        "a lease that expired while closed is revoked at open"
    );
    assert_eq!(
        s.revision().await?,
        rev + 1,
        "the revision survives; the expiry is one more"
    );
    assert_eq!(
        s.get("long").await?.expect("live lease key").lease,
        Some(long)
    );
    assert_eq!(s.lease_keep_alive(long).await?, 60);
    assert!(is_lease_not_found(s.lease_keep_alive(short).await, short));
    let new = s.lease_grant(5).await?;
    assert!(new > long && new > short, "lease ids are never reused");
    assert_eq!(s.put("b", b"x".to_vec(), None).await?, rev + 2);

    // Events from before the reopen are gone; the stream says so.
    let mut old = s.watch("", Some(rev)).await?;
    match tokio::time::timeout(EVENT_WAIT, old.next()).await {
        Ok(Some(Err(StoreError::Compacted {
            requested,
            compacted,
        }))) => {
            assert_eq!((requested, compacted), (rev, rev + 1));
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(
        old.next().await.is_none(),
        "the stream ends after the error"
    );
    let mut w = s.watch("", Some(rev + 2)).await?;
    assert_eq!(next_event(&mut w).await, put_ev("b", "x", rev + 2));

    // Reopen once more right after a drop, while a watch is open.
    drop(s);
    let s = LocalStore::open(&path).await?;
    assert_eq!(s.revision().await?, rev + 2);
    match tokio::time::timeout(EVENT_WAIT, w.next()).await {
        Ok(Some(Err(StoreError::Unavailable { .. }))) => {}
        other => panic!("a watch on a closed store must end with Unavailable, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn local_open_reports_bad_paths() {
    let dir = tempdir();
    let err = LocalStore::open(&dir.path().join("missing-dir/store.redb"))
        .await
        .err()
        .expect("a store in a missing directory");
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// etcd only

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_watch_from_a_compacted_revision_ends_with_compacted() -> StoreResult<()> {
    let b = Backend::etcd().await;
    let s = &b.store;
    let first = s.put("c", b"1".to_vec(), None).await?;
    s.put("c", b"2".to_vec(), None).await?;
    let last = s.put("c", b"3".to_vec(), None).await?;
    let etcd = match b.etcd.as_ref().map(|e| e.client_url().to_owned()) {
        Some(url) => EtcdStore::connect(&[url], EtcdOptions::default()).await?,
        None => unreachable!("an etcd backend"),
    };
    etcd.client()
        .clone()
        .compact(last, None)
        .await
        .expect("compact");

    let mut w = s.watch("c", Some(first)).await?;
    match tokio::time::timeout(EVENT_WAIT, w.next()).await {
        Ok(Some(Err(StoreError::Compacted {
            requested,
            compacted,
        }))) => {
            assert_eq!((requested, compacted), (first, last));
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(w.next().await.is_none(), "the stream ends after the error");
    // From the compaction revision on, history is there.
    let mut w = s.watch("c", Some(last)).await?;
    assert_eq!(next_event(&mut w).await, put_ev("c", "3", last));

    // TTLs below etcd's minimum are raised to it.
    let lease = s.lease_grant(1).await?;
    let ttl = s.lease_keep_alive(lease).await?;
    assert!(ttl >= 1, "keep-alive granted {ttl} s");
    eprintln!("etcd granted a TTL of {ttl} s for a requested TTL of 1 s");
    b.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_failures_are_bounded_and_clear() -> StoreResult<()> {
    // Nothing listens: connect fails within its bound, naming the endpoint.
    let (port, _) = free_ports();
    let url = format!("http://127.0.0.1:{port}");
    let opts = EtcdOptions {
        connect_timeout: Duration::from_secs(1),
        ..EtcdOptions::default()
    };
    let t = Instant::now();
    let err = EtcdStore::connect(std::slice::from_ref(&url), opts.clone())
        .await
        .err()
        .expect("no etcd there");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "connect took {:?}",
        t.elapsed()
    );
    assert!(err.retryable(), "{err}");
    assert!(err.to_string().contains(&url), "{err}");

    // The member dies under a client and its watch: calls fail within the request bound, and
    // the watch ends with an error.
    let mut b = Backend::etcd().await;
    let url = b.etcd.as_ref().expect("etcd").client_url().to_owned();
    let opts = EtcdOptions {
        request_timeout: Duration::from_secs(2),
        ..EtcdOptions::default()
    };
    let s = EtcdStore::connect(&[url], opts).await?;
    s.put("k", b"v".to_vec(), None).await?;
    let mut w = s.watch("", None).await?;
    b.etcd.take().expect("etcd").kill().await?;
    let t = Instant::now();
    let err = s.get("k").await.expect_err("etcd is gone");
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "get took {:?}",
        t.elapsed()
    );
    assert!(err.retryable(), "{err}");
    match tokio::time::timeout(Duration::from_secs(20), w.next()).await {
        Ok(Some(Err(e))) => assert!(e.retryable(), "{e}"),
        other => panic!("expected the watch to end with an error, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn managed_start_failures_are_clear() {
    let dir = tempdir();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = format!("http://{}", taken.local_addr().expect("addr"));
    let (_, peer) = free_ports();
    let mut cfg = EtcdMemberConfig::new(
        "m",
        dir.path().join("m"),
        client,
        format!("http://127.0.0.1:{peer}"),
    );
    cfg.start_timeout = Duration::from_secs(10);

    // The client port is taken: etcd exits, and the error quotes its log.
    let err = EtcdProcess::start(cfg.clone())
        .await
        .expect_err("port in use")
        .to_string();
    assert!(err.contains("exited during start-up"), "{err}");
    assert!(err.contains("address already in use"), "{err}");

    let mut missing = cfg.clone();
    missing.binary = "/nonexistent/etcd".into();
    let err = EtcdProcess::start(missing)
        .await
        .expect_err("no binary")
        .to_string();
    assert!(err.contains("not found"), "{err}");

    let mut bad = cfg;
    bad.client_url = "127.0.0.1:1".into();
    assert!(matches!(
        EtcdProcess::start(bad).await,
        Err(StoreError::Invalid { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_member_restarts_from_its_data() -> StoreResult<()> {
    let b = Backend::etcd().await;
    let rev = b.store.put("kept", b"1".to_vec(), None).await?;
    let Backend {
        etcd, _dir: dir, ..
    } = b;
    let etcd = etcd.expect("etcd");
    let cfg = etcd.config().clone();
    etcd.stop().await?;
    let etcd = EtcdProcess::start(cfg).await?;
    let s = EtcdStore::connect(&[etcd.client_url().to_owned()], EtcdOptions::default()).await?;
    assert_eq!(
        s.get("kept").await?.expect("data survives").mod_revision,
        rev
    );
    assert!(s.revision().await? >= rev);
    etcd.stop().await?;
    drop(dir);
    Ok(())
}
