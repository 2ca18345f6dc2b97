//! Volfiles: GETSPEC answered from the volfile source (or with GD1's errors), the keys each
//! client asked for remembered, and FETCHSPEC sent to every connected client.

use gd_sunrpc::programs::callback;

use super::*;

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
