//! The port map over the wire: bricks sign in and out, clients look their ports up (by brick
//! and by port), and a brick's entries go with its connection.

use super::*;

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
