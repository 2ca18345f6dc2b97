//! Unit tests of the replica (events, bounds, reads, read-only txns) and of how stale answers
//! and durations are reported.

use super::*;
use crate::{Compare, CompareOp, EventKind, TxnOpResponse, WatchEvent};

fn kv(key: &str, value: &str, rev: Revision) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
        create_revision: rev,
        mod_revision: rev,
        version: 1,
        lease: Some(7),
    }
}

fn put(key: &str, value: &str, revision: Revision) -> WatchEvent {
    WatchEvent {
        kind: EventKind::Put,
        key: key.into(),
        value: value.into(),
        revision,
    }
}

fn loaded() -> Replica {
    let mut r = Replica::new();
    r.load(
        RangeResponse {
            kvs: vec![kv("a", "1", 2), kv("b/1", "2", 3), kv("b/2", "3", 4)],
            more: false,
            revision: 5,
        },
        vec![5],
    );
    r
}

#[test]
fn events_update_metadata_like_the_store() {
    let mut r = loaded();
    assert!(r.apply(put("a", "x", 6), 10).is_ok());
    assert!(r.apply(put("c", "y", 7), 10).is_ok());
    let a = r.get("a").unwrap_or_else(|| panic!("a is cached"));
    assert_eq!(
        (
            a.value.as_slice(),
            a.create_revision,
            a.mod_revision,
            a.version
        ),
        (&b"x"[..], 2, 6, 2)
    );
    let c = r.get("c").unwrap_or_else(|| panic!("c is cached"));
    assert_eq!((c.create_revision, c.version, c.lease), (7, 1, None));
    let del = WatchEvent {
        kind: EventKind::Delete,
        key: "b/1".into(),
        value: Vec::new(),
        revision: 8,
    };
    assert!(r.apply(del, 10).is_ok());
    assert!(r.get("b/1").is_none());
    assert_eq!(r.revision, 8);
}

#[test]
fn a_new_key_beyond_the_bound_is_refused() {
    let mut r = loaded();
    assert!(
        r.apply(put("a", "x", 6), 3).is_ok(),
        "an update adds no key"
    );
    assert!(r.apply(put("new", "x", 7), 3).is_err());
}

#[test]
fn range_respects_prefix_limit_and_order() {
    let r = loaded();
    let keys = |resp: &RangeResponse| resp.kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>();
    let all = r.range("", None, 0);
    assert_eq!(
        (keys(&all), all.more, all.revision),
        (vec!["a".into(), "b/1".into(), "b/2".into()], false, 5)
    );
    let b = r.range("b/", None, 1);
    assert_eq!((keys(&b), b.more), (vec!["b/1".to_string()], true));
    let b = r.range("b/", None, 2);
    assert_eq!(
        (keys(&b), b.more),
        (vec!["b/1".to_string(), "b/2".into()], false)
    );
    assert!(r.range("c", None, 0).kvs.is_empty());
    let after = r.range("b/", Some("1"), 0);
    assert_eq!((keys(&after), after.more), (vec!["b/2".to_string()], false));
    assert!(r.range("b/", Some("2"), 0).kvs.is_empty());
}

#[test]
fn read_txn_evaluates_compares() {
    let r = loaded();
    let txn = Txn::new()
        .when([
            Compare::value("a", CompareOp::Equal, "1"),
            Compare::absent("zz"),
        ])
        .and_then([TxnOp::get("a"), TxnOp::get("zz")])
        .or_else([TxnOp::get("b/1")]);
    let resp = r.read_txn(&txn);
    assert!(resp.succeeded);
    assert_eq!(resp.revision, 5);
    assert_eq!(
        resp.responses,
        vec![
            TxnOpResponse::Get(Some(kv("a", "1", 2))),
            TxnOpResponse::Get(None)
        ]
    );
    let txn = Txn::new()
        .when([Compare::value("missing", CompareOp::NotEqual, "1")])
        .or_else([TxnOp::get("b/1")]);
    let resp = r.read_txn(&txn);
    assert!(!resp.succeeded);
    assert_eq!(
        resp.responses,
        vec![TxnOpResponse::Get(Some(kv("b/1", "2", 3)))]
    );
}

#[test]
fn durations_read_naturally() {
    assert_eq!(human(Duration::from_secs(2)), "2 s");
    assert_eq!(human(Duration::from_millis(200)), "200 ms");
}

#[tokio::test]
async fn the_oldest_stale_answer_is_reported() {
    let t = SystemTime::now();
    let ((), s) = track_staleness(async {
        mark_stale(Staleness {
            revision: 9,
            as_of: t,
        });
        mark_stale(Staleness {
            revision: 4,
            as_of: t,
        });
        mark_stale(Staleness {
            revision: 6,
            as_of: t,
        });
    })
    .await;
    assert_eq!(s.map(|s| s.revision), Some(4));
    // Outside a scope, marking is a no-op.
    mark_stale(Staleness {
        revision: 1,
        as_of: t,
    });
    let ((), s) = track_staleness(async {}).await;
    assert_eq!(s, None);
}
