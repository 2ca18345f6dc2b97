//! Properties: the parser never panics on any input, printing and parsing are inverse on every
//! valid graph, and generation succeeds with a loadable graph for every valid volume.

use gd_volgen::{
    Brick, BrickEnv, ClientKind, Graph, Transport, Volume, VolumeOptions, VolumeType, Xlator,
    brick_volfile, client_volfile, shd_volfile,
};
use proptest::prelude::*;
use uuid::Uuid;

const FIXTURE: &str = include_str!("fixtures/gd1-volfiles/rep3/rep3-shd.vol");

/// Pieces of volfile syntax, so that random input reaches deep parser states.
fn token_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("volume".to_string()),
        Just("type".to_string()),
        Just("option".to_string()),
        Just("subvolumes".to_string()),
        Just("subvolumeS".to_string()),
        Just("end-volume".to_string()),
        Just("\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("#".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("`".to_string()),
        "[a-c]{1,2}".prop_map(|s| s),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|v| v.join(" "))
}

/// One word for a graph: anything the printer must handle, keywords and quotes included.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\\p{Cc}`]{1,6}",
        Just("volume".to_string()),
        Just("end-volume".to_string()),
        Just("Subvolumes".to_string()),
        Just("#x".to_string()),
        Just("a\"b\\c".to_string()),
    ]
}

fn graph() -> impl Strategy<Value = Graph> {
    let xlator = (
        word(),
        word(),
        prop::collection::vec((word(), word()), 0..4),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    );
    prop::collection::vec(xlator, 1..8).prop_map(|specs| {
        let mut g = Graph::default();
        for (i, (name, xl_type, options, children)) in specs.into_iter().enumerate() {
            let mut xl = Xlator::new(format!("{name}{i}"), xl_type);
            for (k, v) in options {
                if xl.option(&k).is_none() {
                    xl.options.push((k, v));
                }
            }
            if i > 0 {
                for c in children {
                    let child = g.xlators[c.index(i)].name.clone();
                    if !xl.subvolumes.contains(&child) {
                        xl.subvolumes.push(child);
                    }
                }
            }
            g.xlators.push(xl);
        }
        g
    })
}

fn volume_type() -> impl Strategy<Value = VolumeType> {
    prop_oneof![
        Just(VolumeType::Distribute),
        (2usize..5).prop_map(|replica| VolumeType::Replicate { replica }),
        Just(VolumeType::Arbiter),
        (3usize..9).prop_flat_map(|disperse| {
            (1..=(disperse - 1) / 2).prop_map(move |redundancy| VolumeType::Disperse {
                disperse,
                redundancy,
            })
        }),
    ]
}

/// Options the built-in table knows, with values glusterfs accepts.
const OPTIONS: [(&str, &[&str]); 14] = [
    ("performance.cache-size", &["64MB", "1GB"]),
    ("cluster.quorum-type", &["auto", "fixed", "none"]),
    ("features.shard", &["on", "off"]),
    ("performance.client-io-threads", &["on", "off"]),
    ("performance.read-ahead", &["on", "off"]),
    ("performance.io-cache", &["on", "off"]),
    ("performance.nl-cache", &["on", "off"]),
    ("performance.readdir-ahead", &["on", "off"]),
    ("features.ctime", &["on", "off"]),
    ("features.acl", &["enable", "disable"]),
    ("auth.allow", &["*", "10.0.0.*"]),
    ("diagnostics.brick-log-level", &["INFO", "DEBUG"]),
    ("server.manage-gids", &["on", "off"]),
    ("cluster.heal-timeout", &["600", "10"]),
];

fn volume() -> impl Strategy<Value = Volume> {
    (
        volume_type(),
        1usize..4,
        prop::collection::vec((0..OPTIONS.len(), any::<prop::sample::Index>()), 0..8),
        any::<u128>(),
    )
        .prop_map(|(volume_type, sets, picks, id)| {
            let mut options = VolumeOptions::create_defaults(&volume_type);
            for (o, v) in picks {
                let (key, values) = OPTIONS[o];
                options.set(key, values[v.index(values.len())]);
            }
            let bricks = volume_type.set_size() * sets;
            Volume {
                name: "pv".into(),
                id: Uuid::from_u128(id),
                volume_type,
                transport: Transport::Tcp,
                bricks: (0..bricks)
                    .map(|i| Brick {
                        peer_id: Uuid::from_u128((i % 3) as u128),
                        host: format!("127.0.0.{}", 2 + i % 3),
                        path: format!("/bricks/pv/b{i}"),
                        index: i,
                        fsid: Some((i % 2) as u64),
                    })
                    .collect(),
                username: Uuid::from_u128(id ^ 1),
                password: Uuid::from_u128(id ^ 2),
                quota_version: 0,
                options,
                decommissioned: Vec::new(),
            }
        })
}

fn loads(g: &Graph) {
    g.validate().unwrap();
    assert_eq!(&Graph::parse(&g.to_volfile().unwrap()).unwrap(), g);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_any_string(text in any::<String>()) {
        if let Ok(g) = Graph::parse(&text) {
            g.validate().unwrap();
        }
    }

    #[test]
    fn parser_never_panics_on_volfile_like_text(text in token_soup()) {
        if let Ok(g) = Graph::parse(&text) {
            // Whatever parses is valid and prints back to text that parses the same.
            let printed = g.to_volfile().unwrap();
            prop_assert_eq!(Graph::parse(&printed).unwrap(), g);
        }
    }

    #[test]
    fn parser_never_panics_on_mutated_gd1_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..8)
    ) {
        let mut chars: Vec<char> = FIXTURE.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(chars.len() + 1);
            match op {
                0 if i < chars.len() => { chars.remove(i); }
                1 => chars.insert(i, c),
                _ if i < chars.len() => chars[i] = c,
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(g) = Graph::parse(&text) {
            g.validate().unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn printing_then_parsing_gives_back_the_graph(g in graph()) {
        g.validate().unwrap();
        let text = g.to_volfile().unwrap();
        prop_assert_eq!(Graph::parse(&text).unwrap(), g);
    }

    #[test]
    fn every_valid_volume_generates_loadable_graphs(vol in volume()) {
        vol.validate().unwrap();
        for position in 0..vol.bricks.len() {
            loads(&brick_volfile(&vol, position, &BrickEnv::default()).unwrap());
        }
        for kind in [ClientKind::Fuse, ClientKind::TrustedFuse, ClientKind::Gfapi] {
            let g = client_volfile(&vol, kind).unwrap();
            prop_assert_eq!(&g.top().unwrap().name, &vol.name);
            loads(&g);
        }
        match shd_volfile(std::slice::from_ref(&vol)) {
            Ok(g) => loads(&g),
            Err(e) => prop_assert!(!vol.volume_type.heals(), "{e}"),
        }
    }
}
