//! The shared listener over loopback: HTTP and SunRPC on one port, SunRPC on the unix socket,
//! TLS for HTTP only, and graceful shutdown.

use gd_sunrpc::programs::dump;

use super::*;
use crate::listener::{Listeners, Prefixed, spawn};

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
        axum::routing::get(
            |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                format!("pong {}", peer.ip())
            },
        ),
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

    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(fixtures.join("ca.pem")).unwrap()).unwrap();
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
