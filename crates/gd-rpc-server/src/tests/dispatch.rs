//! Which program answers a call: DUMP lists the served programs, and calls no program serves
//! (unknown program, version or procedure, garbage arguments, a wrong RPC version) get the
//! RFC 5531 reply that says so, and the connection goes on.

use gd_sunrpc::{
    programs::{callback, dump},
    rpc::RejectedReply,
};

use super::*;

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
