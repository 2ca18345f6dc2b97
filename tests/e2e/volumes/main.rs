//! End-to-end: volume create / list / info / delete as cluster transactions on real daemons,
//! with bricks marked on each node's file system.

use std::time::Duration;

use gd_api::VolumeInfo;
use gd_testkit::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const VOLUME_ID_XATTR: &str = "trusted.glusterfs.volume-id";

/// `POST /v1/volumes` on node `i`.
fn post_volume(t: &Three, i: usize, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    t.api(i, "POST", "/v1/volumes", body)
}

#[test]
fn replica_three_create_list_info_delete() {
    let t = three(41);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "r3")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "rep3",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let vol: VolumeInfo = serde_json::from_value(b).unwrap();
    assert_eq!(vol.kind, "Replicate");
    assert_eq!(vol.replica_count, 3);
    assert_eq!(vol.state, "Created");
    assert_eq!(vol.subvols[0].bricks.len(), 3);

    // Every brick is marked with the volume id and has .glusterfs.
    for (_, p) in &bricks {
        assert_eq!(
            xattr::get(p, VOLUME_ID_XATTR).unwrap().unwrap(),
            vol.id.as_bytes(),
            "{}",
            p.display()
        );
        assert!(p.join(".glusterfs").is_dir());
    }
    // Any node sees it.
    let (s, b) = t.api(2, "GET", "/v1/volumes/rep3", None);
    assert_eq!(s, 200, "{b}");
    assert_eq!(serde_json::from_value::<VolumeInfo>(b).unwrap(), vol);
    let (_, list) = t.api(1, "GET", "/v1/volumes", None);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // The name is taken; a brick of the volume cannot serve another.
    let (s, b) = post_volume(
        &t,
        1,
        Some(create_body(
            "rep3",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 409, "{b}");
    let reuse = vec![
        bricks[0].clone(),
        brick(&t, 1, "other1"),
        brick(&t, 2, "other2"),
    ];
    let (s, b) = post_volume(
        &t,
        1,
        Some(create_body(
            "again",
            "replicate",
            &reuse,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["errors"][0]["code"], 3, "{b}");
    assert!(
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("overlaps"),
        "{b}"
    );
    // Nothing of the failed volume remains: no record, no new brick directories.
    let (s, _) = t.api(0, "GET", "/v1/volumes/again", None);
    assert_eq!(s, 404);
    assert!(!reuse[1].1.exists() && !reuse[2].1.exists());

    // A peer with bricks cannot be removed.
    let peers = peers_of(&t.dirs[0], &t.daemons[0]).unwrap();
    let p2 = peers
        .iter()
        .find(|p| p.client_addresses[0].starts_with(&t.ips[2]))
        .unwrap();
    let (s, b) = t.api(0, "DELETE", &format!("/v1/peers/{}", p2.id), None);
    assert_eq!(s, 409, "{b}");
    assert!(
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bricks"),
        "{b}"
    );

    // Delete: gone everywhere; the bricks keep their data and marks (as with GD1).
    let (s, b) = t.api(1, "DELETE", "/v1/volumes/rep3", None);
    assert_eq!(s, 204, "{b}");
    let (s, _) = t.api(2, "GET", "/v1/volumes/rep3", None);
    assert_eq!(s, 404);
    assert!(xattr::get(&bricks[0].1, VOLUME_ID_XATTR).unwrap().is_some());
    let (s, b) = t.api(0, "DELETE", &format!("/v1/peers/{}", p2.id), None);
    assert_eq!(s, 204, "a peer without bricks can go: {b}");
}

#[test]
fn layouts_and_bad_input() {
    let t = three(42);
    // Distribute over three bricks, disperse 3 (redundancy 1), replica 2 + arbiter 1.
    let d: Vec<_> = (0..3).map(|i| brick(&t, i, "d")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body("dist", "distribute", &d, json!({}))),
    );
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["type"], "Distribute");
    assert_eq!(b["distribute-count"], 3);
    let e: Vec<_> = (0..3).map(|i| brick(&t, i, "e")).collect();
    let (s, b) = post_volume(&t, 0, Some(create_body("disp", "disperse", &e, json!({}))));
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["disperse-count"], 3);
    assert_eq!(b["disperse-redundancy-count"], 1);
    let a: Vec<_> = (0..3).map(|i| brick(&t, i, "a")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "arb",
            "replicate",
            &a,
            json!({"replica": 2, "arbiter": 1}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["subvols"][0]["bricks"][2]["type"], "Arbiter");

    let x: Vec<_> = (0..3).map(|i| brick(&t, i, "x")).collect();
    let post = |body: serde_json::Value| post_volume(&t, 0, Some(body));
    let cases = [
        (create_body("bad name", "distribute", &x, json!({})), 400),
        (
            create_body("r", "replicate", &x, json!({"replica": 2})),
            400,
        ),
        (create_body("r", "disperse", &x[..2], json!({})), 400),
        (
            create_body(
                "r",
                "distribute",
                &[("127.0.42.99".to_owned(), x[0].1.clone())],
                json!({}),
            ),
            400,
        ),
        (
            create_body("r", "distribute", &[x[0].clone(), x[0].clone()], json!({})),
            400,
        ),
        (
            json!({"name": "r", "subvols": [{"type": "distribute", "bricks": [{"host": t.ips[0], "path": "relative/p"}]}]}),
            400,
        ),
        (
            json!({"name": "r", "subvols": [{"type": "distribute", "bricks": [{"host": t.ips[0], "path": x[0].1}]}]}),
            400,
        ),
        (json!({"name": "r", "subvolz": []}), 400),
    ];
    for (body, status) in cases {
        let (s, b) = post(body.clone());
        assert_eq!(s, status, "{body}: {b}");
        assert!(
            b["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{b}"
        );
    }
    // A brick on the root file system without allow-root-dir is refused on its node: the CLI
    // says so in one sentence, naming the node by its address; the JSON has the details.
    let node1 = peers_of(&t.dirs[0], &t.daemons[0])
        .unwrap()
        .into_iter()
        .find(|p| p.client_addresses[0].starts_with(&t.ips[1]))
        .unwrap();
    let why = format!(
        "brick {} is on the root file system (use allow-root-dir or force to accept it)",
        x[1].1.display()
    );
    let spec = format!("{}:{}", x[1].0, x[1].1.display());
    let out = t.cli(
        0,
        &["volume", "create", "rootfs", &spec, "--create-brick-dir"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "Error: brick check failed on {}: {why}\n",
            node1.peer_addresses[0]
        )
    );
    let mut body = create_body("rootfs", "distribute", &x[1..2], json!({}));
    body["flags"] = json!({"create-brick-dir": true});
    let (s, b) = post(body);
    assert_eq!(s, 400, "{b}");
    let e = &b["errors"][0];
    assert_eq!(
        e["message"],
        format!("brick check failed on {}: {why}", node1.peer_addresses[0]),
        "{b}"
    );
    assert_eq!(e["fields"]["step"], "volume-create.validate-bricks", "{b}");
    assert_eq!(e["fields"]["peer-id"], node1.id.to_string(), "{b}");
    assert_eq!(e["fields"]["error"], why, "{b}");
    // Nothing was created anywhere.
    assert!(!x.iter().any(|(_, p)| p.exists()));
    let (_, list) = t.api(1, "GET", "/v1/volumes", None);
    assert_eq!(list.as_array().unwrap().len(), 3);

    // A failure after the checks (one node cannot create .glusterfs in its brick: a file of
    // that name is in the way) is undone on every node: no volume, no xattr on any brick.
    let u: Vec<_> = (0..3).map(|i| brick(&t, i, "undo")).collect();
    for (_, p) in &u {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(u[2].1.join(".glusterfs"), b"in the way").unwrap();
    let (s, b) = post(create_body("undo", "replicate", &u, json!({"replica": 3})));
    assert_eq!(s, 500, "{b}");
    assert_eq!(b["errors"][0]["code"], 2, "{b}");
    assert_eq!(
        b["errors"][0]["fields"]["step"], "volume-create.init-bricks",
        "{b}"
    );
    let (s, _) = t.api(2, "GET", "/v1/volumes/undo", None);
    assert_eq!(s, 404);
    for (_, p) in &u {
        assert!(
            xattr::get(p, VOLUME_ID_XATTR).unwrap().is_none(),
            "xattr left on {}",
            p.display()
        );
        assert!(
            !p.join(".glusterfs").is_dir(),
            ".glusterfs left in {}",
            p.display()
        );
    }

    // A peer that is offline cannot get a brick.
    let mut daemons = t.daemons;
    daemons.pop().unwrap().kill9();
    // Within the lease TTL, plus an etcd election if the node held the etcd leadership.
    wait_for("node 2 offline", Duration::from_secs(20), || {
        let p = peers_of(&t.dirs[0], &daemons[0])?;
        p.iter().any(|p| !p.online).then_some(())
    })
    .unwrap();
    let (s, b) = api(
        &t.dirs[0],
        &daemons[0],
        "POST",
        "/v1/volumes",
        Some(create_body("late", "distribute", &x, json!({}))),
    );
    assert_eq!(s, 409, "{b}");
    assert!(
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("offline"),
        "{b}"
    );
}

#[test]
fn replica_three_start_mount_write_read_stop() {
    let t = three(43);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "m3")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "m3",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(1, "POST", "/v1/volumes/m3/start", None);
    assert_eq!(
        s,
        200,
        "{b}\n--- node 0 ---\n{}",
        t.daemons[0]
            .log()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(b["state"], "Started");

    // Every brick runs a real glusterfsd, and status shows its pid and port.
    let status = wait_for("every brick online with a port", WAIT, || {
        let (s, b) = t.api(2, "GET", "/v1/volumes/m3/bricks", None);
        let list: Vec<gd_api::BrickStatus> = serde_json::from_value(b).ok()?;
        (s == 200 && list.len() == 3 && list.iter().all(|x| x.online && x.pid > 0 && x.port > 0))
            .then_some(list)
    })
    .unwrap();
    for st in &status {
        let cmd = std::fs::read(format!("/proc/{}/cmdline", st.pid)).unwrap();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        assert!(
            cmd.contains("glusterfsd") && cmd.contains(&st.info.path),
            "{cmd}"
        );
    }

    // A self-heal daemon runs on each node for the replicated volume.
    let shds = wait_for("3 self-heal daemons", WAIT, || {
        let n = (0..3)
            .filter(|i| {
                std::fs::read_dir("/proc")
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|e| {
                        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                        let cmd = String::from_utf8_lossy(&cmd);
                        cmd.contains("shd/m3") && cmd.contains(t.dirs[*i].run.to_str().unwrap())
                    })
            })
            .count();
        (n == 3).then_some(n)
    });
    assert!(shds.is_ok(), "{shds:?}");

    // The CLI shows the same, and the status carries the volume's space.
    let out = t.cli(0, &["volume", "status", "m3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for st in &status {
        assert!(
            stdout(&out).contains(&st.pid.to_string()),
            "{}",
            stdout(&out)
        );
    }
    let out = t.cli(2, &["volume", "info", "m3"]);
    assert!(
        stdout(&out).contains("Status: Started") || stdout(&out).contains("State: Started"),
        "{}",
        stdout(&out)
    );
    let (s, b) = t.api(0, "GET", "/v1/volumes/m3/status", None);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["online"], true, "{b}");
    assert!(b["size"]["capacity"].as_u64().unwrap_or(0) > 0, "{b}");

    // The real FUSE client mounts it; files written land on all three bricks.
    let m = Mount::new(&t.ips[1], "m3").unwrap();
    for i in 0..20 {
        std::fs::write(m.dir.join(format!("f{i}")), format!("content {i}")).unwrap();
    }
    for i in 0..20 {
        assert_eq!(
            std::fs::read_to_string(m.dir.join(format!("f{i}"))).unwrap(),
            format!("content {i}")
        );
    }
    for (_, p) in &bricks {
        for i in 0..20 {
            assert!(
                p.join(format!("f{i}")).is_file(),
                "f{i} missing on {}",
                p.display()
            );
        }
    }

    // Restarting glusterd2 on a node leaves its brick running (same pid); the mount works on.
    let mut daemons = t.daemons;
    let node1 = daemons.remove(1);
    assert!(node1.stop().unwrap().success());
    let node1 = start_daemon(&t.dirs[1], &t.ips[1], &[]).unwrap();
    daemons.insert(1, node1);
    std::fs::write(m.dir.join("after-restart"), b"still here").unwrap();
    let again = wait_for("brick status after the restart", WAIT, || {
        let (_, b) = api(
            &t.dirs[0],
            &daemons[0],
            "GET",
            "/v1/volumes/m3/bricks",
            None,
        );
        let list: Vec<gd_api::BrickStatus> = serde_json::from_value(b).ok()?;
        (list.len() == 3 && list.iter().all(|x| x.online && x.port > 0)).then_some(list)
    })
    .unwrap();
    let pids = |l: &[gd_api::BrickStatus]| {
        l.iter()
            .map(|x| (x.info.id, x.pid))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(pids(&again), pids(&status), "no brick was restarted");

    // A brick killed by hand is restarted, and status shows its new pid.
    let victim = status[0].clone();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim.pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let restarted = wait_for(
        "the killed brick to be restarted",
        Duration::from_secs(40),
        || {
            let (_, b) = api(
                &t.dirs[0],
                &daemons[0],
                "GET",
                "/v1/volumes/m3/bricks",
                None,
            );
            let list: Vec<gd_api::BrickStatus> = serde_json::from_value(b).ok()?;
            list.into_iter().find(|x| {
                x.info.id == victim.info.id && x.online && x.pid != victim.pid && x.pid > 0
            })
        },
    )
    .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{}", restarted.pid)).exists());
    std::fs::write(m.dir.join("after-kill"), b"ok").unwrap();
    assert_eq!(
        std::fs::read(m.dir.join("after-restart")).unwrap(),
        b"still here"
    );
    drop(m);
    let t = Three {
        dirs: t.dirs,
        daemons,
        ips: t.ips,
        reaper: t.reaper,
    };
    let status: Vec<gd_api::BrickStatus> = again
        .into_iter()
        .map(|x| {
            if x.info.id == victim.info.id {
                restarted.clone()
            } else {
                x
            }
        })
        .collect();

    // Stop: when it returns, the bricks have exited (node 1's brick, adopted by the restarted
    // glusterd2, is init's child: reaping it is init's business).
    let (s, b) = t.api(0, "POST", "/v1/volumes/m3/stop", None);
    assert_eq!(s, 200, "{b}");
    for st in &status {
        assert!(
            proc_stat(st.pid).is_none_or(|(state, _)| state == 'Z'),
            "brick {} (pid {}) still runs after stop",
            st.info.path,
            st.pid
        );
    }
    let (s, b) = t.api(0, "DELETE", "/v1/volumes/m3", None);
    assert_eq!(s, 204, "{b}");
}

#[test]
fn distribute_disperse_and_arbiter_mounts_and_a_failed_start_rolls_back() {
    let t = three(44);
    let start = |name: &str| t.api(0, "POST", &format!("/v1/volumes/{name}/start"), None);

    // Distribute over three bricks: files spread over more than one brick, all readable.
    let d: Vec<_> = (0..3).map(|i| brick(&t, i, "dist")).collect();
    // All bricks share this machine's file system: without min-free-disk 0, DHT would place
    // files away from their hashed brick (leaving link files) whenever the disk is 90% full.
    let mut body = create_body("dist", "distribute", &d, json!({}));
    body["options"] = json!({"cluster.min-free-disk": "0"});
    let (s, b) = post_volume(&t, 0, Some(body));
    assert_eq!(s, 201, "{b}");
    let (s, b) = start("dist");
    assert_eq!(s, 200, "{b}");
    {
        let m = Mount::new(&t.ips[0], "dist").unwrap();
        for i in 0..30 {
            std::fs::write(m.dir.join(format!("f{i}")), format!("{i}")).unwrap();
        }
        for i in 0..30 {
            assert_eq!(
                std::fs::read_to_string(m.dir.join(format!("f{i}"))).unwrap(),
                format!("{i}")
            );
        }
        let used = d
            .iter()
            .filter(|(_, p)| (0..30).any(|i| p.join(format!("f{i}")).is_file()))
            .count();
        assert!(used > 1, "files landed on {used} brick(s) only");
        let total: usize = d
            .iter()
            .map(|(_, p)| {
                (0..30)
                    .filter(|i| p.join(format!("f{i}")).is_file())
                    .count()
            })
            .sum();
        assert_eq!(total, 30, "each file on exactly one brick");
    }

    // Disperse 3 (redundancy 1) and replica 3 arbiter 1 (GD1's words, through the CLI): mount,
    // write, read back.
    for (name, layout) in [
        ("ec", &["--disperse", "3", "--redundancy", "1"][..]),
        ("arb", &["replica", "3", "arbiter", "1"][..]),
    ] {
        let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, name)).collect();
        let specs: Vec<String> = bricks
            .iter()
            .map(|(h, p)| format!("{h}:{}", p.display()))
            .collect();
        let mut args = vec!["volume", "create", name];
        args.extend_from_slice(layout);
        args.extend(specs.iter().map(String::as_str));
        args.extend(["--create-brick-dir", "--allow-root-dir"]);
        let out = t.cli(1, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let (s, b) = start(name);
        assert_eq!(s, 200, "{b}");
        let m = Mount::new(&t.ips[2], name).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(m.dir.join("big"), &data).unwrap();
        assert_eq!(std::fs::read(m.dir.join("big")).unwrap(), data, "{name}");
        if name == "arb" {
            // The arbiter keeps the file's metadata only.
            assert_eq!(std::fs::metadata(bricks[2].1.join("big")).unwrap().len(), 0);
            assert_eq!(
                std::fs::metadata(bricks[0].1.join("big")).unwrap().len(),
                data.len() as u64
            );
        }
    }

    // A volume whose brick cannot start: the start fails, is undone, and leaves no brick.
    let f: Vec<_> = (0..3).map(|i| brick(&t, i, "fail")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body("fail", "replicate", &f, json!({"replica": 3}))),
    );
    assert_eq!(s, 201, "{b}");
    std::fs::remove_dir_all(&f[2].1).unwrap();
    let (s, b) = start("fail");
    assert_eq!(s, 500, "{b}");
    assert_eq!(b["errors"][0]["code"], 2, "{b}");
    let (_, info) = t.api(1, "GET", "/v1/volumes/fail", None);
    assert_eq!(
        info["state"], "Created",
        "the state was rolled back: {info}"
    );
    let gone = wait_for("no brick of the failed volume runs", WAIT, || {
        let running = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let cmd = String::from_utf8_lossy(&cmd);
                cmd.contains("glusterfsd")
                    && f.iter().any(|(_, p)| cmd.contains(p.to_str().unwrap()))
            });
        (!running).then_some(())
    });
    assert!(gone.is_ok());
}

mod brick_ops;
mod expand;
mod heal;
mod heal_kinds;
mod processes;
mod rebalance;
mod refusals;
mod remove;
mod replace;
mod reset;
mod scope;
mod split_brain;

use processes::proc_stat;
