//! Our volfiles against the ones GD1 10.3 wrote for the same volumes.
//!
//! Every fixture volume is rebuilt from GD1's own record of it (`info` and `bricks/*`), then
//! every graph we generate for it is compared with GD1's file, parsed: the same translators
//! in the same order, with the same names, types, subvolumes and options, and finally the
//! same text byte for byte. Options we deliberately do not reproduce would be listed in
//! [`NOT_REPRODUCED`]; it is empty: everything GD1 writes, we write.
//!
//! The fixtures live in `tests/fixtures/gd1-volfiles` (see its README); a missing file fails
//! the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gd_volgen::{
    Brick, BrickEnv, ClientKind, Error, Graph, Transport, Volume, VolumeOptions, VolumeType,
    brick_volfile, client_volfile, rebalance_volfile, shd_volfile,
};
use uuid::Uuid;

/// `(translator type, option, why)` for each option GD1 writes and we deliberately do not.
/// Empty: host-dependent values (the bind address, marker's directory, `shared-brick-count`)
/// are inputs ([`BrickEnv`], [`Brick::fsid`]), not exceptions.
const NOT_REPRODUCED: &[(&str, &str, &str)] = &[];

/// Fixture directories and the volume each holds.
const FIXTURES: [(&str, &str); 9] = [
    ("single", "single"),
    ("dist", "dist"),
    ("rep3", "rep3"),
    ("arb", "arb"),
    ("disp", "disp"),
    ("distrep", "distrep"),
    ("rep3-after-set", "rep3"),
    ("distrep-samba", "distrep"),
    ("dist-prda", "dist"),
];

/// The fixtures made by `volume set` after create.
const AFTER_SET: [&str; 3] = ["rep3-after-set", "distrep-samba", "dist-prda"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gd1-volfiles")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("fixture {} is missing or unreadable: {e}", path.display()))
}

/// `key=value` lines, in order.
fn key_values(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not key=value: {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The volume GD1 recorded in `<dir>/info` and `<dir>/bricks/*`.
fn volume_from_gd1(dir: &str, name: &str) -> Volume {
    let base = fixtures().join(dir);
    let info = key_values(&read(&base.join("info")));
    let get = |key: &str| -> &str {
        info.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{dir}/info has no {key}"))
    };
    let count = |key: &str| -> usize { get(key).parse().unwrap() };
    let arbiter = info.iter().any(|(k, v)| k == "arbiter_count" && v == "1");
    let volume_type = match get("type") {
        "0" => VolumeType::Distribute,
        "2" if arbiter => VolumeType::Arbiter,
        "2" => VolumeType::Replicate {
            replica: count("replica_count"),
        },
        "4" => VolumeType::Disperse {
            disperse: count("disperse_count"),
            redundancy: count("redundancy_count"),
        },
        other => panic!("{dir}: unexpected volume type {other}"),
    };
    assert_eq!(get("transport-type"), "0", "tcp");
    let mut bricks = Vec::new();
    for position in 0..count("count") {
        let record = get(&format!("brick-{position}"));
        let b = key_values(&read(&base.join("bricks").join(record)));
        let field = |key: &str| -> String {
            b.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("brick {record} has no {key}"))
        };
        let brick_id = field("brick-id");
        let index = brick_id
            .strip_prefix(&format!("{name}-client-"))
            .unwrap_or_else(|| panic!("brick-id {brick_id}"))
            .parse()
            .unwrap();
        bricks.push(Brick {
            peer_id: field("uuid").parse().unwrap(),
            host: field("hostname"),
            path: field("path"),
            index,
            fsid: Some(field("brick-fsid").parse().unwrap()),
        });
    }
    // Everything after GD1's fixed fields with a dot in its key is a volume option.
    let options: VolumeOptions = info
        .iter()
        .filter(|(k, _)| k.contains('.'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Volume {
        name: name.to_string(),
        id: get("volume-id").parse().unwrap(),
        volume_type,
        transport: Transport::Tcp,
        bricks,
        username: get("username").parse().unwrap(),
        password: get("password").parse().unwrap(),
        quota_version: get("quota-version").parse().unwrap(),
        options,
        decommissioned: Vec::new(),
    }
}

fn gd1_graph(dir: &str, file: &str) -> (Graph, String) {
    let text = read(&fixtures().join(dir).join(file));
    let graph = Graph::parse(&text).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"));
    (graph, text)
}

fn without_not_reproduced(graph: &Graph) -> Graph {
    let mut graph = graph.clone();
    for xl in &mut graph.xlators {
        let xl_type = xl.xl_type.clone();
        xl.options.retain(|(k, _)| {
            !NOT_REPRODUCED
                .iter()
                .any(|(t, o, _)| *t == xl_type && o == k)
        });
    }
    graph
}

/// Compares structure first (for a readable failure), then the exact text.
fn assert_same(ours: &Graph, gd1: &Graph, what: &str) {
    let ours = without_not_reproduced(ours);
    let gd1 = without_not_reproduced(gd1);
    let names = |g: &Graph| g.xlators.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&gd1), "{what}: translators");
    for (o, g) in ours.xlators.iter().zip(&gd1.xlators) {
        assert_eq!(o.xl_type, g.xl_type, "{what}: type of {}", o.name);
        assert_eq!(
            o.subvolumes, g.subvolumes,
            "{what}: subvolumes of {}",
            o.name
        );
        let map = |x: &gd_volgen::Xlator| x.options.iter().cloned().collect::<BTreeMap<_, _>>();
        assert_eq!(map(o), map(g), "{what}: options of {}", o.name);
        assert_eq!(o.options, g.options, "{what}: option order of {}", o.name);
    }
    assert_eq!(
        ours.to_volfile().unwrap(),
        gd1.to_volfile().unwrap(),
        "{what}: text"
    );
}

#[test]
fn every_fixture_volfile_round_trips_through_the_parser() {
    let mut files = Vec::new();
    for (dir, _) in FIXTURES {
        for entry in std::fs::read_dir(fixtures().join(dir)).expect("fixture directory") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "vol") {
                files.push(path);
            }
        }
    }
    // 9 volumes: 34 brick files, 18 client, 6 self-heal, 18 gfproxy, 4 rebalance.
    assert_eq!(files.len(), 80, "fixture volfiles: {files:?}");
    for path in files {
        let text = read(&path);
        let graph = Graph::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(graph.to_volfile().unwrap(), text, "{}", path.display());
    }
}

#[test]
fn info_options_are_gd1_create_defaults() {
    for (dir, name) in FIXTURES {
        if AFTER_SET.contains(&dir) {
            continue;
        }
        let vol = volume_from_gd1(dir, name);
        assert_eq!(
            vol.options,
            VolumeOptions::create_defaults(&vol.volume_type),
            "{dir}"
        );
    }
    let after = volume_from_gd1("rep3-after-set", "rep3");
    assert_eq!(after.options.get("performance.cache-size"), Some("64MB"));
    assert_eq!(after.options.get("cluster.quorum-type"), Some("auto"));
    assert_eq!(after.options.get("features.shard"), Some("on"));
    let samba = volume_from_gd1("distrep-samba", "distrep");
    assert_eq!(
        samba.options.get("performance.parallel-readdir"),
        Some("on")
    );
    assert_eq!(samba.options.get("performance.readdir-ahead"), Some("on"));
    let prda = volume_from_gd1("dist-prda", "dist");
    assert_eq!(prda.options.get("performance.parallel-readdir"), Some("on"));
    assert_eq!(prda.options.get("performance.readdir-ahead"), None);
}

#[test]
fn brick_volfiles_match_gd1() {
    let mut compared = 0;
    for (dir, name) in FIXTURES {
        let vol = volume_from_gd1(dir, name);
        for (position, brick) in vol.bricks.iter().enumerate() {
            // GD1 ran with a bind address, so its bricks bind to their host.
            let env = BrickEnv {
                bind_address: Some(brick.host.clone()),
                ..BrickEnv::default()
            };
            let ours = brick_volfile(&vol, position, &env).unwrap();
            let file = format!("{}.vol", brick.volfile_id(name));
            let (gd1, text) = gd1_graph(dir, &file);
            assert_same(&ours, &gd1, &format!("{dir}/{file}"));
            assert_eq!(ours.to_string(), text, "{dir}/{file}");
            compared += 1;
        }
    }
    assert_eq!(compared, 34);
}

#[test]
fn client_volfiles_match_gd1() {
    for (dir, name) in FIXTURES {
        let vol = volume_from_gd1(dir, name);
        for (kind, file) in [
            (ClientKind::Fuse, format!("{name}.tcp-fuse.vol")),
            (ClientKind::Gfapi, format!("{name}.tcp-fuse.vol")),
            (
                ClientKind::TrustedFuse,
                format!("trusted-{name}.tcp-fuse.vol"),
            ),
        ] {
            let ours = client_volfile(&vol, kind).unwrap();
            let (gd1, text) = gd1_graph(dir, &file);
            assert_same(&ours, &gd1, &format!("{dir}/{file} ({kind:?})"));
            assert_eq!(ours.to_string(), text, "{dir}/{file}");
        }
    }
}

#[test]
fn shd_volfiles_match_gd1() {
    let mut compared = 0;
    for (dir, name) in FIXTURES {
        let vol = volume_from_gd1(dir, name);
        let file = format!("{name}-shd.vol");
        if !vol.volume_type.heals() {
            assert_eq!(
                shd_volfile(std::slice::from_ref(&vol)),
                Err(Error::NothingToHeal)
            );
            assert!(!fixtures().join(dir).join(&file).exists(), "{dir}/{file}");
            continue;
        }
        let ours = shd_volfile(std::slice::from_ref(&vol)).unwrap();
        let (gd1, text) = gd1_graph(dir, &file);
        assert_same(&ours, &gd1, &format!("{dir}/{file}"));
        assert_eq!(ours.to_string(), text, "{dir}/{file}");
        compared += 1;
    }
    assert_eq!(compared, 6);
}

#[test]
fn rebalance_volfiles_match_gd1() {
    let mut compared = 0;
    for (dir, name) in FIXTURES {
        let vol = volume_from_gd1(dir, name);
        let file = format!("{name}-rebalance.vol");
        if !fixtures().join(dir).join(&file).exists() {
            // GD1 writes none for a volume of one set; we refuse to build one.
            assert_eq!(
                rebalance_volfile(&vol),
                Err(Error::NothingToRebalance(name.to_owned())),
                "{dir}"
            );
            continue;
        }
        let ours = rebalance_volfile(&vol).unwrap();
        let (gd1, text) = gd1_graph(dir, &file);
        assert_same(&ours, &gd1, &format!("{dir}/{file}"));
        assert_eq!(ours.to_string(), text, "{dir}/{file}");
        compared += 1;
    }
    assert_eq!(compared, 4);
}

#[test]
fn combined_shd_graph_holds_every_healing_volume() {
    let vols: Vec<Volume> = ["dist", "rep3", "arb", "disp", "distrep"]
        .iter()
        .map(|d| volume_from_gd1(d, d))
        .collect();
    let g = shd_volfile(&vols).unwrap();
    let top = g.top().unwrap();
    assert_eq!(top.name, "glustershd");
    assert_eq!(
        top.subvolumes,
        [
            "rep3-replicate-0",
            "arb-replicate-0",
            "disp-disperse-0",
            "distrep-replicate-0",
            "distrep-replicate-1"
        ]
    );
    assert!(g.xlators.iter().all(|x| !x.name.starts_with("dist-")));
    // Each volume's part is exactly its own self-heal graph without the top.
    for vol in &vols[1..] {
        let own = shd_volfile(std::slice::from_ref(vol)).unwrap();
        let own_part = &own.xlators[..own.xlators.len() - 1];
        let start = g
            .xlators
            .iter()
            .position(|x| x.name == own_part[0].name)
            .unwrap();
        assert_eq!(&g.xlators[start..start + own_part.len()], own_part);
    }
    assert_eq!(Graph::parse(&g.to_volfile().unwrap()).unwrap(), g);
}

#[test]
fn fixtures_use_the_documented_volume_ids() {
    // A guard against a fixture being swapped: ids from `gluster volume info`.
    let ids = [
        ("single", "61d8eb2f-a1cc-4edd-b630-8fa5b9eb0c7d"),
        ("dist", "2a9cd4b0-7a08-4357-8753-886dba421d69"),
        ("rep3", "ef2a2918-090c-42b9-b531-bcffda7fc00e"),
        ("arb", "aa273853-2c7b-4f96-b013-ceec45ce47e8"),
        ("disp", "a3264748-2d68-420e-b914-b23686eef973"),
        ("distrep", "8272eb3a-b0c1-4085-85cf-f5e39880f235"),
        ("rep3-after-set", "ef2a2918-090c-42b9-b531-bcffda7fc00e"),
        ("distrep-samba", "1280705a-89e5-4406-b8b9-c98efe2077d2"),
        ("dist-prda", "5de9dea5-e946-4358-8245-c0cb722ff16d"),
    ];
    for (dir, id) in ids {
        let name = FIXTURES.iter().find(|(d, _)| *d == dir).unwrap().1;
        assert_eq!(volume_from_gd1(dir, name).id, id.parse::<Uuid>().unwrap());
    }
}
