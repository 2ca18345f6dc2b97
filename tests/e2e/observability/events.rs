//! The cluster's events on three real nodes: each change recorded once, by whoever made it,
//! listed by any node in one order, and streamed live as server-sent events that resume after
//! the last one a client saw; a node killed and restarted is told offline and online.

use std::{
    io::{BufRead, BufReader},
    sync::mpsc,
    time::Duration,
};

use gd_testkit::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A live stream of node `i`'s events (after `after`, when given): each event's JSON as the
/// stream delivers it, on a channel, read by a thread of its own.
fn stream(t: &Three, i: usize, after: Option<i64>) -> mpsc::Receiver<Value> {
    let path = "/v1/events/stream";
    let secret = gd_auth::read_secret(&t.dirs[i].secret_file()).unwrap();
    let token = gd_auth::issue_token(
        gd_auth::CLI_USER,
        &secret,
        "GET",
        path,
        gd_auth::TOKEN_VALIDITY,
    );
    let mut req = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap()
        .get(format!("{}{path}", t.daemons[i].url()))
        .bearer_auth(token);
    if let Some(a) = after {
        req = req.header("last-event-id", a.to_string());
    }
    let resp = req.send().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut id = None;
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { return };
            if let Some(v) = line.strip_prefix("id: ").or(line.strip_prefix("id:")) {
                id = v.trim().parse::<i64>().ok();
            }
            if let Some(data) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                let e: Value = serde_json::from_str(data).unwrap();
                // The SSE id is the event's seq.
                assert_eq!(Some(e["seq"].as_i64().unwrap()), id, "{e}");
                if tx.send(e).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The next event on `rx` named `name`, skipping others (returned too, in order).
fn until(rx: &mpsc::Receiver<Value>, name: &str) -> (Value, Vec<Value>) {
    let deadline = std::time::Instant::now() + WAIT;
    let mut skipped = vec![];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if e["event"] == name => return (e, skipped),
            Ok(e) => skipped.push(e),
            Err(_) => panic!("no {name} within {WAIT:?}; saw {skipped:#?}"),
        }
    }
}

#[test]
fn events_are_recorded_once_listed_and_streamed_resuming_after_the_last_seen() {
    let t = three(73);
    // The peers were added: their events are in the history, told by the node that added them.
    let (s, history) = t.api(2, "GET", "/v1/events", None);
    assert_eq!(s, 200, "{history}");
    let added: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "peer.added")
        .collect();
    assert_eq!(added.len(), 2, "{history:#}");

    let live = stream(&t, 2, None);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "e")).collect();
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes",
        Some(create_body(
            "ev",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (created, _) = until(&live, "volume.created");
    assert_eq!(created["fields"]["volume"], "ev");
    assert_eq!(created["message"], "volume ev was created");
    let (s, _) = t.api(1, "POST", "/v1/volumes/ev/start", None);
    assert_eq!(s, 200);
    let (started, _) = until(&live, "volume.started");
    let out = t.cli(0, &["volume", "set", "ev", "user.owner", "ops"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (set, _) = until(&live, "volume.option-set");
    assert_eq!(set["fields"]["option.user.owner"], "ops", "{set}");

    // A brick killed is started again by its node, which tells of it.
    let (_, st) = t.api(0, "GET", "/v1/volumes/ev/bricks", None);
    let pid = st[0]["pid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let (restarted, _) = until(&live, "brick.restarted");
    assert_eq!(restarted["fields"]["volume"], "ev", "{restarted}");

    // A full heal is a task: its leader tells of its start and end. (It can start once the
    // self-heal daemons reach every brick again.)
    wait_for("a full heal to start", WAIT, || {
        t.cli(0, &["volume", "heal", "ev", "full"])
            .status
            .success()
            .then_some(())
    })
    .unwrap();
    let (task, _) = until(&live, "task.started");
    assert_eq!(task["fields"]["object"], "ev", "{task}");
    let (done, _) = until(&live, "task.succeeded");
    assert_eq!(done["fields"]["kind"], task["fields"]["kind"]);

    // A node killed: offline; started again: online.
    let ip = t.ips[1].clone();
    let mut t = t;
    t.daemons.remove(1).kill9();
    let (off, _) = until(&live, "peer.offline");
    assert_eq!(
        off["fields"]["address"].as_str().unwrap().split(':').next(),
        Some(ip.as_str()),
        "{off}"
    );
    t.daemons
        .insert(1, start_daemon(&t.dirs[1], &ip, &[]).unwrap());
    let (on, _) = until(&live, "peer.online");
    assert_eq!(on["fields"]["peer"], off["fields"]["peer"]);

    // Two nodes down (their store members with them): the third's store has no quorum. Once
    // they are back, it tells when it lost it and that it has it again.
    let survivor = t.api(2, "GET", "/v1/state", None).1["node"]["id"].clone();
    let down: Vec<Daemon> = (0..2).map(|_| t.daemons.remove(0)).collect();
    for d in down {
        d.kill9();
    }
    std::thread::sleep(Duration::from_secs(10));
    for i in 0..2 {
        let ip = t.ips[i].clone();
        t.daemons
            .insert(i, start_daemon(&t.dirs[i], &ip, &[]).unwrap());
    }
    let quorum = wait_for("the survivor's quorum events", WAIT, || {
        let (_, all) = t.api(2, "GET", "/v1/events", None);
        let mine: Vec<Value> = all
            .as_array()?
            .iter()
            .filter(|e| {
                e["node"] == survivor
                    && e["event"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("store.quorum-"))
            })
            .cloned()
            .collect();
        (mine.len() >= 2).then_some(mine)
    })
    .unwrap();
    assert_eq!(quorum[0]["event"], "store.quorum-lost", "{quorum:#?}");
    assert_eq!(quorum[1]["event"], "store.quorum-regained", "{quorum:#?}");
    assert!(
        quorum[0]["ts"].as_str() < quorum[1]["ts"].as_str(),
        "{quorum:#?}"
    );

    let (s, _) = t.api(0, "POST", "/v1/volumes/ev/stop", None);
    assert_eq!(s, 200);
    let (stopped, _) = until(&live, "volume.stopped");
    let (s, _) = t.api(0, "DELETE", "/v1/volumes/ev", None);
    assert_eq!(s, 204);
    let (deleted, _) = until(&live, "volume.deleted");

    // Every node lists the same events, in one order, each once.
    let lists: Vec<Value> = (0..3)
        .map(|i| t.api(i, "GET", "/v1/events", None).1)
        .collect();
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0], lists[2]);
    let all = lists[0].as_array().unwrap();
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let ids: std::collections::BTreeSet<&str> =
        all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "each event once");
    for e in [
        &created, &started, &set, &restarted, &task, &done, &off, &on, &stopped, &deleted,
    ] {
        assert_eq!(all.iter().filter(|x| x["id"] == e["id"]).count(), 1, "{e}");
    }

    // A client that saw up to the start resumes from there: the rest, in order, each once.
    let resumed = stream(&t, 0, Some(started["seq"].as_i64().unwrap()));
    let mut got = vec![];
    while got.len()
        < all
            .iter()
            .filter(|e| e["seq"].as_i64() > started["seq"].as_i64())
            .count()
    {
        got.push(resumed.recv_timeout(WAIT).expect("the backlog"));
    }
    let want: Vec<&Value> = all
        .iter()
        .filter(|e| e["seq"].as_i64() > started["seq"].as_i64())
        .collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);

    // `after` and `limit` page through the list; a bad limit is refused.
    let path = format!("/v1/events?after={}&limit=2", created["seq"]);
    let (s, page) = t.api(1, "GET", &path, None);
    assert_eq!(s, 200, "{page}");
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert!(page[0]["seq"].as_i64() > created["seq"].as_i64());
    let (s, b) = t.api(1, "GET", "/v1/events?limit=0", None);
    assert_eq!(s, 400, "{b}");

    // The CLI lists them, and watches for the next ones.
    let out = t.cli(2, &["events", "list", "--limit", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("volume ev was created") && text.contains("volume.deleted"),
        "{text}"
    );
    let after = created["seq"].to_string();
    let out = t.cli(
        2,
        &[
            "--json", "events", "list", "--after", &after, "--limit", "2",
        ],
    );
    let page: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        page,
        json!(
            all.iter()
                .filter(|e| e["seq"].as_i64() > created["seq"].as_i64())
                .take(2)
                .collect::<Vec<_>>()
        )
    );
    let mut watch = std::process::Command::new(bin("glustercli"))
        .args(["--endpoints", &t.daemons[1].url(), "--secret-file"])
        .arg(t.dirs[1].secret_file())
        .args(["events", "watch"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = watch.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(lines).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    // The watch is connected once a first event is printed: create volumes until one is.
    let mut n = 0;
    let line = loop {
        n += 1;
        let body = create_body(
            &format!("w{n}"),
            "replicate",
            &bricks_for(&t, &format!("w{n}")),
            json!({"replica": 3}),
        );
        let (s, b) = t.api(0, "POST", "/v1/volumes", Some(body));
        assert_eq!(s, 201, "{b}");
        if let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
            break l;
        }
        assert!(n < 5, "events watch printed nothing");
    };
    assert!(line.contains(" volume.created volume w"), "{line}");
    let _ = watch.kill();
    let _ = watch.wait();
}

fn bricks_for(t: &Three, name: &str) -> Vec<(String, std::path::PathBuf)> {
    (0..3).map(|i| brick(t, i, name)).collect()
}
