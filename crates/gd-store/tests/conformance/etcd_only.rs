//! Behaviour of the etcd backend alone: compacted watches, bounded and clear failures, and the
//! managed etcd member.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use gd_store::managed::{EtcdMemberConfig, EtcdProcess};
use gd_store::{EtcdStore, Store, StoreError, StoreResult, etcd::EtcdOptions};

use crate::EVENT_WAIT;
use crate::backend::{Backend, free_ports, tempdir};
use crate::support::{next_event, put_ev};

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

/// A lease's refreshes share one stream, kept open between them, and a revoked lease's stream
/// is ended as etcd expects (our side closed, its end read), never reset: reset streams' last
/// frames reach a connection that has forgotten them, and enough of those make the HTTP/2
/// client close the whole connection; etcd also counts a reset refresh stream as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_lease_refreshes_share_a_stream_ended_cleanly() -> StoreResult<()> {
    let b = Backend::etcd().await;
    let url = b
        .etcd
        .as_ref()
        .expect("an etcd backend")
        .client_url()
        .to_owned();
    let before = keep_alive_streams(&url);
    let lease = b.store.lease_grant(60).await?;
    for _ in 0..20 {
        assert!(b.store.lease_keep_alive(lease).await? > 0);
    }
    assert_eq!(
        keep_alive_streams(&url),
        before,
        "20 refreshes, and no stream ended: they share one"
    );
    b.store.lease_revoke(lease).await?;
    let began = Instant::now();
    let after = loop {
        let now = keep_alive_streams(&url);
        if now.ok > before.ok || began.elapsed() > Duration::from_secs(5) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(after.ok - before.ok, 1, "the one stream ended well");
    assert_eq!(
        after.failed, before.failed,
        "no refresh stream counted as failed"
    );
    // A lease gone: its refresh says so.
    assert!(matches!(
        b.store.lease_keep_alive(lease).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
    b.shutdown().await;
    Ok(())
}

/// etcd's count of lease refresh streams, ended well and not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeepAliveStreams {
    ok: u64,
    failed: u64,
}

/// Reads etcd's metrics (served on its client URL).
fn keep_alive_streams(client_url: &str) -> KeepAliveStreams {
    use std::io::{Read, Write};
    let addr = client_url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("etcd's client port");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(conn, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("a metrics request");
    let mut text = String::new();
    conn.read_to_string(&mut text).expect("etcd's metrics");
    let mut streams = KeepAliveStreams { ok: 0, failed: 0 };
    for line in text.lines().filter(|l| {
        l.starts_with("grpc_server_handled_total{") && l.contains("grpc_method=\"LeaseKeepAlive\"")
    }) {
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .expect("a count") as u64;
        if line.contains("grpc_code=\"OK\"") {
            streams.ok += n;
        } else {
            streams.failed += n;
        }
    }
    streams
}
