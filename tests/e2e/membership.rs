//! End-to-end: cluster membership with real daemons, each on its own loopback address and
//! state directory; managed etcd unless said otherwise.

use std::time::Duration;

use gd_api::Peer;
use gd_testkit::*;
use serde_json::json;

const ONLINE_WAIT: Duration = Duration::from_secs(30);
/// A killed node must show offline within the lease TTL (10 s) plus polling slack.
const OFFLINE_WAIT: Duration = Duration::from_secs(13);

struct Cluster {
    nodes: Vec<(NodeDirs, String)>,
}

impl Cluster {
    fn new(ips: &[&str]) -> Cluster {
        Cluster {
            nodes: ips
                .iter()
                .map(|ip| (NodeDirs::new(), ip.to_string()))
                .collect(),
        }
    }

    fn start(&self, i: usize, args: &[&str]) -> Daemon {
        let (dirs, ip) = &self.nodes[i];
        start_daemon(dirs, ip, args).unwrap_or_else(|e| panic!("node {i} ({ip}): {e}"))
    }

    fn dirs(&self, i: usize) -> &NodeDirs {
        &self.nodes[i].0
    }

    fn ip(&self, i: usize) -> &str {
        &self.nodes[i].1
    }

    /// Node `i`'s join token, read as a user would (`glustercli peer token` on it).
    fn token(&self, i: usize) -> String {
        let d = Daemon::attach(self.ip(i));
        join_token(self.dirs(i), &d)
    }

    /// Node `from` adds node `to`; returns the new peer.
    fn add(&self, from: &Daemon, from_i: usize, to_i: usize) -> Peer {
        let (status, body) = api(
            self.dirs(from_i),
            from,
            "POST",
            "/v1/peers",
            Some(json!({"addresses": [self.ip(to_i)], "token": self.token(to_i)})),
        );
        assert_eq!(
            status,
            201,
            "add node {to_i}: {body}\n--- log ---\n{}",
            from.log()
        );
        serde_json::from_value(body).unwrap()
    }
}

#[test]
fn three_nodes_add_kill_restart_remove_and_restart_in_another_order() {
    let c = Cluster::new(&["127.0.20.1", "127.0.20.2", "127.0.20.3"]);
    let n0 = c.start(0, &[]);
    let n1 = c.start(1, &[]);
    let n2 = c.start(2, &[]);
    let p1 = c.add(&n0, 0, 1);
    assert!(p1.online, "{p1:?}");
    assert_eq!(p1.client_addresses, vec![format!("{}:24007", c.ip(1))]);
    let p2 = c.add(&n0, 0, 2);
    let nodes = [&n0, &n1, &n2];
    for (i, d) in nodes.iter().enumerate() {
        let peers = wait_peers(c.dirs(i), d, 3, true, ONLINE_WAIT).unwrap();
        let ids: Vec<_> = peers.iter().map(|p| p.id).collect();
        assert!(ids.contains(&p1.id) && ids.contains(&p2.id));
    }
    // The store grew to 3 voting etcd members, one per node.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let voters = wait_for("3 voting etcd members", Duration::from_secs(60), || {
        let members = rt.block_on(etcd_members(&format!("http://{}:24379", c.ip(0))))?;
        (members.len() == 3 && members.iter().all(|m| !m.is_learner)).then_some(members)
    });
    assert!(
        voters.is_ok(),
        "{voters:?}\n--- node 0 log ---\n{}",
        n0.log()
    );
    // Every node agrees on the cluster id.
    let cluster_ids: Vec<_> = (0..3)
        .map(|i| read(&c.dirs(i).state.join("uuid.toml")))
        .map(|t| {
            t.lines()
                .find(|l| l.starts_with("cluster-id"))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        cluster_ids.iter().all(|x| x == &cluster_ids[0]),
        "{cluster_ids:?}"
    );

    // kill -9 a node: offline everywhere within the TTL; back online after a restart, no command.
    n2.kill9();
    for (i, d) in [(0, &n0), (1, &n1)] {
        wait_for("node 2 offline", OFFLINE_WAIT, || {
            let peers = peers_of(c.dirs(i), d)?;
            peers
                .iter()
                .find(|p| p.id == p2.id)
                .filter(|p| !p.online)
                .map(|_| ())
        })
        .unwrap();
    }
    let n2 = c.start(2, &[]);
    for (i, d) in [(0, &n0), (1, &n1), (2, &n2)] {
        wait_peers(c.dirs(i), d, 3, true, ONLINE_WAIT).unwrap();
    }

    // Remove node 1: it goes back to a fresh single-node cluster.
    let (status, body) = api(
        c.dirs(0),
        &n0,
        "DELETE",
        &format!("/v1/peers/{}", p1.id),
        None,
    );
    assert_eq!(status, 204, "{body}");
    wait_peers(c.dirs(0), &n0, 2, true, ONLINE_WAIT).unwrap();
    wait_peers(c.dirs(2), &n2, 2, true, ONLINE_WAIT).unwrap();
    let alone = wait_peers(c.dirs(1), &n1, 1, true, ONLINE_WAIT).unwrap();
    assert_eq!(alone[0].id, p1.id);
    // The removed node no longer runs a member of the cluster's etcd.
    let members = wait_for(
        "node 1 out of the cluster's etcd",
        Duration::from_secs(60),
        || {
            // Ask whichever node still runs a member.
            let m = [0, 2]
                .iter()
                .find_map(|i| rt.block_on(etcd_members(&format!("http://{}:24379", c.ip(*i)))))?;
            (!m.is_empty() && !m.iter().any(|m| m.name == p1.id.to_string())).then_some(m)
        },
    );
    assert!(members.is_ok());
    assert!(
        !read(&c.dirs(1).state.join("uuid.toml")).contains(&cluster_ids[0]),
        "a new cluster id"
    );
    assert!(!c.dirs(1).state.join("cluster-secret").exists());

    // Stop all, start in another order: the cluster is intact.
    for d in [n2, n1, n0] {
        assert!(d.stop().unwrap().success());
    }
    let n2 = c.start(2, &[]);
    let n1 = c.start(1, &[]);
    let n0 = c.start(0, &[]);
    let a = wait_peers(c.dirs(2), &n2, 2, true, ONLINE_WAIT).unwrap();
    let b = wait_peers(c.dirs(0), &n0, 2, true, ONLINE_WAIT).unwrap();
    assert_eq!(
        a.iter().map(|p| p.id).collect::<Vec<_>>(),
        b.iter().map(|p| p.id).collect::<Vec<_>>()
    );
    wait_peers(c.dirs(1), &n1, 1, true, ONLINE_WAIT).unwrap();
}

#[test]
fn two_nodes_restart_in_either_order() {
    let c = Cluster::new(&["127.0.21.1", "127.0.21.2"]);
    let n0 = c.start(0, &[]);
    let n1 = c.start(1, &[]);
    let p1 = c.add(&n0, 0, 1);
    let mut running = [Some(n0), Some(n1)];
    for (round, order) in [[1usize, 0usize], [0, 1]].iter().enumerate() {
        for d in running.iter_mut().rev() {
            assert!(d.take().unwrap().stop().unwrap().success());
        }
        for &i in order {
            running[i] = Some(c.start(i, &[]));
        }
        for (i, d) in running.iter().enumerate() {
            let d = d.as_ref().unwrap();
            wait_peers(c.dirs(i), d, 2, true, ONLINE_WAIT)
                .unwrap_or_else(|e| panic!("round {round}, node {i}: {e}\n{}", d.log()));
        }
        // A write works from either node.
        let writer = order[0];
        let (status, body) = api(
            c.dirs(writer),
            running[writer].as_ref().unwrap(),
            "POST",
            &format!("/v1/peers/{}", p1.id),
            Some(json!({"metadata": {"round": round.to_string()}})),
        );
        assert_eq!(status, 200, "round {round}: {body}");
        let other = 1 - writer;
        let seen = wait_for(
            "the edit to be visible on the other node",
            ONLINE_WAIT,
            || {
                let peers = peers_of(c.dirs(other), running[other].as_ref().unwrap())?;
                peers
                    .iter()
                    .find(|p| p.id == p1.id)?
                    .metadata
                    .get("round")
                    .filter(|v| **v == round.to_string())
                    .map(|_| ())
            },
        );
        assert!(seen.is_ok(), "round {round}");
    }
}

#[test]
fn three_daemons_on_one_external_etcd() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let etcd = rt.block_on(TestEtcd::start("127.0.22.9")).unwrap();
    let c = Cluster::new(&["127.0.22.1", "127.0.22.2", "127.0.22.3"]);
    let args = [
        "--store",
        "etcd",
        "--etcdendpoints",
        etcd.client_url.as_str(),
    ];
    // Node 2 accepts joins from anyone (GD1's way, for trusted networks), and says so loudly.
    let open: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--peer-join", "open"])
        .collect();
    let n: Vec<Daemon> = (0..3)
        .map(|i| c.start(i, if i == 2 { &open } else { &args }))
        .collect();
    assert!(n[2].log().contains("PEER JOIN IS OPEN"), "{}", n[2].log());
    c.add(&n[0], 0, 1);
    // Any member can add; here through the CLI, without a token (node 2 is open).
    let out = cli_on(
        &n[1],
        c.dirs(1),
        &[
            "peer",
            "add",
            c.ip(2),
            "--zone",
            "rack-3",
            "--metadata",
            "role=spare",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("added"), "{}", stdout(&out));
    for (i, d) in n.iter().enumerate() {
        wait_peers(c.dirs(i), d, 3, true, ONLINE_WAIT).unwrap();
    }
    let p2 = peers_of(c.dirs(0), &n[0])
        .unwrap()
        .into_iter()
        .find(|p| p.client_addresses[0].starts_with(c.ip(2)))
        .unwrap();
    assert_eq!(p2.metadata.get("_zone").map(String::as_str), Some("rack-3"));
    assert_eq!(p2.metadata.get("role").map(String::as_str), Some("spare"));

    // Edit through the CLI, seen from another node.
    let out = cli_on(
        &n[2],
        c.dirs(2),
        &[
            "peer",
            "edit",
            &p2.id.to_string(),
            "--key",
            "role",
            "--value",
            "primary",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = wait_for("the edit on node 0", ONLINE_WAIT, || {
        let p = peers_of(c.dirs(0), &n[0])?
            .into_iter()
            .find(|p| p.id == p2.id)?;
        (p.metadata.get("role").map(String::as_str) == Some("primary")).then_some(())
    });
    assert!(seen.is_ok());
    let out = cli_on(
        &n[0],
        c.dirs(0),
        &["peer", "list", "--key", "role", "--value", "primary"],
    );
    assert!(
        stdout(&out).contains(&p2.id.to_string()),
        "{}",
        stdout(&out)
    );

    // Remove by host through the CLI.
    let out = cli_on(&n[0], c.dirs(0), &["peer", "remove", c.ip(2)]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_peers(c.dirs(0), &n[0], 2, true, ONLINE_WAIT).unwrap();
    let alone = wait_peers(c.dirs(2), &n[2], 1, true, ONLINE_WAIT).unwrap();
    assert_eq!(alone[0].id, p2.id);
}

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let c = Cluster::new(&[
        "127.0.23.1",
        "127.0.23.2",
        "127.0.23.3",
        "127.0.23.4",
        "127.0.23.5",
    ]);
    let n0 = c.start(0, &[]);
    let n1 = c.start(1, &[]); // will be part of another cluster (with n2)
    let n2 = c.start(2, &[]);
    let local = c.start(3, &["--store", "local"]);
    let n4 = c.start(4, &[]);
    c.add(&n1, 1, 2);
    let before = wait_peers(c.dirs(0), &n0, 1, true, ONLINE_WAIT).unwrap();

    let post = |body: serde_json::Value| api(c.dirs(0), &n0, "POST", "/v1/peers", Some(body));
    let msg = |b: &serde_json::Value| {
        b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    // Nothing listens there.
    let (s, b) = post(json!({"addresses": ["127.0.23.99"]}));
    assert_eq!(s, 400, "{b}");
    assert!(msg(&b).contains("could not connect"), "{b}");
    // A node alone, without its join token or with a wrong one: refused, nothing changes
    // there.
    let uuid4 = read(&c.dirs(4).state.join("uuid.toml"));
    let (s, b) = post(json!({"addresses": [c.ip(4)]}));
    assert_eq!(s, 400, "{b}");
    assert!(msg(&b).contains("join token"), "{b}");
    let (s, b) = post(json!({"addresses": [c.ip(4)], "token": "0".repeat(64)}));
    assert_eq!(s, 400, "{b}");
    assert!(msg(&b).contains("not this node's"), "{b}");
    let (s, b) = post(json!({"addresses": [c.ip(4)], "token": "a b"}));
    assert_eq!(s, 400, "{b}");
    assert_eq!(read(&c.dirs(4).state.join("uuid.toml")), uuid4);
    // An unauthenticated join straight to the node, as an attacker would send it.
    let forged = blocking_client()
        .post(format!("http://{}:24007/v1/internal/join", c.ip(4)))
        .json(
            &json!({"cluster-id": uuid::Uuid::new_v4(), "cluster-secret": "s".repeat(64),
                      "initiator": uuid::Uuid::new_v4(), "store": "etcd",
                      "endpoints": ["http://127.0.23.99:2379"]}),
        )
        .send()
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(read(&c.dirs(4).state.join("uuid.toml")), uuid4);
    assert!(!c.dirs(4).state.join("store.toml").exists());
    // A node of another cluster.
    let (s, b) = post(json!({"addresses": [c.ip(1)], "token": c.token(1)}));
    assert_eq!(s, 409, "{b}");
    assert!(msg(&b).contains("another cluster"), "{b}");
    // A node on the local store.
    let (s, b) = post(json!({"addresses": [c.ip(3)], "token": c.token(3)}));
    assert_eq!(s, 409, "{b}");
    assert!(msg(&b).contains("local store"), "{b}");
    // A node that has volumes (written straight into its own store).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ident: toml::Table = toml::from_str(&read(&c.dirs(4).state.join("uuid.toml"))).unwrap();
    let ns = format!("gluster-{}/", ident["cluster-id"].as_str().unwrap());
    let own = rt
        .block_on(gd_store::EtcdStore::connect(
            &[format!("http://{}:24379", c.ip(4))],
            Default::default(),
        ))
        .unwrap();
    use gd_store::Store;
    rt.block_on(own.put(&format!("{ns}volumes/vol1"), b"{}".to_vec(), None))
        .unwrap();
    let (s, b) = post(json!({"addresses": [c.ip(4)], "token": c.token(4)}));
    assert_eq!(s, 409, "{b}");
    assert!(msg(&b).contains("volumes"), "{b}");
    rt.block_on(own.delete(&format!("{ns}volumes/vol1")))
        .unwrap();
    // Malformed requests.
    for bad in [
        json!({"addresses": []}),
        json!({"addresses": ["a b"]}),
        json!({"adresses": ["x"]}),
        json!({"addresses": [c.ip(4)], "metadata": {"_zone": "z"}}),
    ] {
        let (s, b) = post(bad.clone());
        assert_eq!(s, 400, "{bad}: {b}");
    }
    let secret = gd_auth::read_secret(&c.dirs(0).secret_file()).unwrap();
    let token = gd_auth::issue_token(
        gd_auth::CLI_USER,
        &secret,
        "POST",
        "/v1/peers",
        gd_auth::TOKEN_VALIDITY,
    );
    let resp = blocking_client()
        .post(format!("{}/v1/peers", n0.url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.json::<gd_api::ErrorResp>().is_ok());
    // Unknown and invalid ids.
    let (s, _) = api(
        c.dirs(0),
        &n0,
        "DELETE",
        &format!("/v1/peers/{}", uuid::Uuid::new_v4()),
        None,
    );
    assert_eq!(s, 404);
    let (s, _) = api(c.dirs(0), &n0, "DELETE", "/v1/peers/xyz", None);
    assert_eq!(s, 400);
    let p1_id = peers_of(c.dirs(1), &n1).unwrap()[0].id;
    let (s, b) = api(
        c.dirs(1),
        &n1,
        "DELETE",
        &format!("/v1/peers/{p1_id}?force=maybe"),
        None,
    );
    assert_eq!(s, 400, "{b}");
    assert!(msg(&b).contains("query"), "{b}");
    // The local-store node refuses to add peers, and says how to switch.
    let (s, b) = api(
        c.dirs(3),
        &local,
        "POST",
        "/v1/peers",
        Some(json!({"addresses": [c.ip(4)]})),
    );
    assert_eq!(s, 400, "{b}");
    assert!(msg(&b).contains("--store managed"), "{b}");

    // Nothing changed anywhere.
    assert_eq!(
        wait_peers(c.dirs(0), &n0, 1, true, ONLINE_WAIT).unwrap(),
        before
    );
    wait_peers(c.dirs(1), &n1, 2, true, ONLINE_WAIT).unwrap();
    wait_peers(c.dirs(4), &n4, 1, true, ONLINE_WAIT).unwrap();

    // Node-to-node calls need the cluster secret: the CLI's token, or none, is refused.
    let (s, b) = api(
        c.dirs(1),
        &n1,
        "POST",
        "/v1/internal/leave",
        Some(json!({"initiator": uuid::Uuid::new_v4()})),
    );
    assert_eq!(s, 401, "{b}");
    let resp = blocking_client()
        .post(format!("{}/v1/internal/leave", n1.url()))
        .json(&json!({"initiator": uuid::Uuid::new_v4()}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    wait_peers(c.dirs(1), &n1, 2, true, ONLINE_WAIT).unwrap();
    drop(n2);
}

#[test]
fn quorum_loss_reads_are_stale_and_writes_fail_fast() {
    let c = Cluster::new(&["127.0.24.1", "127.0.24.2"]);
    let n0 = c.start(0, &[]); // the only etcd voter of a 2-node cluster
    let n1 = c.start(1, &[]);
    let p1 = c.add(&n0, 0, 1);
    wait_peers(c.dirs(1), &n1, 2, true, ONLINE_WAIT).unwrap();
    // Node 1's replica of the cluster's store follows it (its watches open: every change is
    // in it a moment later), as its metrics say.
    wait_for("node 1's replica to follow the store", ONLINE_WAIT, || {
        let text = blocking_client()
            .get(format!("{}/metrics", n1.url()))
            .send()
            .ok()?
            .text()
            .ok()?;
        text.lines()
            .any(|l| l == "gd2_store_replica_synced 1")
            .then_some(())
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    n0.kill9();

    // Reads on node 1 answer from its cache, marked stale, without hanging.
    let secret = gd_auth::read_secret(&c.dirs(1).secret_file()).unwrap();
    let get = || {
        let token = gd_auth::issue_token(
            gd_auth::CLI_USER,
            &secret,
            "GET",
            "/v1/peers",
            gd_auth::TOKEN_VALIDITY,
        );
        let t = std::time::Instant::now();
        let resp = blocking_client()
            .get(format!("{}/v1/peers", n1.url()))
            .bearer_auth(token)
            .send()
            .unwrap();
        (resp, t.elapsed())
    };
    let stale = wait_for("a stale answer", Duration::from_secs(10), || {
        let (resp, took) = get();
        resp.headers()
            .contains_key("x-gluster-stale-revision")
            .then_some((resp, took))
    });
    let (resp, took) = stale.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(took < Duration::from_secs(5), "a stale read took {took:?}");
    assert!(
        resp.headers()
            .get("warning")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("no quorum")
    );
    let peers: Vec<Peer> = resp.json().unwrap();
    assert_eq!(peers.len(), 2);
    let (_, again) = get();
    assert!(
        again < Duration::from_secs(1),
        "later stale reads answer at once, took {again:?}"
    );

    // A write fails within about 2 s with a clear message.
    let t = std::time::Instant::now();
    let (status, body) = api(
        c.dirs(1),
        &n1,
        "POST",
        &format!("/v1/peers/{}", p1.id),
        Some(json!({"metadata": {"k": "v"}})),
    );
    let took = t.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no quorum"),
        "{body}"
    );
    assert!(took < Duration::from_secs(5), "the write took {took:?}");

    // The voter comes back: fresh answers again.
    let n0 = c.start(0, &[]);
    let fresh = wait_for("a fresh answer", ONLINE_WAIT, || {
        let (resp, _) = get();
        (resp.status() == 200 && resp.headers().get("x-gluster-stale-revision").is_none())
            .then_some(())
    });
    assert!(fresh.is_ok());
    wait_peers(c.dirs(0), &n0, 2, true, ONLINE_WAIT).unwrap();
}

#[test]
fn five_nodes_a_dead_voter_is_replaced_after_the_grace_period() {
    let ips = [
        "127.0.25.1",
        "127.0.25.2",
        "127.0.25.3",
        "127.0.25.4",
        "127.0.25.5",
    ];
    let c = Cluster::new(&ips);
    let args = ["--etcd-voter-grace", "5s"];
    let mut n: Vec<Option<Daemon>> = (0..5).map(|i| Some(c.start(i, &args))).collect();
    let first = n[0].as_ref().unwrap();
    let mut ids = vec![];
    for i in 1..5 {
        ids.push(c.add(first, 0, i).id);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let members = |rt: &tokio::runtime::Runtime| {
        ips.iter()
            .find_map(|ip| rt.block_on(etcd_members(&format!("http://{ip}:24379"))))
    };
    let voters = wait_for("3 voters of 5 nodes", Duration::from_secs(90), || {
        let m = members(&rt)?;
        (m.len() == 3 && m.iter().all(|m| !m.is_learner && !m.name.is_empty())).then_some(m)
    })
    .unwrap();
    // Kill a voter for good (not node 0, which the test talks to).
    let victim_name = voters
        .iter()
        .map(|m| m.name.clone())
        .find(|name| {
            let i = (0..5)
                .find(|i| read(&c.dirs(*i).state.join("uuid.toml")).contains(name.as_str()))
                .unwrap();
            i != 0
        })
        .unwrap();
    let victim = (0..5)
        .find(|i| read(&c.dirs(*i).state.join("uuid.toml")).contains(&victim_name))
        .unwrap();
    n[victim].take().unwrap().kill9();

    let replaced = wait_for(
        "another node to become a voter",
        Duration::from_secs(90),
        || {
            let m = members(&rt)?;
            (m.len() == 3
                && m.iter()
                    .all(|m| !m.is_learner && m.name != victim_name && !m.name.is_empty()))
            .then_some(m)
        },
    );
    assert!(
        replaced.is_ok(),
        "{replaced:?}\n{}",
        n[0].as_ref()
            .unwrap()
            .log()
            .lines()
            .filter(|l| l.contains("membership"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Writes work.
    let target = ids.iter().find(|id| id.to_string() != victim_name).unwrap();
    let (status, body) = api(
        c.dirs(0),
        n[0].as_ref().unwrap(),
        "POST",
        &format!("/v1/peers/{target}"),
        Some(json!({"metadata": {"after": "replacement"}})),
    );
    assert_eq!(status, 200, "{body}");

    // Remove the dead node for good: without force it is refused, with force it goes, and
    // when it comes back it finds itself removed and resets to a fresh single node.
    let victim_id = victim_name.parse::<uuid::Uuid>().unwrap();
    let (status, body) = api(
        c.dirs(0),
        n[0].as_ref().unwrap(),
        "DELETE",
        &format!("/v1/peers/{victim_id}"),
        None,
    );
    assert_eq!(status, 409, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("force"),
        "{body}"
    );
    let (status, body) = api(
        c.dirs(0),
        n[0].as_ref().unwrap(),
        "DELETE",
        &format!("/v1/peers/{victim_id}?force=true"),
        None,
    );
    assert_eq!(status, 204, "{body}");
    wait_peers(c.dirs(0), n[0].as_ref().unwrap(), 4, true, ONLINE_WAIT).unwrap();
    let back = c.start(victim, &args);
    let alone = wait_peers(c.dirs(victim), &back, 1, true, ONLINE_WAIT)
        .map_err(|e| anyhow::anyhow!("{e}\nlog of the returning node:\n{}", back.log()))
        .unwrap();
    assert_eq!(alone[0].id, victim_id);
    wait_peers(c.dirs(0), n[0].as_ref().unwrap(), 4, true, ONLINE_WAIT).unwrap();
}
