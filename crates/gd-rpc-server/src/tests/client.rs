//! The brick-op client against daemons played by the test on a unix socket: a good answer is
//! read (whatever the chunks it comes in), and every bad one — garbage, a reply to another
//! call, a refusal, silence, a closed connection, no daemon at all — is an error that says so.

use std::time::Duration;

use gd_sunrpc::{
    Dict, Encode, RecordDecoder, RpcMessage,
    programs::brick::{self, BrickOpReq, BrickOpRsp},
    rpc::{AcceptStat, ReplyHeader},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::UnixListener,
};

use crate::client::{BrickCall, BrickCallError};

/// What the played daemon does with the call it receives (its xid given).
type Answer = fn(u32) -> Vec<Vec<u8>>;

/// A daemon on a fresh socket that reads one call, checks it is a brick-op STATUS call, and
/// writes what `answer` says (in the chunks it says), then holds the connection a while.
async fn daemon(answer: Answer) -> (tempfile::TempDir, BrickCall) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.socket");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut decoder = RecordDecoder::default();
        let mut buf = [0u8; 4096];
        let call = loop {
            let n = s.read(&mut buf).await.unwrap();
            if let Some(r) = decoder.push(&buf[..n]).unwrap().into_iter().next() {
                break r;
            }
        };
        let (RpcMessage::Call(h), _) = RpcMessage::decode(&call).unwrap() else {
            panic!("not a call")
        };
        assert_eq!(
            (h.prog, h.vers, h.procedure),
            (brick::PROGRAM, brick::VERSION, brick::STATUS)
        );
        for chunk in answer(h.xid) {
            s.write_all(&chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    let mut call = BrickCall::to(&path);
    call.timeout = Duration::from_millis(500);
    (dir, call)
}

fn request() -> BrickOpReq {
    BrickOpReq::brick_status("/data/b1", brick::STATUS_CLIENTS).unwrap()
}

fn reply(xid: u32, stat: AcceptStat, rsp: &dyn Encode) -> Vec<u8> {
    ReplyHeader::accepted(xid, stat).to_record(rsp).unwrap()
}

fn good(xid: u32) -> Vec<Vec<u8>> {
    let mut out = Dict::new();
    out.set_i32("clientcount", 1);
    let rsp = BrickOpRsp {
        op_ret: 0,
        op_errno: 0,
        output: out.to_bytes().unwrap(),
        op_errstr: String::new(),
    };
    let r = reply(xid, AcceptStat::Success, &rsp);
    // In three pieces, the record mark split.
    vec![r[..2].to_vec(), r[2..10].to_vec(), r[10..].to_vec()]
}

#[tokio::test]
async fn a_good_answer_is_read_in_any_chunks() {
    let (_d, call) = daemon(good).await;
    let rsp = call.call(brick::STATUS, &request()).await.unwrap();
    assert_eq!(rsp.op_ret, 0);
    assert_eq!(
        rsp.decode_output().unwrap().get_i32("clientcount").unwrap(),
        Some(1)
    );
}

async fn error_of(answer: Answer) -> String {
    let (_d, call) = daemon(answer).await;
    call.call(brick::STATUS, &request())
        .await
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn every_bad_answer_is_an_error_that_says_what() {
    let e = error_of(|xid| vec![reply(xid + 1, AcceptStat::Success, &())]).await;
    assert!(e.contains("answered garbage: a reply to call"), "{e}");
    let e = error_of(|_| vec![vec![0x80, 0, 0, 4, 1, 2, 3, 4]]).await;
    assert!(e.contains("answered garbage"), "{e}");
    let e = error_of(|xid| vec![reply(xid, AcceptStat::Success, &7u32)]).await;
    assert!(e.contains("answered garbage"), "{e}");
    let e = error_of(|xid| vec![reply(xid, AcceptStat::ProcUnavail, &())]).await;
    assert!(e.contains("refused the call: ProcUnavail"), "{e}");
    // A record mark past the bound is refused before anything is read into it.
    let e = error_of(|_| vec![vec![0xff, 0xff, 0xff, 0xff]]).await;
    assert!(e.contains("answered garbage"), "{e}");
    let e = error_of(|_| vec![]).await;
    assert!(e.contains("did not answer within 500ms"), "{e}");
}

#[tokio::test]
async fn a_closed_connection_or_no_daemon_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.socket");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        drop(s);
    });
    let e = BrickCall::to(&path)
        .call(brick::STATUS, &request())
        .await
        .unwrap_err();
    assert!(
        matches!(e, BrickCallError::Closed { .. } | BrickCallError::Io { .. }),
        "{e}"
    );
    let e = BrickCall::to(dir.path().join("none.socket"))
        .call(brick::STATUS, &request())
        .await
        .unwrap_err();
    assert!(
        e.to_string().starts_with("cannot reach the daemon at"),
        "{e}"
    );
}
