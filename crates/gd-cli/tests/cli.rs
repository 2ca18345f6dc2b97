//! The `glustercli` binary against a fake glusterd2: output, exit statuses, auth, TLS.

mod common;

use assert_cmd::Command;
use common::{Behaviour, FakeServer, SECRET, Setup, fixture};
use gd_api::{Peer, VersionResp};
use predicates::prelude::*;

/// `glustercli` with a clean environment (no GD2_* variables from the developer's shell).
fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glustercli"));
    c.env_remove("GD2_ENDPOINTS")
        .env_remove("GD2_AUTH_SECRET")
        .env_remove("GD2_STATE_DIR");
    c
}

/// `glustercli --endpoints <server> --secret <SECRET>`.
fn cli_for(server: &FakeServer) -> Command {
    let mut c = cli();
    c.args(["--endpoints", &server.endpoint(), "--secret", SECRET]);
    c
}

fn stdout_of(c: &mut Command) -> String {
    let out = c.output().expect("run glustercli");
    assert!(
        out.status.success(),
        "glustercli failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn peer_list_prints_a_table() {
    let server = FakeServer::start();
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
    assert!(
        row1.contains("6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01") && row1.contains("10.0.0.1:24007")
    );
    assert!(row1.contains("| yes"), "{row1}");
    let row2 = lines.iter().find(|l| l.contains("node2")).expect(&out);
    assert!(
        row2.contains("10.0.0.2:24007, [fd00::2]:24007") && row2.contains("| no"),
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
    let server = FakeServer::start();
    let out = stdout_of(cli_for(&server).args(["--json", "peer", "list"]));
    let peers: Vec<Peer> = serde_json::from_str(&out).expect("Vec<Peer> JSON");
    assert_eq!(peers, common::peers());
    assert!(out.contains("\n  "), "pretty-printed: {out}");
}

#[test]
fn version_text_and_json() {
    let server = FakeServer::start();
    let out = stdout_of(cli_for(&server).arg("version"));
    assert_eq!(
        out,
        format!(
            "glustercli version: {}\nglusterd2 version: 9.9.9-fake, API version: 1\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let out = stdout_of(cli_for(&server).args(["version", "--json"]));
    let v: VersionResp = serde_json::from_str(&out).expect("VersionResp JSON");
    assert_eq!(v, common::version());
}

#[test]
fn secret_from_file_and_env_endpoint_from_env() {
    let server = FakeServer::start();
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
    let server = FakeServer::start();
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
            "Error: token signature is invalid (wrong secret?)\n",
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
    let server = FakeServer::start();
    cli_for(&server)
        .args(["--user", "bob", "version", "--json"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("Error: unknown user \"bob\""));
}

#[test]
fn no_secret_and_no_default_file_sends_no_token() {
    // The default secret file is $GD2_STATE_DIR/auth: point it at an empty directory, so the
    // test does not depend on whether this machine runs a glusterd2.
    let state = tempfile::tempdir().unwrap();
    let missing = state.path().join("auth");
    // Auth off: works without a token.
    let open = FakeServer::with(Setup {
        secret: None,
        ..Setup::default()
    });
    cli()
        .env("GD2_STATE_DIR", state.path())
        .args(["--endpoints", &open.endpoint(), "peer", "list"])
        .assert()
        .success();
    // Auth on: the daemon's message, and the hint says no token was sent.
    let closed = FakeServer::start();
    cli()
        .env("GD2_STATE_DIR", state.path())
        .args(["--endpoints", &closed.endpoint(), "peer", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Error: missing Authorization header",
        ))
        .stderr(predicate::str::contains(format!(
            "no token was sent because {} does not exist",
            missing.display()
        )));
}

#[test]
fn unreadable_secret_file_is_an_error() {
    let server = FakeServer::start();
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
    let server = FakeServer::with(Setup {
        behaviour: Behaviour::ApiError,
        ..Setup::default()
    });
    cli_for(&server)
        .args(["peer", "list"])
        .assert()
        .code(1)
        .stderr("Error: a txn step failed (step: peer.list); store is sad\n");

    let server = FakeServer::with(Setup {
        behaviour: Behaviour::PlainError,
        ..Setup::default()
    });
    cli_for(&server)
        .args(["peer", "list"])
        .assert()
        .code(1)
        .stderr("Error: GET /v1/peers: 502 Bad Gateway: upstream down\n");

    let server = FakeServer::with(Setup {
        behaviour: Behaviour::Garbage,
        ..Setup::default()
    });
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
    let server = FakeServer::with(Setup {
        behaviour: Behaviour::Slow,
        ..Setup::default()
    });
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
    let server = FakeServer::with(Setup {
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
