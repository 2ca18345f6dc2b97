//! How long a connection lives: silent and half-sent ones time out, strangers are closed after
//! their bound whatever they call, and GlusterFS processes (a volfile served, a brick signed
//! in) stay connected.

use gd_sunrpc::programs::dump;

use super::*;

#[tokio::test(start_paused = true)]
async fn half_sent_records_and_silent_connections_time_out() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    // Nothing sent at all.
    let mut silent = Client::connect(&server, &cancel);
    let started = tokio::time::Instant::now();
    silent.expect_closed().await;
    assert!(started.elapsed() >= conn::FIRST_BYTES_TIMEOUT);
    // Half a record.
    let mut half = Client::connect(&server, &cancel);
    half.io.write_all(&[0x80, 0, 0, 40, 1, 2]).await.unwrap();
    let started = tokio::time::Instant::now();
    half.expect_closed().await;
    assert!(started.elapsed() >= conn::RECORD_TIMEOUT);
    // A brick's idle connection stays open.
    let mut idle = Client::connect(&server, &cancel);
    idle.sign_in("/b", 49152).await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(server.client_count(), 1);
    assert_eq!(idle.port_by_brick("/b").await.port, 49152);
}

/// A server whose strangers live `bound`.
fn stranger_bound(bound: Duration) -> SunRpcServer {
    SunRpcServer::new(Limits {
        stranger_timeout: bound,
        ..Limits::default()
    })
}

impl Client {
    /// Sends a NULL call; whether a reply came (false once the server closed the connection).
    async fn null_answered(&mut self) -> bool {
        self.xid += 1;
        let call = CallHeader::new(self.xid, dump::PROGRAM, dump::VERSION, dump::NULL)
            .to_record(&())
            .unwrap();
        if self.io.write_all(&call).await.is_err() {
            return false;
        }
        self.next().await.is_some()
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_stranger_is_closed_after_the_bound_and_its_slot_freed() {
    assert_eq!(
        Limits::default().stranger_timeout,
        conn::STRANGER_TIMEOUT,
        "the default bound"
    );
    let server = SunRpcServer::new(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    let cancel = CancellationToken::new();
    let started = tokio::time::Instant::now();
    let mut c = Client::connect(&server, &cancel);
    // One NULL call (PROC_UNAVAIL, as in GD1), then nothing.
    assert_eq!(
        c.stat(dump::PROGRAM, dump::VERSION, dump::NULL, &()).await,
        AcceptStat::ProcUnavail
    );
    assert!(!server.clients()[0].known);
    tokio::time::sleep(conn::STRANGER_TIMEOUT - Duration::from_secs(1)).await;
    assert_eq!(server.client_count(), 1, "still open just before the bound");
    assert!(
        server.try_connection_slot().is_none(),
        "it holds the only slot"
    );
    c.expect_closed().await;
    assert!(started.elapsed() >= conn::STRANGER_TIMEOUT);
    assert!(started.elapsed() < conn::STRANGER_TIMEOUT + Duration::from_secs(1));
    eventually("the stranger to leave", || server.client_count() == 0).await;
    // Its slot serves the next connection.
    let _next = Client::connect(&server, &cancel);
}

#[tokio::test(start_paused = true)]
async fn connections_served_a_volfile_or_signed_in_have_no_idle_timeout() {
    let bound = Duration::from_secs(5);
    let server = stranger_bound(bound);
    server.set_volfile_source(Arc::new(OneVolfile));
    let cancel = CancellationToken::new();
    // A client that fetched its volfile and a brick that signed in: GlusterFS processes.
    let mut client = Client::connect(&server, &cancel);
    assert!(client.getspec("vol1").await.op_ret > 0);
    let mut brick = Client::connect(&server, &cancel);
    assert_eq!(brick.sign_in("/data/b1", 49152).await.op_ret, 0);
    // Strangers all the same: a GETSPEC answered with an error, a refused sign-in, a port
    // look-up.
    let mut no_volfile = Client::connect(&server, &cancel);
    assert_eq!(
        no_volfile.getspec("nosuchvol").await,
        handshake::GetspecRsp::error(ENOENT)
    );
    let mut refused = Client::connect(&server, &cancel);
    assert_eq!(refused.sign_in("", 49153).await.op_ret, -1);
    let mut lookup = Client::connect(&server, &cancel);
    assert_eq!(lookup.port_by_brick("/data/b1").await.port, 49152);
    let known: Vec<bool> = server.clients().iter().map(|c| c.known).collect();
    assert_eq!(known, [true, true, false, false, false]);

    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    for stranger in [&mut no_volfile, &mut refused, &mut lookup] {
        stranger.expect_closed().await;
    }
    eventually("the strangers to leave", || server.client_count() == 2).await;
    // The known ones are still served, and the brick is still signed in.
    assert!(client.getspec("vol1").await.op_ret > 0);
    assert_eq!(client.port_by_brick("/data/b1").await.port, 49152);
    assert_eq!(brick.port_by_brick("/data/b1").await.port, 49152);
    assert_eq!(server.notify_fetchspec(None), 2);
}

#[tokio::test(start_paused = true)]
async fn calls_other_than_getspec_and_signin_do_not_extend_a_stranger() {
    let bound = Duration::from_secs(10);
    let server = stranger_bound(bound);
    let cancel = CancellationToken::new();
    let started = tokio::time::Instant::now();
    let mut c = Client::connect(&server, &cancel);
    // A call every 300 ms, of every kind a stranger can make without identifying itself.
    let step = Duration::from_millis(300);
    let mut calls = 0u32;
    while started.elapsed() + step < bound {
        match calls % 4 {
            0 => assert!(c.null_answered().await),
            1 => assert_eq!(
                c.ok::<dump::CommonRsp>(dump::PROGRAM, dump::VERSION, dump::PING, &())
                    .await,
                dump::CommonRsp::default()
            ),
            2 => assert_eq!(c.port_by_brick("/x").await.op_ret, -1),
            _ => assert_eq!(c.getspec("nosuchvol").await.op_ret, -1),
        }
        calls += 1;
        tokio::time::sleep(step).await;
    }
    // Then NULL calls, which tell when the connection is closed.
    while c.null_answered().await {
        calls += 1;
        tokio::time::sleep(step).await;
    }
    let lived = started.elapsed();
    assert!(lived >= bound && lived < bound + step, "{lived:?}");
    assert!(calls >= 33, "{calls} calls were answered");
}

/// Real time: a peer that pipelines NULL calls without pause (so the server always finds
/// bytes waiting) is closed all the same.
#[tokio::test]
async fn a_flood_of_null_calls_does_not_keep_a_stranger() {
    let bound = Duration::from_millis(300);
    let server = stranger_bound(bound);
    let cancel = CancellationToken::new();
    let started = std::time::Instant::now();
    let c = Client::connect(&server, &cancel);
    let (mut rd, mut wr) = tokio::io::split(c.io);
    let batch: Vec<u8> = (0..100u32)
        .flat_map(|xid| {
            CallHeader::new(xid, dump::PROGRAM, dump::VERSION, dump::NULL)
                .to_record(&())
                .unwrap()
        })
        .collect();
    let flood = tokio::spawn(async move {
        let mut sent = 0u64;
        while wr.write_all(&batch).await.is_ok() {
            sent += 100;
        }
        sent
    });
    let mut answers = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let mut dec = RecordDecoder::default();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), rd.read(&mut buf))
            .await
            .expect("the stranger is closed within 10 s")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the flooding stranger is still served after 10 s"
        );
        answers += dec.push(&buf[..n]).unwrap().len() as u64;
    }
    let lived = started.elapsed();
    assert!(lived >= bound, "{lived:?}");
    assert!(lived < bound + Duration::from_secs(5), "{lived:?}");
    let sent = tokio::time::timeout(Duration::from_secs(10), flood)
        .await
        .expect("the flood ends with the connection")
        .unwrap();
    assert!(
        answers > 0 && sent >= answers,
        "{answers} answers, {sent} sent"
    );
    eventually("the stranger to leave", || server.client_count() == 0).await;
}
