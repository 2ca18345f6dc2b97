//! The crash matrix (issue 9): every transaction killed (`kill -9`, by the daemon itself at a
//! failpoint) before and after every one of its steps, on its initiator and on a participant;
//! each time the daemon is restarted and the operation must be fully done or fully absent on
//! every node, with no lock left, the same operation working again at once, and what was
//! answered as a success still there after ten minutes of a shortened clock.
//!
//! The points are not listed here: a first run of every operation with every failpoint set to
//! `record` collects the points each node passes, and the matrix is what was collected (so a
//! new step is covered without editing this file); the collected steps must be exactly the
//! step registries (`gd_volume::STEPS`, `gd_rebalance::STEPS`), so a step no operation here
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
/// How many cases' volumes are prepared at once (their operations run side by side).
const PREPARE_AT_ONCE: usize = 4;
/// The initiator (every operation is sent to it) and the participant that is killed.
const INITIATOR: usize = 0;
const PARTICIPANT: usize = 1;

mod ops;
use ops::*;

/// What the cluster shows of volume `v`, from every node.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// The volume's record as each node answers it (`None`: 404).
    records: Vec<Option<Value>>,
    /// Brick directories with the volume-id xattr, and with `.glusterfs`.
    marked: usize,
    dot_glusterfs: usize,
    /// Nodes serving the client volfile, and serving it with the option, and with the set
    /// add-brick adds.
    volfiles: usize,
    volfiles_with_option: usize,
    volfiles_with_added_set: usize,
    /// Nodes serving the client volfile with a decommissioned set.
    volfiles_with_decommission: usize,
    /// Brick directories of the set add-brick adds with the volume-id xattr.
    added_marked: usize,
    /// Whether the brick directory replace-brick brings has the volume-id xattr, and the one
    /// add-brick raising the replica count brings.
    replaced_marked: usize,
    raised_marked: usize,
    /// Running bricks and self-heal daemons of the volume, and running bricks of the set
    /// add-brick adds.
    bricks: usize,
    shds: usize,
    added_bricks: usize,
    /// Whether the volume's lock is in the store.
    locked: bool,
}

impl Seen {
    fn exists(&self) -> bool {
        self.records[0].is_some()
    }

    fn state(&self) -> Option<&str> {
        self.records[0].as_ref().and_then(|r| r["state"].as_str())
    }

    fn expanded(&self) -> bool {
        self.records[0]
            .as_ref()
            .is_some_and(|r| r["subvols"].as_array().is_some_and(|s| s.len() == 2))
    }

    /// Whether the added set is decommissioned (a remove-brick started).
    fn decommissioned(&self) -> bool {
        self.records[0]
            .as_ref()
            .is_some_and(|r| r["subvols"][1]["decommissioned"] == true)
    }

    fn replaced(&self, v: &str) -> bool {
        self.has_brick(&replaced(v))
    }

    fn raised(&self, v: &str) -> bool {
        self.has_brick(&raised(v))
    }

    /// Whether a brick is being reset.
    fn resetting(&self) -> bool {
        self.records[0].as_ref().is_some_and(|r| {
            r["subvols"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["bricks"].as_array().into_iter().flatten())
                .any(|b| b["reset"] == true)
        })
    }

    /// The bricks of the first set that run (not being reset), and the nodes holding any
    /// brick, as the record says.
    fn first_set_and_nodes(&self) -> (usize, usize) {
        let Some(r) = &self.records[0] else {
            return (0, 0);
        };
        let set = r["subvols"][0]["bricks"]
            .as_array()
            .map_or(0, |b| b.iter().filter(|b| b["reset"] != true).count());
        let hosts: BTreeSet<&str> = r["subvols"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["bricks"].as_array().into_iter().flatten())
            .filter_map(|b| b["host"].as_str())
            .collect();
        (set, hosts.len())
    }

    fn has_brick(&self, dir: &str) -> bool {
        let new = format!("/{dir}");
        self.records[0].as_ref().is_some_and(|r| {
            r["subvols"][0]["bricks"].as_array().is_some_and(|b| {
                b.iter()
                    .any(|b| b["path"].as_str().is_some_and(|p| p.ends_with(&new)))
            })
        })
    }

    fn has_option(&self) -> bool {
        self.records[0]
            .as_ref()
            .is_some_and(|r| r["options"][OPTION.0] == OPTION.1)
    }

    /// Whether `op` is done, after checking that the volume is in one whole state: the same
    /// on every node, its marks, volfiles and processes all matching it.
    fn done(&self, op: Op, v: &str) -> bool {
        assert!(
            self.records.iter().all(|r| r == &self.records[0]),
            "{v}: the nodes disagree: {:?}",
            self.records
        );
        assert!(!self.locked, "{v}: its lock is left in the store");
        let n = self.records.len();
        if self.exists() {
            assert_eq!(
                (self.marked, self.dot_glusterfs, self.volfiles),
                (n, n, n),
                "{v} exists: every brick is marked and every node serves its volfile"
            );
            assert_eq!(
                self.volfiles_with_option,
                if self.has_option() { n } else { 0 },
                "{v}: the volfiles served say what the record says of the option"
            );
            let n_added = if self.expanded() { n } else { 0 };
            assert_eq!(
                self.volfiles_with_added_set, n_added,
                "{v}: the volfiles served say what the record says of the added set"
            );
            // A set remove-brick removed keeps its marks and data, as with GD1.
            if op != Op::RemoveForce {
                assert_eq!(
                    self.added_marked, n_added,
                    "{v}: the added set's marks say what the record says of it"
                );
            }
            assert_eq!(
                self.volfiles_with_decommission,
                if self.decommissioned() { n } else { 0 },
                "{v}: the volfiles served name the decommissioned set when the record does"
            );
            assert_eq!(
                self.replaced_marked,
                usize::from(self.replaced(v)),
                "{v}: the replacing brick is marked when the record has it"
            );
            assert_eq!(
                self.raised_marked,
                usize::from(self.raised(v)),
                "{v}: the brick raising the replica count is marked when the record has it"
            );
            let started = self.state() == Some("Started");
            let running = if started { n } else { 0 };
            let (set, nodes) = self.first_set_and_nodes();
            assert_eq!(
                (self.bricks, self.shds),
                if started { (set, nodes) } else { (0, 0) },
                "{v} is {:?}: its processes match",
                self.state()
            );
            assert_eq!(
                self.added_bricks,
                if self.expanded() { running } else { 0 },
                "{v}: the added set's bricks run when it is in the started volume"
            );
        } else {
            assert_eq!(
                (self.volfiles, self.bricks, self.shds),
                (0, 0, 0),
                "{v} is absent: no volfile served, no process"
            );
        }
        match op {
            Op::Create => {
                if !self.exists() {
                    assert_eq!(
                        (self.marked, self.dot_glusterfs),
                        (0, 0),
                        "{v} is absent: no brick keeps a mark"
                    );
                }
                self.exists()
            }
            Op::Set => self.has_option(),
            Op::Reset => !self.has_option(),
            Op::Start => self.state() == Some("Started"),
            Op::Stop => self.state() == Some("Stopped"),
            Op::Delete => !self.exists(),
            Op::Expand => self.expanded(),
            Op::Replace => self.replaced(v),
            Op::RemoveStart => self.decommissioned(),
            Op::RemoveForce => self.exists() && !self.expanded(),
            Op::RaiseReplica => self.raised(v),
            Op::ResetStart => self.resetting(),
            Op::ResetCommit => self.exists() && !self.resetting(),
        }
    }
}

struct Matrix {
    t: Three,
    rt: tokio::runtime::Runtime,
    store: std::sync::Arc<gd_store::EtcdStore>,
    cluster: String,
}

impl Matrix {
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

#[test]
fn every_transaction_killed_before_and_after_every_step_on_every_role_is_all_or_nothing() {
    let scale = SCALE.to_string();
    let t = three_with(55, &[("GD2_TIME_SCALE", &scale)]);
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
    let mut m = Matrix {
        t,
        rt,
        store,
        cluster,
    };

    // The matrix, generated: the points every operation passes on each role.
    let points = record_points(&m);
    let steps: BTreeSet<&str> = points
        .values()
        .flatten()
        .filter_map(|(_, p)| p.split(':').nth(1))
        .collect();
    let registry: BTreeSet<&str> = gd_volume::STEPS
        .into_iter()
        .chain(gd_rebalance::STEPS)
        .collect();
    assert_eq!(
        steps, registry,
        "the operations of OPS reach every registered step"
    );

    let mut expected: Vec<(String, Seen)> = vec![];
    let mut report: BTreeMap<String, usize> = BTreeMap::new();
    let mut settles = vec![];
    let mut case = 0;
    let mut followed = 0;
    let mut op_time: BTreeMap<String, (usize, Duration)> = BTreeMap::new();
    for op in OPS {
        if std::env::var("GD2_MATRIX_ONLY").is_ok_and(|o| o != format!("{op:?}")) {
            continue;
        }
        let cases: Vec<(String, &(usize, String))> = points[&op]
            .iter()
            .map(|p| {
                case += 1;
                (format!("c{case:03}"), p)
            })
            .collect();
        // Every case's volume brought to where the operation applies, a few at a time (other
        // volumes' transactions run beside one another; the crashes below must leave them be).
        let prepared = Instant::now();
        for chunk in cases.chunks(PREPARE_AT_ONCE) {
            std::thread::scope(|s| {
                for (v, _) in chunk {
                    let m = &m;
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
            let v = v.clone();
            let case_started = Instant::now() - per_case;
            eprintln!("{v}: {op:?} killed at {point} on node {node}");
            m.arm(*node, &format!("{point} kill"));
            let (method, path, body) = op.request(&m.t, &v);
            let secret = m.t.dirs[INITIATOR].secret_file();
            let base = m.t.daemons[INITIATOR].url();
            let call = std::thread::spawn(move || try_api(&secret, &base, method, &path, body));
            let role = if *node == INITIATOR {
                "initiator"
            } else {
                "participant"
            };
            wait_for(
                &format!("{v}: {op:?} to kill the {role} at {point}"),
                Duration::from_secs(60),
                || m.t.daemons[*node].try_exit(),
            )
            .unwrap();
            m.disarm(*node);
            let ip = m.t.daemons[*node].ip.clone();
            drop(m.t.daemons.remove(*node));
            m.t.daemons
                .insert(*node, start_daemon(&m.t.dirs[*node], &ip, &[]).unwrap());
            let answer = call.join().unwrap();
            settles.push(m.settle());
            // What the client was told: nothing (its node died), or an outcome.
            let told = match &answer {
                None => None,
                Some((202, b)) => {
                    followed += 1;
                    Some(m.follow(b).0 == "succeeded")
                }
                Some((s, _)) => Some((200..300).contains(s)),
            };
            let seen = m.seen(&v);
            let done = seen.done(op, &v);
            if let Some(success) = told {
                assert_eq!(
                    done,
                    success,
                    "{v}: {op:?} killed on the {role} at {point} was answered {answer:?}, but is {}",
                    if done { "done" } else { "not done" }
                );
            }
            if !done {
                // Nothing is left in the way: the same operation works again at once.
                m.run(op, &v);
                assert!(m.seen(&v).done(op, &v), "{v}: {op:?} again");
            }
            *report
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
            expected.push((v.clone(), m.seen(&v)));
            let t = op_time.entry(format!("{op:?}")).or_default();
            t.0 += 1;
            t.1 += case_started.elapsed();
        }
    }

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
    expected.push(("abandoned".into(), m.seen("abandoned")));

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
    expected.push(("followed".into(), m.seen("followed")));

    // Ten minutes later (of the shortened clock), every outcome stands.
    std::thread::sleep(Duration::from_secs(600 / SCALE));
    m.settle();
    for (v, before) in &expected {
        assert_eq!(&m.seen(v), before, "{v} changed after it was done");
    }
    let max = settles.iter().max().unwrap();
    eprintln!(
        "crash matrix: {case} cases ({} operations, points × roles); outcomes {report:?} \
         ({followed} answered 202 and followed); settled within {max:?} of the restart; \
         cases and time by operation: {op_time:?}",
        OPS.len()
    );
}
