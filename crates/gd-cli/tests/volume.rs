//! `glustercli volume ...` against glusterd2 (the real one, in-process: see `common`): the
//! exact create requests for each layout (flags and GD1's bare words), usage errors that send
//! nothing, and the text and JSON of info, list, status, start, stop and delete.
//!
//! Bricks are directories of the test's on this machine, which arguments and expected texts
//! write `HOST:{bricks}/path` (`Daemon::bricks`, `Daemon::unbricks`). They are on the root
//! file system, which the daemon accepts for a brick only with `allow-root-dir` (or `force`).

mod common;

use std::collections::BTreeMap;

use common::{
    Behaviour, DISTRIBUTE_DEFAULTS, Daemon, NODE1, REPLICATE_DEFAULTS, Setup, Stub, THIS_HOST, cli,
    cli_for, options_text, stdout_of,
};
use gd_api::{BrickStatus, VolumeInfo};
use predicates::prelude::*;
use serde_json::{Value, json};

/// A daemon with the fixture volumes `gv0` (started) and `dist`.
fn daemon() -> Daemon {
    Daemon::with(Setup::volumes())
}

/// The create flags as the CLI sends them when none is given.
fn no_flags() -> Value {
    json!({"reuse-bricks": false, "allow-root-dir": false,
           "allow-mount-as-brick": false, "create-brick-dir": false})
}

/// The create flags of `--allow-root-dir` alone.
fn root_dir_flags() -> Value {
    json!({"reuse-bricks": false, "allow-root-dir": true,
           "allow-mount-as-brick": false, "create-brick-dir": false})
}

fn brick(host: &str, path: &str) -> Value {
    json!({"host": host, "path": path, "type": "brick"})
}

fn arbiter(host: &str, path: &str) -> Value {
    json!({"host": host, "path": path, "type": "arbiter"})
}

/// Runs `volume create <args>` against a fresh daemon (no volume yet); returns the one request
/// body it sent and the output (bricks written `{bricks}` in both), and the new volume's id.
fn create(args: &[&str]) -> (Value, String, String) {
    let server = Daemon::with(Setup::brick_nodes());
    let args: Vec<String> = args.iter().map(|a| server.bricks(a)).collect();
    let out = stdout_of(cli_for(&server).args(["volume", "create"]).args(&args));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("POST", "/v1/volumes")
    );
    let req = serde_json::from_str(&server.unbricks(&reqs[0].body)).expect("a JSON body");
    let name = args[0].as_str();
    let vol = stdout_of(cli_for(&server).args(["--json", "volume", "info", name]));
    let vol: VolumeInfo = serde_json::from_str(&vol).expect("VolumeInfo JSON");
    (req, server.unbricks(&out), vol.id.to_string())
}

#[test]
fn create_distribute() {
    let (req, out, id) = create(&[
        "vol1",
        "node1:{bricks}/b/1",
        "node2:{bricks}/b/2",
        "--create-brick-dir",
        "--allow-root-dir",
    ]);
    assert_eq!(
        req,
        json!({
            "name": "vol1",
            "subvols": [{"type": "distribute",
                         "bricks": [brick("node1", "{bricks}/b/1"), brick("node2", "{bricks}/b/2")]}],
            "force": false,
            "flags": {"reuse-bricks": false, "allow-root-dir": true,
                      "allow-mount-as-brick": false, "create-brick-dir": true},
        })
    );
    assert_eq!(
        out,
        format!(
            "\
Volume vol1 created (Distribute, 2 bricks)
Volume Name: vol1
Type: Distribute
Volume ID: {id}
State: Created
Transport-type: tcp
Number of Bricks: 2
Bricks:
Brick1: node1:{{bricks}}/b/1
Brick2: node2:{{bricks}}/b/2
{}",
            options_text(&DISTRIBUTE_DEFAULTS)
        )
    );
}

#[test]
fn create_replica_3() {
    let (req, out, _) = create(&[
        "vol1",
        "--replica",
        "3",
        "node1:{bricks}/b",
        "node2:{bricks}/b",
        "node3:{bricks}/b",
        "--transport",
        "tcp",
        "--force",
    ]);
    assert_eq!(
        req,
        json!({
            "name": "vol1",
            "transport": "tcp",
            "subvols": [{"type": "replicate", "replica": 3,
                         "bricks": [brick("node1", "{bricks}/b"), brick("node2", "{bricks}/b"),
                                    brick("node3", "{bricks}/b")]}],
            "force": true,
            "flags": no_flags(),
        })
    );
    assert!(
        out.starts_with("Volume vol1 created (Replicate, 3 bricks)\n"),
        "{out}"
    );
    assert!(out.contains("\nNumber of Bricks: 1 x 3 = 3\n"), "{out}");
}

/// What `replica 3 arbiter 1` (GD1) and `replica 2 arbiter 1` (GD2) both send.
fn arbiter_subvols() -> Value {
    json!([{"type": "replicate", "replica": 2, "arbiter": 1,
            "bricks": [brick("node1", "{bricks}/b"), brick("node2", "{bricks}/b"),
                       arbiter("node3", "{bricks}/a")]}])
}

#[test]
fn create_gd1_replica_3_arbiter_1() {
    // GD1's bare words, `force` at the end.
    let (req, out, _) = create(&[
        "vol1",
        "replica",
        "3",
        "arbiter",
        "1",
        "node1:{bricks}/b",
        "node2:{bricks}/b",
        "node3:{bricks}/a",
        "force",
    ]);
    assert_eq!(
        req,
        json!({"name": "vol1", "subvols": arbiter_subvols(), "force": true, "flags": no_flags()})
    );
    assert!(
        out.contains("\nNumber of Bricks: 1 x (2 + 1) = 3\n"),
        "{out}"
    );
    // The bricks, then the options the daemon gives a new volume.
    assert!(
        out.contains("\nBrick3: node3:{bricks}/a (arbiter)\nOptions:\n"),
        "{out}"
    );
    // The same with flags.
    let (flags, _, _) = create(&[
        "vol1",
        "--replica",
        "3",
        "--arbiter",
        "1",
        "node1:{bricks}/b",
        "node2:{bricks}/b",
        "node3:{bricks}/a",
        "--force",
    ]);
    assert_eq!(flags, req);
}

#[test]
fn create_replica_2_arbiter_1() {
    let (req, _, _) = create(&[
        "vol1",
        "--replica",
        "2",
        "--arbiter",
        "1",
        "node1:{bricks}/b",
        "node2:{bricks}/b",
        "node3:{bricks}/a",
        "--allow-root-dir",
    ]);
    assert_eq!(
        req,
        json!({"name": "vol1", "subvols": arbiter_subvols(), "force": false,
               "flags": root_dir_flags()})
    );
}

#[test]
fn create_disperse_3_redundancy_1() {
    let ec = json!([{"type": "disperse", "disperse-count": 3, "disperse-data": 2,
                     "disperse-redundancy": 1,
                     "bricks": [brick("node1", "{bricks}/b"), brick("node2", "{bricks}/b"),
                                brick("node3", "{bricks}/b")]}]);
    let (req, out, _) = create(&[
        "vol1",
        "--disperse",
        "3",
        "--redundancy",
        "1",
        "node1:{bricks}/b",
        "node2:{bricks}/b",
        "node3:{bricks}/b",
        "--allow-root-dir",
    ]);
    assert_eq!(
        req,
        json!({"name": "vol1", "subvols": ec, "force": false, "flags": root_dir_flags()})
    );
    assert!(
        out.starts_with("Volume vol1 created (Disperse, 3 bricks)\n"),
        "{out}"
    );
    assert!(
        out.contains("\nNumber of Bricks: 1 x (2 + 1) = 3\n"),
        "{out}"
    );
    // --disperse-data + --redundancy, and GD1's words, say the same.
    for args in [
        &[
            "vol1",
            "--disperse-data",
            "2",
            "--redundancy",
            "1",
            "node1:{bricks}/b",
            "node2:{bricks}/b",
            "node3:{bricks}/b",
            "--allow-root-dir",
        ][..],
        &[
            "vol1",
            "disperse",
            "3",
            "redundancy",
            "1",
            "node1:{bricks}/b",
            "node2:{bricks}/b",
            "node3:{bricks}/b",
            "--allow-root-dir",
        ],
    ] {
        assert_eq!(create(args).0["subvols"], ec, "{args:?}");
    }
}

#[test]
fn create_two_replica_sets() {
    let (req, out, _) = create(&[
        "vol1",
        "--replica",
        "3",
        "node1:{bricks}/b1",
        "node2:{bricks}/b1",
        "node3:{bricks}/b1",
        "node1:{bricks}/b2",
        "node2:{bricks}/b2",
        "node3:{bricks}/b2",
        "--allow-root-dir",
    ]);
    let set = |p: &str| {
        json!({"type": "replicate", "replica": 3,
               "bricks": [brick("node1", p), brick("node2", p), brick("node3", p)]})
    };
    assert_eq!(
        req,
        json!({"name": "vol1", "subvols": [set("{bricks}/b1"), set("{bricks}/b2")],
               "force": false, "flags": root_dir_flags()})
    );
    assert!(
        out.starts_with("Volume vol1 created (Distributed-Replicate, 6 bricks)\n"),
        "{out}"
    );
    assert!(out.contains("\nNumber of Bricks: 2 x 3 = 6\n"), "{out}");
    assert!(out.contains("\nBrick6: node3:{bricks}/b2\n"), "{out}");
}

#[test]
fn create_with_peer_ids_and_ipv6_hosts() {
    let (req, out, _) = create(&[
        "vol1",
        &format!("{NODE1}:{{bricks}}/b/1"),
        "[fd00::2]:{bricks}/b/2",
        "fd00::3:{bricks}/b/3",
        "--allow-root-dir",
    ]);
    assert_eq!(
        req["subvols"][0]["bricks"],
        json!([{"peerid": NODE1, "path": "{bricks}/b/1", "type": "brick"},
               brick("fd00::2", "{bricks}/b/2"), brick("fd00::3", "{bricks}/b/3")])
    );
    // The daemon answers the peer's host for a brick given by peer id.
    assert!(
        out.ends_with(&format!(
            "Brick1: node1:{{bricks}}/b/1\nBrick2: [fd00::2]:{{bricks}}/b/2\n\
             Brick3: [fd00::3]:{{bricks}}/b/3\n{}",
            options_text(&DISTRIBUTE_DEFAULTS)
        )),
        "{out}"
    );
}

#[test]
fn create_json_is_the_volume() {
    let server = daemon();
    let brick = server.bricks("node1:{bricks}/b");
    let out = stdout_of(cli_for(&server).args([
        "--json",
        "volume",
        "create",
        "v",
        &brick,
        "--allow-root-dir",
    ]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    assert_eq!((vol.name.as_str(), vol.state.as_str()), ("v", "Created"));
    // The new volume is there for the next command.
    let out = stdout_of(cli_for(&server).args(["volume", "list"]));
    assert!(out.contains(&vol.id.to_string()), "{out}");
}

#[test]
fn create_usage_errors_send_nothing() {
    let server = daemon();
    for (args, message) in [
        (&["v", "node1"][..], "there is no ':'"),
        (&["v", "node1:/b", "/b2"], "there is no ':'"),
        (&["v", "node1:b"], "must be absolute"),
        (&["v", ":/b"], "the host is empty"),
        (&["v", "[]:/b"], "the host is empty"),
        (&["v", "node1:/"], "root directory"),
        (
            &["v", "--replica", "3", "n1:/b", "n2:/b"],
            "the number of bricks (2) must be a multiple of 3",
        ),
        (
            &["v", "replica", "2", "n1:/b", "n2:/b", "n3:/b"],
            "must be a multiple of 2",
        ),
        (
            &[
                "v",
                "--replica",
                "3",
                "--arbiter",
                "1",
                "n1:/b",
                "n2:/b",
                "n3:/b",
                "n4:/b",
            ],
            "must be a multiple of 3",
        ),
        (&["v", "--arbiter", "1", "n1:/b"], "arbiter needs replica"),
        (&["v", "--replica", "1", "n1:/b"], "at least 2"),
        (
            &["v", "--replica", "2", "--disperse", "3", "n1:/b"],
            "cannot be combined",
        ),
        (
            &[
                "v",
                "--disperse",
                "4",
                "--redundancy",
                "2",
                "n1:/b",
                "n2:/b",
                "n3:/b",
                "n4:/b",
            ],
            "less than half",
        ),
        (&["v", "--replica", "0", "n1:/b"], "--replica <N>"),
        (
            &["v", "replica", "2", "--replica", "2", "n1:/b", "n2:/b"],
            "more than once",
        ),
        (&["v", "n1:/b", "n1:/b"], "given more than once"),
        (
            &["v", "--transport", "rdma", "n1:/b"],
            "possible values: tcp",
        ),
        (
            &["v", "transport", "rdma", "n1:/b"],
            "the only transport is tcp",
        ),
        (&["v", "replica", "3"], "no bricks"),
        (&["v"], "required"),
        (&["bad/name", "n1:/b"], "invalid volume name"),
        (&["-v", "n1:/b"], "unexpected argument"),
    ] {
        cli_for(&server)
            .args(["volume", "create"])
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
    assert!(server.requests().is_empty(), "usage errors send nothing");
}

#[test]
fn create_prints_the_daemon_errors() {
    let server = daemon();
    cli_for(&server)
        .args([
            "volume",
            "create",
            "gv0",
            &server.bricks("node1:{bricks}/b"),
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: volume gv0 already exists\n");
    let unknown = "11111111-2222-4333-8444-555555555555";
    cli_for(&server)
        .args(["volume", "create", "v", &format!("{unknown}:/b")])
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!("Error: brick /b: no such peer ({unknown})\n"));
}

/// `volume info gv0`: the fixture volume `gv0` (replica 3, started), with the options the
/// daemon gives a replica volume and the two set at create, under their GD1 names.
fn gv0_info(server: &Daemon) -> String {
    let mut options = REPLICATE_DEFAULTS.to_vec();
    options.extend([
        ("cluster.self-heal-daemon", "on"),
        ("performance.read-ahead", "off"),
    ]);
    format!(
        "\
Volume Name: gv0
Type: Replicate
Volume ID: {}
State: Started
Transport-type: tcp
Number of Bricks: 1 x 3 = 3
Bricks:
Brick1: node1:{{bricks}}/gv0
Brick2: node2:{{bricks}}/gv0
Brick3: [fd00::2]:{{bricks}}/gv0-b3
{}",
        server.volume("gv0").id,
        options_text(&options)
    )
}

/// `volume info dist`: the fixture volume `dist` (distribute, on the node the CLI talks to).
fn dist_info(server: &Daemon) -> String {
    format!(
        "\
Volume Name: dist
Type: Distribute
Volume ID: {}
State: Created
Transport-type: tcp
Number of Bricks: 2
Bricks:
Brick1: {THIS_HOST}:{{bricks}}/d1
Brick2: {THIS_HOST}:{{bricks}}/d2
{}",
        server.volume("dist").id,
        options_text(&DISTRIBUTE_DEFAULTS)
    )
}

#[test]
fn info_text() {
    let server = daemon();
    let (gv0, dist) = (gv0_info(&server), dist_info(&server));
    let info = |args: &[&str]| server.unbricks(&stdout_of(cli_for(&server).args(args)));
    assert_eq!(info(&["volume", "info", "gv0"]), gv0);
    // Every volume, in the daemon's (name) order, a blank line between them.
    assert_eq!(info(&["volume", "info"]), format!("{dist}\n{gv0}"));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/volumes/gv0", "/v1/volumes"]);
    cli_for(&server)
        .args(["volume", "info", "nope"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: volume nope not found\n");
    cli_for(&server)
        .args(["volume", "info", "a/b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid volume name"));
}

#[test]
fn info_json_is_the_api_type() {
    let server = daemon();
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "info", "gv0"]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    assert_eq!(vol, server.volume("gv0"));
    assert!(out.contains("\n  \"replica-count\": 3"), "{out}");
    let out = stdout_of(cli_for(&server).args(["volume", "info", "--json"]));
    let vols: Vec<VolumeInfo> = serde_json::from_str(&out).expect("Vec<VolumeInfo> JSON");
    let names: Vec<&str> = vols.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["dist", "gv0"]);
}

#[test]
fn list_table_filters_and_json() {
    let server = daemon();
    let (dist, gv0) = (server.volume("dist").id, server.volume("gv0").id);
    let out = stdout_of(cli_for(&server).args(["volume", "list"]));
    assert_eq!(
        out,
        format!(
            "\
+------+--------------------------------------+------------+---------+--------+
| Name | ID                                   | Type       | State   | Bricks |
+=============================================================================+
| dist | {dist} | Distribute | Created | 2      |
| gv0  | {gv0} | Replicate  | Started | 3      |
+------+--------------------------------------+------------+---------+--------+
"
        )
    );
    // The daemon filters (GD2's rules), and the CLI filters its answer again.
    let names = |args: &[&str]| -> Vec<String> {
        let out = stdout_of(cli_for(&server).args(["volume", "list"]).args(args));
        out.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Name "))
            .map(|l| l[2..].split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names(&["--key", "tier"]), ["dist"]);
    assert_eq!(names(&["--value", "alice"]), ["gv0"]);
    assert_eq!(names(&["--key", "owner", "--value", "bob"]), ["dist"]);
    assert!(names(&["--key", "owner", "--value", "carol"]).is_empty());
    let queries: Vec<Option<String>> = server.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            Some("limit=500".to_owned()),
            Some("key=tier&limit=500".to_owned()),
            Some("value=alice&limit=500".to_owned()),
            Some("key=owner&value=bob&limit=500".to_owned()),
            Some("key=owner&value=carol&limit=500".to_owned()),
        ]
    );
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "list", "--value", "alice"]));
    let vols: Vec<VolumeInfo> = serde_json::from_str(&out).expect("Vec<VolumeInfo> JSON");
    assert_eq!(vols, [server.volume("gv0")]);
}

/// A volume's `status` text: per brick (as `Daemon::bricks` makes it), online, port and pid.
fn status<const N: usize>(server: &Daemon, volume: &str, bricks: [[&str; 4]; N]) -> String {
    let rows = bricks
        .map(|r| r.map(str::to_owned))
        .map(|[b, on, port, pid]| [server.bricks(&b), on, port, pid]);
    common::volume_status(volume, &rows)
}

#[test]
fn status_text_and_json() {
    let server = daemon();
    // gv0's bricks online, as their nodes published them; dist's not started.
    let gv0 = status(
        &server,
        "gv0",
        [
            ["node1:{bricks}/gv0", "yes", "49152", "3000"],
            ["node2:{bricks}/gv0", "yes", "49153", "3001"],
            ["[fd00::2]:{bricks}/gv0-b3", "yes", "49154", "3002"],
        ],
    );
    let d = |p| format!("{THIS_HOST}:{{bricks}}/{p}");
    let dist = status(
        &server,
        "dist",
        [
            [&d("d1"), "no", "N/A", "N/A"],
            [&d("d2"), "no", "N/A", "N/A"],
        ],
    );
    assert_eq!(
        stdout_of(cli_for(&server).args(["volume", "status", "gv0"])),
        gv0
    );
    assert_eq!(
        stdout_of(cli_for(&server).args(["volume", "status"])),
        format!("{dist}\n{gv0}")
    );
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/volumes/gv0/bricks",
            "/v1/volumes",
            "/v1/volumes/dist/bricks",
            "/v1/volumes/gv0/bricks",
        ]
    );

    let out = stdout_of(cli_for(&server).args(["--json", "volume", "status", "gv0"]));
    let bricks: Vec<BrickStatus> = serde_json::from_str(&out).expect("Vec<BrickStatus> JSON");
    assert_eq!(bricks.len(), 3);
    assert!(
        bricks
            .iter()
            .all(|b| b.online && b.info.volume_name == "gv0")
    );
    assert_eq!((bricks[0].port, bricks[0].pid), (49152, 3000));

    let out = stdout_of(cli_for(&server).args(["--json", "volume", "status"]));
    let all: BTreeMap<String, Vec<BrickStatus>> =
        serde_json::from_str(&out).expect("name -> Vec<BrickStatus> JSON");
    assert_eq!(all.keys().collect::<Vec<_>>(), ["dist", "gv0"]);
    assert_eq!(all["gv0"], bricks);
    assert!(all["dist"].iter().all(|b| !b.online && b.port == 0));

    cli_for(&server)
        .args(["volume", "status", "nope"])
        .assert()
        .code(1)
        .stderr("Error: volume nope not found\n");
}

#[test]
fn no_volumes() {
    let server = Daemon::with(Setup::default());
    for cmd in ["info", "status"] {
        assert_eq!(
            stdout_of(cli_for(&server).args(["volume", cmd])),
            "No volumes present\n"
        );
        assert_eq!(
            stdout_of(cli_for(&server).args(["--json", "volume", cmd])).trim(),
            if cmd == "info" { "[]" } else { "{}" }
        );
    }
    let out = stdout_of(cli_for(&server).args(["volume", "list"]));
    assert_eq!(
        out,
        "\
+------+----+------+-------+--------+
| Name | ID | Type | State | Bricks |
+===================================+
+------+----+------+-------+--------+
"
    );
}

#[test]
fn start_and_stop() {
    // dist's bricks are on the node the CLI talks to: real glusterfsd processes.
    let server = daemon();
    cli_for(&server)
        .args(["volume", "start", "dist"])
        .assert()
        .success()
        .stdout("Volume dist started\n");
    cli_for(&server)
        .args(["volume", "start", "dist"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: volume dist is already started\n");
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "start", "dist", "--force"]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    assert_eq!((vol.name.as_str(), vol.state.as_str()), ("dist", "Started"));
    let starts = server.requests();
    assert!(
        starts
            .iter()
            .all(|r| r.method == "POST" && r.path == "/v1/volumes/dist/start")
    );
    let bodies: Vec<Value> = starts.iter().map(|r| r.json()).collect();
    assert_eq!(
        bodies,
        [
            json!({"force-start-bricks": false}),
            json!({"force-start-bricks": false}),
            json!({"force-start-bricks": true}),
        ]
    );

    cli_for(&server)
        .args(["volume", "stop", "dist"])
        .assert()
        .success()
        .stdout("Volume dist stopped\n");
    let stop = server.requests().pop().unwrap();
    assert_eq!(
        (stop.method.as_str(), stop.path.as_str()),
        ("POST", "/v1/volumes/dist/stop")
    );
    assert_eq!(stop.body, "", "stop sends no body");
    cli_for(&server)
        .args(["volume", "stop", "dist"])
        .assert()
        .code(1)
        .stderr("Error: volume dist is already stopped\n");
    // What the daemon had to force is said on stderr; stdout keeps the JSON (a stub's answer:
    // see `common::stub` for why).
    let stub = Stub::start(Behaviour::KilledAtStop);
    let out = cli_for(&stub)
        .args(["--json", "volume", "stop", "gv0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Warning: on 127.0.0.2:24007: brick /data/gv0 (pid 3000) did not exit within 10 s of \
         SIGTERM and was killed (SIGKILL)\n"
    );
    let vol: VolumeInfo = serde_json::from_slice(&out.stdout).expect("VolumeInfo JSON");
    assert_eq!(vol.state, "Stopped");
    cli_for(&server)
        .args(["volume", "start", "nope"])
        .assert()
        .code(1)
        .stderr("Error: volume nope not found\n");
}

#[test]
fn delete() {
    let server = daemon();
    // gv0 is started: the daemon refuses.
    cli_for(&server)
        .args(["volume", "delete", "gv0", "-y"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: volume gv0 is started; stop it before deleting it\n");
    // stdin is not a terminal (a script): no question, the volume is deleted.
    cli_for(&server)
        .args(["volume", "delete", "dist"])
        .write_stdin("n\n")
        .assert()
        .success()
        .stdout("Volume dist deleted\n")
        .stderr("");
    let last = server.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str(), last.body.as_str()),
        ("DELETE", "/v1/volumes/dist", "")
    );
    cli_for(&server)
        .args(["volume", "info", "dist"])
        .assert()
        .code(1)
        .stderr("Error: volume dist not found\n");
    cli_for(&server)
        .args(["volume", "delete", "dist", "--yes"])
        .assert()
        .code(1)
        .stderr("Error: volume dist not found\n");
    // GD2's flag name; with --json there is nothing to print (204).
    cli_for(&server)
        .args(["volume", "stop", "gv0"])
        .assert()
        .success();
    cli_for(&server)
        .args(["--json", "volume", "delete", "--script-mode", "gv0"])
        .assert()
        .success()
        .stdout("");
    assert!(server.requests().pop().unwrap().path == "/v1/volumes/gv0");
}

#[test]
fn volume_commands_need_a_valid_name() {
    for args in [
        &["volume", "start"][..],
        &["volume", "stop", "a?b"],
        &["volume", "delete", ""],
        &["volume", "status", "../x"],
    ] {
        cli().args(args).assert().code(2).stdout("");
    }
}
