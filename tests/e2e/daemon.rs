//! End-to-end: one real `glusterd2` per test, on its own loopback address, with each store
//! backend; the real `glustercli` against it.

use std::time::Duration;

use gd_api::{ErrorResp, Peer, VersionResp};
use gd_store::Store;
use gd_testkit::*;

fn token(dirs: &NodeDirs, method: &str, path: &str) -> String {
    let secret = gd_auth::read_secret(&dirs.secret_file()).expect("secret file");
    gd_auth::issue_token(
        gd_auth::CLI_USER,
        &secret,
        method,
        path,
        gd_auth::TOKEN_VALIDITY,
    )
}

fn get_peers(d: &Daemon, dirs: &NodeDirs) -> Vec<Peer> {
    let resp = blocking_client()
        .get(format!("{}/v1/peers", d.url()))
        .bearer_auth(token(dirs, "GET", "/v1/peers"))
        .send()
        .expect("GET /v1/peers");
    assert_eq!(resp.status(), 200);
    resp.json().expect("peer list JSON")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn local_store_node_serves_rest_and_cli() {
    let dirs = NodeDirs::new();
    let ip = "127.0.10.1";
    let d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();
    let http = blocking_client();

    // Health and version need no token.
    let ping = http.get(format!("{}/ping", d.url())).send().unwrap();
    assert_eq!(ping.status(), 200);
    assert!(ping.headers().contains_key("x-request-id"));
    let v: VersionResp = http
        .get(format!("{}/version", d.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v.api_version, 1);

    // The secret was created private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dirs.secret_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "auth file mode {mode:o}");

    // No token: 401 with the error body and a request id.
    let resp = http.get(format!("{}/v1/peers", d.url())).send().unwrap();
    assert_eq!(resp.status(), 401);
    let rid = resp
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!rid.is_empty());
    let err: ErrorResp = resp.json().unwrap();
    assert_eq!(err.errors[0].code, 4);
    assert!(
        err.errors[0].message.contains("Authorization"),
        "{}",
        err.message()
    );

    // A token for another path is refused.
    let resp = http
        .get(format!("{}/v1/peers", d.url()))
        .bearer_auth(token(&dirs, "GET", "/v1/volumes"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);

    // With a token: this node, online, with its addresses and zone.
    let peers = get_peers(&d, &dirs);
    assert_eq!(peers.len(), 1, "{peers:?}");
    let me = &peers[0];
    assert!(me.online);
    assert_eq!(me.pid, Some(d.pid()));
    assert_eq!(me.client_addresses, vec![format!("{ip}:24007")]);
    assert_eq!(me.metadata.get("_zone"), Some(&me.id.to_string()));
    let path = format!("/v1/peers/{}", me.id);
    let one: Peer = http
        .get(format!("{}{path}", d.url()))
        .bearer_auth(token(&dirs, "GET", &path))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(&one, me);
    let resp = http
        .get(format!("{}/v1/peers/not-a-uuid", d.url()))
        .bearer_auth(token(&dirs, "GET", "/v1/peers/not-a-uuid"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    let unknown = format!("/v1/peers/{}", uuid::Uuid::new_v4());
    let resp = http
        .get(format!("{}{unknown}", d.url()))
        .bearer_auth(token(&dirs, "GET", &unknown))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);

    // The CLI: table, JSON, wrong secret.
    let out = cli_on(&d, &dirs, &["peer", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains(&me.id.to_string()) && table.contains("yes"),
        "{table}"
    );
    let out = cli_on(&d, &dirs, &["peer", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli_on(&d, &dirs, &["--json", "peer", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<Peer> = serde_json::from_str(&stdout(&out)).expect("--json prints Vec<Peer>");
    assert_eq!(listed, peers);
    let out = cli(&[
        "--endpoints",
        &d.url(),
        "--secret",
        "not-the-secret",
        "peer",
        "list",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    let out = cli_on(&d, &dirs, &["version"]);
    assert!(
        out.status.success() && stdout(&out).contains("API version: 1"),
        "{}",
        stdout(&out)
    );

    // The API describes itself, and the description is the committed one.
    let spec: serde_json::Value = http
        .get(format!("{}/v1/openapi.json", d.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let committed: serde_json::Value = serde_json::from_str(&read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api/openapi.json"),
    ))
    .expect("docs/api/openapi.json");
    assert_eq!(spec, committed);
    let eps: Vec<gd_api::Endpoint> = http
        .get(format!("{}/endpoints", d.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        eps.iter()
            .any(|e| e.path == "/v1/peers" && e.methods == ["GET"] && e.response_type == "[]Peer"),
        "{eps:?}"
    );

    // Unknown routes and methods get the error body.
    let resp = http
        .get(format!("{}/v1/nothing", d.url()))
        .bearer_auth(token(&dirs, "GET", "/v1/nothing"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.json::<ErrorResp>().is_ok());

    // SIGTERM is a clean exit that removes the pid file.
    let pidfile = dirs.run.join("glusterd2.pid");
    assert_eq!(read(&pidfile).trim(), d.pid().to_string());
    let status = d.stop().unwrap();
    assert!(status.success(), "{status}");
    assert!(!pidfile.exists());
}

#[test]
fn second_daemon_on_the_same_state_dir_is_refused() {
    let dirs = NodeDirs::new();
    let first = start_daemon(&dirs, "127.0.10.2", &["--store", "local"]).unwrap();
    let second = spawn_daemon(
        &dirs,
        "127.0.10.3",
        24007,
        &["--store", "local", "--logfile", "stderr"],
    )
    .unwrap();
    let (status, err) = second.wait_exit(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(
        err.contains("already running") && err.contains(&first.pid().to_string()),
        "{err}"
    );
    // The first one is untouched.
    assert_eq!(http_status(&format!("{}/ping", first.url())), Some(200));
}

#[test]
fn bad_configuration_refuses_to_start_and_names_the_key() {
    let dirs = NodeDirs::new();
    std::fs::create_dir_all(&dirs.state).unwrap();
    let conf = dirs.state.join("glusterd2.toml");
    std::fs::write(&conf, "loglevel = \"info\"\nclientadress = \":24007\"\n").unwrap();
    let d = spawn_daemon(
        &dirs,
        "127.0.10.4",
        24007,
        &["--config", conf.to_str().unwrap()],
    )
    .unwrap();
    let (status, err) = d.wait_exit(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("clientadress"), "{err}");

    let d = spawn_daemon(&dirs, "127.0.10.4", 24007, &["--loglevel", "shouty"]).unwrap();
    let (status, err) = d.wait_exit(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("loglevel"), "{err}");
    assert!(
        !dirs.state.join("uuid.toml").exists(),
        "a refused start must change nothing"
    );
}

#[test]
fn managed_store_keeps_identity_and_data_across_restarts() {
    let dirs = NodeDirs::new();
    let ip = "127.0.10.5";
    let d = start_daemon(&dirs, ip, &["--store", "managed"]).unwrap();
    let peers = get_peers(&d, &dirs);
    assert_eq!(peers.len(), 1);
    assert!(peers[0].online);
    assert!(d.log().contains("managed etcd member is up"), "{}", d.log());
    assert!(dirs.state.join("store/etcd.data").is_dir());
    d.stop().unwrap();
    // The managed etcd stopped with the daemon.
    assert_eq!(http_status(&format!("http://{ip}:24379/health")), None);

    let d = start_daemon(&dirs, ip, &["--store", "managed"]).unwrap();
    let again = get_peers(&d, &dirs);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, peers[0].id);
    assert!(again[0].online);
    assert_eq!(again[0].pid, Some(d.pid()));

    // A crash of glusterd2 does not keep the next start from owning its etcd member again.
    d.kill9();
    let d = start_daemon(&dirs, ip, &["--store", "managed"]).unwrap();
    let after_crash = get_peers(&d, &dirs);
    assert_eq!(after_crash[0].id, peers[0].id);
    assert_eq!(after_crash[0].pid, Some(d.pid()));
    d.stop().unwrap();
    assert_eq!(
        http_status(&format!("http://{ip}:24379/health")),
        None,
        "no etcd left behind"
    );
}

#[test]
fn external_etcd_liveness_follows_the_process() {
    let rt = runtime();
    let ip = "127.0.10.6";
    let etcd = rt.block_on(TestEtcd::start(ip)).unwrap();
    let dirs = NodeDirs::new();
    let d = start_daemon(&dirs, ip, &["--etcdendpoints", &etcd.client_url]).unwrap();
    assert!(
        d.log().contains("etcd endpoints are configured"),
        "auto picks etcd:\n{}",
        d.log()
    );
    let me = get_peers(&d, &dirs).remove(0);
    assert!(me.online);

    let ident: toml::Table = toml::from_str(&read(&dirs.state.join("uuid.toml"))).unwrap();
    let cluster = ident["cluster-id"].as_str().unwrap().to_owned();
    let raw = rt.block_on(etcd.store()).unwrap();
    let alive = format!("gluster-{cluster}/alive/{}", me.id);
    let peer = format!("gluster-{cluster}/peers/{}", me.id);
    assert!(rt.block_on(raw.get(&alive)).unwrap().is_some());
    assert!(rt.block_on(raw.get(&peer)).unwrap().is_some());

    // A crash: the lease expires and the node goes offline within the TTL, with no writer.
    d.kill9();
    let gone = wait_for("the alive key to expire", Duration::from_secs(15), || {
        rt.block_on(raw.get(&alive))
            .unwrap()
            .is_none()
            .then_some(())
    });
    assert!(gone.is_ok(), "alive key still present 15 s after kill -9");
    assert!(
        rt.block_on(raw.get(&peer)).unwrap().is_some(),
        "the peer record stays"
    );

    // Back up: online again with no command; a clean stop withdraws liveness at once.
    let d = start_daemon(&dirs, ip, &["--etcdendpoints", &etcd.client_url]).unwrap();
    assert!(get_peers(&d, &dirs)[0].online);
    d.stop().unwrap();
    assert!(
        rt.block_on(raw.get(&alive)).unwrap().is_none(),
        "clean stop revokes the lease"
    );
}

#[test]
fn restauth_off_serves_without_a_token() {
    let dirs = NodeDirs::new();
    std::fs::create_dir_all(&dirs.state).unwrap();
    let conf = dirs.state.join("glusterd2.toml");
    std::fs::write(&conf, "restauth = false\nstore = \"local\"\n").unwrap();
    let d = start_daemon(&dirs, "127.0.10.7", &["--config", conf.to_str().unwrap()]).unwrap();
    assert_eq!(http_status(&format!("{}/v1/peers", d.url())), Some(200));
    assert!(d.log().contains("REST AUTHENTICATION IS OFF"));
    assert!(!dirs.secret_file().exists());
    // No secret anywhere: the CLI sends no token, and the daemon needs none.
    let empty = tempfile::tempdir().unwrap();
    let out = cli_with_env(
        &["--endpoints", &d.url(), "peer", "list"],
        &[("GD2_STATE_DIR", empty.path())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn tls_listener_serves_https_only() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/gd-cli/tests/fixtures");
    let (ca, cert, key) = (
        fixtures.join("ca.pem"),
        fixtures.join("server.pem"),
        fixtures.join("server.key"),
    );
    let dirs = NodeDirs::new();
    // The test certificate names 127.0.0.1, so this node takes a free port there.
    let ip = "127.0.0.1";
    let port = free_port(ip);
    let d = spawn_daemon(
        &dirs,
        ip,
        port,
        &[
            "--store",
            "local",
            "--cert-file",
            cert.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
    )
    .unwrap();
    let https = format!("https://{ip}:{port}");
    let secret = dirs.secret_file();
    let args = [
        "--endpoints",
        &https,
        "--cacert",
        ca.to_str().unwrap(),
        "--secret-file",
        secret.to_str().unwrap(),
    ];
    let up = wait_for(
        "glusterd2 to answer over TLS",
        Duration::from_secs(30),
        || {
            let mut a = args.to_vec();
            a.push("version");
            cli(&a).status.success().then_some(())
        },
    );
    assert!(up.is_ok(), "{}", d.log());
    let mut a = args.to_vec();
    a.extend(["--json", "peer", "list"]);
    let out = cli(&a);
    assert!(out.status.success(), "{}", stderr(&out));
    let peers: Vec<Peer> = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(peers[0].online);
    // Plain HTTP gets no answer from a TLS listener.
    assert_ne!(http_status(&format!("http://{ip}:{port}/ping")), Some(200));
}

#[test]
fn tokens_cover_the_query_and_live_at_most_a_day() {
    let dirs = NodeDirs::new();
    let d = start_daemon(&dirs, "127.0.10.8", &["--store", "local"]).unwrap();
    let http = blocking_client();
    let secret = gd_auth::read_secret(&dirs.secret_file()).expect("secret file");
    let sign = |method: &str, target: &str, validity: Duration| {
        gd_auth::issue_token(gd_auth::CLI_USER, &secret, method, target, validity)
    };
    let send = |d: &Daemon, method: reqwest::Method, target: &str, token: String| {
        let resp = http
            .request(method, format!("{}{target}", d.url()))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().unwrap_or_default();
        (
            status,
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        )
    };
    let day = Duration::from_secs(24 * 3600);

    // A token for a path does not work with a query added: the query is signed too.
    let peer = format!("/v1/peers/{}", uuid::Uuid::new_v4());
    let forced = format!("{peer}?force=true");
    let (s, m) = send(
        &d,
        reqwest::Method::DELETE,
        &forced,
        sign("DELETE", &peer, gd_auth::TOKEN_VALIDITY),
    );
    assert_eq!(
        (s, m.as_str()),
        (
            401,
            "authentication failed: token was issued for another request (qsh mismatch)"
        )
    );
    // Signed with its query it passes (the peer is unknown, so nothing is removed either way),
    // however the query is spelled.
    let (s, m) = send(
        &d,
        reqwest::Method::DELETE,
        &forced,
        sign("DELETE", &forced, gd_auth::TOKEN_VALIDITY),
    );
    assert_eq!(s, 404, "{m}");
    let (s, m) = send(
        &d,
        reqwest::Method::GET,
        "/v1/volumes?value=a%20b&key=k",
        sign(
            "GET",
            "/v1/volumes?key=k&value=a+b",
            gd_auth::TOKEN_VALIDITY,
        ),
    );
    assert_eq!(s, 200, "{m}");
    let (s, _) = send(
        &d,
        reqwest::Method::GET,
        "/v1/volumes?key=k&value=other",
        sign(
            "GET",
            "/v1/volumes?key=k&value=a+b",
            gd_auth::TOKEN_VALIDITY,
        ),
    );
    assert_eq!(s, 401);

    // A token for a century is refused; one for a day is the longest accepted by default.
    let century = Duration::from_secs(100 * 365 * 24 * 3600);
    let (s, m) = send(
        &d,
        reqwest::Method::GET,
        "/v1/peers",
        sign("GET", "/v1/peers", century),
    );
    assert_eq!(
        (s, m.as_str()),
        (
            401,
            "authentication failed: token is valid for 3153600000 s (exp - iat), longer than the \
             86400 s this node accepts"
        )
    );
    let (s, m) = send(
        &d,
        reqwest::Method::GET,
        "/v1/peers",
        sign("GET", "/v1/peers", day),
    );
    assert_eq!(s, 200, "{m}");

    // The CLI signs its queries.
    let out = cli_on(
        &d,
        &dirs,
        &["volume", "list", "--key", "k", "--value", "a b&c=d"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli_on(&d, &dirs, &["peer", "list", "--key", "_zone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    d.stop().unwrap();

    // The bound is configurable.
    let d = start_daemon(
        &dirs,
        "127.0.10.8",
        &["--store", "local", "--token-max-lifetime", "1h"],
    )
    .unwrap();
    let hour = Duration::from_secs(3600);
    let (s, m) = send(
        &d,
        reqwest::Method::GET,
        "/v1/peers",
        sign("GET", "/v1/peers", hour * 2),
    );
    assert_eq!(s, 401, "{m}");
    assert!(
        m.ends_with("longer than the 3600 s this node accepts"),
        "{m}"
    );
    let (s, m) = send(
        &d,
        reqwest::Method::GET,
        "/v1/peers",
        sign("GET", "/v1/peers", hour),
    );
    assert_eq!(s, 200, "{m}");
}

/// One HTTP/1.1 request written by hand on a fresh connection (`head` without its final blank
/// line, `body` as bytes on the wire), and what came back until the server closed: a server
/// that refuses a body may close before reading all of it, so writing stops at the first error
/// and a reset after the answer keeps what was read.
fn raw_exchange(addr: &str, head: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut wire = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    wire.extend_from_slice(body);
    for chunk in wire.chunks(64 << 10) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 16 << 10];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A body as chunked transfer coding: 64 KiB chunks, then the last chunk.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(64 << 10) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn oversized_bodies_get_413_with_the_error_body() {
    let dirs = NodeDirs::new();
    let d = start_daemon(&dirs, "127.0.10.9", &["--store", "local"]).unwrap();
    let addr = format!("{}:{}", d.ip, d.port);
    let max = gd_daemon::rest::BODY_BYTES_MAX;
    // A JSON document one byte over the bound.
    let mut over = vec![b'"'];
    over.resize(max, b'a');
    over.push(b'"');
    assert_eq!(over.len(), max + 1);

    let check = |what: &str, answer: &str| {
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
        assert!(
            head.starts_with("HTTP/1.1 413"),
            "{what}: {}",
            head.lines().next().unwrap_or("no answer")
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{what}: {head}"
        );
        // The body may come chunked: take the JSON object out of it.
        let json = &body[body.find('{').unwrap_or(0)..=body.rfind('}').unwrap_or(0)];
        let err: ErrorResp =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert_eq!(err.errors[0].code, 12, "{what}: {err:?}");
        assert_eq!(
            err.errors[0].message,
            format!("the request body is larger than {max} bytes"),
            "{what}"
        );
    };
    for path in ["/v1/volumes", "/v1/volumes/v1/start", "/v1/peers"] {
        let head = |framing: &str| {
            format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\n{framing}",
                token(&dirs, "POST", path)
            )
        };
        // Declared too long: refused from the header, before the body is sent.
        check(
            &format!("{path} with Content-Length"),
            &raw_exchange(&addr, &head(&format!("Content-Length: {}", max + 1)), &[]),
        );
        // Chunked, with no length to refuse it by: read up to the bound, then refused.
        check(
            &format!("{path} chunked"),
            &raw_exchange(&addr, &head("Transfer-Encoding: chunked"), &chunked(&over)),
        );
    }
    // A body at the bound is read (and then refused for what it says).
    let (status, body) = api(
        &dirs,
        &d,
        "POST",
        "/v1/volumes",
        Some(serde_json::Value::String("a".repeat(max - 2))),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("malformed request body"),
        "{body}"
    );
    d.stop().unwrap();
}
