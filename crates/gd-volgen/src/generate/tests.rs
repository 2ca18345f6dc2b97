//! Graph shapes checked against GD1's: sets and their names, performance toggles, auth,
//! the brick environment, log levels, gids, readdir-ahead sharing, refusals and other tables.

use uuid::Uuid;

use super::*;
use crate::options::{Action, Graphs, OptionEntry};
use crate::volume::{Brick, Transport, VolumeOptions, VolumeType};

fn volume(name: &str, volume_type: VolumeType, bricks: usize) -> Volume {
    Volume {
        name: name.into(),
        id: Uuid::from_u128(1),
        volume_type,
        transport: Transport::Tcp,
        bricks: (0..bricks)
            .map(|i| Brick {
                peer_id: Uuid::from_u128(10 + (i % 2) as u128),
                host: format!("127.0.0.{}", 2 + i % 2),
                path: format!("/bricks/{name}/b{i}"),
                index: i,
                fsid: Some(7),
            })
            .collect(),
        username: Uuid::from_u128(2),
        password: Uuid::from_u128(3),
        quota_version: 0,
        options: VolumeOptions::create_defaults(&volume_type),
        decommissioned: Vec::new(),
    }
}

fn names(g: &Graph) -> Vec<&str> {
    g.xlators.iter().map(|x| x.name.as_str()).collect()
}

fn round_trips(g: &Graph) {
    assert_eq!(&Graph::parse(&g.to_volfile().unwrap()).unwrap(), g);
}

#[test]
fn distributed_arbiter_puts_the_arbiter_on_the_last_brick_of_each_set() {
    let v = volume("a", VolumeType::Arbiter, 6);
    for position in 0..6 {
        let g = brick_volfile(&v, position, &BrickEnv::default()).unwrap();
        let has_arbiter = g.get("a-arbiter").is_some();
        assert_eq!(has_arbiter, position % 3 == 2, "brick {position}");
        if has_arbiter {
            assert_eq!(g.get("a-trash").unwrap().subvolumes, ["a-arbiter"]);
        }
        round_trips(&g);
    }
    let c = client_volfile(&v, ClientKind::Fuse).unwrap();
    let afr = c.get("a-replicate-1").unwrap();
    assert_eq!(afr.subvolumes, ["a-client-3", "a-client-4", "a-client-5"]);
    assert_eq!(afr.option("arbiter-count"), Some("1"));
    assert_eq!(
        afr.option("afr-pending-xattr"),
        Some("a-client-3,a-client-4,a-client-5")
    );
    assert_eq!(
        c.get("a-dht").unwrap().subvolumes,
        ["a-replicate-0", "a-replicate-1"]
    );
    round_trips(&c);
}

#[test]
fn decommissioned_sets_are_named_to_dht_as_gd1_does() {
    let mut v = volume("r", VolumeType::Replicate { replica: 2 }, 6);
    v.decommissioned = vec![0, 2];
    for g in [
        client_volfile(&v, ClientKind::Fuse).unwrap(),
        rebalance_volfile(&v).unwrap(),
    ] {
        assert_eq!(
            g.get("r-dht").unwrap().option("decommissioned-bricks"),
            Some("r-replicate-0,r-replicate-2")
        );
        round_trips(&g);
    }
    // Over readdir-aheads when parallel-readdir is on: GD1 names DHT's own children.
    v.options.set("performance.parallel-readdir", "on");
    let c = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        c.get("r-dht").unwrap().option("decommissioned-bricks"),
        Some("r-readdir-ahead-0,r-readdir-ahead-2")
    );
    v.decommissioned = vec![];
    let c = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        c.get("r-dht").unwrap().option("decommissioned-bricks"),
        None
    );
    v.decommissioned = vec![0, 1, 2];
    assert!(client_volfile(&v, ClientKind::Fuse).is_err());
    v.decommissioned = vec![3];
    assert!(client_volfile(&v, ClientKind::Fuse).is_err());
}

#[test]
fn distributed_disperse_names_sets_and_watches_ec_xattrs() {
    let t = VolumeType::Disperse {
        disperse: 6,
        redundancy: 2,
    };
    let v = volume("d", t, 12);
    let c = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        c.get("d-dht").unwrap().subvolumes,
        ["d-disperse-0", "d-disperse-1"]
    );
    assert_eq!(
        c.get("d-disperse-1").unwrap().option("redundancy"),
        Some("2")
    );
    let b = brick_volfile(&v, 7, &BrickEnv::default()).unwrap();
    let index = b.get("d-index").unwrap();
    assert_eq!(
        index.option("xattrop64-watchlist"),
        Some("trusted.ec.dirty")
    );
    assert_eq!(index.option("xattrop-pending-watchlist"), None);
    let s = shd_volfile(&[v]).unwrap();
    assert_eq!(
        s.top().unwrap().subvolumes,
        ["d-disperse-0", "d-disperse-1"]
    );
    assert_eq!(
        s.get("d-disperse-0")
            .unwrap()
            .option("iam-self-heal-daemon"),
        Some("yes")
    );
}

#[test]
fn performance_toggles_add_and_remove_translators_in_gd1_order() {
    let mut v = volume("p", VolumeType::Distribute, 1);
    v.options.set("performance.io-cache", "on");
    v.options.set("performance.read-ahead", "yes");
    v.options.set("performance.quick-read", "off");
    v.options.set("performance.stat-prefetch", "disable");
    v.options.set("performance.cache-size", "256MB");
    v.options.set("features.ctime", "off");
    let g = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        names(&g),
        [
            "p-client-0",
            "p-dht",
            "p-write-behind",
            "p-read-ahead",
            "p-io-cache",
            "p-open-behind",
            "p-io-threads",
            "p",
        ]
    );
    assert_eq!(
        g.get("p-io-cache").unwrap().option("cache-size"),
        Some("256MB")
    );
    assert_eq!(g.get("p-io-threads").unwrap().option("thread-count"), None);
    round_trips(&g);
}

#[test]
fn auth_options_land_on_the_server_under_the_brick_path() {
    let mut v = volume("s", VolumeType::Distribute, 2);
    v.options.set("auth.allow", "10.0.0.*");
    v.options.set("auth.reject", "10.0.0.9");
    let g = brick_volfile(&v, 1, &BrickEnv::default()).unwrap();
    let server = g.top().unwrap();
    assert_eq!(server.name, "s-server");
    assert_eq!(
        server.option("auth.addr./bricks/s/b1.allow"),
        Some("10.0.0.*")
    );
    assert_eq!(
        server.option("auth.addr./bricks/s/b1.reject"),
        Some("10.0.0.9")
    );
    assert_eq!(server.option("transport.socket.bind-address"), None);
    assert_eq!(server.subvolumes, ["/bricks/s/b1"]);
    let client = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert!(
        client
            .xlators
            .iter()
            .all(|x| x.option("auth.allow").is_none())
    );
}

#[test]
fn brick_env_and_fsids_shape_the_brick_graph() {
    let mut v = volume("e", VolumeType::Distribute, 4);
    v.bricks[3].fsid = None;
    let env = BrickEnv {
        bind_address: Some("127.0.0.2".into()),
        workdir: "/var/lib/glusterd2/".into(),
    };
    let g = brick_volfile(&v, 0, &env).unwrap();
    // Bricks 0 and 2 are on the same peer and file system.
    assert_eq!(
        g.get("e-posix").unwrap().option("shared-brick-count"),
        Some("2")
    );
    assert_eq!(
        g.get("e-marker").unwrap().option("timestamp-file"),
        Some("/var/lib/glusterd2/vols/e/marker.tstamp")
    );
    assert_eq!(
        g.top().unwrap().option("transport.socket.bind-address"),
        Some("127.0.0.2")
    );
    let g = brick_volfile(&v, 3, &env).unwrap();
    assert_eq!(
        g.get("e-posix").unwrap().option("shared-brick-count"),
        Some("1")
    );
    let bad = BrickEnv {
        bind_address: Some("a b".into()),
        ..BrickEnv::default()
    };
    assert!(matches!(
        brick_volfile(&v, 0, &bad),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn log_levels_and_threads_follow_their_role() {
    let mut v = volume("l", VolumeType::Replicate { replica: 2 }, 2);
    v.options.set("diagnostics.brick-log-level", "DEBUG");
    v.options.set("diagnostics.client-log-level", "WARNING");
    v.options.set("config.brick-threads", "32");
    let b = brick_volfile(&v, 0, &BrickEnv::default()).unwrap();
    let stats = b.get("/bricks/l/b0").unwrap();
    assert_eq!(stats.option("log-level"), Some("DEBUG"));
    assert_eq!(stats.option("threads"), Some("32"));
    let c = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(c.top().unwrap().option("log-level"), Some("WARNING"));
    assert_eq!(c.top().unwrap().option("threads"), Some("16"));
    let s = shd_volfile(&[v]).unwrap();
    assert_eq!(s.top().unwrap().option("log-level"), Some("WARNING"));
}

#[test]
fn manage_gids_turns_send_gids_off_and_shd_never_sends_gids() {
    let mut v = volume("g", VolumeType::Replicate { replica: 2 }, 2);
    let c = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        c.get("g-client-0").unwrap().option("send-gids"),
        Some("true")
    );
    v.options.set("server.manage-gids", "on");
    let c = client_volfile(&v, ClientKind::Gfapi).unwrap();
    assert_eq!(
        c.get("g-client-1").unwrap().option("send-gids"),
        Some("false")
    );
    let b = brick_volfile(&v, 0, &BrickEnv::default()).unwrap();
    assert_eq!(b.top().unwrap().option("manage-gids"), Some("on"));
    let s = shd_volfile(&[v]).unwrap();
    assert_eq!(s.get("g-client-0").unwrap().option("send-gids"), None);
    assert!(s.get("g-client-0").unwrap().option("username").is_some());
}

#[test]
fn client_names_follow_brick_indexes_not_positions() {
    let mut v = volume("r", VolumeType::Replicate { replica: 2 }, 4);
    v.bricks[2].index = 6;
    v.bricks[3].index = 7;
    let c = client_volfile(&v, ClientKind::TrustedFuse).unwrap();
    let afr = c.get("r-replicate-1").unwrap();
    assert_eq!(afr.subvolumes, ["r-client-6", "r-client-7"]);
    assert_eq!(
        c.get("r-client-6").unwrap().option("username"),
        Some(&*Uuid::from_u128(2).to_string())
    );
}

#[test]
fn parallel_readdir_shares_the_readdir_ahead_cache_among_dht_children() {
    let rda = |g: &Graph, name: &str, option: &str| {
        g.xlators
            .iter()
            .find(|x| x.name == name)
            .and_then(|x| x.option(option))
            .map(str::to_owned)
    };
    // 4 DHT children of replica 2: each readdir-ahead gets a quarter of the cache.
    let mut v = volume("p", VolumeType::Replicate { replica: 2 }, 8);
    v.options.set("performance.parallel-readdir", "on");
    v.options.set("performance.readdir-ahead", "on");
    v.options.set("performance.rda-cache-limit", "1MB");
    let g = client_volfile(&v, ClientKind::Fuse).unwrap();
    let dht = g.xlators.iter().find(|x| x.name == "p-dht").unwrap();
    assert_eq!(
        dht.subvolumes,
        (0..4)
            .map(|k| format!("p-readdir-ahead-{k}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        rda(&g, "p-readdir-ahead-3", "rda-cache-limit").as_deref(),
        Some("262144B")
    );
    assert_eq!(
        rda(&g, "p-readdir-ahead-3", "rda-request-size").as_deref(),
        Some("131072")
    );
    assert!(
        g.xlators.iter().all(|x| x.name != "p-readdir-ahead"),
        "no readdir-ahead over DHT"
    );
    // A part smaller than a request: the request shrinks to the part...
    v.options.set("performance.rda-cache-limit", "256KB");
    let g = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        rda(&g, "p-readdir-ahead-0", "rda-cache-limit").as_deref(),
        Some("65536B")
    );
    assert_eq!(
        rda(&g, "p-readdir-ahead-0", "rda-request-size").as_deref(),
        Some("65536B")
    );
    // ...and neither goes below 4 KiB.
    v.options.set("performance.rda-cache-limit", "8KB");
    let g = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        rda(&g, "p-readdir-ahead-0", "rda-cache-limit").as_deref(),
        Some("4096B")
    );
    assert_eq!(
        rda(&g, "p-readdir-ahead-0", "rda-request-size").as_deref(),
        Some("4096B")
    );
    // Without readdir-ahead on, the cache is not shared (GD1 does the same).
    v.options.set("performance.readdir-ahead", "off");
    let g = client_volfile(&v, ClientKind::Fuse).unwrap();
    assert_eq!(
        rda(&g, "p-readdir-ahead-0", "rda-cache-limit").as_deref(),
        Some("8KB")
    );
    // One DHT child: one readdir-ahead under DHT, nothing to share.
    let mut one = volume("o", VolumeType::Replicate { replica: 2 }, 2);
    one.options.set("performance.parallel-readdir", "on");
    one.options.set("performance.readdir-ahead", "on");
    let g = client_volfile(&one, ClientKind::Fuse).unwrap();
    assert_eq!(
        rda(&g, "o-readdir-ahead-0", "rda-cache-limit").as_deref(),
        Some("10MB")
    );
    // A size it cannot share is refused.
    for bad in ["0", "lots"] {
        v.options.set("performance.readdir-ahead", "on");
        v.options.set("performance.rda-cache-limit", bad);
        assert!(
            matches!(
                client_volfile(&v, ClientKind::Fuse),
                Err(Error::InvalidOption { ref key, .. }) if key == "performance.rda-cache-limit"
            ),
            "{bad}"
        );
    }
}

#[test]
fn refuses_what_it_cannot_generate() {
    let v = volume("x", VolumeType::Distribute, 1);
    assert_eq!(
        brick_volfile(&v, 1, &BrickEnv::default()),
        Err(Error::NoSuchBrick {
            volume: "x".into(),
            position: 1
        })
    );
    let mut u = v.clone();
    u.options.set("features.uss", "on");
    assert!(matches!(
        client_volfile(&u, ClientKind::Fuse),
        Err(Error::Unsupported { .. })
    ));
    u.options.set("features.uss", "off");
    client_volfile(&u, ClientKind::Fuse).unwrap();
    let mut b = v.clone();
    b.options.set("performance.quick-read", "maybe");
    assert!(matches!(
        client_volfile(&b, ClientKind::Fuse),
        Err(Error::InvalidOption { .. })
    ));
    let mut s = v.clone();
    s.options.set("performance.cache-size", "64 MB");
    assert!(matches!(
        client_volfile(&s, ClientKind::Fuse),
        Err(Error::InvalidOption { .. })
    ));
    let mut w = v.clone();
    w.options.set("features.read-only", "on");
    w.options.set("features.worm", "on");
    assert!(brick_volfile(&w, 0, &BrickEnv::default()).is_err());
    let mut n = v.clone();
    n.name = "no spaces".into();
    assert!(matches!(
        client_volfile(&n, ClientKind::Fuse),
        Err(Error::InvalidVolume(_))
    ));
    assert_eq!(shd_volfile(&[]), Err(Error::NothingToHeal));
    let r = volume("r", VolumeType::Replicate { replica: 2 }, 2);
    assert!(matches!(
        shd_volfile(&[r.clone(), r]),
        Err(Error::InvalidVolume(_))
    ));
}

#[test]
fn unknown_and_user_options_are_ignored() {
    let plain = volume("i", VolumeType::Distribute, 1);
    let mut v = plain.clone();
    v.options.set("user.cifs", "off");
    v.options
        .set("no.such-option", "has spaces but is never written");
    assert_eq!(
        client_volfile(&v, ClientKind::Fuse),
        client_volfile(&plain, ClientKind::Fuse)
    );
}

#[test]
fn another_option_table_plugs_in() {
    let mut entries = OptionTable::builtin().entries().to_vec();
    entries.push(OptionEntry {
        key: "cluster.eager-lock".into(),
        xlator_type: "cluster/replicate".into(),
        action: Action::Set("eager-lock".into()),
        default: Some("on".into()),
        graphs: Graphs::ALL,
    });
    let table = OptionTable::new(entries);
    let v = volume("t", VolumeType::Replicate { replica: 2 }, 2);
    let g = Volgen::new(&table)
        .client_volfile(&v, ClientKind::Fuse)
        .unwrap();
    let afr = g.get("t-replicate-0").unwrap();
    assert_eq!(afr.option("eager-lock"), Some("on"));
    // Newest first: the table's last entry prints first.
    assert_eq!(afr.options[0].0, "eager-lock");
    let empty = OptionTable::default();
    let bare = Volgen::new(&empty)
        .client_volfile(&v, ClientKind::Fuse)
        .unwrap();
    assert_eq!(bare.get("t-dht").unwrap().options, []);
}
