//! Request handling through in-memory connections, and the shared listener over loopback.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use async_trait::async_trait;
use gd_sunrpc::{
    Decode, Dict, Encode, RecordDecoder, RpcMessage,
    programs::{callback, dump, handshake, portmap},
    record::encode_record,
    rpc::{
        AcceptStat, AuthGlusterFsV2, CallHeader, Credential, RejectedReply, ReplyBody, ReplyHeader,
    },
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::sync::CancellationToken;

use super::*;

const ENOENT: i32 = 2;
const EINVAL: i32 = 22;

fn peer() -> Peer {
    Peer::Tcp(SocketAddr::from(([127, 0, 40, 9], 1000)))
}

/// A client end of an in-memory connection served by `server`.
struct Client {
    io: DuplexStream,
    decoder: RecordDecoder,
    ready: std::collections::VecDeque<Vec<u8>>,
    xid: u32,
}

impl Client {
    fn connect(server: &SunRpcServer, cancel: &CancellationToken) -> Client {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let slot = server.try_connection_slot().expect("a connection slot");
        tokio::spawn(conn::serve(
            server.clone(),
            theirs,
            peer(),
            Vec::new(),
            slot,
            cancel.clone(),
        ));
        Client {
            io: ours,
            decoder: RecordDecoder::default(),
            ready: Default::default(),
            xid: 100,
        }
    }

    /// The next record the server sends, or `None` once it closed the connection.
    async fn next(&mut self) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Some(r);
            }
            let n = tokio::time::timeout(Duration::from_secs(60), self.io.read(&mut buf))
                .await
                .expect("the server answers or closes within 60 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.ready
                .extend(self.decoder.push(&buf[..n]).expect("well-formed records"));
        }
    }

    /// Calls and returns the reply's header and result bytes.
    async fn call(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        args: &dyn Encode,
    ) -> (ReplyHeader, Vec<u8>) {
        self.xid += 1;
        let call = CallHeader {
            cred: Credential::GlusterFsV2(AuthGlusterFsV2 {
                pid: 4242,
                lk_owner: 4242u32.to_le_bytes().to_vec(),
                ..Default::default()
            }),
            ..CallHeader::new(self.xid, prog, vers, procedure)
        };
        self.io
            .write_all(&call.to_record(args).unwrap())
            .await
            .unwrap();
        let record = self.next().await.expect("a reply");
        let (msg, rest) = RpcMessage::decode(&record).unwrap();
        let RpcMessage::Reply(reply) = msg else {
            panic!("not a reply: {msg:?}");
        };
        assert_eq!(reply.xid, self.xid);
        (reply, rest.to_vec())
    }

    async fn ok<T: Decode>(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        args: &dyn Encode,
    ) -> T {
        let (reply, rest) = self.call(prog, vers, procedure, args).await;
        assert!(reply.is_success(), "{reply:?}");
        T::from_xdr(&rest).unwrap()
    }

    async fn stat(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        args: &dyn Encode,
    ) -> AcceptStat {
        let (reply, rest) = self.call(prog, vers, procedure, args).await;
        assert!(rest.is_empty());
        match reply.body {
            ReplyBody::Accepted { stat, .. } => stat,
            ReplyBody::Denied(d) => panic!("denied: {d:?}"),
        }
    }

    async fn getspec(&mut self, key: &str) -> handshake::GetspecRsp {
        let req = handshake::GetspecReq {
            flags: handshake::GETSPEC_FLAG_SERVERS_LIST,
            key: key.into(),
            xdata: {
                let mut d = Dict::new();
                d.set_str(handshake::KEY_MIN_OP_VERSION, "1");
                d.set_str(handshake::KEY_MAX_OP_VERSION, "100000");
                d.to_xdata().unwrap()
            },
        };
        self.ok(
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::GETSPEC,
            &req,
        )
        .await
    }

    async fn port_by_brick(&mut self, brick: &str) -> portmap::PortByBrickRsp {
        let req = portmap::PortByBrickReq {
            brick: brick.into(),
        };
        self.ok(
            portmap::PROGRAM,
            portmap::VERSION,
            portmap::PORTBYBRICK,
            &req,
        )
        .await
    }

    async fn sign_in(&mut self, brick: &str, port: i32) -> portmap::SigninRsp {
        let req = portmap::SigninReq {
            brick: brick.into(),
            port,
            pid: 777,
        };
        self.ok(portmap::PROGRAM, portmap::VERSION, portmap::SIGNIN, &req)
            .await
    }

    async fn sign_out(&mut self, brick: &str, port: i32) -> portmap::SignoutRsp {
        let req = portmap::SignoutReq {
            brick: brick.into(),
            port,
            rdma_port: 0,
        };
        self.ok(portmap::PROGRAM, portmap::VERSION, portmap::SIGNOUT, &req)
            .await
    }

    /// Asserts the server closes the connection (after any records it still sends).
    async fn expect_closed(&mut self) {
        while let Some(r) = self.next().await {
            let _ = r;
        }
    }
}

/// Waits until `cond` holds (the server handles a disconnect asynchronously).
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn dump_lists_the_served_programs_and_ping_answers() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    let rsp: dump::DumpRsp = c
        .ok(
            dump::PROGRAM,
            dump::VERSION,
            dump::DUMP,
            &dump::DumpReq {
                gfs_id: dump::CLIENT_GFS_ID,
            },
        )
        .await;
    assert_eq!((rsp.op_ret, rsp.op_errno), (0, 0));
    assert!(rsp.lists(dump::PROGRAM, dump::VERSION));
    assert!(rsp.lists(portmap::PROGRAM, portmap::VERSION));
    assert!(rsp.lists(handshake::PROGRAM, handshake::VERSION));
    assert!(!rsp.lists(1_298_437, 400), "must not look like a brick");
    assert_eq!(rsp.progs.len(), 3);
    let ping: dump::CommonRsp = c.ok(dump::PROGRAM, dump::VERSION, dump::PING, &()).await;
    assert_eq!(ping, dump::CommonRsp::default());
}

#[tokio::test]
async fn getspec_without_a_volfile_is_enoent_and_the_key_is_remembered() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    let rsp = c.getspec("/nosuchvol").await;
    assert_eq!(rsp, handshake::GetspecRsp::error(ENOENT));
    let clients = server.clients();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].peer, peer());
    assert_eq!(clients[0].keys, ["nosuchvol"]);
    // GD1 refuses keys of NAME_MAX bytes or more.
    let rsp = c.getspec(&"k".repeat(255)).await;
    assert_eq!(rsp, handshake::GetspecRsp::error(EINVAL));
    // A dict that does not decode.
    let req = handshake::GetspecReq {
        flags: 0,
        key: "v".into(),
        xdata: vec![0, 0, 0, 9],
    };
    let rsp: handshake::GetspecRsp = c
        .ok(
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::GETSPEC,
            &req,
        )
        .await;
    assert_eq!(rsp, handshake::GetspecRsp::error(EINVAL));
}

struct OneVolfile;

#[async_trait]
impl VolfileSource for OneVolfile {
    async fn volfile(&self, key: &str) -> Option<String> {
        (key == "vol1").then(|| "volume vol1\n    type debug/io-stats\nend-volume\n".to_owned())
    }
}

struct WithXdata;

#[async_trait]
impl VolfileSource for WithXdata {
    async fn volfile(&self, _key: &str) -> Option<String> {
        None
    }

    async fn getspec(&self, req: &GetspecRequest<'_>) -> Result<Volfile, i32> {
        if req
            .xdata
            .get_str(handshake::KEY_MAX_OP_VERSION)
            .ok()
            .flatten()
            != Some("100000")
        {
            return Err(95);
        }
        let mut xdata = Dict::new();
        xdata.set_str(handshake::KEY_PIDFILE, "/run/shd.pid");
        Ok(Volfile {
            spec: format!("{}:{}", req.raw_key, req.peer),
            xdata,
        })
    }
}

#[tokio::test]
async fn getspec_serves_what_the_source_gives() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    assert_eq!(c.getspec("vol1").await.op_ret, -1);
    server.set_volfile_source(Arc::new(OneVolfile));
    for key in ["vol1", "/vol1"] {
        let rsp = c.getspec(key).await;
        assert!(rsp.spec.starts_with("volume vol1\n"));
        assert_eq!(rsp.op_ret as usize, rsp.spec.len());
        assert_eq!((rsp.op_errno, rsp.xdata.len()), (0, 0));
    }
    assert_eq!(
        c.getspec("vol2").await,
        handshake::GetspecRsp::error(ENOENT)
    );
    assert_eq!(server.clients()[0].keys, ["vol1", "vol2"]);

    server.set_volfile_source(Arc::new(WithXdata));
    let rsp = c.getspec("shd/vol1").await;
    assert_eq!(rsp.spec, format!("shd/vol1:{}", peer()));
    assert_eq!(rsp.op_ret as usize, rsp.spec.len());
    let xdata = rsp.decode_xdata().unwrap();
    assert_eq!(
        xdata.get_str(handshake::KEY_PIDFILE).unwrap(),
        Some("/run/shd.pid")
    );
}

#[tokio::test]
async fn portmap_sign_in_lookup_sign_out_and_disconnect() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut brick = Client::connect(&server, &cancel);
    let mut client = Client::connect(&server, &cancel);
    let changes = server.portmap().subscribe();

    assert_eq!(client.port_by_brick("/data/b1").await.op_ret, -1);
    assert_eq!(
        brick.sign_in("/data/b1", 49152).await,
        portmap::SigninRsp::default()
    );
    assert_eq!(
        brick.sign_in("/data/b2", 49153).await,
        portmap::SigninRsp::default()
    );
    assert!(changes.has_changed().unwrap());
    assert_eq!(
        client.port_by_brick("/data/b1").await,
        portmap::PortByBrickRsp {
            port: 49152,
            ..Default::default()
        }
    );
    assert_eq!(server.portmap().port_of("/data/b1"), Some(49152));
    assert_eq!(server.portmap().get("/data/b1").unwrap().pid, Some(777));
    let by_port: portmap::BrickByPortRsp = client
        .ok(
            portmap::PROGRAM,
            portmap::VERSION,
            portmap::BRICKBYPORT,
            &portmap::BrickByPortReq { port: 49153 },
        )
        .await;
    assert_eq!((by_port.op_ret, by_port.brick.as_str()), (0, "/data/b2"));

    assert_eq!(
        brick.sign_out("/data/b1", 49152).await,
        portmap::SignoutRsp::default()
    );
    assert_eq!(
        client.port_by_brick("/data/b1").await,
        portmap::PortByBrickRsp {
            op_ret: -1,
            ..Default::default()
        }
    );
    // A bad port is refused and changes nothing.
    let refused = brick.sign_in("/data/b3", 70000).await;
    assert_eq!((refused.op_ret, refused.op_errno), (-1, EINVAL));
    assert_eq!(server.portmap().port_of("/data/b3"), None);

    // The brick's connection closes: its bricks go; the other client stays registered.
    drop(brick);
    eventually("the brick's entries to go", || {
        server.portmap().snapshot().is_empty()
    })
    .await;
    eventually("the brick's connection to leave", || {
        server.client_count() == 1
    })
    .await;
    assert_eq!(client.port_by_brick("/data/b2").await.op_ret, -1);
}

#[tokio::test]
async fn unknown_programs_versions_and_procedures() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    assert_eq!(c.stat(1_238_463, 2, 1, &()).await, AcceptStat::ProgUnavail);
    assert_eq!(
        c.stat(
            callback::PROGRAM,
            callback::VERSION,
            callback::FETCHSPEC,
            &()
        )
        .await,
        AcceptStat::ProgUnavail
    );
    assert_eq!(
        c.stat(handshake::PROGRAM, 1, handshake::GETSPEC, &()).await,
        AcceptStat::ProgMismatch { low: 2, high: 2 }
    );
    assert_eq!(
        c.stat(dump::PROGRAM, 2, dump::DUMP, &()).await,
        AcceptStat::ProgMismatch { low: 1, high: 1 }
    );
    for (prog, vers, procedure) in [
        (dump::PROGRAM, dump::VERSION, dump::NULL),
        (dump::PROGRAM, dump::VERSION, 3),
        (handshake::PROGRAM, handshake::VERSION, handshake::NULL),
        (handshake::PROGRAM, handshake::VERSION, handshake::SETVOLUME),
        (handshake::PROGRAM, handshake::VERSION, 99),
        (portmap::PROGRAM, portmap::VERSION, portmap::NULL),
        (portmap::PROGRAM, portmap::VERSION, portmap::SIGNUP),
        (portmap::PROGRAM, portmap::VERSION, u32::MAX),
    ] {
        assert_eq!(
            c.stat(prog, vers, procedure, &()).await,
            AcceptStat::ProcUnavail,
            "{prog} {procedure}"
        );
    }
    // The connection is still fine.
    assert_eq!(c.port_by_brick("/x").await.op_ret, -1);
}

#[tokio::test]
async fn garbage_arguments() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    // Truncated arguments, an overlong string, a string with a NUL.
    let long_key = {
        let mut w = gd_sunrpc::XdrWriter::new();
        w.put_u32(0);
        w.put_u32(1 << 30);
        w.into_inner()
    };
    for (prog, vers, procedure, args) in [
        (dump::PROGRAM, dump::VERSION, dump::DUMP, vec![0u8, 0, 0]),
        (
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::GETSPEC,
            long_key,
        ),
        (
            portmap::PROGRAM,
            portmap::VERSION,
            portmap::PORTBYBRICK,
            vec![0, 0, 0, 2, b'a', 0, 0, 0],
        ),
        (
            portmap::PROGRAM,
            portmap::VERSION,
            portmap::SIGNIN,
            vec![0, 0, 0, 1, b'/', 0, 0, 0],
        ),
        (portmap::PROGRAM, portmap::VERSION, portmap::SIGNOUT, vec![]),
        (
            portmap::PROGRAM,
            portmap::VERSION,
            portmap::BRICKBYPORT,
            vec![1],
        ),
    ] {
        assert_eq!(
            c.stat(prog, vers, procedure, &RawArgs(args)).await,
            AcceptStat::GarbageArgs,
            "{prog} {procedure}"
        );
    }
    assert!(server.portmap().snapshot().is_empty());
}

/// Arguments given as raw bytes.
struct RawArgs(Vec<u8>);

impl Encode for RawArgs {
    fn encode(&self, w: &mut gd_sunrpc::XdrWriter) -> Result<(), gd_sunrpc::XdrError> {
        // The bytes as they are, without XDR padding.
        *w = gd_sunrpc::XdrWriter::from_vec([w.as_slice(), &self.0].concat());
        Ok(())
    }
}

#[tokio::test]
async fn denied_calls_get_rfc_5531_replies() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut c = Client::connect(&server, &cancel);
    // rpcvers 3: MSG_DENIED / RPC_MISMATCH 2..2.
    let mut call = CallHeader::new(7, dump::PROGRAM, dump::VERSION, dump::DUMP)
        .to_record(&())
        .unwrap();
    call[12..16].copy_from_slice(&3u32.to_be_bytes());
    c.io.write_all(&call).await.unwrap();
    let (msg, _) = RpcMessage::decode(&c.next().await.unwrap())
        .map(|(m, r)| (m, r.len()))
        .unwrap();
    assert_eq!(
        msg,
        RpcMessage::Reply(ReplyHeader::denied(
            7,
            RejectedReply::RpcMismatch { low: 2, high: 2 }
        ))
    );
    // A stray REPLY from the client is ignored; the connection goes on.
    c.io.write_all(&ReplyHeader::success(9).to_record(&()).unwrap())
        .await
        .unwrap();
    assert_eq!(c.port_by_brick("/b").await.op_ret, -1);
}

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
async fn fetchspec_reaches_every_connected_client() {
    let server = SunRpcServer::default();
    let cancel = CancellationToken::new();
    let mut a = Client::connect(&server, &cancel);
    let mut b = Client::connect(&server, &cancel);
    // Make sure both are registered (a call answered means the connection is in).
    a.getspec("vol1").await;
    b.port_by_brick("/b").await;
    assert_eq!(server.notify_fetchspec(Some("vol1")), 2);
    assert_eq!(server.notify_fetchspec(None), 2);
    for c in [&mut a, &mut b] {
        for xid in [1, 2] {
            let record = c.next().await.unwrap();
            assert_eq!(record, callback::fetchspec_record(xid).unwrap()[4..]);
        }
    }
    drop(b);
    eventually("the closed client to leave", || server.client_count() == 1).await;
    assert_eq!(server.notify_fetchspec(None), 1);
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

mod listener {
    use super::*;
    use crate::sunrpc::listener::{Listeners, Prefixed, spawn};

    #[tokio::test]
    async fn prefixed_streams_replay_their_prefix() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b"world").await.unwrap();
        drop(a);
        let mut p = Prefixed::new(b"hello ".to_vec(), b);
        let mut s = String::new();
        p.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }

    /// HTTP and SunRPC on one port, SunRPC on the unix socket, and graceful shutdown.
    #[tokio::test]
    async fn one_port_serves_http_and_sunrpc() {
        let dir = tempfile::tempdir().unwrap();
        let unix_path = dir.path().join(UNIX_SOCKET_NAME);
        // A stale socket file is replaced.
        drop(std::os::unix::net::UnixListener::bind(&unix_path).unwrap());
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let addr = tcp.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/ping",
            axum::routing::get(|axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                format!("pong {}", peer.ip())
            }),
        );
        let server = SunRpcServer::default();
        let cancel = CancellationToken::new();
        let task = spawn(
            Listeners {
                tcp,
                app,
                tls: None,
                unix_path: unix_path.clone(),
            },
            server.clone(),
            cancel.clone(),
        )
        .unwrap();

        // HTTP, with the peer address available to handlers.
        let mut http = tokio::net::TcpStream::connect(addr).await.unwrap();
        http.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("pong 127.0.0.1"), "{response}");

        // SunRPC over TCP and over the unix socket.
        let dump = CallHeader::new(3, dump::PROGRAM, dump::VERSION, dump::DUMP)
            .to_record(&dump::DumpReq { gfs_id: 1 })
            .unwrap();
        async fn dump_over(
            s: &mut (impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin),
            call: &[u8],
        ) -> dump::DumpRsp {
            s.write_all(call).await.unwrap();
            let mut dec = RecordDecoder::default();
            let mut buf = [0u8; 1024];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed");
                if let Some(r) = dec.push(&buf[..n]).unwrap().pop() {
                    let (msg, rest) = RpcMessage::decode(&r).unwrap();
                    assert_eq!(msg.xid(), 3);
                    return dump::DumpRsp::from_xdr(rest).unwrap();
                }
            }
        }
        let mut tcp_client = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(dump_over(&mut tcp_client, &dump).await.progs.len(), 3);
        let mut unix_client = tokio::net::UnixStream::connect(&unix_path).await.unwrap();
        assert_eq!(dump_over(&mut unix_client, &dump).await.progs.len(), 3);
        let peers: Vec<Peer> = server.clients().into_iter().map(|c| c.peer).collect();
        assert_eq!(peers.len(), 2);
        assert!(peers.contains(&Peer::Unix));

        // Garbage goes to HTTP, which refuses it.
        let mut junk = tokio::net::TcpStream::connect(addr).await.unwrap();
        junk.write_all(b"\x01\x02garbage\r\n\r\n").await.unwrap();
        let mut response = String::new();
        let _ = junk.read_to_string(&mut response).await;
        assert!(
            response.is_empty() || response.starts_with("HTTP/1.1 400"),
            "{response}"
        );

        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            !unix_path.exists(),
            "the socket file is removed at shutdown"
        );
        assert_eq!(server.client_count(), 0);
    }

    /// With TLS configured, HTTP needs TLS and SunRPC stays plaintext on the same port.
    #[tokio::test]
    async fn tls_for_http_plaintext_for_sunrpc() {
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gd-cli/tests/fixtures");
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
            fixtures.join("server.pem"),
            fixtures.join("server.key"),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The test certificate names 127.0.0.1.
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let addr = tcp.local_addr().unwrap();
        let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
        let server = SunRpcServer::default();
        let cancel = CancellationToken::new();
        let task = spawn(
            Listeners {
                tcp,
                app,
                tls: Some(tls),
                unix_path: dir.path().join(UNIX_SOCKET_NAME),
            },
            server.clone(),
            cancel.clone(),
        )
        .unwrap();

        let ca = reqwest::Certificate::from_pem(&std::fs::read(fixtures.join("ca.pem")).unwrap())
            .unwrap();
        let https = reqwest::Client::builder()
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let body = https
            .get(format!("https://{addr}/ping"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "pong");

        // Plain HTTP meets the TLS handshake and gets no HTTP answer.
        let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
        plain
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), plain.read_to_end(&mut response))
            .await
            .unwrap();
        assert!(!response.starts_with(b"HTTP/1.1 200"));

        // SunRPC in clear.
        let mut rpc = tokio::net::TcpStream::connect(addr).await.unwrap();
        let call = CallHeader::new(4, portmap::PROGRAM, portmap::VERSION, portmap::PORTBYBRICK)
            .to_record(&portmap::PortByBrickReq { brick: "/b".into() })
            .unwrap();
        rpc.write_all(&call).await.unwrap();
        let mut dec = RecordDecoder::default();
        let mut buf = [0u8; 256];
        let record = loop {
            let n = rpc.read(&mut buf).await.unwrap();
            assert!(n > 0);
            if let Some(r) = dec.push(&buf[..n]).unwrap().pop() {
                break r;
            }
        };
        let (msg, rest) = RpcMessage::decode(&record).unwrap();
        assert_eq!(msg.xid(), 4);
        assert_eq!(portmap::PortByBrickRsp::from_xdr(rest).unwrap().op_ret, -1);

        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
