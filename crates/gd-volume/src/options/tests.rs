//! The catalog against the installed GlusterFS (the test command installs it: these tests
//! fail, never skip, without it) and GD1's volfiles.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::LazyLock,
};

use gd_api::{BrickKind, ErrorCode, OptionGroup, SubvolType};
use gd_core::OpError;
use gd_volgen::{ClientKind, Volgen};
use uuid::Uuid;

use super::*;
use crate::model::{BrickRecord, SubvolRecord, VolumeAuth, VolumeRecord, VolumeState};

static INSTALLED: LazyLock<Catalog> = LazyLock::new(|| {
    let c = Catalog::load(None);
    assert!(
        c.missing.is_none(),
        "GlusterFS's xlators must be installed for these tests (scripts/setup.sh): {:?}",
        c.missing
    );
    c
});

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../gd-volgen/tests/fixtures/gd1-volfiles")
}

fn fixture(dir: &str, file: &str) -> String {
    std::fs::read_to_string(fixtures().join(dir).join(file)).unwrap()
}

/// A replica-3 volume of GD1's fixtures: `sets` replica sets of bricks
/// `127.1.1.1:/data/bricks/<name>/b<n>`, GD1's ids (`[volume-id, username, password]` from its
/// `info`), and the options GD1 gave it at create.
fn gd1_replica3(name: &str, sets: u32, ids: [&str; 3]) -> VolumeRecord {
    let brick = |n: u32| BrickRecord {
        id: Uuid::new_v4(),
        peer_id: Uuid::new_v4(),
        host: "127.1.1.1".into(),
        path: format!("/data/bricks/{name}/b{n}"),
        kind: BrickKind::Brick,
        index: None,
        reset: false,
    };
    let [id, username, password] = ids.map(|s| s.parse::<Uuid>().unwrap());
    let mut v = VolumeRecord {
        id,
        name: name.into(),
        transport: "tcp".into(),
        state: VolumeState::Started,
        subvols: (0..sets)
            .map(|k| SubvolRecord {
                kind: SubvolType::Replicate,
                replica: 3,
                arbiter: 0,
                disperse: 0,
                redundancy: 0,
                bricks: (3 * k + 1..3 * k + 4).map(brick).collect(),
                pending: false,
                decommissioned: false,
            })
            .collect(),
        options: BTreeMap::new(),
        metadata: BTreeMap::new(),
        auth: VolumeAuth { username, password },
    };
    v.options = crate::model::create_defaults(&v);
    v
}

/// GD1's `rep3` volume.
fn rep3() -> VolumeRecord {
    gd1_replica3(
        "rep3",
        1,
        [
            "ef2a2918-090c-42b9-b531-bcffda7fc00e",
            "c5b55805-d08c-4074-808b-36dcaed2de7c",
            "123535b9-df9d-4d6a-a413-81aaf09afba9",
        ],
    )
}

fn no_groups(_: &str) -> Option<OptionGroup> {
    None
}

fn req(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn client_volfile(c: &Catalog, v: &VolumeRecord, kind: ClientKind) -> String {
    let table = c.volgen_table(&v.options);
    Volgen::new(&table)
        .client_volfile(&v.to_volgen(), kind)
        .unwrap()
        .to_volfile()
        .unwrap()
}

fn shd_volfile(c: &Catalog, v: &VolumeRecord) -> String {
    let table = c.volgen_table(&v.options);
    Volgen::new(&table)
        .shd_volfile(&[v.to_volgen()])
        .unwrap()
        .to_volfile()
        .unwrap()
}

fn set(c: &Catalog, v: &mut VolumeRecord, pairs: &[(&str, &str)]) -> Result<Vec<String>, OpError> {
    let change = c.set(v, &req(pairs), &no_groups)?;
    v.options = change.options;
    Ok(change.keys)
}

fn code(e: &OpError) -> u32 {
    e.body().errors[0].code
}

#[test]
fn gd1_volume_set_gives_gd1_volfiles_in_every_spelling() {
    let c = &*INSTALLED;
    let spellings: [&[(&str, &str)]; 3] = [
        &[
            ("performance.cache-size", "64MB"),
            ("cluster.quorum-type", "auto"),
            ("features.shard", "on"),
        ],
        &[
            ("performance.cache-size", "64MB"),
            ("replicate.quorum-type", "auto"),
            ("shard", "on"),
        ],
        &[
            ("performance.cache-size", "64MB"),
            ("cluster/afr.quorum-type", "auto"),
            ("features/shard", "on"),
        ],
    ];
    for pairs in spellings {
        let mut v = rep3();
        let keys = set(c, &mut v, pairs).unwrap();
        assert_eq!(
            keys.iter().collect::<BTreeSet<_>>(),
            [
                "performance.cache-size",
                "cluster.quorum-type",
                "features.shard"
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
            .iter()
            .collect(),
            "{pairs:?} is stored under GD1's names"
        );
        assert_eq!(
            client_volfile(c, &v, ClientKind::Fuse),
            fixture("rep3-after-set", "rep3.tcp-fuse.vol"),
            "{pairs:?}"
        );
        assert_eq!(
            client_volfile(c, &v, ClientKind::TrustedFuse),
            fixture("rep3-after-set", "trusted-rep3.tcp-fuse.vol"),
            "{pairs:?}"
        );
        assert_eq!(
            shd_volfile(c, &v),
            fixture("rep3-after-set", "rep3-shd.vol"),
            "{pairs:?}"
        );
    }
    // Before the set, the same code gives GD1's volfiles of the fresh volume.
    let v = rep3();
    assert_eq!(
        client_volfile(c, &v, ClientKind::Fuse),
        fixture("rep3", "rep3.tcp-fuse.vol")
    );
}

#[test]
fn a_key_volgen_does_not_know_lands_on_its_xlator() {
    let c = &*INSTALLED;
    let mut v = rep3();
    let keys = set(
        c,
        &mut v,
        &[("performance.write-behind-window-size", "4MB")],
    )
    .unwrap();
    assert_eq!(keys, ["performance.write-behind-window-size"]);
    let text = client_volfile(c, &v, ClientKind::Fuse);
    let wb = text
        .split("end-volume")
        .find(|x| x.contains("volume rep3-write-behind"))
        .unwrap();
    assert!(wb.contains("option cache-size 4MB"), "{wb}");
    // Another spelling of the same option replaces the value instead of adding a second one.
    set(c, &mut v, &[("write-behind.cache-size", "8MB")]).unwrap();
    assert!(
        !v.options
            .contains_key("performance.write-behind-window-size")
    );
    assert_eq!(v.options.get("write-behind.cache-size").unwrap(), "8MB");
    let text = client_volfile(c, &v, ClientKind::Fuse);
    assert!(text.contains("option cache-size 8MB") && !text.contains("4MB"));
    // Bricks do not carry write-behind: their volfiles are untouched.
    let table = c.volgen_table(&v.options);
    let env = gd_volgen::BrickEnv {
        bind_address: Some("127.1.1.1".into()),
        workdir: "/var/lib/glusterd".into(),
    };
    let brick = Volgen::new(&table)
        .brick_volfile(&v.to_volgen(), 0, &env)
        .unwrap()
        .to_volfile()
        .unwrap();
    assert!(!brick.contains("8MB"));
    // Several at once, one of them a brick option.
    set(
        c,
        &mut v,
        &[
            ("performance.io-thread-count", "32"),
            ("network.ping-timeout", "10"),
        ],
    )
    .unwrap();
    let text = client_volfile(c, &v, ClientKind::Fuse);
    assert!(text.contains("option ping-timeout 10") && !text.contains("ping-timeout 42"));
    let brick = Volgen::new(&c.volgen_table(&v.options))
        .brick_volfile(&v.to_volgen(), 0, &env)
        .unwrap()
        .to_volfile()
        .unwrap();
    assert!(brick.contains("option thread-count 32"), "{brick}");
}

#[test]
fn bad_keys_and_values_are_refused_naming_the_key() {
    let c = &*INSTALLED;
    let v = rep3();
    let refuse = |pairs: &[(&str, &str)], expect: &str| {
        let e = c.set(&v, &req(pairs), &no_groups).unwrap_err();
        assert_eq!(code(&e), ErrorCode::InvalidRequest.as_u32(), "{pairs:?}");
        let body = e.body();
        let msg = &body.errors[0].message;
        assert!(msg.contains(expect), "{pairs:?}: {msg}");
        msg.clone()
    };
    let m = refuse(
        &[("performance.write-behind-window-size", "lots")],
        "performance.write-behind-window-size",
    );
    assert!(m.contains("sizet") || m.contains("size"), "{m}");
    let m = refuse(
        &[("cluster.quorum-type", "sometimes")],
        "cluster.quorum-type",
    );
    assert!(
        m.contains("auto") && m.contains("fixed"),
        "the allowed values: {m}"
    );
    refuse(
        &[("performance.no-such-thing", "on")],
        "performance.no-such-thing",
    );
    refuse(&[("cluster.quorum-count", "-5")], "cluster.quorum-count");
    // Derived from the layout: refused even though the xlator has the option.
    refuse(&[("storage.directory", "/tmp")], "derived");
    refuse(&[("cluster/replicate.afr-pending-xattr", "x")], "derived");
    refuse(&[("protocol/client.remote-host", "evil")], "derived");
    // One bad key spoils the whole request.
    refuse(
        &[("cluster.quorum-type", "auto"), ("performance.nope", "1")],
        "performance.nope",
    );
    // A feature volgen cannot generate yet is refused before anything is stored.
    refuse(&[("features.uss", "on")], "features.uss");
    // Values that could not be written into a volfile.
    refuse(&[("user.note", "two words\n")], "user.note");
    assert_eq!(
        code(&c.set(&v, &BTreeMap::new(), &no_groups).unwrap_err()),
        ErrorCode::InvalidRequest.as_u32()
    );
}

#[test]
fn reset_one_group_or_all() {
    let c = &*INSTALLED;
    let mut v = rep3();
    let fresh = v.options.clone();
    set(
        c,
        &mut v,
        &[
            ("performance.write-behind-window-size", "4MB"),
            ("cluster.quorum-type", "auto"),
            ("user.owner", "ops"),
        ],
    )
    .unwrap();
    // Any spelling resets it.
    let after = c
        .reset(&v, &["write-behind.window-size".into()], false, &no_groups)
        .unwrap();
    assert!(!after.contains_key("performance.write-behind-window-size"));
    assert_eq!(after.get("cluster.quorum-type").unwrap(), "auto");
    // Resetting what is not set changes nothing; an unknown key is an error.
    assert_eq!(
        c.reset(&v, &["network.ping-timeout".into()], false, &no_groups)
            .unwrap(),
        v.options
    );
    assert!(
        c.reset(&v, &["network.bogus".into()], false, &no_groups)
            .is_err()
    );
    // Everything: back to a new volume's options.
    assert_eq!(c.reset(&v, &[], true, &no_groups).unwrap(), fresh);
    assert!(c.reset(&v, &[], false, &no_groups).is_err());
    assert!(c.reset(&v, &["x.y".into()], true, &no_groups).is_err());
}

#[test]
fn groups_expand_on_and_off() {
    let c = &*INSTALLED;
    let lookup = |name: &str| builtin_group(name);
    let mut v = rep3();
    let change = c.set(&v, &req(&[("group", "virt")]), &lookup).unwrap();
    v.options = change.options;
    assert_eq!(v.options.get("features.shard").unwrap(), "on");
    assert_eq!(v.options.get("user.cifs").unwrap(), "off");
    assert_eq!(v.options.get("cluster.quorum-type").unwrap(), "auto");
    let text = client_volfile(c, &v, ClientKind::Fuse);
    assert!(text.contains("type features/shard"));
    assert!(!text.contains("type performance/quick-read"));
    // `<group> off` resets the group's options.
    let off = c.set(&v, &req(&[("virt", "off")]), &lookup).unwrap();
    assert!(!off.options.contains_key("features.shard"));
    assert!(!off.options.contains_key("cluster.quorum-type"));
    // An unknown group or a bad value for one.
    assert!(c.set(&v, &req(&[("group", "nope")]), &lookup).is_err());
    assert!(c.set(&v, &req(&[("virt", "maybe")]), &lookup).is_err());
}

#[test]
fn every_builtin_group_is_valid_for_the_installed_glusterfs() {
    let c = &*INSTALLED;
    for g in builtin_groups() {
        c.check_group(&g.options)
            .unwrap_or_else(|e| panic!("group {}: {:?}", g.name, e));
        c.set(&rep3(), &req(&[("group", &g.name)]), &|n| builtin_group(n))
            .unwrap_or_else(|e| panic!("group {}: {:?}", g.name, e));
    }
}

#[test]
fn group_samba_gives_gd1_volfiles() {
    // GD1's `distrep` of the `distrep-samba` fixture: replica 3 over 6 bricks, then
    // `volume set distrep group samba` (parallel-readdir: a readdir-ahead under DHT per
    // replica set, sharing the cache).
    let c = &*INSTALLED;
    let mut v = gd1_replica3(
        "distrep",
        2,
        [
            "1280705a-89e5-4406-b8b9-c98efe2077d2",
            "2254518a-48d9-4f03-a784-c778ff374e8a",
            "bfe8ae08-ea8a-4210-a1bd-6dcc833efb72",
        ],
    );
    v.options = c
        .set(&v, &req(&[("group", "samba")]), &|n| builtin_group(n))
        .unwrap()
        .options;
    assert_eq!(
        client_volfile(c, &v, ClientKind::Fuse),
        fixture("distrep-samba", "distrep.tcp-fuse.vol")
    );
    assert_eq!(
        client_volfile(c, &v, ClientKind::TrustedFuse),
        fixture("distrep-samba", "trusted-distrep.tcp-fuse.vol")
    );
    assert_eq!(
        shd_volfile(c, &v),
        fixture("distrep-samba", "distrep-shd.vol")
    );
}

#[test]
fn get_and_list_report_values_defaults_and_levels() {
    let c = &*INSTALLED;
    let mut v = rep3();
    set(
        c,
        &mut v,
        &[("performance.write-behind-window-size", "4MB")],
    )
    .unwrap();
    let one = c
        .describe(&v.options, "performance.write-behind-window-size")
        .unwrap();
    assert!(one.modified);
    assert_eq!(one.value, "4MB");
    assert_eq!(one.default_value, "1MB");
    assert_eq!(one.kind, "sizet");
    // The same option under another spelling.
    assert_eq!(
        c.describe(&v.options, "performance/write-behind.window-size")
            .unwrap()
            .value,
        "4MB"
    );
    // Defaults are what volgen writes: GD1 turns write-behind on, its xlator says off.
    let wb = c.describe(&v.options, "performance.write-behind").unwrap();
    assert!(!wb.modified);
    assert_eq!(wb.default_value, "on");
    assert!(c.describe(&v.options, "bogus.key").is_err());

    let all = c.list(&v.options).unwrap();
    assert!(all.len() > 300, "{} options", all.len());
    let wbs: Vec<_> = all
        .iter()
        .filter(|o| o.key == "performance/write-behind.cache-size")
        .collect();
    assert_eq!(wbs.len(), 1);
    assert!(wbs[0].modified && wbs[0].value == "4MB");
    assert_eq!(all.iter().filter(|o| o.modified).count(), v.options.len());
    // nfs.disable (no gNFS xlator is installed) is still shown as set.
    assert!(all.iter().any(|o| o.key == "nfs.disable" && o.modified));
}

#[test]
fn without_glusterfs_option_operations_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalog::load(Some(dir.path()));
    assert!(c.missing.is_some());
    let v = rep3();
    for e in [
        c.set(&v, &req(&[("cluster.quorum-type", "auto")]), &no_groups)
            .unwrap_err(),
        c.list(&v.options).unwrap_err(),
        c.describe(&v.options, "cluster.quorum-type").unwrap_err(),
        c.reset(&v, &[], true, &no_groups).unwrap_err(),
    ] {
        assert_eq!(code(&e), ErrorCode::NotAvailable.as_u32());
        assert!(e.body().errors[0].message.contains("install"), "{:?}", e);
    }
    // Volfiles still generate: volgen's own table does not need the xlators.
    assert_eq!(
        client_volfile(&c, &v, ClientKind::Fuse),
        fixture("rep3", "rep3.tcp-fuse.vol")
    );
}
