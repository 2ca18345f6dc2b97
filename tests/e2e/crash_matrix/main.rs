//! The crash matrix (issue 9): every transaction killed (`kill -9`, by the daemon itself at a
//! failpoint) before and after every one of its steps, on its initiator and on a participant;
//! each time the daemon is restarted and the operation must be fully done or fully absent on
//! every node, with no lock left, the same operation working again at once, and what was
//! answered as a success still there after ten minutes of a shortened clock.
//!
//! The points are not listed here: a first run of every operation with every failpoint set to
//! `record` collects the points each node passes, and the matrix is what was collected (so a
//! new step is covered without editing this file); the collected steps must be exactly the
//! step registries (`gd_volume::STEPS`, `gd_rebalance::STEPS`, `gd_hooks::STEPS`: a set runs
//! the pre-hook step, each node having a set pre-hook), so a step no operation here
//! reaches fails the test until an operation that runs it is added to [`OPS`].
//!
//! To chase one operation's failure, `GD2_MATRIX_ONLY=<Op>` (e.g. `ResetCommit`) runs only its
//! cases (the points are still collected for every operation), and `GD2_TEST_KEEP=1` keeps the
//! nodes' logs.

use std::{
    collections::{BTreeMap, BTreeSet},
    os::unix::net::UnixStream,
    path::PathBuf,
    time::{Duration, Instant},
};

use gd_store::Store;
use gd_sunrpc::programs::handshake;
use gd_testkit::{rpc::Rpc, *};
use serde_json::Value;

/// Elapsed-time judgments (a stalled transaction, a failed one kept) run this much faster.
const SCALE: u64 = 20;
const VOLUME_ID_XATTR: &str = "trusted.glusterfs.volume-id";
/// The option set and reset, and how it shows in the client volfile.
const OPTION: (&str, &str) = ("performance.write-behind-window-size", "4MB");
const IN_VOLFILE: &str = "option cache-size 4MB";
/// The address blocks of the clusters that run the cases side by side (see [`Op::cluster`]),
/// and the first letter of their cases' volumes.
/// (Two: a third made every case slower by as much as it ran beside them, on two cores.)
const CLUSTERS: [(u8, char); 2] = [(55, 'c'), (56, 'd')];
/// How many cases' volumes are prepared at once (their operations run side by side).
const PREPARE_AT_ONCE: usize = 4;
/// The initiator (every operation is sent to it) and the participant that is killed.
const INITIATOR: usize = 0;
const PARTICIPANT: usize = 1;

mod ops;
mod seen;
use ops::*;
use seen::Seen;

struct Matrix {
    t: Three,
    rt: tokio::runtime::Runtime,
    store: std::sync::Arc<gd_store::EtcdStore>,
    cluster: String,
}

impl Matrix {
    /// Waits (bounded) until `v`'s processes follow its record (see
    /// [`Seen::processes_follow`]); the checks that come next say what differs if they never do.
    fn converged(&self, v: &str) {
        let _ = wait_for(
            &format!("{v}'s processes to follow its record"),
            Duration::from_secs(20),
            || self.seen(v).processes_follow().then_some(()),
        );
    }

    fn seen(&self, v: &str) -> Seen {
        let records = (0..3)
            .map(|i| {
                let (s, b) = self.t.api(i, "GET", &format!("/v1/volumes/{v}"), None);
                assert!(s == 200 || s == 404, "GET {v} on node {i}: {s} {b}");
                (s == 200).then_some(b)
            })
            .collect();
        let bricks: Vec<PathBuf> = (0..3).map(|i| brick(&self.t, i, v).1).collect();
        let replacing = brick(&self.t, PARTICIPANT, &replaced(v)).1;
        let raising = brick(&self.t, PARTICIPANT, &raised(v)).1;
        let volfiles: Vec<String> = (0..3)
            .filter_map(|i| {
                let socket = self.t.dirs[i].run.join("glusterd2.socket");
                let mut rpc = Rpc::new(UnixStream::connect(&socket).ok()?);
                let rsp: handshake::GetspecRsp = rpc.getspec(&format!("/{v}"));
                (rsp.op_ret > 0).then_some(rsp.spec)
            })
            .collect();
        let lock = format!("gluster-{}/locks/volume/{v}", self.cluster);
        // The added set's first brick, as its client names it.
        let added_set = format!(
            "option remote-subvolume {}\n",
            brick(&self.t, 0, &added(v)).1.display()
        );
        Seen {
            added_marked: (0..3)
                .map(|i| brick(&self.t, i, &added(v)).1)
                .filter(|p| xattr::get(p, VOLUME_ID_XATTR).ok().flatten().is_some())
                .count(),
            volfiles_with_added_set: volfiles.iter().filter(|s| s.contains(&added_set)).count(),
            volfiles_with_decommission: volfiles
                .iter()
                .filter(|s| s.contains("option decommissioned-bricks "))
                .count(),
            replaced_marked: usize::from(
                xattr::get(&replacing, VOLUME_ID_XATTR)
                    .ok()
                    .flatten()
                    .is_some(),
            ),
            raised_marked: usize::from(
                xattr::get(&raising, VOLUME_ID_XATTR)
                    .ok()
                    .flatten()
                    .is_some(),
            ),
            records,
            marked: bricks
                .iter()
                .filter(|p| xattr::get(p, VOLUME_ID_XATTR).ok().flatten().is_some())
                .count(),
            dot_glusterfs: bricks
                .iter()
                .filter(|p| p.join(".glusterfs").is_dir())
                .count(),
            volfiles_with_option: volfiles.iter().filter(|s| s.contains(IN_VOLFILE)).count(),
            volfiles: volfiles.len(),
            bricks: bricks
                .iter()
                .chain([&replacing, &raising])
                .map(|p| processes_matching(&format!("--brick-name {} ", p.display())).len())
                .sum(),
            shds: processes_matching(&format!("--volfile-id shd/{v} ")).len(),
            added_bricks: (0..3)
                .map(|i| brick(&self.t, i, &added(v)).1)
                .map(|p| processes_matching(&format!("--brick-name {} ", p.display())).len())
                .sum(),
            // The client may have been talking to the member of the node just killed.
            locked: wait_for("the store to answer", Duration::from_secs(20), || {
                self.rt.block_on(self.store.get(&lock)).ok()
            })
            .unwrap()
            .is_some(),
        }
    }

    /// Runs `op` on `v` as a user would (following a `202`); it must succeed.
    fn run(&self, op: Op, v: &str) {
        let (m, path, body) = op.request(&self.t, v);
        let (s, b) = self.t.api(INITIATOR, m, &path, body);
        match s {
            200..=201 | 204 => {}
            202 => {
                let (state, why) = self.follow(&b);
                assert_eq!(state, "succeeded", "{op:?} {v}: {why}");
            }
            _ => panic!("{op:?} {v}: {s} {b}"),
        }
    }

    /// Follows a `202` answer's transaction to its end; returns its state and error message.
    fn follow(&self, accepted: &Value) -> (String, String) {
        let id = accepted["id"]
            .as_str()
            .expect("a 202 names its transaction");
        wait_for("the transaction to end", Duration::from_secs(60), || {
            let (s, b) = self
                .t
                .api(PARTICIPANT, "GET", &format!("/v1/transactions/{id}"), None);
            assert_eq!(s, 200, "{b}");
            let state = b["state"].as_str().unwrap_or_default().to_owned();
            (state == "succeeded" || state == "failed").then(|| {
                (
                    state,
                    b["error"]["message"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
        .unwrap()
    }

    /// Waits until no transaction runs and none waits for an undo; returns how long.
    fn settle(&self) -> Duration {
        let started = Instant::now();
        wait_for("no transaction left", Duration::from_secs(60), || {
            let (s, b) = self
                .t
                .api(PARTICIPANT, "GET", "/v1/transactions?ended=1000", None);
            (s == 200
                && b.as_array().unwrap().iter().all(|t| {
                    (t["state"] == "succeeded" || t["state"] == "failed")
                        && t.get("undo-pending").is_none()
                }))
            .then_some(())
        })
        .unwrap();
        started.elapsed()
    }

    fn arm(&self, node: usize, line: &str) {
        std::fs::write(self.t.dirs[node].failpoints(), format!("{line}\n")).unwrap();
    }

    fn disarm(&self, node: usize) {
        let _ = std::fs::remove_file(self.t.dirs[node].failpoints());
    }

    fn hits(&self, node: usize) -> PathBuf {
        let mut p = self.t.dirs[node].failpoints().into_os_string();
        p.push(".hits");
        PathBuf::from(p)
    }
}

/// The failpoints each node passes during each operation, in order, without repeats.
fn record_points(m: &Matrix) -> BTreeMap<Op, Vec<(usize, String)>> {
    let mut points = BTreeMap::new();
    for node in [INITIATOR, PARTICIPANT, 2] {
        m.arm(node, "* record");
    }
    for op in OPS {
        for node in [INITIATOR, PARTICIPANT] {
            let _ = std::fs::remove_file(m.hits(node));
        }
        m.run(op, "probe");
        // A participant passes the point after its last step a moment after the client got
        // its answer: the points are read once every transaction ended and the record files
        // stopped growing (else the next operation would collect them).
        m.settle();
        let sizes = || -> Vec<u64> {
            [INITIATOR, PARTICIPANT]
                .iter()
                .map(|n| std::fs::metadata(m.hits(*n)).map_or(0, |f| f.len()))
                .collect()
        };
        let _ = wait_for("the points to be recorded", Duration::from_secs(10), || {
            let before = sizes();
            std::thread::sleep(Duration::from_millis(500));
            (sizes() == before).then_some(())
        });
        let mut seen = BTreeSet::new();
        let mut list = vec![];
        for node in [INITIATOR, PARTICIPANT] {
            for point in read(&m.hits(node)).lines() {
                if seen.insert((node, point.to_owned())) {
                    list.push((node, point.to_owned()));
                }
            }
        }
        assert!(
            !list.is_empty(),
            "{op:?} passed no failpoint: is glusterd2 built with --features gd-daemon/failpoints (scripts/test.sh does)?"
        );
        points.insert(op, list);
    }
    for node in [INITIATOR, PARTICIPANT, 2] {
        m.disarm(node);
    }
    points
}

/// What one cluster's cases left: the outcomes checked again ten minutes later, and the
/// figures the report prints.
#[derive(Default)]
struct Outcomes {
    expected: Vec<(String, Seen)>,
    report: BTreeMap<String, usize>,
    settles: Vec<Duration>,
    cases: usize,
    followed: usize,
    op_time: BTreeMap<String, (usize, Duration)>,
}

impl Outcomes {
    /// Adds `other`'s figures (its outcomes are another cluster's: not these).
    fn add(&mut self, other: Outcomes) {
        for (k, n) in other.report {
            *self.report.entry(k).or_default() += n;
        }
        self.settles.extend(other.settles);
        self.cases += other.cases;
        self.followed += other.followed;
        self.op_time.extend(other.op_time);
    }
}

impl Matrix {
    /// A cluster of three nodes on `127.0.<block>.*` on the shortened clock.
    fn new(block: u8) -> Matrix {
        let scale = SCALE.to_string();
        let t = three_with(block, &[("GD2_TIME_SCALE", &scale)]);
        // A pre-hook for option sets on every node, so that a set runs the hooks' step too
        // (a node runs that step only when it has scripts for the operation).
        for d in &t.dirs {
            let script = d.state.join("hooks/1/set/pre/S10pass.sh");
            std::fs::create_dir_all(script.parent().unwrap()).unwrap();
            std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        wait_for(
            "every node's set pre-hook listed",
            Duration::from_secs(30),
            || {
                let (_, b) = t.api(0, "GET", "/v1/hooks", None);
                (b.as_array()?.len() == 3).then_some(())
            },
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ident: toml::Table = toml::from_str(&read(&t.dirs[1].state.join("uuid.toml"))).unwrap();
        let cluster = ident["cluster-id"].as_str().unwrap().to_owned();
        let store = rt
            .block_on(gd_store::EtcdStore::connect(
                &t.ips
                    .iter()
                    .map(|ip| format!("http://{ip}:24379"))
                    .collect::<Vec<_>>(),
                Default::default(),
            ))
            .unwrap();
        Matrix {
            t,
            rt,
            store,
            cluster,
        }
    }

    /// Runs the cases of `ops` (each killed at each of its points), naming their volumes
    /// `<prefix><number>`.
    fn run_cases(
        &mut self,
        ops: &[Op],
        points: &BTreeMap<Op, Vec<(usize, String)>>,
        prefix: char,
    ) -> Outcomes {
        let m = self;
        let mut out = Outcomes::default();
        for &op in ops {
            if std::env::var("GD2_MATRIX_ONLY").is_ok_and(|o| o != format!("{op:?}")) {
                continue;
            }
            let cases: Vec<(String, &(usize, String))> = points[&op]
                .iter()
                .map(|p| {
                    out.cases += 1;
                    (format!("{prefix}{:03}", out.cases), p)
                })
                .collect();
            // Every case's volume brought to where the operation applies, a few at a time
            // (other volumes' transactions run beside one another; the crashes below must
            // leave them be).
            let prepared = Instant::now();
            for chunk in cases.chunks(PREPARE_AT_ONCE) {
                std::thread::scope(|s| {
                    for (v, _) in chunk {
                        let m = &*m;
                        s.spawn(move || {
                            for &before in op.before() {
                                m.run(before, v);
                            }
                        });
                    }
                });
            }
            let per_case = prepared.elapsed() / cases.len().max(1) as u32;
            for (v, (node, point)) in &cases {
                let case_started = Instant::now() - per_case;
                m.case(op, v, *node, point, &mut out);
                let t = out.op_time.entry(format!("{op:?}")).or_default();
                t.0 += 1;
                t.1 += case_started.elapsed();
            }
        }
        out
    }

    /// One case: `op` on `v`, its daemon on `node` killed at `point`, restarted, and the
    /// outcome checked.
    fn case(&mut self, op: Op, v: &str, node: usize, point: &str, out: &mut Outcomes) {
        let m = self;
        eprintln!("{v}: {op:?} killed at {point} on node {node}");
        m.arm(node, &format!("{point} kill"));
        let (method, path, body) = op.request(&m.t, v);
        let secret = m.t.dirs[INITIATOR].secret_file();
        let base = m.t.daemons[INITIATOR].url();
        let call = std::thread::spawn(move || try_api(&secret, &base, method, &path, body));
        let role = if node == INITIATOR {
            "initiator"
        } else {
            "participant"
        };
        wait_for(
            &format!("{v}: {op:?} to kill the {role} at {point}"),
            Duration::from_secs(60),
            || m.t.daemons[node].try_exit(),
        )
        .unwrap();
        m.disarm(node);
        let ip = m.t.daemons[node].ip.clone();
        drop(m.t.daemons.remove(node));
        m.t.daemons
            .insert(node, start_daemon(&m.t.dirs[node], &ip, &[]).unwrap());
        let answer = call.join().unwrap();
        out.settles.push(m.settle());
        m.converged(v);
        // What the client was told: nothing (its node died), or an outcome.
        let told = match &answer {
            None => None,
            Some((202, b)) => {
                out.followed += 1;
                Some(m.follow(b).0 == "succeeded")
            }
            Some((s, _)) => Some((200..300).contains(s)),
        };
        let seen = m.seen(v);
        let done = seen.done(op, v);
        if let Some(success) = told {
            assert_eq!(
                done,
                success,
                "{v}: {op:?} killed on the {role} at {point} was answered {answer:?}, but is {}",
                if done { "done" } else { "not done" }
            );
        }
        if !done {
            // Nothing is left in the way: the same operation works again at once (its
            // processes, as after the crash, checked once they follow the record: the
            // clean-clone CI once saw a node's self-heal daemon missing right after an
            // add-brick's redo, not yet started again).
            m.run(op, v);
            m.converged(v);
            assert!(m.seen(v).done(op, v), "{v}: {op:?} again");
        }
        *out.report
            .entry(format!(
                "{}, {}",
                if done { "done" } else { "undone, then redone" },
                match told {
                    None => "client got no answer",
                    Some(true) => "client told success",
                    Some(false) => "client told failure",
                }
            ))
            .or_default() += 1;
        let mut seen = m.seen(v);
        // Its processes checked, a volume whose operation's outcome is in its record is
        // stopped, so that a hundred cases' bricks do not all run to the end (they slowed
        // every later case); a late undo would still show in the record and the marks, which
        // the check ten minutes later compares. A start's outcome is its processes, and a
        // remove-brick start's is a running migration: those stay.
        if seen.state() == Some("Started") && !matches!(op, Op::Start | Op::RemoveStart) {
            m.run(Op::Stop, v);
            seen = m.seen(v);
            assert_eq!(seen.state(), Some("Stopped"), "{v}: stopped after its case");
            assert!(seen.done(op, v), "{v}: {op:?} still done once stopped");
        }
        out.expected.push((v.to_owned(), seen));
    }
}

#[test]
fn every_transaction_killed_before_and_after_every_step_on_every_role_is_all_or_nothing() {
    // The clusters run the operations' cases side by side (each case waits far more than
    // it computes); the points are collected on the first.
    let (mut m, mut others, points) = std::thread::scope(|s| {
        let others: Vec<_> = CLUSTERS[1..]
            .iter()
            .map(|(block, _)| s.spawn(move || Matrix::new(*block)))
            .collect();
        let m = Matrix::new(CLUSTERS[0].0);
        let points = record_points(&m);
        let others: Vec<Matrix> = others.into_iter().map(|h| h.join().unwrap()).collect();
        (m, others, points)
    });
    let steps: BTreeSet<&str> = points
        .values()
        .flatten()
        .filter_map(|(_, p)| p.split(':').nth(1))
        .collect();
    let registry: BTreeSet<&str> = gd_volume::STEPS
        .into_iter()
        .chain(gd_rebalance::STEPS)
        .chain(gd_hooks::STEPS)
        .collect();
    assert_eq!(
        steps, registry,
        "the operations of OPS reach every registered step"
    );

    let ops_of = |c: usize| -> Vec<Op> { OPS.into_iter().filter(|op| op.cluster() == c).collect() };
    let (mut outcomes, other_outcomes) = std::thread::scope(|s| {
        let handles: Vec<_> = others
            .iter_mut()
            .enumerate()
            .map(|(i, mx)| {
                let (ops, points) = (ops_of(i + 1), &points);
                s.spawn(move || mx.run_cases(&ops, points, CLUSTERS[i + 1].1))
            })
            .collect();
        let outcomes = m.run_cases(&ops_of(0), &points, CLUSTERS[0].1);
        let others: Vec<Outcomes> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (outcomes, others)
    });

    // A client that goes away: the operation goes on, and its transaction says how it ended.
    let slow = "participant:volume-create.init-bricks:after sleep 3000";
    m.arm(INITIATOR, slow);
    let create_args = |v: &str| -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--endpoints".into(),
            m.t.daemons[INITIATOR].url(),
            "--secret-file".into(),
            m.t.dirs[INITIATOR].secret_file().display().to_string(),
            "volume".into(),
            "create".into(),
            v.into(),
            "replica".into(),
            "3".into(),
        ];
        args.extend((0..3).map(|i| {
            let (h, p) = brick(&m.t, i, v);
            format!("{h}:{}", p.display())
        }));
        args.extend(["--create-brick-dir".into(), "--allow-root-dir".into()]);
        args
    };
    let mut gone = std::process::Command::new(bin("glustercli"))
        .args(create_args("abandoned"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let running = wait_for("the create to be running", Duration::from_secs(20), || {
        let (_, b) = m.t.api(PARTICIPANT, "GET", "/v1/transactions", None);
        b.as_array()?
            .iter()
            .find(|t| t["operation"] == "volume create abandoned" && t["state"] == "running")
            .cloned()
    })
    .unwrap();
    gone.kill().unwrap();
    let _ = gone.wait();
    let (state, error) = m.follow(&running);
    assert_eq!((state.as_str(), error.as_str()), ("succeeded", ""));
    assert!(m.seen("abandoned").done(Op::Create, "abandoned"));
    let abandoned_seen = m.seen("abandoned");

    // A client that waits: answered 202 after the (shortened) answer wait, glustercli follows
    // the transaction and prints the volume when it has ended.
    let out = run_bounded(
        {
            let mut c = std::process::Command::new(bin("glustercli"));
            c.args(create_args("followed"));
            c
        },
        Duration::from_secs(60),
    );
    m.disarm(INITIATOR);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("volume create followed is taking a while; following it (transaction "),
        "{said}"
    );
    assert!(stdout(&out).contains("followed"), "{}", stdout(&out));
    let id = said
        .split("(transaction ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap();
    let out = m.t.cli(PARTICIPANT, &["transaction", "status", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("State: succeeded"),
        "{}",
        stdout(&out)
    );
    assert!(m.seen("followed").done(Op::Create, "followed"));
    let followed_seen = m.seen("followed");

    // Ten minutes later (of the shortened clock), every outcome stands.
    std::thread::sleep(Duration::from_secs(600 / SCALE));
    let clusters = std::iter::once((&m, &outcomes.expected)).chain(
        others
            .iter()
            .zip(other_outcomes.iter().map(|o| &o.expected)),
    );
    for (mx, expected) in clusters {
        mx.settle();
        for (v, before) in expected {
            assert_eq!(&mx.seen(v), before, "{v} changed after it was done");
        }
    }
    assert_eq!(
        m.seen("abandoned"),
        abandoned_seen,
        "abandoned changed after it was done"
    );
    assert_eq!(
        m.seen("followed"),
        followed_seen,
        "followed changed after it was done"
    );
    for o in other_outcomes {
        outcomes.add(o);
    }
    let Outcomes {
        report,
        settles,
        cases,
        followed,
        op_time,
        ..
    } = outcomes;
    let max = settles.iter().max().unwrap();
    eprintln!(
        "crash matrix: {cases} cases ({} operations, points × roles, on {} clusters); \
         outcomes {report:?} ({followed} answered 202 and followed); settled within {max:?} \
         of the restart; cases and time by operation: {op_time:?}",
        OPS.len(),
        CLUSTERS.len()
    );
}
