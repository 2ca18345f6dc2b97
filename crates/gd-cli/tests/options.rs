//! `glustercli volume set|get|reset`, `volume option-group ...`, `cluster-options ...` and
//! `volume create --option` against glusterd2 (the real one, in-process: see `common`): the
//! exact requests (paths, bodies), the tables and JSON printed, usage errors that exit 2 and
//! send nothing, and the daemon's errors (exit 1).
//!
//! The options a volume can have are the installed xlators' (GlusterFS 10.3's), and a new
//! volume starts with the ones GD1 gives it (`common::DISTRIBUTE_DEFAULTS`, `REPLICATE_DEFAULTS`).

mod common;

use common::{
    DISTRIBUTE_DEFAULTS, Daemon, REPLICATE_DEFAULTS, Setup, cli_for, options_of, stdout_of,
};
use gd_api::{ClusterOptionGetResp, OptionGroup, VolumeInfo, VolumeOptionGetResp};
use predicates::prelude::*;
use serde_json::{Value, json};

/// A daemon with the fixture volumes `gv0` (started) and `dist`.
fn daemon() -> Daemon {
    Daemon::with(Setup::volumes())
}

/// The (method, path) of every request the server received.
fn calls(server: &Daemon) -> Vec<(String, String)> {
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
fn usage_errors(server: &Daemon, command: &[&str], cases: &[(&[&str], &str)]) {
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
    let server = daemon();
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
    // The volume now has them, under the names given (with the options it was created with).
    let out = stdout_of(cli_for(&server).args(["volume", "info", "dist"]));
    assert!(
        out.ends_with(
            "Options:\ncluster/replicate.eager-lock: off\nnfs.disable: on\n\
             performance.cache-size: 64MB\nstorage.fips-mode-rchecksum: on\n\
             transport.address-family: inet\nuser.owner: alice\n"
        ),
        "{out}"
    );
}

#[test]
fn set_json_groups_and_negative_values() {
    let server = daemon();
    // `group <name>`: GD1's spelling.
    let out =
        stdout_of(cli_for(&server).args(["--json", "volume", "set", "dist", "group", "virt"]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    assert_eq!(vol.name, "dist");
    // The volume's options and every option of the group (the daemon's built-in `virt`).
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "option-group", "list"]));
    let groups: Vec<OptionGroup> = serde_json::from_str(&out).expect("Vec<OptionGroup> JSON");
    let virt = groups
        .iter()
        .find(|g| g.name == "virt")
        .expect("the group virt");
    let mut expected = options_of(&DISTRIBUTE_DEFAULTS);
    expected.extend(
        virt.options
            .iter()
            .map(|o| (o.name.clone(), o.on_value.clone())),
    );
    assert!(virt.options.len() > 2, "{virt:?}");
    assert_eq!(vol.options, expected);
    // `<group> off` resets the group's options; a value may start with '-' when it is a number,
    // or after `--`.
    stdout_of(cli_for(&server).args(["volume", "set", "dist", "virt", "off", "user.n", "-1"]));
    stdout_of(cli_for(&server).args(["volume", "set", "dist", "--", "user.x", "-x"]));
    let bodies: Vec<Value> = server
        .requests_with("POST")
        .iter()
        .map(|r| r.json())
        .collect();
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
    let mut expected = options_of(&DISTRIBUTE_DEFAULTS);
    expected.extend(options_of(&[("user.n", "-1"), ("user.x", "-x")]));
    assert_eq!(vol.options, expected);
}

#[test]
fn set_usage_errors_send_nothing() {
    let server = daemon();
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
    let server = daemon();
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
        .stderr("Error: unknown option \"no.such-option\": no installed xlator has it\n");
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
        .stderr(
            "Error: \"virt\" is not an option; an option group is set with the value on or off\n",
        );
    // Nothing was set: all or none.
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "info", "gv0"]));
    let vol: VolumeInfo = serde_json::from_str(&out).unwrap();
    assert_eq!(vol, server.volume("gv0"));
}

#[test]
fn get_all_table_and_json() {
    let server = daemon();
    let table = stdout_of(cli_for(&server).args(["volume", "get", "gv0", "all"]));
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "get", "gv0", "all"]));
    let opts: Vec<VolumeOptionGetResp> = serde_json::from_str(&out).expect("a JSON array");
    // Every option of the installed xlators (hundreds), then what the volume sets that no
    // xlator's table has: one row each, as the JSON has them.
    assert!(opts.len() > 400, "{}", opts.len());
    assert_eq!(table, common::options_table(&opts));
    // What gv0 sets: its two options and the ones it was created with, by their xlators'
    // names where they have one.
    let modified: Vec<[&str; 4]> = opts
        .iter()
        .filter(|o| o.modified)
        .map(|o| {
            [
                o.key.as_str(),
                o.value.as_str(),
                o.default_value.as_str(),
                o.option_level.as_str(),
            ]
        })
        .collect();
    assert_eq!(
        modified,
        [
            [
                "cluster/replicate.self-heal-daemon",
                "on",
                "enable",
                "advanced"
            ],
            [
                "cluster/replicate.granular-entry-heal",
                "on",
                "no",
                "advanced"
            ],
            [
                "performance/read-ahead.read-ahead",
                "off",
                "off",
                "advanced"
            ],
            ["storage/posix.fips-mode-rchecksum", "on", "off", "advanced"],
            ["nfs.disable", "on", "", ""],
            ["performance.client-io-threads", "off", "", ""],
            ["transport.address-family", "inet", "", ""],
        ]
    );
    let read_ahead = opts
        .iter()
        .find(|o| o.key == "performance/read-ahead.read-ahead")
        .unwrap();
    assert_eq!(
        serde_json::to_value(read_ahead).unwrap(),
        json!({"name": "performance/read-ahead.read-ahead", "value": "off", "modified": true,
               "default-value": "off", "option-level": "advanced", "type": "bool",
               "description": "enable/disable read-ahead"})
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
    let server = daemon();
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
| cluster/replicate.self-heal-daemon | yes      | on    | enable        | advanced     |
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
    // them (and refuses this key, as it got it).
    cli_for(&server)
        .args(["volume", "get", "gv0", "odd key?x#y%z"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "Error: invalid option key \"odd key?x#y%z\": the key contains the character ' '\n",
        );
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
    let server = daemon();
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
    let server = daemon();
    cli_for(&server)
        .args(["volume", "reset", "gv0", "performance.read-ahead"])
        .assert()
        .success()
        .stdout("Volume options reset successfully for gv0\n");
    let out =
        stdout_of(cli_for(&server).args(["--json", "volume", "reset", "gv0", "--all", "--force"]));
    let vol: VolumeInfo = serde_json::from_str(&out).expect("VolumeInfo JSON");
    // All: back to what a new volume has.
    assert_eq!(vol.options, options_of(&REPLICATE_DEFAULTS));
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
    // After the first reset the self-heal daemon was left; the second left only what a new
    // volume has (by the xlators' names where they have one).
    let out = stdout_of(cli_for(&server).args(["volume", "get", "gv0", "all"]));
    let modified: Vec<&str> = out
        .lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| cells.get(2) == Some(&"yes"))
        .map(|cells| cells[1])
        .collect();
    assert_eq!(
        modified,
        [
            "cluster/replicate.granular-entry-heal",
            "storage/posix.fips-mode-rchecksum",
            "nfs.disable",
            "performance.client-io-threads",
            "transport.address-family",
        ]
    );

    cli_for(&server)
        .args(["volume", "reset", "gv0", "a.b", "-f"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("Error: unknown option \"a.b\": no installed xlator has it\n");
    assert_eq!(
        server.requests().pop().unwrap().json(),
        json!({"options": ["a.b"], "force": true, "all": false})
    );
}

#[test]
fn reset_usage_errors_send_nothing() {
    let server = daemon();
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
    let server = daemon();
    // The daemon's built-in groups, each option on a line of its own.
    let table = stdout_of(cli_for(&server).args(["volume", "option-group", "list"]));
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "option-group", "list"]));
    let builtin: Vec<OptionGroup> = serde_json::from_str(&out).expect("Vec<OptionGroup> JSON");
    assert!(builtin.iter().all(|g| g.built_in), "{builtin:?}");
    assert_eq!(builtin[0].name, "virt");
    assert_eq!(table, common::groups_table(&builtin));
    let create = |args: &[&str]| {
        let mut c = cli_for(&server);
        c.args(["volume", "option-group", "create"]).args(args);
        c
    };
    create(&[
        "db-oltp",
        "performance.cache-size=256MB",
        "cluster.eager-lock=",
        "--description",
        "Databases",
    ])
    .assert()
    .code(1)
    .stderr(
        "Error: invalid value \"\" for cluster.eager-lock (cluster/replicate option eager-lock, \
         type bool): the value is empty\n",
    );
    create(&[
        "db-oltp",
        "performance.cache-size=256MB",
        "user.note=a=b",
        "--description",
        "Databases",
    ])
    .assert()
    .success()
    .stdout("Option group db-oltp created\n");
    let posts = server.requests_with("POST");
    assert!(posts.iter().all(|r| r.path == "/v1/volumes/options-group"));
    let body = |options: Value| {
        json!({"name": "db-oltp", "options": options, "description": "Databases",
               "allow-advanced-options": false, "allow-experimental-options": false,
               "allow-deprecated-options": false})
    };
    assert_eq!(
        posts[0].json(),
        body(json!([{"name": "cluster.eager-lock", "onvalue": ""},
                    {"name": "performance.cache-size", "onvalue": "256MB"}]))
    );
    assert_eq!(
        posts[1].json(),
        body(
            json!([{"name": "performance.cache-size", "onvalue": "256MB"},
                    {"name": "user.note", "onvalue": "a=b"}])
        )
    );
    let out = stdout_of(cli_for(&server).args(["--json", "volume", "option-group", "list"]));
    let groups: Vec<OptionGroup> = serde_json::from_str(&out).expect("Vec<OptionGroup> JSON");
    assert_eq!(groups.len(), builtin.len() + 1);
    let new = groups.last().unwrap();
    assert!(!new.built_in && new.description == "Databases");
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

    cli_for(&server)
        .args(["volume", "option-group", "delete", "db-oltp"])
        .assert()
        .success()
        .stdout("Option group db-oltp deleted\n");
    // The name is one path segment: its '/' is encoded, and the daemon gets it whole (and
    // refuses it: group names have no '/').
    cli_for(&server)
        .args(["volume", "option-group", "delete", "db/oltp"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "Error: invalid group name \"db/oltp\": use 1 to 64 letters, digits, '-' and '_' \
             (not \"group\")\n",
        );
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
        .stderr("Error: virt is a built-in group and cannot be deleted\n");
    cli_for(&server)
        .args(["volume", "option-group", "delete", "small"])
        .assert()
        .code(1)
        .stderr("Error: no group \"small\"\n");
    let deletes: Vec<String> = server
        .requests_with("DELETE")
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        deletes,
        [
            "/v1/volumes/options-group/db-oltp",
            "/v1/volumes/options-group/db%2Foltp",
            "/v1/volumes/options-group/small",
            "/v1/volumes/options-group/virt",
            "/v1/volumes/options-group/small",
        ]
    );
}

#[test]
fn option_group_usage_errors_send_nothing() {
    let server = daemon();
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
    let server = daemon();
    assert_eq!(
        stdout_of(cli_for(&server).args(["cluster-options", "get"])),
        "\
+---------------------------+---------+---------+----------+
| Key                       | Value   | Default | Modified |
+==========================================================+
| cluster.op-version        | 100000  | 100000  | no       |
| cluster.max-op-version    | 100000  | 100000  | no       |
| cluster.brick-multiplex   | disable | disable | no       |
| cluster.localtime-logging | disable | disable | no       |
| cluster.daemon-log-level  | INFO    | INFO    | no       |
+---------------------------+---------+---------+----------+
"
    );
    cli_for(&server)
        .args([
            "cluster-options",
            "set",
            "cluster.localtime-logging",
            "enable",
            "cluster.daemon-log-level",
            "DEBUG",
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
            ("cluster.localtime-logging", "enable"),
            ("cluster.daemon-log-level", "DEBUG")
        ]
    );
    let out = stdout_of(cli_for(&server).args([
        "cluster-options",
        "set",
        "cluster.localtime-logging",
        "disable",
        "--json",
    ]));
    let opts: Vec<ClusterOptionGetResp> = serde_json::from_str(&out).expect("a JSON array");
    // Modified means set: a value set back to the default stays set (there is no reset).
    assert_eq!(opts[3].key, "cluster.localtime-logging");
    assert!(opts[3].modified && opts[3].value == "disable" && opts[3].default == "disable");
    cli_for(&server)
        .args(["cluster-options", "set", "cluster.nope", "1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            "Error: unknown cluster option \"cluster.nope\"; cluster options are \
             cluster.op-version, cluster.max-op-version, cluster.brick-multiplex, \
             cluster.localtime-logging, cluster.daemon-log-level\n",
        );
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
        json!({"options": {"cluster.localtime-logging": "enable",
                           "cluster.daemon-log-level": "DEBUG"}})
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
    let server = daemon();
    let out = stdout_of(cli_for(&server).args([
        "volume",
        "create",
        "v",
        &server.bricks("node1:{bricks}/b"),
        "--allow-root-dir",
        "--option",
        "performance.cache-size=64MB",
        "--option",
        "user.note=a=b",
    ]));
    // With the options a new volume has.
    assert!(
        out.ends_with(
            "Options:\nnfs.disable: on\nperformance.cache-size: 64MB\n\
             storage.fips-mode-rchecksum: on\ntransport.address-family: inet\nuser.note: a=b\n"
        ),
        "{out}"
    );
    assert_eq!(
        server.requests()[0].json()["options"],
        json!({"performance.cache-size": "64MB", "user.note": "a=b"})
    );
    // Without --option the request has no options (as before). Another brick: one directory
    // is a brick of one volume.
    stdout_of(cli_for(&server).args([
        "volume",
        "create",
        "w",
        &server.bricks("node1:{bricks}/c"),
        "--allow-root-dir",
    ]));
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
