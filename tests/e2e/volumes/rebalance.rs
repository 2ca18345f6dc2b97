//! Rebalance: a replica 3 volume of 300 files grows to 2×3 under an open mount; GlusterFS's
//! rebalance processes (one per node, started together by each node's agent) move a share of
//! the files onto the new set, while the rebalance's leader is killed -9 and another node
//! leads it to its end; no node ever runs two rebalance processes for the volume; every file
//! reads back right before, during and after. Then a third set, a rebalance stopped at once,
//! and started again to its end. Bad requests change nothing.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use gd_api::{RebalanceState, RebalanceStatus};
use gd_testkit::*;
use serde_json::json;

use super::{WAIT, post_volume};

const FILES: usize = 300;

/// File `i`'s bytes: 48 to 96 KiB, so that moving a share of them takes the rebalance some
/// seconds (its leader is killed meanwhile).
fn content(i: usize) -> Vec<u8> {
    format!("file {i} of the volume being rebalanced\n")
        .repeat(1200 + (i % 50) * 24)
        .into_bytes()
}

fn status(t: &Three, i: usize) -> RebalanceStatus {
    let (s, b) = t.api(i, "GET", "/v1/volumes/rb/rebalance", None);
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b).unwrap()
}

/// Reads every file through `mount` and checks its bytes; on a miss, says which, in `phase`,
/// with `context` (the rebalance's status) and the client's log.
fn read_all(mount: &Mount, phase: &str, context: impl Fn() -> String) {
    for i in 0..FILES {
        match std::fs::read(mount.dir.join(format!("f{i}"))) {
            Ok(c) => assert!(c == content(i), "f{i} {phase}: wrong bytes"),
            Err(e) => panic!(
                "f{i} {phase}: {e}\n{}\nclient log:\n{}",
                context(),
                tail(&read(&mount.log), 30)
            ),
        }
    }
}

/// The data files on a brick (not GlusterFS's own, not DHT's zero-size link files).
fn data_files(brick: &Path) -> usize {
    std::fs::read_dir(brick)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != ".glusterfs")
        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() > 0))
        .count()
}

/// The rebalance processes of volume `rb` whose command line names `run` (a node's run
/// directory), counting a launcher and the daemon it forked, which share their arguments, once.
/// The launcher exits once the daemon is up, and the daemon is then re-parented: a process
/// found gone (or a zombie) once every parent was read is not counted, so a launcher that
/// exits during the reads does not pass for a second process next to its daemon.
fn rebalance_pids(run: &str) -> Vec<i32> {
    let mine: Vec<i32> = processes_matching("rebalance/rb ")
        .into_iter()
        .filter(|(_, cmd)| cmd.contains(run))
        .map(|(pid, _)| pid)
        .collect();
    // The state and the parent's pid, the fields after the command's name.
    let stat = |pid: i32| -> Option<(String, i32)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut fields = stat.rsplit_once(") ")?.1.split(' ');
        let state = fields.next()?.to_owned();
        Some((state, fields.next()?.parse().ok()?))
    };
    let alive = |pid: i32| stat(pid).is_some_and(|(state, _)| state != "Z");
    let tops: Vec<i32> = mine
        .iter()
        .copied()
        .filter(|p| stat(*p).is_some_and(|(_, parent)| !mine.contains(&parent)))
        .collect();
    tops.into_iter().filter(|p| alive(*p)).collect()
}

fn wait_ended(t: &Three, i: usize, timeout: Duration) -> RebalanceStatus {
    let logs: Vec<_> = t
        .dirs
        .iter()
        .map(|d| d.log.join("rb-rebalance.log"))
        .collect();
    wait_for("the rebalance to end", timeout, || {
        let s = status(t, i);
        s.status.ended().then_some(s)
    })
    .unwrap_or_else(|e| {
        let s = status(t, i);
        let tails: Vec<String> = logs.iter().map(|l| tail(&read(l), 15)).collect();
        panic!("{e}: {s:?}\nrebalance logs:\n{}", tails.join("\n---\n"))
    })
}

#[test]
fn rebalance_moves_files_onto_a_new_set_and_survives_its_leader() {
    let mut t = three(64);
    let first: Vec<_> = (0..3).map(|i| brick(&t, i, "s1")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "rb",
            "replicate",
            &first,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/rb/start", None);
    assert_eq!(s, 200, "{b}");
    let mount = Mount::new(&t.ips[1], "rb").unwrap();
    for i in 0..FILES {
        std::fs::write(mount.dir.join(format!("f{i}")), content(i)).unwrap();
    }

    // Nothing to rebalance on one set; no rebalance to stop or show; an unknown option.
    let out = t.cli(0, &["volume", "rebalance", "rb", "start"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("volume rb has one distribute set: there is nothing to rebalance"),
        "{}",
        stderr(&out)
    );
    let (s, b) = t.api(0, "POST", "/v1/volumes/rb/rebalance/stop", None);
    assert_eq!(s, 409, "{b}");
    assert!(
        b.to_string().contains("no rebalance of rb is running"),
        "{b}"
    );
    let (s, b) = t.api(0, "GET", "/v1/volumes/rb/rebalance", None);
    assert_eq!(s, 404, "{b}");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/rb/rebalance/start",
        Some(json!({"option": "fast"})),
    );
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(0, "GET", "/v1/tasks", None);
    assert_eq!((s, b), (200, json!([])), "the refusals started nothing");

    // Grow to 2×3: the mount loads the new graph and finds every file (those the new layout
    // puts on the new set by looking everywhere); nothing has moved yet.
    let second: Vec<_> = (0..3).map(|i| brick(&t, i, "s2")).collect();
    let mut args = vec!["volume".to_owned(), "add-brick".into(), "rb".into()];
    args.extend(second.iter().map(|(h, p)| format!("{h}:{}", p.display())));
    args.extend(["--create-brick-dir".into(), "--allow-root-dir".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = t.cli(0, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for("the mount to load the new set", WAIT, || {
        mount
            .dir
            .join(".meta/graphs/active/rb-replicate-1")
            .exists()
            .then_some(())
    })
    .unwrap();
    assert_eq!(data_files(&second[0].1), 0, "nothing moved yet");
    read_all(&mount, "on the new graph", String::new);

    // While several nodes' processes migrate, a client with `cluster.lookup-optimize` on (the
    // default) was seen to miss by name a file not moved yet, in some runs (GlusterFS settles a
    // directory's layout hash once a process has crawled it, while the files of the other
    // nodes' shares still move). The reads during this rebalance run with it off, as an
    // administrator whose clients must not see that would set it; every other read here runs
    // with the default.
    let out = t.cli(
        0,
        &["volume", "set", "rb", "cluster.lookup-optimize", "off"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // The rebalance runs on every node, and no node ever runs two processes for it.
    let watching = Arc::new(AtomicBool::new(true));
    let most = {
        let watching = watching.clone();
        let runs: Vec<String> = t.dirs.iter().map(|d| d.run.display().to_string()).collect();
        std::thread::spawn(move || {
            let mut most: BTreeMap<usize, usize> = BTreeMap::new();
            while watching.load(Ordering::Relaxed) {
                for (i, run) in runs.iter().enumerate() {
                    let n = rebalance_pids(run).len();
                    let m = most.entry(i).or_default();
                    *m = (*m).max(n);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            most
        })
    };
    let out = t.cli(2, &["volume", "rebalance", "rb", "start"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Rebalance of rb started"),
        "{}",
        stdout(&out)
    );
    let (s, b) = t.api(1, "POST", "/v1/volumes/rb/rebalance/start", None);
    assert_eq!(s, 409, "a second start while one runs: {b}");
    assert!(b.to_string().contains("is running already"), "{b}");
    let started = status(&t, 1);
    assert_eq!(started.nodes.len(), 3);
    assert!(
        started
            .nodes
            .iter()
            .all(|n| n.status != RebalanceState::NotStarted),
        "every node's part began before the answer: {started:?}"
    );

    read_all(&mount, "early in the rebalance", || {
        format!("{:?}", status(&t, 0))
    });
    // Its leader's glusterd2 is killed -9: another node leads; the dead node's part waits for
    // it (its process runs on), and the mount reads every file right meanwhile.
    let leader = wait_for("a leader", WAIT, || status(&t, 0).leader).unwrap();
    let (_, peers) = t.api(0, "GET", "/v1/peers", None);
    let leader_ip = peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(leader))
        .and_then(|p| p["peer-addresses"][0].as_str())
        .expect("the leader is a peer")
        .to_owned();
    let victim = t
        .ips
        .iter()
        .position(|ip| leader_ip == *ip || leader_ip.starts_with(&format!("{ip}:")))
        .unwrap_or_else(|| panic!("the leader's address {leader_ip} is a node's"));
    let ip = t.ips[victim].clone();
    t.daemons.remove(victim).kill9();
    // A survivor, and where its daemon is now that the victim's is out of the list.
    let other = (victim + 1) % 3;
    let other_daemon = if other > victim { other - 1 } else { other };
    let survivor_status = || {
        let (s, b) = api(
            &t.dirs[other],
            &t.daemons[other_daemon],
            "GET",
            "/v1/volumes/rb/rebalance",
            None,
        );
        serde_json::from_value::<RebalanceStatus>(b)
            .ok()
            .filter(|_| s == 200)
    };
    read_all(&mount, "during the rebalance", || {
        format!("{:?}", survivor_status())
    });
    let successor = wait_for("another node to lead", Duration::from_secs(60), || {
        let st = survivor_status()?;
        assert!(
            !st.status.ended(),
            "it waits for the dead node's part: {st:?}"
        );
        st.leader.filter(|l| *l != leader)
    })
    .unwrap();
    assert_ne!(successor, leader);
    // The dead node's process ends while its glusterd2 is down, so its final push finds no
    // one: the glusterd2 started again reads the end from the process's log, and does not run
    // the part a second time.
    let victim_run = t.dirs[victim].run.display().to_string();
    wait_for(
        "the dead node's rebalance process to end",
        Duration::from_secs(120),
        || rebalance_pids(&victim_run).is_empty().then_some(()),
    )
    .unwrap();
    t.daemons
        .insert(victim, start_daemon(&t.dirs[victim], &ip, &[]).unwrap());
    let done = wait_ended(&t, victim, Duration::from_secs(180));
    watching.store(false, Ordering::Relaxed);
    let most = most.join().unwrap();
    assert_eq!(done.id, started.id);
    assert_eq!(done.status, RebalanceState::Completed, "{done:?}");
    assert_eq!(done.leader, Some(successor), "{done:?}");
    assert!(
        most.values().all(|n| *n <= 1),
        "rebalance processes per node at most: {most:?}"
    );
    assert_eq!(most.values().filter(|n| **n == 1).count(), 3, "{most:?}");
    for d in &t.dirs {
        let log = read(&d.log.join("rb-rebalance.log"));
        assert_eq!(
            log.matches("Started running").count(),
            1,
            "one rebalance process per node: {}",
            tail(&log, 20)
        );
    }
    assert!(
        done.nodes
            .iter()
            .all(|n| n.status == RebalanceState::Completed),
        "{done:?}"
    );
    let moved: u64 = done.nodes.iter().map(|n| n.files).sum();
    let scanned: u64 = done.nodes.iter().map(|n| n.lookups).sum();
    let failed: u64 = done.nodes.iter().map(|n| n.failed).sum();
    assert!(moved > 0 && scanned >= moved && failed == 0, "{done:?}");
    wait_for("the processes to exit", WAIT, || {
        t.dirs
            .iter()
            .all(|d| rebalance_pids(&d.run.display().to_string()).is_empty())
            .then_some(())
    })
    .unwrap();

    // The files moved are on the new set's bricks, every replica of it; none is lost.
    let on_new: Vec<usize> = second.iter().map(|(_, p)| data_files(p)).collect();
    assert!(
        on_new[0] > 0 && on_new.iter().all(|n| *n == on_new[0]),
        "{on_new:?}"
    );
    assert!(on_new[0] < FILES, "a share, not all: {on_new:?}");
    let on_old = data_files(&first[0].1);
    assert_eq!(on_old + on_new[0], FILES, "each file on one set");
    let listed = std::fs::read_dir(&mount.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('f'))
        .count();
    assert_eq!(listed, FILES, "none lost");
    read_all(&mount, "after the rebalance", String::new);
    let out = t.cli(1, &["volume", "rebalance", "rb", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("volume rebalance: rb: completed"), "{text}");
    assert_eq!(
        text.matches(" completed ").count(),
        3,
        "a row per node: {text}"
    );
    let out = t.cli(0, &["volume", "reset", "rb", "cluster.lookup-optimize"]);
    assert!(out.status.success(), "{}", stderr(&out));
    read_all(&mount, "with lookup-optimize on again", String::new);
    let (_, tasks) = t.api(2, "GET", "/v1/tasks", None);
    assert_eq!(tasks[0]["kind"], "rebalance");
    assert_eq!(tasks[0]["object"], "rb");
    assert_eq!(tasks[0]["state"], "succeeded");
    let (_, mine) = t.api(2, "GET", "/v1/tasks?kind=rebalance&object=rb", None);
    assert_eq!(mine, tasks, "a volume's tasks");
    let (_, none) = t.api(2, "GET", "/v1/tasks?object=other", None);
    assert_eq!(none, json!([]));
    let (s, b) = t.api(2, "GET", "/v1/tasks?kind=Re%2Fbalance", None);
    assert_eq!(s, 400, "{b}");

    // A third set, and a rebalance stopped at once: it ends stopped, its processes exit, and
    // every file still reads right.
    let third: Vec<_> = (0..3).map(|i| brick(&t, i, "s3")).collect();
    let body = json!({
        "bricks": third.iter().map(|(h, p)| json!({"host": h, "path": p})).collect::<Vec<_>>(),
        "flags": {"create-brick-dir": true, "allow-root-dir": true},
    });
    let (s, b) = t.api(0, "POST", "/v1/volumes/rb/expand", Some(body));
    assert_eq!(s, 200, "{b}");
    read_all(&mount, "on the graph of three sets", String::new);
    let (s, b) = t.api(0, "POST", "/v1/volumes/rb/rebalance/start", None);
    assert_eq!(s, 200, "{b}");
    let out = t.cli(1, &["volume", "rebalance", "rb", "stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Rebalance of rb stopped"),
        "{}",
        stdout(&out)
    );
    let stopped = status(&t, 2);
    assert_eq!(stopped.status, RebalanceState::Stopped, "{stopped:?}");
    let (_, tasks) = t.api(2, "GET", "/v1/tasks", None);
    assert_eq!(tasks[0]["state"], "stopped");
    wait_for("the stopped processes to exit", WAIT, || {
        t.dirs
            .iter()
            .all(|d| rebalance_pids(&d.run.display().to_string()).is_empty())
            .then_some(())
    })
    .unwrap();
    // A stopped rebalance leaves the files it had not moved where they were, and a name
    // lookup may miss them until a rebalance completes (GlusterFS settles a directory's layout
    // once it has crawled it, and its clients then look a name up on its new set only): the
    // rebalance started again completes, and every file reads right.
    let (s, b) = t.api(2, "POST", "/v1/volumes/rb/rebalance/start", None);
    assert_eq!(s, 200, "{b}");
    let again = wait_ended(&t, 0, Duration::from_secs(180));
    assert_eq!(again.status, RebalanceState::Completed, "{again:?}");
    let on_third: Vec<usize> = third.iter().map(|(_, p)| data_files(p)).collect();
    assert!(
        on_third[0] > 0 && on_third.iter().all(|n| *n == on_third[0]),
        "{on_third:?}"
    );
    read_all(&mount, "after the last rebalance", || format!("{again:?}"));
}
