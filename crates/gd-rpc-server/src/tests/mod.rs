//! Request handling through in-memory connections, and the shared listener over loopback.
//!
//! This module holds what the tests share: [`Client`], one in-memory connection to a server,
//! with a helper per call; [`eventually`]; the volfile source [`OneVolfile`]. The tests are
//! grouped by subject: `dispatch` (programs, versions, procedures and the error replies),
//! `volfiles` (GETSPEC and FETCHSPEC), `events` (rebalance status pushes), `ports` (the port
//! map), `connections` (records, slow readers, shutdown), `timeouts` (silent connections and
//! strangers), `listener` (one port for HTTP and SunRPC), `client` (the brick-op client).

mod client;
mod connections;
mod dispatch;
mod events;
mod listener;
mod ports;
mod timeouts;
mod volfiles;

use std::{net::SocketAddr, time::Duration};

use async_trait::async_trait;
use gd_sunrpc::{
    Decode, Dict, Encode, RecordDecoder, RpcMessage,
    programs::{handshake, portmap},
    rpc::{AcceptStat, AuthGlusterFsV2, CallHeader, Credential, ReplyBody, ReplyHeader},
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

struct OneVolfile;

#[async_trait]
impl VolfileSource for OneVolfile {
    async fn volfile(&self, key: &str) -> Option<String> {
        (key == "vol1").then(|| "volume vol1\n    type debug/io-stats\nend-volume\n".to_owned())
    }
}
