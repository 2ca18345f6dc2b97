//! `glustercli volume set|get|reset`, `volume option-group ...`, `cluster-options ...` and
//! `volume create --option` against the fake glusterd2: the exact requests (paths, bodies),
//! the tables and JSON printed, usage errors that exit 2 and send nothing, and the daemon's
//! errors (exit 1).

mod common;

use common::{FakeServer, cli_for, stdout_of};
use gd_api::{ClusterOptionGetResp, OptionGroup, VolumeInfo, VolumeOptionGetResp};
use predicates::prelude::*;
use serde_json::{Value, json};

/// The (method, path) of every request the server received.
fn calls(server: &FakeServer) -> Vec<(String, String)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect()
}

fn call(method: &str, path: &str) -> (String, String) {
    (method.to_owned(), path.to_owned())
}

/// The body `volume set` sends for `options`.
fn set_body(options: Value) -> Value {
    json!({"options": options, "allow-advanced-options": false,
           "allow-experimental-options": false, "allow-deprecated-options": false})
}

/// Runs `command` + each case's arguments: each must exit 2 with its message on stderr and
/// nothing on stdout.
fn usage_errors(server: &FakeServer, command: &[&str], cases: &[(&[&str], &str)]) {
    for (args, message) in cases {
        cli_for(server)
            .args(command)
            .args(*args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(*message));
    }
}

#[test]
fn set_sends_the_pairs() {
    let server = FakeServer::start();
    cli_for(&server)
        .args([
            "volume",
            "set",
            "dist",
            "performance.cache-size",
            "64MB",
            "user.owner",
            "alice",
            "cluster/replicate.eager-lock",
            "off",
        ])
        .assert()
        .success()
        .stdout("Options set successfully for dist volume\n")
        .stderr("");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("POST", "/v1/volumes/dist/options")
    );
    assert_eq!(
        reqs[0].json(),
        set_body(
            json!({"performance.cache-size": "64MB", "user.owner": "alice",
                        "cluster/replicate.eager-lock": "off"})
        )
    );
    // The volume now has them.
    let out = stdout_of(cli_for(&server).args(["volume", "info", "dist"]));
    assert!(
        out.ends_with(
            "Options:\ncluster/replicate.eager-lock: off\n\
             performance/io-cache.cache-size: 64MB\nuser.owner: alice\n"
        ),
        "{out}"
    );
}

#[test]
fn set_json_groups_and_negative_values() {
    let server = FakeServer::start();
    // `group <name>`: GD1's spelling.
    let out =
        stdout_of(cli_for(&server).args(["--json", "volume", "set", "dist", "group", "virt"]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    assert_eq!(vol.name, "dist");
    assert_eq!(
        vol.options,
        [
            ("cluster/replicate.eager-lock", "enable"),
            ("performance/read-ahead.read-ahead", "off")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into()
    );
    // `<group> off` resets the group's options; a value may start with '-' when it is a number,
    // or after `--`.
    stdout_of(cli_for(&server).args(["volume", "set", "dist", "virt", "off", "user.n", "-1"]));
    stdout_of(cli_for(&server).args(["volume", "set", "dist", "--", "user.x", "-x"]));
    let bodies: Vec<Value> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(
        bodies,
        [
            set_body(json!({"group": "virt"})),
            set_body(json!({"virt": "off", "user.n": "-1"})),
            set_body(json!({"user.x": "-x"})),
        ]
    );
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "info", "dist"]));
    let vol: VolumeInfo = serde_json::from_str(&out).unwrap();
    assert_eq!(
        vol.options,
        [("user.n", "-1"), ("user.x", "-x")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
    );
}

#[test]
fn set_usage_errors_send_nothing() {
    let server = FakeServer::start();
    usage_errors(
        &server,
        &["volume", "set"],
        &[
            (
                &["gv0", "performance.cache-size"][..],
                "\"performance.cache-size\" has no value: give the options as KEY VALUE pairs",
            ),
            (&["gv0", "a.b", "on", "c.d"], "\"c.d\" has no value"),
            (&["gv0"], "required arguments were not provided"),
            (
                &["gv0", "a.b", "on", "a.b", "off"],
                "the option \"a.b\" is given more than once",
            ),
            (&["gv0", "", "on"], "an option key is empty"),
            (&["a/b", "a.b", "on"], "invalid volume name"),
            (&["gv0", "a.b", "-x"], "unexpected argument '-x'"),
        ],
    );
    // The checks made after parsing print the command's usage, as clap's own do.
    cli_for(&server)
        .args(["volume", "set", "gv0", "a.b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Usage: glustercli volume set <VOLNAME> <KEY> <VALUE> [<KEY> <VALUE>...]",
        ));
    assert!(server.requests().is_empty(), "usage errors send nothing");
}

#[test]
fn set_prints_the_daemon_errors() {
    let server = FakeServer::start();
    cli_for(&server)
        .args([
            "volume",
            "set",
            "gv0",
            "user.a",
            "1",
            "no.such-option",
            "on",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: option no.such-option does not exist\n");
    cli_for(&server)
        .args(["volume", "set", "nope", "user.a", "1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: volume nope not found\n");
    cli_for(&server)
        .args(["volume", "set", "gv0", "virt", "maybe"])
        .assert()
        .code(1)
        .stderr("Error: the value of group virt must be on or off\n");
    // Nothing was set: all or none.
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "info", "gv0"]));
    let vol: VolumeInfo = serde_json::from_str(&out).unwrap();
    assert_eq!(vol, common::volumes()[0]);
}

const GV0_ALL: &str = "\
+------------------------------------+----------+-------+---------------+--------------+
| Name                               | Modified | Value | Default Value | Option Level |
+======================================================================================+
| cluster/replicate.eager-lock       | no       | on    | on            | advanced     |
| cluster/replicate.self-heal-daemon | yes      | on    | on            | basic        |
| features/shard.shard-block-size    | no       | 64MB  | 64MB          | advanced     |
| performance/io-cache.cache-size    | no       | 32MB  | 32MB          | basic        |
| performance/read-ahead.read-ahead  | yes      | off   | on            | basic        |
+------------------------------------+----------+-------+---------------+--------------+
";

#[test]
fn get_all_table_and_json() {
    let server = FakeServer::start();
    assert_eq!(
        stdout_of(cli_for(&server).args(["volume", "get", "gv0", "all"])),
        GV0_ALL
    );
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "get", "gv0", "all"]));
    let opts: Vec<VolumeOptionGetResp> = serde_json::from_str(&out).expect("a JSON array");
    assert_eq!(opts.len(), 5);
    assert_eq!(
        serde_json::to_value(&opts[4]).unwrap(),
        json!({"name": "performance/read-ahead.read-ahead", "value": "off", "modified": true,
               "default-value": "on", "option-level": "basic", "type": "bool"})
    );
    assert_eq!(
        calls(&server),
        [
            call("GET", "/v1/volumes/gv0/options"),
            call("GET", "/v1/volumes/gv0/options")
        ]
    );
    cli_for(&server)
        .args(["volume", "get", "nope", "all"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: volume nope not found\n");
}

#[test]
fn get_one_keeps_slashes_and_encodes_the_rest() {
    let server = FakeServer::start();
    assert_eq!(
        stdout_of(cli_for(&server).args([
            "volume",
            "get",
            "gv0",
            "cluster/replicate.self-heal-daemon"
        ])),
        "\
+------------------------------------+----------+-------+---------------+--------------+
| Name                               | Modified | Value | Default Value | Option Level |
+======================================================================================+
| cluster/replicate.self-heal-daemon | yes      | on    | on            | basic        |
+------------------------------------+----------+-------+---------------+--------------+
"
    );
    let out = stdout_of(cli_for(&server).args([
        "volume",
        "get",
        "gv0",
        "performance.cache-size",
        "--json",
    ]));
    let opt: VolumeOptionGetResp = serde_json::from_str(&out).expect("one VolumeOptionGetResp");
    assert_eq!(
        (opt.key.as_str(), opt.value.as_str(), opt.modified),
        ("performance.cache-size", "32MB", false)
    );
    // Characters that would change the URL's meaning are percent-encoded; the daemon decodes
    // them (and does not know this key).
    cli_for(&server)
        .args(["volume", "get", "gv0", "odd key?x#y%z"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: option odd key?x#y%z not found\n");
    assert_eq!(
        calls(&server),
        [
            call(
                "GET",
                "/v1/volumes/gv0/options/cluster/replicate.self-heal-daemon"
            ),
            call("GET", "/v1/volumes/gv0/options/performance.cache-size"),
            call("GET", "/v1/volumes/gv0/options/odd%20key%3Fx%23y%25z"),
        ]
    );
}

#[test]
fn get_usage_errors_send_nothing() {
    let server = FakeServer::start();
    usage_errors(
        &server,
        &["volume", "get"],
        &[
            (&["gv0"][..], "required arguments were not provided"),
            (&["gv0", ""], "the option key is empty"),
            (&["gv0", "../x"], "'.' and '..' cannot be parts of a key"),
            (&["gv0", "a/./b"], "'.' and '..' cannot be parts of a key"),
            (&["gv0", "a", "b"], "unexpected argument 'b'"),
            (&["a?b", "all"], "invalid volume name"),
        ],
    );
    assert!(server.requests().is_empty(), "usage errors send nothing");
}

#[test]
fn reset_keys_or_all() {
    let server = FakeServer::start();
    cli_for(&server)
        .args(["volume", "reset", "gv0", "performance.read-ahead"])
        .assert()
        .success()
        .stdout("Volume options reset successfully for gv0\n");
    let out =
        stdout_of(cli_for(&server).args(["--json", "volume", "reset", "gv0", "--all", "--force"]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    assert!(vol.options.is_empty(), "{:?}", vol.options);
    let reqs = server.requests();
    assert!(
        reqs.iter()
            .all(|r| r.method == "DELETE" && r.path == "/v1/volumes/gv0/options"),
        "{reqs:?}"
    );
    let bodies: Vec<Value> = reqs.iter().map(|r| r.json()).collect();
    assert_eq!(
        bodies,
        [
            json!({"options": ["performance.read-ahead"], "force": false, "all": false}),
            json!({"options": [], "force": true, "all": true}),
        ]
    );
    // After the first reset only the self-heal daemon was left; the second cleared it.
    let out = stdout_of(cli_for(&server).args(["volume", "get", "gv0", "all"]));
    assert!(!out.contains("| yes "), "{out}");

    cli_for(&server)
        .args(["volume", "reset", "gv0", "a.b", "-f"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: option a.b does not exist\n");
    assert_eq!(
        server.requests().pop().unwrap().json(),
        json!({"options": ["a.b"], "force": true, "all": false})
    );
}

#[test]
fn reset_usage_errors_send_nothing() {
    let server = FakeServer::start();
    usage_errors(
        &server,
        &["volume", "reset"],
        &[
            (&["gv0"][..], "required arguments were not provided"),
            (&["gv0", "--force"], "<KEY|--all>"),
            (&["gv0", "a.b", "--all"], "cannot be used with"),
            (&["gv0", ""], "a value is required"),
            (&[], "required arguments were not provided"),
        ],
    );
    assert!(server.requests().is_empty(), "usage errors send nothing");
}

#[test]
fn option_groups() {
    let server = FakeServer::start();
    assert_eq!(
        stdout_of(cli_for(&server).args(["volume", "option-group", "list"])),
        "\
+------+----------+-------------------------------------+------------------------------------+
| Name | Built-in | Options                             | Description                        |
+============================================================================================+
| virt | yes      | performance.read-ahead=off          | For hosting virtual machine images |
|      |          | cluster/replicate.eager-lock=enable |                                    |
+------+----------+-------------------------------------+------------------------------------+
"
    );
    cli_for(&server)
        .args([
            "volume",
            "option-group",
            "create",
            "db/oltp",
            "performance.cache-size=256MB",
            "user.note=a=b",
            "--description",
            "Databases",
        ])
        .assert()
        .code(1)
        .stderr("Error: option user.note does not exist\n");
    cli_for(&server)
        .args([
            "volume",
            "option-group",
            "create",
            "db/oltp",
            "performance.cache-size=256MB",
            "cluster.eager-lock=",
            "--description",
            "Databases",
        ])
        .assert()
        .success()
        .stdout("Option group db/oltp created\n");
    let posts = server.requests_with("POST");
    assert!(posts.iter().all(|r| r.path == "/v1/volumes/options-group"));
    assert_eq!(
        posts[1].json(),
        json!({"name": "db/oltp",
               "options": [{"name": "cluster.eager-lock", "onvalue": ""},
                           {"name": "performance.cache-size", "onvalue": "256MB"}],
               "description": "Databases",
               "allow-advanced-options": false, "allow-experimental-options": false,
               "allow-deprecated-options": false})
    );
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "option-group", "list"]));
    let groups: Vec<OptionGroup> = serde_json::from_str(&out).expect("Vec<OptionGroup> JSON");
    assert_eq!(groups.len(), 2);
    assert!(!groups[1].built_in && groups[1].description == "Databases");
    let out = stdout_of(cli_for(&server).args([
        "--json",
        "volume",
        "option-group",
        "create",
        "small",
        "features/shard.shard-block-size=4MB",
    ]));
    let group: OptionGroup = serde_json::from_str(&out).expect("OptionGroup JSON");
    assert_eq!(
        (group.name.as_str(), group.description.as_str()),
        ("small", "")
    );
    assert_eq!(server.requests().pop().unwrap().json()["description"], "");

    // The name is one path segment: its '/' is encoded.
    cli_for(&server)
        .args(["volume", "option-group", "delete", "db/oltp"])
        .assert()
        .success()
        .stdout("Option group db/oltp deleted\n");
    cli_for(&server)
        .args(["--json", "volume", "option-group", "delete", "small"])
        .assert()
        .success()
        .stdout("");
    cli_for(&server)
        .args(["volume", "option-group", "delete", "virt"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: option group virt is built in and cannot be deleted\n");
    cli_for(&server)
        .args(["volume", "option-group", "delete", "small"])
        .assert()
        .code(1)
        .stderr("Error: option group small not found\n");
    let deletes: Vec<String> = server
        .requests_with("DELETE")
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        deletes,
        [
            "/v1/volumes/options-group/db%2Foltp",
            "/v1/volumes/options-group/small",
            "/v1/volumes/options-group/virt",
            "/v1/volumes/options-group/small",
        ]
    );
}

#[test]
fn option_group_usage_errors_send_nothing() {
    let server = FakeServer::start();
    usage_errors(
        &server,
        &["volume", "option-group"],
        &[
            (
                &["create", "g", "a.b"][..],
                "expected KEY=VALUE, there is no '=' in \"a.b\"",
            ),
            (&["create", "g", "=on"], "the option key is empty"),
            (&["create", "g"], "required arguments were not provided"),
            (
                &["create", "g", "a=1", "a=2"],
                "the option \"a\" is given more than once",
            ),
            (&["create", "", "a=1"], "a value is required"),
            (&["delete"], "required arguments were not provided"),
            (&["delete", ".."], "invalid name"),
            (&["frobnicate"], "unrecognized subcommand"),
        ],
    );
    assert!(server.requests().is_empty(), "usage errors send nothing");
}

#[test]
fn cluster_options() {
    let server = FakeServer::start();
    assert_eq!(
        stdout_of(cli_for(&server).args(["cluster-options", "get"])),
        "\
+--------------------------------+-------+---------+----------+
| Key                            | Value | Default | Modified |
+=============================================================+
| cluster.brick-multiplex        | off   | off     | no       |
| cluster.max-bricks-per-process | 250   | 250     | no       |
| cluster.server-quorum-ratio    | 51    | 51      | no       |
+--------------------------------+-------+---------+----------+
"
    );
    cli_for(&server)
        .args([
            "cluster-options",
            "set",
            "cluster.brick-multiplex",
            "on",
            "cluster.max-bricks-per-process",
            "10",
        ])
        .assert()
        .success()
        .stdout("Cluster options set successfully\n");
    let out = stdout_of(cli_for(&server).args(["--json", "cluster-options", "get"]));
    let opts: Vec<ClusterOptionGetResp> = serde_json::from_str(&out).expect("a JSON array");
    let modified: Vec<(&str, &str)> = opts
        .iter()
        .filter(|o| o.modified)
        .map(|o| (o.key.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(
        modified,
        [
            ("cluster.brick-multiplex", "on"),
            ("cluster.max-bricks-per-process", "10")
        ]
    );
    let out = stdout_of(cli_for(&server).args([
        "cluster-options",
        "set",
        "cluster.brick-multiplex",
        "off",
        "--json",
    ]));
    let opts: Vec<ClusterOptionGetResp> = serde_json::from_str(&out).expect("a JSON array");
    assert!(!opts[0].modified && opts[0].value == "off");
    cli_for(&server)
        .args(["cluster-options", "set", "cluster.nope", "1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: cluster.nope is not a cluster option\n");
    let reqs = server.requests();
    assert_eq!(
        calls(&server),
        [
            call("GET", "/v1/cluster/options"),
            call("POST", "/v1/cluster/options"),
            call("GET", "/v1/cluster/options"),
            call("POST", "/v1/cluster/options"),
            call("POST", "/v1/cluster/options"),
        ]
    );
    assert_eq!(
        reqs[1].json(),
        json!({"options": {"cluster.brick-multiplex": "on", "cluster.max-bricks-per-process": "10"}})
    );
    assert_eq!(reqs[4].json(), json!({"options": {"cluster.nope": "1"}}));

    usage_errors(
        &server,
        &["cluster-options"],
        &[
            (
                &["set", "cluster.brick-multiplex"][..],
                "\"cluster.brick-multiplex\" has no value",
            ),
            (&["set", "a", "1", "b"], "\"b\" has no value"),
            (&["set"], "required arguments were not provided"),
            (&["set", "a", "1", "a", "1"], "given more than once"),
            (&["get", "x"], "unexpected argument 'x'"),
        ],
    );
    assert_eq!(server.requests().len(), 5, "usage errors send nothing");
}

#[test]
fn create_with_options() {
    let server = FakeServer::start();
    let out = stdout_of(cli_for(&server).args([
        "volume",
        "create",
        "v",
        "n1:/b",
        "--option",
        "performance.cache-size=64MB",
        "--option",
        "user.note=a=b",
    ]));
    assert!(
        out.ends_with("Options:\nperformance.cache-size: 64MB\nuser.note: a=b\n"),
        "{out}"
    );
    assert_eq!(
        server.requests()[0].json()["options"],
        json!({"performance.cache-size": "64MB", "user.note": "a=b"})
    );
    // Without --option the request has no options (as before).
    stdout_of(cli_for(&server).args(["volume", "create", "w", "n1:/b"]));
    assert!(server.requests()[1].json().get("options").is_none());

    usage_errors(
        &server,
        &["volume", "create", "x", "n1:/b"],
        &[
            (
                &["--option", "performance.cache-size"][..],
                "expected KEY=VALUE, there is no '='",
            ),
            (&["--option", "=1"], "the option key is empty"),
            (
                &["--option", "a=1", "--option", "a=2"],
                "the option \"a\" is given more than once",
            ),
        ],
    );
    assert_eq!(server.requests().len(), 2, "usage errors send nothing");
}

#[test]
fn completions_know_the_option_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stdout_of(common::cli().args(["completion", shell]));
        for word in ["cluster-options", "option-group", "reset"] {
            assert!(out.contains(word), "{shell}: no {word}");
        }
    }
}
