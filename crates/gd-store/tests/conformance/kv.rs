//! Cases on keys and values: gets, puts, deletes and ranges, the store revision, txn
//! compares, and namespaces.

use std::sync::Arc;

use gd_store::{
    Compare, CompareOp, EventKind, Namespaced, Store, StoreResult, Txn, TxnOp, TxnOpResponse,
    cluster_namespace,
};

use crate::backend::Backend;
use crate::support::{is_invalid, is_lease_not_found, keys, next_event, put_ev};

pub async fn kv_basics(b: &Backend) -> StoreResult<()> {
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

    // Pages: the keys after a given one, under the prefix only.
    let page = s.range_after("dir/", "x", 1).await?;
    assert_eq!((keys(&page.kvs), page.more), (vec!["dir/y"], true));
    let rest = s.range_after("dir/", "y", 0).await?;
    assert_eq!((keys(&rest.kvs), rest.more), (vec!["dir/z"], false));
    assert!(s.range_after("dir/", "z", 5).await?.kvs.is_empty());
    // Between keys, and before the first: what sorts after.
    assert_eq!(
        keys(&s.range_after("dir/", "", 0).await?.kvs),
        ["dir/x", "dir/y", "dir/z"]
    );
    assert_eq!(
        keys(&s.range_after("dir/", "xa", 0).await?.kvs),
        ["dir/y", "dir/z"]
    );
    assert_eq!(keys(&s.range_after("", "dir/z", 0).await?.kvs), ["dirt"]);

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

pub async fn revisions(b: &Backend) -> StoreResult<()> {
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

pub async fn txn_compares(b: &Backend) -> StoreResult<()> {
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

pub async fn namespaced(b: &Backend) -> StoreResult<()> {
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
