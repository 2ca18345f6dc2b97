//! End-to-end: volume options on real daemons, real bricks and a real FUSE mount that
//! reconfigures live when an option changes.
//!
//! Addresses: 127.0.45.1–3 (a three-node cluster), 127.0.46.1 (a node without xlators).

use std::{os::unix::net::UnixStream, time::Duration};

use gd_sunrpc::programs::handshake;
use gd_testkit::*;
use serde_json::json;

const LIVE: Duration = Duration::from_secs(30);

/// `window_size` of the mount's active write-behind, from `.meta` (what the client runs with).
fn window_size(m: &Mount, vol: &str) -> Option<u64> {
    let private = m
        .dir
        .join(".meta/graphs/active")
        .join(format!("{vol}-write-behind"))
        .join("private");
    let text = std::fs::read_to_string(private).ok()?;
    text.lines()
        .find(|l| l.trim_start().starts_with("window_size"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().parse().ok())
}

/// The client volfile node `i` serves for `vol` over its unix socket (what GETSPEC gives).
fn client_volfile(t: &Three, i: usize, vol: &str) -> String {
    let socket = t.dirs[i].run.join("glusterd2.socket");
    let mut rpc = Rpc::new(UnixStream::connect(&socket).unwrap());
    let rsp: handshake::GetspecRsp = rpc.getspec(&format!("/{vol}"));
    assert!(rsp.op_ret > 0, "GETSPEC /{vol}: {rsp:?}");
    rsp.spec
}

fn options_of(t: &Three, i: usize, vol: &str) -> serde_json::Value {
    let (s, b) = t.api(i, "GET", &format!("/v1/volumes/{vol}"), None);
    assert_eq!(s, 200, "{b}");
    b["options"].clone()
}

#[test]
fn options_reconfigure_a_live_mount_and_bad_input_changes_nothing() {
    let t = three(45);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "o3")).collect();

    // Options at create, in a GD2 spelling: stored under GD1's name.
    let mut body = create_body("opt", "replicate", &bricks, json!({"replica": 3}));
    body["options"] = json!({"replicate.quorum-type": "auto"});
    let (s, b) = t.api(0, "POST", "/v1/volumes", Some(body));
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["options"]["cluster.quorum-type"], "auto", "{b}");
    // A bad option at create creates nothing.
    let mut bad = create_body(
        "opt-bad",
        "replicate",
        &(0..3).map(|i| brick(&t, i, "ob")).collect::<Vec<_>>(),
        json!({"replica": 3}),
    );
    bad["options"] = json!({"cluster.quorum-type": "always"});
    let (s, b) = t.api(0, "POST", "/v1/volumes", Some(bad));
    assert_eq!(s, 400, "{b}");
    let (s, _) = t.api(0, "GET", "/v1/volumes/opt-bad", None);
    assert_eq!(s, 404);

    let (s, b) = t.api(1, "POST", "/v1/volumes/opt/start", None);
    assert_eq!(s, 200, "{b}");

    // The client mounts from node 3; the option is set through node 1.
    let m = Mount::new(&t.ips[2], "opt").unwrap();
    std::fs::write(m.dir.join("before"), b"1").unwrap();
    assert_eq!(window_size(&m, "opt"), Some(1048576), "the default");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/opt/options",
        Some(json!({"options": {"performance.write-behind-window-size": "4MB"}})),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["options"]["performance.write-behind-window-size"], "4MB");
    wait_for("the mount to run with the new window size", LIVE, || {
        (window_size(&m, "opt") == Some(4194304)).then_some(())
    })
    .unwrap();
    let log = read(&m.log);
    assert!(
        log.lines()
            .any(|l| l.contains("option cache-size using set value 4MB")),
        "the client reconfigured in place:\n{log}"
    );
    assert!(
        client_volfile(&t, 1, "opt").contains("option cache-size 4MB"),
        "every node serves the new volfile"
    );
    std::fs::write(m.dir.join("after"), b"2").unwrap();
    assert_eq!(std::fs::read(m.dir.join("before")).unwrap(), b"1");

    // Bad input: 4xx, the store and the volfile as they were.
    let options_before = options_of(&t, 0, "opt");
    let volfile_before = client_volfile(&t, 0, "opt");
    for (req, what) in [
        (
            json!({"options": {"performance.write-behind-window-size": "huge"}}),
            "performance.write-behind-window-size",
        ),
        (
            json!({"options": {"performance.no-such-option": "on"}}),
            "performance.no-such-option",
        ),
        (
            json!({"options": {"cluster.quorum-type": "fixed", "cluster.quorum-count": "many"}}),
            "cluster.quorum-count",
        ),
        (
            json!({"options": {"storage.directory": "/tmp"}}),
            "storage.directory",
        ),
        (
            json!({"options": {"group": "no-such-group"}}),
            "no-such-group",
        ),
        (json!({"options": "nope"}), "malformed"),
    ] {
        let (s, b) = t.api(1, "POST", "/v1/volumes/opt/options", Some(req.clone()));
        assert_eq!(s, 400, "{req}: {b}");
        assert!(
            b["errors"][0]["message"].as_str().unwrap().contains(what),
            "{req}: {b}"
        );
    }
    let (s, _) = t.api(
        1,
        "POST",
        "/v1/volumes/nosuchvol/options",
        Some(json!({"options": {"cluster.quorum-type": "auto"}})),
    );
    assert_eq!(s, 404);
    assert_eq!(options_of(&t, 2, "opt"), options_before);
    assert_eq!(client_volfile(&t, 0, "opt"), volfile_before);
    assert_eq!(window_size(&m, "opt"), Some(4194304));

    // get: one key in any spelling (with its default and level), or all of them.
    let (s, b) = t.api(
        2,
        "GET",
        "/v1/volumes/opt/options/performance/write-behind.window-size",
        None,
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["value"], "4MB");
    assert_eq!(b["modified"], true);
    assert_eq!(b["default-value"], "1MB");
    let out = t.cli(1, &["volume", "get", "opt", "all"]);
    assert!(
        out.status.success(),
        "{:?}\n{}\n{}",
        out.status,
        stderr(&out),
        stdout(&out)
    );
    let rows = stdout(&out).lines().count();
    assert!(
        rows > 300,
        "volume get all lists the installed xlators' options: {rows} rows"
    );
    assert!(stdout(&out).contains("performance/write-behind.cache-size"));

    // reset through the CLI: the default comes back, live.
    let out = t.cli(
        2,
        &[
            "volume",
            "reset",
            "opt",
            "performance.write-behind-window-size",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for(
        "the mount to run with the default window size",
        LIVE,
        || (window_size(&m, "opt") == Some(1048576)).then_some(()),
    )
    .unwrap();
    assert!(
        options_of(&t, 0, "opt")
            .get("performance.write-behind-window-size")
            .is_none()
    );

    // set through the CLI, several at once.
    let out = t.cli(
        0,
        &[
            "volume",
            "set",
            "opt",
            "performance.write-behind-window-size",
            "2MB",
            "performance.md-cache-timeout",
            "5",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the mount to run with 2MB", LIVE, || {
        (window_size(&m, "opt") == Some(2097152)).then_some(())
    })
    .unwrap();
    let out = t.cli(0, &["volume", "get", "opt", "performance.md-cache-timeout"]);
    assert!(stdout(&out).contains('5'), "{}", stdout(&out));

    // Groups: the shipped ones are listed; one of the cluster's own is added, applied,
    // switched off and deleted; the shipped ones cannot be deleted.
    let (s, b) = t.api(0, "GET", "/v1/volumes/options-group", None);
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in [
        "virt",
        "metadata-cache",
        "nl-cache",
        "db-workload",
        "samba",
        "gluster-block",
        "distributed-virt",
    ] {
        assert!(names.contains(&g), "{g} in {names:?}");
    }
    let (s, b) = t.api(
        1,
        "POST",
        "/v1/volumes/options-group",
        Some(json!({"name": "bigwindow", "options": [
            {"name": "performance.write-behind-window-size", "onvalue": "8MB"},
            {"name": "user.profile", "onvalue": "bigwindow"}
        ]})),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(1, "POST",
        "/v1/volumes/options-group",
        Some(
            json!({"name": "broken", "options": [{"name": "performance.write-behind-window-size", "onvalue": "big"}]}),
        ),
    );
    assert_eq!(s, 400, "{b}");
    let out = t.cli(2, &["volume", "set", "opt", "group", "bigwindow"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the mount to run with 8MB", LIVE, || {
        (window_size(&m, "opt") == Some(8388608)).then_some(())
    })
    .unwrap();
    assert_eq!(options_of(&t, 0, "opt")["user.profile"], "bigwindow");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/opt/options",
        Some(json!({"options": {"bigwindow": "off"}})),
    );
    assert_eq!(s, 200, "{b}");
    assert!(b["options"].get("user.profile").is_none(), "{b}");
    let (s, _) = t.api(0, "DELETE", "/v1/volumes/options-group/bigwindow", None);
    assert_eq!(s, 204);
    let (s, _) = t.api(0, "DELETE", "/v1/volumes/options-group/virt", None);
    assert_eq!(s, 409);

    // GD1's samba group: parallel-readdir puts a readdir-ahead under DHT and write-behind
    // goes; the mount switches to that graph live and lists and reads through it.
    let out = t.cli(0, &["volume", "set", "opt", "group", "samba"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let active = m.dir.join(".meta/graphs/active");
    wait_for("the mount to run the samba graph", LIVE, || {
        (active.join("opt-readdir-ahead-0").is_dir() && !active.join("opt-write-behind").exists())
            .then_some(())
    })
    .unwrap();
    let listed: Vec<String> = std::fs::read_dir(&m.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(listed.iter().any(|n| n == "after"), "{listed:?}");
    assert_eq!(std::fs::read(m.dir.join("after")).unwrap(), b"2");
    assert!(
        client_volfile(&t, 1, "opt").contains("subvolumes opt-readdir-ahead-0\n"),
        "DHT sits on the readdir-ahead"
    );

    // Reset everything: back to a new volume's options (create's defaults).
    let (s, b) = t.api(
        0,
        "DELETE",
        "/v1/volumes/opt/options",
        Some(json!({"all": true})),
    );
    assert_eq!(s, 200, "{b}");
    assert!(b["options"].get("cluster.quorum-type").is_none(), "{b}");
    assert_eq!(b["options"]["cluster.granular-entry-heal"], "on", "{b}");
    wait_for(
        "the mount to run with the default window size",
        LIVE,
        || (window_size(&m, "opt") == Some(1048576)).then_some(()),
    )
    .unwrap();

    // Cluster options.
    let (s, b) = t.api(2, "GET", "/v1/cluster/options", None);
    assert_eq!(s, 200, "{b}");
    let op = b
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == "cluster.op-version")
        .unwrap();
    assert_eq!(op["value"], "100000");
    for bad in [
        json!({"options": {"cluster.brick-multiplex": "on"}}),
        json!({"options": {"cluster.no-such": "1"}}),
        json!({"options": {"cluster.op-version": "90000"}}),
    ] {
        let (s, b) = t.api(2, "POST", "/v1/cluster/options", Some(bad.clone()));
        assert_eq!(s, 400, "{bad}: {b}");
    }
    let out = t.cli(
        1,
        &[
            "cluster-options",
            "set",
            "cluster.daemon-log-level",
            "WARNING",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, b) = t.api(0, "GET", "/v1/cluster/options", None);
    let lvl = b
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == "cluster.daemon-log-level")
        .unwrap();
    assert_eq!(
        (lvl["value"].as_str(), lvl["modified"].as_bool()),
        (Some("WARNING"), Some(true))
    );

    // The data written under every configuration is there.
    assert_eq!(std::fs::read(m.dir.join("after")).unwrap(), b"2");
    drop(m);
    let (s, b) = t.api(0, "POST", "/v1/volumes/opt/stop", None);
    assert_eq!(s, 200, "{b}");

    // The cluster options reach the processes started next: restart the volume.
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/cluster/options",
        Some(json!({"options": {"cluster.localtime-logging": "enable"}})),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/opt/start", None);
    assert_eq!(s, 200, "{b}");
    let mine = |needle: &str| -> Vec<(i32, String)> {
        processes_matching(needle)
            .into_iter()
            .filter(|(_, c)| {
                t.dirs
                    .iter()
                    .any(|d| c.contains(&*node_root(d).to_string_lossy()))
            })
            .collect()
    };
    let bricks_run = mine("--volfile-id opt.");
    assert_eq!(bricks_run.len(), 3, "{bricks_run:?}");
    assert!(
        bricks_run
            .iter()
            .all(|(_, c)| c.contains("--localtime-logging")),
        "{bricks_run:?}"
    );
    let shds = wait_for("the self-heal daemons", LIVE, || {
        let found = mine("--volfile-id shd/opt");
        (found.len() == 3).then_some(found)
    })
    .unwrap();
    assert!(
        shds.iter()
            .all(|(_, c)| c.contains("--log-level=WARNING") && c.contains("--localtime-logging")),
        "{shds:?}"
    );

    // cluster.self-heal-daemon off stops the volume's self-heal daemons on every node (the
    // bricks keep running); on starts them again. Either returns when it is done.
    let out = t.cli(
        2,
        &["volume", "set", "opt", "cluster.self-heal-daemon", "off"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let still: Vec<_> = shds
        .iter()
        .filter(|(pid, _)| std::path::Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert!(still.is_empty(), "still there after the set: {still:?}");
    let pids = |ps: &[(i32, String)]| {
        ps.iter()
            .map(|(pid, _)| *pid)
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        pids(&mine("--volfile-id opt.")),
        pids(&bricks_run),
        "the bricks are untouched"
    );
    let out = t.cli(0, &["volume", "reset", "opt", "cluster.self-heal-daemon"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let back = mine("--volfile-id shd/opt");
    assert_eq!(back.len(), 3, "after the reset: {back:?}");

    let (s, b) = t.api(0, "POST", "/v1/volumes/opt/stop", None);
    assert_eq!(s, 200, "{b}");
}

#[test]
fn a_node_without_xlators_starts_and_refuses_option_operations() {
    let dirs = NodeDirs::new();
    let empty = tempfile::tempdir().unwrap();
    let xlatordir = format!("--xlatordir={}", empty.path().display());
    let d = start_daemon(&dirs, "127.0.46.1", &["--store", "local", &xlatordir]).unwrap();
    assert!(
        wait_for("the warning", Duration::from_secs(10), || {
            d.log()
                .contains("volume options cannot be set")
                .then_some(())
        })
        .is_ok(),
        "{}",
        d.log()
    );
    let path = node_root(&dirs).join("bricks").join("nx");
    let body = json!({"name": "nx", "subvols": [{"type": "distribute", "bricks": [{"host": "127.0.46.1", "path": path}]}],
        "flags": {"create-brick-dir": true, "allow-root-dir": true}});
    let (s, b) = api(&dirs, &d, "POST", "/v1/volumes", Some(body));
    assert_eq!(s, 201, "volumes work without the option tables: {b}");
    for (method, path, body) in [
        (
            "POST",
            "/v1/volumes/nx/options",
            Some(json!({"options": {"cluster.quorum-type": "auto"}})),
        ),
        ("GET", "/v1/volumes/nx/options", None),
        (
            "DELETE",
            "/v1/volumes/nx/options",
            Some(json!({"all": true})),
        ),
        ("GET", "/v1/volumes/nx/options/cluster.quorum-type", None),
    ] {
        let (s, b) = api(&dirs, &d, method, path, body);
        assert_eq!(s, 503, "{method} {path}: {b}");
        assert_eq!(b["errors"][0]["code"], 11, "{b}");
        assert!(
            b["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("install"),
            "{b}"
        );
    }
    let (s, _) = api(&dirs, &d, "DELETE", "/v1/volumes/nx", None);
    assert_eq!(s, 204);
}
