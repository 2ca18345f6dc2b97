//! The crash matrix of peer add (issue 9): a join killed (`kill -9`, by the daemon itself at a
//! failpoint) at every point it passes, on the initiator and on the joining node. Each time the
//! killed daemon is restarted, and the new node must be fully in the cluster (on both sides,
//! with the metadata asked for) or fully out of it (alone, unknown to the cluster), the answer
//! must say which, no lock may be left, and adding it again must work at once.
//!
//! As in `crash_matrix/`, the points are collected from a recorded run, not listed here.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    time::{Duration, Instant},
};

use gd_store::Store;
use gd_testkit::*;
use serde_json::{Value, json};

const SCALE: u64 = 20;
const BLOCK: &str = "127.0.57";

fn cluster_of(dirs: &NodeDirs) -> String {
    let ident: toml::Table = toml::from_str(&read(&dirs.state.join("uuid.toml"))).unwrap();
    ident["cluster-id"].as_str().unwrap().to_owned()
}

fn hits(dirs: &NodeDirs) -> PathBuf {
    let mut p = dirs.failpoints().into_os_string();
    p.push(".hits");
    PathBuf::from(p)
}

/// Every node's environment: the shortened clock, and three etcd voters whatever the size
/// (so the nodes removed are ones without an etcd member to hand over).
fn env() -> Vec<(String, String)> {
    vec![
        ("GD2_TIME_SCALE".into(), SCALE.to_string()),
        ("GD2_ETCD_FIVE_VOTERS_FROM".into(), "100".into()),
    ]
}

fn fresh(k: usize) -> (NodeDirs, Daemon) {
    let mut dirs = NodeDirs::new();
    dirs.env = env();
    let d = start_daemon(&dirs, &format!("{BLOCK}.{}", k + 2), &[]).unwrap();
    (dirs, d)
}

fn add_body(d: &Daemon, dirs: &NodeDirs, rack: &str) -> Value {
    json!({"addresses": [d.ip], "token": join_token(dirs, d), "metadata": {"rack": rack}})
}

/// Whether node `n` is in `a`'s cluster: in it on both sides (its record with `rack`, its
/// identity, its own view of the peers), or out of it on both sides — never half.
fn joined(a: (&NodeDirs, &Daemon), n: (&NodeDirs, &Daemon), rack: &str) -> Option<bool> {
    let listed = peers_of(a.0, a.1)?;
    let theirs = peers_of(n.0, n.1)?;
    let me = theirs
        .iter()
        .find(|p| p.client_addresses.iter().any(|c| c.starts_with(&n.1.ip)));
    let in_a = listed.iter().find(|p| Some(p.id) == me.map(|m| m.id));
    let same_cluster = cluster_of(n.0) == cluster_of(a.0);
    match (in_a, same_cluster) {
        (Some(p), true) if p.online && theirs.len() == listed.len() => {
            assert_eq!(
                p.metadata.get("rack").map(String::as_str),
                Some(rack),
                "the new peer's record has the metadata asked for: {p:?}"
            );
            Some(true)
        }
        (None, false) if theirs.len() == 1 => Some(false),
        // Not settled yet (a node restarting, resetting, or coming online).
        _ => None,
    }
}

type Answer = Option<(u16, Value)>;

/// Arms `point` to kill the node of `victim`, makes the call `request` to the initiator (in a
/// thread: the initiator may be the one that dies), waits for the kill, restarts the node in
/// `dying` and returns the call's answer (`None`: no answer) and when the node was restarted.
fn crash_at(
    point: &str,
    victim: &NodeDirs,
    dying: &mut Daemon,
    request: impl FnOnce() -> Answer + Send + 'static,
) -> (Answer, Instant) {
    std::fs::write(victim.failpoints(), format!("{point} kill\n")).unwrap();
    let call = std::thread::spawn(request);
    wait_for(
        &format!("the kill at {point}"),
        Duration::from_secs(60),
        || dying.try_exit(),
    )
    .unwrap();
    std::fs::remove_file(victim.failpoints()).unwrap();
    let restarted = Instant::now();
    let ip = dying.ip.clone();
    *dying = start_daemon(victim, &ip, &[]).unwrap();
    (call.join().unwrap(), restarted)
}

/// Whether the lock `name` is left in the store of `cluster`.
fn locked(
    rt: &tokio::runtime::Runtime,
    store: &gd_store::EtcdStore,
    cluster: &str,
    name: &str,
) -> bool {
    let key = format!("gluster-{cluster}/locks/{name}");
    wait_for("the store", Duration::from_secs(20), || {
        rt.block_on(store.get(&key)).ok()
    })
    .unwrap()
    .is_some()
}

/// Disarms the initiator and the other node and returns the points they recorded that `keep`
/// accepts, in order, without repeats, each with whether the initiator passed it.
fn recorded(
    initiator: &NodeDirs,
    other: &NodeDirs,
    keep: impl Fn(&str) -> bool,
) -> Vec<(bool, String)> {
    let mut points = vec![];
    for (is_initiator, dirs) in [(true, initiator), (false, other)] {
        let _ = std::fs::remove_file(dirs.failpoints());
        let mut seen = BTreeSet::new();
        for point in read(&hits(dirs)).lines() {
            if keep(point) && seen.insert(point.to_owned()) {
                points.push((is_initiator, point.to_owned()));
            }
        }
    }
    assert!(
        points.iter().any(|(i, _)| *i) && points.iter().any(|(i, _)| !*i),
        "failpoints on both sides (glusterd2 built with --features gd-daemon/failpoints?): {points:?}"
    );
    points
}

#[test]
fn a_join_killed_at_every_point_on_either_side_is_all_or_nothing() {
    let mut a_dirs = NodeDirs::new();
    a_dirs.env = env();
    let a_ip = format!("{BLOCK}.1");
    let mut a = start_daemon(&a_dirs, &a_ip, &[]).unwrap();
    let _reaper = Reaper(vec![BLOCK.to_owned()]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(gd_store::EtcdStore::connect(
            &[format!("http://{a_ip}:24379")],
            Default::default(),
        ))
        .unwrap();
    let mut nodes: Vec<(NodeDirs, Daemon, String)> = vec![];

    // The points a join passes, on each side.
    let (p_dirs, p) = fresh(0);
    for dirs in [&a_dirs, &p_dirs] {
        std::fs::write(dirs.failpoints(), "peer-* record\n").unwrap();
    }
    let (s, b) = api(
        &a_dirs,
        &a,
        "POST",
        "/v1/peers",
        Some(add_body(&p, &p_dirs, "r0")),
    );
    assert_eq!(s, 201, "{b}");
    let points = recorded(&a_dirs, &p_dirs, |p| p.starts_with("peer-"));
    nodes.push((p_dirs, p, "r0".into()));

    let mut outcomes = vec![];
    let mut gone: Vec<(NodeDirs, Daemon, String)> = vec![];
    for (k, (initiator, point)) in points.iter().enumerate() {
        let k = k + 1;
        let rack = format!("r{k}");
        let (n_dirs, mut n) = fresh(k);
        let body = add_body(&n, &n_dirs, &rack);
        let (secret, base) = (a_dirs.secret_file(), a.url());
        let request = move || try_api(&secret, &base, "POST", "/v1/peers", Some(body));
        let (answer, restarted) = if *initiator {
            crash_at(point, &a_dirs, &mut a, request)
        } else {
            crash_at(point, &n_dirs, &mut n, request)
        };
        let done = wait_for("the join to settle", Duration::from_secs(60), || {
            joined((&a_dirs, &a), (&n_dirs, &n), &rack)
        })
        .unwrap();
        let settled = restarted.elapsed();
        let told = answer.as_ref().map(|(s, _)| *s == 201);
        if let Some(success) = told {
            assert_eq!(done, success, "killed at {point}: answered {answer:?}");
        }
        assert!(
            !locked(
                &rt,
                &store,
                &cluster_of(&a_dirs),
                &format!("peer-address/{}:24007", n.ip)
            ),
            "killed at {point}: the lock is left"
        );
        if !done {
            // Nothing is in the way: adding it again works at once (with its token, which it
            // renewed if it had to reset itself).
            let (s, b) = api(
                &a_dirs,
                &a,
                "POST",
                "/v1/peers",
                Some(add_body(&n, &n_dirs, &rack)),
            );
            assert_eq!(s, 201, "killed at {point}, added again: {b}");
            wait_for("the new peer", Duration::from_secs(30), || {
                joined((&a_dirs, &a), (&n_dirs, &n), &rack).filter(|j| *j)
            })
            .unwrap();
        }
        outcomes.push(format!(
            "{} {point}: {} ({}), settled in {settled:?}",
            if *initiator { "initiator" } else { "joiner" },
            if done {
                "joined"
            } else {
                "not joined, then added again"
            },
            match told {
                None => "no answer",
                Some(true) => "answered 201",
                Some(false) => "answered an error",
            }
        ));
        nodes.push((n_dirs, n, rack));
    }

    // Peer remove: the points a removal passes, then each killed, on either side. The
    // nodes removed are the last ones added (no etcd member to hand over).
    let id_of = |dirs: &NodeDirs, d: &Daemon| -> String {
        peers_of(dirs, d)
            .unwrap()
            .into_iter()
            .find(|p| p.client_addresses.iter().any(|c| c.starts_with(&d.ip)))
            .unwrap()
            .id
            .to_string()
    };
    let removed = |a: (&NodeDirs, &Daemon), n: (&NodeDirs, &Daemon), id: &str| -> Option<bool> {
        let listed = peers_of(a.0, a.1)?;
        let theirs = peers_of(n.0, n.1)?;
        let in_a = listed.iter().any(|p| p.id.to_string() == id);
        match (in_a, cluster_of(n.0) == cluster_of(a.0)) {
            (false, false) if theirs.len() == 1 => Some(true),
            (true, true) if theirs.len() == listed.len() && theirs.iter().all(|p| p.online) => {
                Some(false)
            }
            _ => None,
        }
    };
    let (x_dirs, x) = fresh(points.len() + 1);
    let (s, b) = api(
        &a_dirs,
        &a,
        "POST",
        "/v1/peers",
        Some(add_body(&x, &x_dirs, "rx")),
    );
    assert_eq!(s, 201, "{b}");
    nodes.push((x_dirs, x, "rx".into()));
    let cluster = cluster_of(&a_dirs);
    let next_target = |nodes: &mut Vec<(NodeDirs, Daemon, String)>| {
        let i = nodes
            .iter()
            .rposition(|(dirs, d, _)| {
                let member = format!("gluster-{cluster}/store/members/{}", id_of(dirs, d));
                wait_for("the store", Duration::from_secs(20), || {
                    rt.block_on(store.get(&member)).ok()
                })
                .unwrap()
                .is_none()
            })
            .expect("a node without an etcd member to remove");
        nodes.remove(i)
    };
    let (probe_dirs, probe, _) = next_target(&mut nodes);
    let probe_id = id_of(&probe_dirs, &probe);
    for dirs in [&a_dirs, &probe_dirs] {
        let _ = std::fs::remove_file(hits(dirs));
        std::fs::write(dirs.failpoints(), "peer-* record\n").unwrap();
    }
    let (s, b) = api(
        &a_dirs,
        &a,
        "DELETE",
        &format!("/v1/peers/{probe_id}"),
        None,
    );
    assert_eq!(s, 204, "{b}");
    let removal_points = recorded(&a_dirs, &probe_dirs, |p| {
        p.starts_with("peer-remove") || p.starts_with("peer-leave")
    });
    wait_for("the probe to be removed", Duration::from_secs(30), || {
        removed((&a_dirs, &a), (&probe_dirs, &probe), &probe_id).filter(|r| *r)
    })
    .unwrap();
    for (initiator, point) in &removal_points {
        let (n_dirs, mut n, _) = next_target(&mut nodes);
        let id = id_of(&n_dirs, &n);
        let (secret, base, path) = (a_dirs.secret_file(), a.url(), format!("/v1/peers/{id}"));
        let request = move || try_api(&secret, &base, "DELETE", &path, None);
        let (answer, restarted) = if *initiator {
            crash_at(point, &a_dirs, &mut a, request)
        } else {
            crash_at(point, &n_dirs, &mut n, request)
        };
        let done = wait_for("the removal to settle", Duration::from_secs(60), || {
            removed((&a_dirs, &a), (&n_dirs, &n), &id)
        })
        .unwrap_or_else(|e| {
            panic!(
                "removal killed at {point} ({}): {e}; answered {answer:?}; the cluster lists {:?}; \
                 the node is in cluster {} (the cluster's is {}) and lists {:?}",
                if *initiator {
                    "initiator"
                } else {
                    "removed node"
                },
                peers_of(&a_dirs, &a)
                    .map(|l| l.iter().map(|p| (p.id, p.online)).collect::<Vec<_>>()),
                cluster_of(&n_dirs),
                cluster_of(&a_dirs),
                peers_of(&n_dirs, &n)
                    .map(|l| l.iter().map(|p| (p.id, p.online)).collect::<Vec<_>>()),
            )
        });
        let settled = restarted.elapsed();
        let told = answer.as_ref().map(|(s, _)| *s == 204);
        if let Some(success) = told {
            assert_eq!(
                done, success,
                "removal killed at {point}: answered {answer:?}"
            );
        }
        assert!(
            !locked(&rt, &store, &cluster_of(&a_dirs), &format!("peer/{id}")),
            "removal killed at {point}: the lock is left"
        );
        if !done {
            let (s, b) = api(&a_dirs, &a, "DELETE", &format!("/v1/peers/{id}"), None);
            assert_eq!(s, 204, "removal killed at {point}, removed again: {b}");
            wait_for("the removal", Duration::from_secs(30), || {
                removed((&a_dirs, &a), (&n_dirs, &n), &id).filter(|r| *r)
            })
            .unwrap();
        }
        outcomes.push(format!(
            "{} {point}: {} ({}), settled in {settled:?}",
            if *initiator {
                "initiator"
            } else {
                "removed node"
            },
            if done {
                "removed"
            } else {
                "still a member, then removed again"
            },
            match told {
                None => "no answer",
                Some(true) => "answered 204",
                Some(false) => "answered an error",
            }
        ));
        gone.push((n_dirs, n, id));
    }

    // Ten minutes later (of the shortened clock), every node that joined is still in, and
    // every node removed is still out.
    std::thread::sleep(Duration::from_secs(600 / SCALE));
    for (dirs, d, id) in &gone {
        assert_eq!(
            removed((&a_dirs, &a), (dirs, d), id),
            Some(true),
            "{} came back after it was removed",
            d.ip
        );
    }
    for (dirs, d, rack) in &nodes {
        assert_eq!(
            joined((&a_dirs, &a), (dirs, d), rack),
            Some(true),
            "{} left the cluster after it joined",
            d.ip
        );
    }
    eprintln!(
        "peer add and remove crash matrix: {} + {} cases: {outcomes:#?}",
        points.len(),
        removal_points.len()
    );
}
