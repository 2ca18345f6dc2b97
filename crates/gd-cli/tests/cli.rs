//! The `glustercli` binary against glusterd2 (the real one, in-process: see `common`): output,
//! exit statuses, auth, TLS, and the exact requests the peer commands send; and against a stub
//! for the answers the daemon cannot be driven to give (a failing or silent daemon).

mod common;

use common::{
    Behaviour, Daemon, JOINER, NODE1, NODE2, NODE3, SECRET, Setup, Stub, cli, cli_for, fixture,
    stdout_of,
};
use gd_api::{Peer, VersionResp};
use predicates::prelude::*;
use serde_json::json;

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn peer_list_prints_a_table() {
    let server = Daemon::start();
    let out = stdout_of(cli_for(&server).args(["peer", "list"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].contains("ID") && lines[1].contains("Name"),
        "{out}"
    );
    assert!(
        lines[1].contains("Client Addresses") && lines[1].contains("Online"),
        "{out}"
    );
    let row1 = lines.iter().find(|l| l.contains("node1")).expect(&out);
    assert!(row1.contains(NODE1) && row1.contains("127.0.1.1:24007"));
    assert!(row1.contains("| yes"), "{row1}");
    let row2 = lines.iter().find(|l| l.contains("node2")).expect(&out);
    assert!(
        row2.contains("127.0.1.2:24007, [fd00::2]:24007") && row2.contains("| no"),
        "{row2}"
    );

    // `peer status` is the same command; global flags may come after it.
    let mut c = cli();
    c.args([
        "peer",
        "status",
        "--endpoints",
        &server.endpoint(),
        "--secret",
        SECRET,
    ]);
    assert_eq!(stdout_of(&mut c), out);
}

#[test]
fn peer_list_json_is_the_api_type() {
    let server = Daemon::start();
    let out = stdout_of(cli_for(&server).args(["--json", "peer", "list"]));
    let peers: Vec<Peer> = serde_json::from_str(&out).expect("Vec<Peer> JSON");
    // The daemon lists the node it runs on too, and every peer in id order.
    let mut expected = common::peers();
    expected.push(server.this_peer());
    expected.sort_by_key(|p| p.id);
    assert_eq!(peers, expected);
    assert!(out.contains("\n  "), "pretty-printed: {out}");
}

#[test]
fn version_text_and_json() {
    let server = Daemon::start();
    // The daemon's crate has the workspace's version, as the CLI's.
    let version = env!("CARGO_PKG_VERSION");
    let out = stdout_of(cli_for(&server).arg("version"));
    assert_eq!(
        out,
        format!(
            "glustercli version: {version}\nglusterd2 version: {version}, API version: {}\n",
            gd_api::API_VERSION
        )
    );
    let out = stdout_of(cli_for(&server).args(["version", "--json"]));
    let v: VersionResp = serde_json::from_str(&out).expect("VersionResp JSON");
    assert_eq!(
        v,
        VersionResp {
            glusterd_version: version.to_owned(),
            api_version: gd_api::API_VERSION,
        }
    );
}

#[test]
fn secret_from_file_and_env_endpoint_from_env() {
    let server = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();

    cli()
        .env(
            "GD2_ENDPOINTS",
            format!("{},http://127.0.0.1:{}", server.endpoint(), closed_port()),
        )
        .args(["peer", "list", "--secret-file"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("node1"));

    cli()
        .env("GD2_ENDPOINTS", server.endpoint())
        .env("GD2_AUTH_SECRET", SECRET)
        .args(["peer", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("node2"));
}

#[test]
fn wrong_secret_is_refused_with_a_hint() {
    let server = Daemon::start();
    cli()
        .args([
            "--endpoints",
            &server.endpoint(),
            "--secret",
            "not-the-secret",
            "peer",
            "list",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "Error: authentication failed: token signature is invalid (wrong secret?)\n",
        ))
        .stderr(predicate::str::contains(
            "Hint: the secret given with --secret was used",
        ))
        .stderr(predicate::str::contains("check --secret-file/--secret"))
        .stderr(predicate::str::contains(
            "<localstatedir>/auth on the server",
        ));
}

#[test]
fn unknown_user_is_refused() {
    let server = Daemon::start();
    // `/version` is open (so are `/ping` and the API's description): a signed path.
    cli_for(&server)
        .args(["--user", "bob", "peer", "list", "--json"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "Error: authentication failed: unknown user \"bob\"",
        ));
}

#[test]
fn no_secret_and_no_default_file_sends_no_token() {
    // The default secret file is $GD2_STATE_DIR/auth: point it at an empty directory, so the
    // test does not depend on whether this machine runs a glusterd2.
    let state = tempfile::tempdir().unwrap();
    let missing = state.path().join("auth");
    // Auth off: works without a token.
    let open = Daemon::with(Setup {
        secret: None,
        ..Setup::default()
    });
    cli()
        .env("GD2_STATE_DIR", state.path())
        .args(["--endpoints", &open.endpoint(), "peer", "list"])
        .assert()
        .success();
    // Auth on: the daemon's message, and the hint says no token was sent.
    let closed = Daemon::start();
    cli()
        .env("GD2_STATE_DIR", state.path())
        .args(["--endpoints", &closed.endpoint(), "peer", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Error: authentication failed: missing Authorization header",
        ))
        .stderr(predicate::str::contains(format!(
            "no token was sent because {} does not exist",
            missing.display()
        )));
}

#[test]
fn unreadable_secret_file_is_an_error() {
    let server = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    // A directory: unreadable as a file even for root.
    cli()
        .args([
            "--endpoints",
            &server.endpoint(),
            "peer",
            "list",
            "--secret-file",
        ])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(format!(
            "Error: cannot read the secret file {}",
            dir.path().display()
        )));
}

#[test]
fn unreachable_daemon() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    cli()
        .args(["--endpoints", &endpoint, "peer", "list"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(format!(
            "Error: cannot reach glusterd2 at {endpoint}: "
        )))
        .stderr(predicate::str::contains("Is glusterd2 running?"));
}

#[test]
fn api_errors_print_the_daemon_messages() {
    let server = Stub::start(Behaviour::ApiError);
    cli_for(&server)
        .args(["peer", "list"])
        .assert()
        .code(1)
        .stderr("Error: a txn step failed; store is sad\n");

    let server = Stub::start(Behaviour::PlainError);
    cli_for(&server)
        .args(["peer", "list"])
        .assert()
        .code(1)
        .stderr("Error: GET /v1/peers: 502 Bad Gateway: upstream down\n");

    let server = Stub::start(Behaviour::Garbage);
    cli_for(&server)
        .args(["peer", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "Error: cannot decode the answer to GET /v1/peers: ",
        ));
}

#[test]
fn slow_daemon_times_out() {
    let server = Stub::start(Behaviour::Slow);
    let started = std::time::Instant::now();
    cli_for(&server)
        .args(["peer", "list", "--timeout", "300ms"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "Error: glusterd2 at {} did not answer within 300ms",
            server.endpoint()
        )))
        .stderr(predicate::str::contains("Hint: use --timeout"));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn usage_errors_exit_2() {
    cli()
        .args(["--timeout", "soon", "version"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--timeout"));
    cli().args(["peer", "frobnicate"]).assert().code(2);
    cli()
        .args(["--endpoints", "ftp://x", "version"])
        .assert()
        .code(2);
    cli().assert().code(2);
    cli()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("peer"));
    cli()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("glustercli {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn bash_completion() {
    cli()
        .args(["completion", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("glustercli"))
        .stdout(predicate::str::contains("complete"));
}

#[test]
fn https_with_cacert_or_insecure() {
    let server = Daemon::with(Setup {
        tls: true,
        ..Setup::default()
    });
    assert!(server.endpoint().starts_with("https://127.0.0.1:"));

    cli_for(&server)
        .args(["peer", "list", "--cacert"])
        .arg(fixture("ca.pem"))
        .assert()
        .success()
        .stdout(predicate::str::contains("node1"));

    cli_for(&server)
        .args(["peer", "list", "--insecure"])
        .assert()
        .success();

    // The server's certificate is signed by the fixture CA, which nothing else trusts.
    cli_for(&server)
        .args(["peer", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Error: cannot reach glusterd2 at https://",
        ))
        .stderr(predicate::str::contains("--cacert"));

    // A CA file that is not a certificate.
    cli_for(&server)
        .args(["peer", "list", "--cacert"])
        .arg(fixture("server.key"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Error: invalid CA certificate"));

    cli_for(&server)
        .args(["peer", "list", "--cacert", "/nonexistent/ca.pem"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "Error: cannot read /nonexistent/ca.pem",
        ));
}

/// The fixture's peers plus node3, a second glusterd2 on node1's host (127.0.1.1).
fn peers_sharing_a_host() -> Vec<Peer> {
    let mut peers = common::peers();
    peers.push(common::node3());
    peers
}

/// The (method, path, query) of every request the server got.
fn calls(server: &Daemon) -> Vec<(String, String, Option<String>)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.query))
        .collect()
}

fn call(method: &str, path: &str, query: Option<&str>) -> (String, String, Option<String>) {
    (method.to_owned(), path.to_owned(), query.map(str::to_owned))
}

/// A daemon whose cluster can take a peer ([`Setup::etcd`]), and the address of the node
/// waiting to be added.
fn joinable() -> (Daemon, String) {
    let server = Daemon::with(Setup {
        etcd: true,
        ..Setup::default()
    });
    let joiner = server.joiner();
    (server, joiner)
}

#[test]
fn peer_add_sends_the_request_and_prints_the_peer() {
    let (server, address) = joinable();
    let out = stdout_of(cli_for(&server).args([
        "peer",
        "add",
        &address,
        "--zone",
        "z4",
        "--metadata",
        "rack=r1",
        "--metadata",
        "note=a=b",
    ]));
    let posts = server.requests_with("POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/v1/peers");
    assert_eq!(
        posts[0].json(),
        json!({"addresses": [address], "zone": "z4", "metadata": {"rack": "r1", "note": "a=b"}})
    );
    // The node registers under its host's name (this machine's) and the address it serves at.
    let name = server.this_peer().name;
    assert_eq!(
        out,
        format!(
            "Peer {JOINER} ({name}) added at {address}\n{}Metadata: _zone=z4, note=a=b, rack=r1\n",
            common::table(
                &["ID", "Name", "Client Addresses", "Online"],
                &[&[JOINER, &name, &address, "yes"]]
            )
        )
    );
    // The new peer is in the next list.
    let out = stdout_of(cli_for(&server).args(["peer", "list"]));
    assert!(out.contains(JOINER), "{out}");
}

#[test]
fn peer_add_sends_only_what_is_given_and_json_is_the_peer() {
    let (server, address) = joinable();
    let out = stdout_of(cli_for(&server).args(["--json", "peer", "add", &address]));
    assert_eq!(server.requests()[0].json(), json!({"addresses": [address]}));
    let peer: Peer = serde_json::from_str(&out).expect("Peer JSON");
    assert_eq!(peer.id.to_string(), JOINER);
    assert_eq!(peer.name, server.this_peer().name);
    // The default zone is the peer's id.
    assert_eq!(peer.metadata.get("_zone").map(String::as_str), Some(JOINER));
    assert!(out.contains("\n  \"client-addresses\""), "{out}");
}

#[test]
fn peer_add_errors() {
    let (server, _) = joinable();
    cli_for(&server)
        .args(["peer", "add", "node1:24008"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "Error: peer {NODE1} already has the address node1:24008\n"
        ));
    cli_for(&server)
        .args(["peer", "add", "unreachable.invalid"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "Error: cannot add the peer: could not connect to glusterd2 at \
             unreachable.invalid:24007: cannot resolve it: ",
        ))
        .stderr(predicate::str::ends_with(
            "; make sure the address is right, the network is up and glusterd2 runs there\n",
        ));
    let sent = server.requests().len();
    for (args, message) in [
        (&["peer", "add"][..], "required"),
        (
            &["peer", "add", "n", "--metadata", "rack"],
            "expected KEY=VALUE",
        ),
        (
            &["peer", "add", "n", "--metadata", "=r1"],
            "the metadata key is empty",
        ),
        (&["peer", "add", "n", "--metadata", "_zone=z"], "use --zone"),
        (
            &["peer", "add", "n", "--metadata", "a=1", "--metadata", "a=2"],
            "given more than once",
        ),
    ] {
        cli_for(&server)
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
    assert_eq!(server.requests().len(), sent, "usage errors send nothing");
}

#[test]
fn peer_remove_by_id_sends_only_the_delete() {
    let server = Daemon::start();
    cli_for(&server)
        .args(["peer", "remove", NODE1])
        .assert()
        .success()
        .stdout(format!("Peer {NODE1} removed\n"));
    assert_eq!(
        calls(&server),
        [call("DELETE", &format!("/v1/peers/{NODE1}"), None)]
    );
    assert_eq!(server.requests()[0].body, "");
    // It is gone: removing it again is the daemon's 404.
    cli_for(&server)
        .args(["peer", "remove", NODE1])
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("Error: peer {NODE1} not found\n"));
}

#[test]
fn peer_remove_by_name_or_address() {
    for (arg, id) in [
        ("node1", NODE1),
        ("NODE1", NODE1),
        ("127.0.1.1", NODE1),
        ("node1:24008", NODE1),
        ("127.0.1.1:24007", NODE1),
        ("fd00::2", NODE2),
        ("[fd00::2]", NODE2),
        ("[fd00::2]:24007", NODE2),
    ] {
        let server = Daemon::start();
        cli_for(&server)
            .args(["peer", "delete", arg, "--force"])
            .assert()
            .success()
            .stdout(format!("Peer {id} removed\n"));
        assert_eq!(
            calls(&server),
            [
                call("GET", "/v1/peers", None),
                call("DELETE", &format!("/v1/peers/{id}"), Some("force=true")),
            ],
            "{arg}"
        );
    }
}

#[test]
fn peer_remove_force_and_json() {
    let server = Daemon::start();
    // node2 is offline: the daemon, like GD2, refuses without --force.
    cli_for(&server)
        .args(["peer", "remove", NODE2])
        .assert()
        .code(1)
        .stderr(format!(
            "Error: peer {NODE2} is offline and cannot be told to leave; remove it with force \
             (it resets itself if it comes back)\n"
        ));
    // The API answers 204 without a body: nothing to print as JSON.
    cli_for(&server)
        .args(["--json", "peer", "remove", "-f", NODE2])
        .assert()
        .success()
        .stdout("");
    assert_eq!(
        calls(&server)[1],
        call("DELETE", &format!("/v1/peers/{NODE2}"), Some("force=true"))
    );
}

#[test]
fn peer_remove_refuses_to_guess() {
    let server = Daemon::with(Setup {
        peers: peers_sharing_a_host(),
        ..Setup::default()
    });
    cli_for(&server)
        .args(["peer", "remove", "127.0.1.1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "Error: 2 peers match 127.0.1.1: {NODE1}, {NODE3}\nHint: give the peer's id instead\n"
        ));
    cli_for(&server)
        .args(["peer", "remove", "node9"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "Error: no peer matches node9\nHint: ",
        ));
    // A host with the wrong port is no match either.
    cli_for(&server)
        .args(["peer", "remove", "127.0.1.1:9999"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "Error: no peer matches 127.0.1.1:9999\n",
        ));
    assert!(
        server.requests_with("DELETE").is_empty(),
        "nothing is removed"
    );
    // The whole address picks one.
    cli_for(&server)
        .args(["peer", "remove", "127.0.1.1:24017"])
        .assert()
        .success()
        .stdout(format!("Peer {NODE3} removed\n"));
}

#[test]
fn peer_remove_usage_errors() {
    cli().args(["peer", "remove"]).assert().code(2);
    cli().args(["peer", "remove", "a", "b"]).assert().code(2);
    cli().args(["peer", "remove", ""]).assert().code(2);
}

#[test]
fn peer_edit_sets_and_deletes_metadata() {
    let server = Daemon::start();
    let out = stdout_of(
        cli_for(&server).args(["peer", "edit", "node1", "--key", "rack", "--value", "r1"]),
    );
    assert_eq!(
        calls(&server),
        [
            call("GET", "/v1/peers", None),
            call("POST", &format!("/v1/peers/{NODE1}"), None),
        ]
    );
    assert_eq!(
        server.requests()[1].json(),
        json!({"metadata": {"rack": "r1"}})
    );
    assert_eq!(
        out,
        format!(
            "\
+--------------------------------------+-------+------------------+--------+
| ID                                   | Name  | Client Addresses | Online |
+==========================================================================+
| {NODE1} | node1 | 127.0.1.1:24007  | yes    |
+--------------------------------------+-------+------------------+--------+
Metadata: _zone=z1, rack=r1
"
        )
    );

    let out = stdout_of(cli_for(&server).args([
        "peer", "edit", NODE1, "--key", "rack", "--delete", "--zone", "z9",
    ]));
    let last = server.requests().pop().unwrap();
    assert_eq!(last.path, format!("/v1/peers/{NODE1}"));
    assert_eq!(
        last.json(),
        json!({"zone": "z9", "delete-metadata": ["rack"]})
    );
    assert!(out.ends_with("\nMetadata: _zone=z9\n"), "{out}");

    let out = stdout_of(cli_for(&server).args(["--json", "peer", "edit", NODE1, "--zone", "z2"]));
    assert_eq!(
        server.requests().pop().unwrap().json(),
        json!({"zone": "z2"})
    );
    let peer: Peer = serde_json::from_str(&out).expect("Peer JSON");
    assert_eq!(peer.id.to_string(), NODE1);
    assert_eq!(
        peer.metadata,
        [("_zone".to_owned(), "z2".to_owned())].into()
    );
}

#[test]
fn peer_edit_errors() {
    let server = Daemon::start();
    // Each value fits, together they are over GD2's 4 KiB: the daemon's 400.
    let value = "v".repeat(3000);
    cli_for(&server)
        .args(["peer", "edit", NODE1, "--key", "a", "--value", &value])
        .assert()
        .success();
    cli_for(&server)
        .args(["peer", "edit", NODE1, "--key", "b", "--value", &value])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: metadata size 6002 bytes exceeds the maximum of 4096 bytes\n");
    let unknown = "11111111-2222-4333-8444-555555555555";
    cli_for(&server)
        .args(["peer", "edit", unknown, "--zone", "z"])
        .assert()
        .code(1)
        .stderr(format!("Error: peer {unknown} not found\n"));
    cli_for(&server)
        .args(["peer", "edit", "node9", "--zone", "z"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "Error: no peer matches node9\n",
        ));

    let sent = server.requests().len();
    for (args, message) in [
        (&["peer", "edit", NODE1][..], "required"),
        (&["peer", "edit", NODE1, "--key", "k"], "--value"),
        (&["peer", "edit", NODE1, "--value", "v"], "--key"),
        (&["peer", "edit", NODE1, "--delete"], "--key"),
        (
            &[
                "peer", "edit", NODE1, "--key", "k", "--value", "v", "--delete",
            ],
            "cannot be used with",
        ),
        (
            &["peer", "edit", NODE1, "--key", "_zone", "--value", "z"],
            "reserved",
        ),
        (&["peer", "edit", NODE1, "--key", "", "--delete"], "empty"),
    ] {
        cli_for(&server)
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
    assert_eq!(server.requests().len(), sent, "usage errors send nothing");
}

#[test]
fn peer_list_filters_are_sent_and_applied() {
    // The daemon filters (GD2's rules), and the CLI filters its answer again. Every peer has a
    // zone (a node's own id unless set), the node the CLI talks to included; in id order.
    let server = Daemon::with(Setup {
        peers: peers_sharing_a_host(),
        ..Setup::default()
    });
    let rows = |args: &[&str]| -> Vec<String> {
        let out = stdout_of(cli_for(&server).args(["peer", "list"]).args(args));
        out.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| ID "))
            .map(|l| l.split(" | ").nth(1).unwrap_or_default().trim().to_owned())
            .collect()
    };
    let this = server.this_peer().name;
    assert_eq!(
        rows(&["--key", "_zone"]),
        ["node2", "node1", "node3", this.as_str()]
    );
    assert_eq!(rows(&["--value", "z3"]), ["node3"]);
    assert_eq!(rows(&["--key", "_zone", "--value", "z1"]), ["node1"]);
    assert_eq!(
        rows(&["--key", "_zone", "--value", "z2"]),
        Vec::<String>::new()
    );
    assert_eq!(rows(&[]).len(), 4);
    let queries: Vec<Option<String>> = server.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            Some("key=_zone".to_owned()),
            Some("value=z3".to_owned()),
            Some("key=_zone&value=z1".to_owned()),
            Some("key=_zone&value=z2".to_owned()),
            None,
        ]
    );

    let out = stdout_of(cli_for(&server).args(["--json", "peer", "list", "--value", "z1"]));
    let peers: Vec<Peer> = serde_json::from_str(&out).expect("Vec<Peer> JSON");
    assert_eq!(peers, [common::peers()[0].clone()]);
}

#[test]
fn peer_commands_print_the_daemon_errors() {
    // Name resolution goes through the list, so its errors are the list's.
    let server = Stub::start(Behaviour::ApiError);
    cli_for(&server)
        .args(["peer", "remove", "node1"])
        .assert()
        .code(1)
        .stderr("Error: a txn step failed; store is sad\n");
}
