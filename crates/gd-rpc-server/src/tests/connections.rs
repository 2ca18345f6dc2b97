//! One connection's records and life: malformed or oversized records close it, fragments and
//! pipelined calls are reassembled, a client that does not read is closed, and shutdown closes
//! every connection and frees its slot.

use gd_sunrpc::{programs::dump, record::encode_record};

use super::*;

#[tokio::test]
async fn malformed_and_oversized_records_close_the_connection() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    // A record too short for a header.
    let mut c = Client::connect(&server, &cancel);
    c.io.write_all(&encode_record(&[0, 0, 0, 1, 0]).unwrap())
        .await
        .unwrap();
    c.expect_closed().await;
    // An unknown msg_type.
    let mut c = Client::connect(&server, &cancel);
    c.io.write_all(&encode_record(&[0, 0, 0, 1, 0, 0, 0, 7]).unwrap())
        .await
        .unwrap();
    c.expect_closed().await;
    // A record mark announcing 2 GiB.
    let mut c = Client::connect(&server, &cancel);
    c.io.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1])
        .await
        .unwrap();
    c.expect_closed().await;
    eventually("the connections to leave", || server.client_count() == 0).await;
    // The server still serves.
    let mut c = Client::connect(&server, &cancel);
    assert_eq!(c.port_by_brick("/b").await.op_ret, -1);
}

#[tokio::test]
async fn calls_in_several_fragments_and_several_calls_in_one_write() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    let payload = {
        let mut w = gd_sunrpc::XdrWriter::new();
        CallHeader::new(1, portmap::PROGRAM, portmap::VERSION, portmap::PORTBYBRICK)
            .encode(&mut w)
            .unwrap();
        portmap::PortByBrickReq { brick: "/b".into() }
            .encode(&mut w)
            .unwrap();
        w.into_inner()
    };
    let (a, b) = payload.split_at(10);
    let mut wire = Vec::new();
    wire.extend_from_slice(&(a.len() as u32).to_be_bytes());
    wire.extend_from_slice(a);
    wire.extend_from_slice(&encode_record(b).unwrap());
    // and a second, one-fragment call in the same write
    let ping = CallHeader::new(2, dump::PROGRAM, dump::VERSION, dump::PING)
        .to_record(&())
        .unwrap();
    wire.extend_from_slice(&ping);
    c.io.write_all(&wire).await.unwrap();
    let first = c.next().await.unwrap();
    let second = c.next().await.unwrap();
    assert_eq!(RpcMessage::decode(&first).unwrap().0.xid(), 1);
    assert_eq!(RpcMessage::decode(&second).unwrap().0.xid(), 2);
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_not_waited_for() {
    let server = SunRpcServer::new(Limits {
        queue_depth: 2,
        ..Limits::default()
    });
    let cancel = CancellationToken::new();
    // A tiny pipe the client never reads: the writer blocks, the queue fills up.
    let (_ours, theirs) = tokio::io::duplex(8);
    let slot = server.try_connection_slot().unwrap();
    let task = tokio::spawn(conn::serve(
        server.clone(),
        theirs,
        peer(),
        Vec::new(),
        slot,
        cancel.clone(),
    ));
    eventually("the connection to register", || server.client_count() == 1).await;
    for _ in 0..10 {
        server.notify_fetchspec(None);
    }
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.client_count(), 0);
}

#[tokio::test]
async fn shutdown_closes_connections_and_slots_are_bounded() {
    let server = SunRpcServer::new(Limits {
        max_connections: 2,
        ..Limits::default()
    });
    let cancel = CancellationToken::new();
    let mut a = Client::connect(&server, &cancel);
    let mut b = Client::connect(&server, &cancel);
    assert!(server.try_connection_slot().is_none());
    a.port_by_brick("/b").await;
    b.sign_in("/b", 49152).await;
    cancel.cancel();
    a.expect_closed().await;
    b.expect_closed().await;
    eventually("the slots to be released", || {
        server.try_connection_slot().is_some()
    })
    .await;
    assert!(server.portmap().snapshot().is_empty());
}
