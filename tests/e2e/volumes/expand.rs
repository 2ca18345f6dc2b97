//! add-brick: a started replica 3 volume grows by a set while a mount keeps it open — the new
//! bricks run when the call returns, the mount loads the new graph, every file reads back —
//! and grows again while stopped; bad requests change nothing.

use gd_api::VolumeInfo;
use gd_testkit::*;
use serde_json::json;

use super::{VOLUME_ID_XATTR, WAIT, post_volume};

fn content(i: usize) -> Vec<u8> {
    format!("file {i} of the growing volume\n")
        .repeat(100)
        .into_bytes()
}

fn volume(t: &Three, i: usize) -> VolumeInfo {
    let (s, b) = t.api(i, "GET", "/v1/volumes/grow", None);
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b).unwrap()
}

fn brick_ids(v: &VolumeInfo) -> Vec<uuid::Uuid> {
    v.subvols
        .iter()
        .flat_map(|s| s.bricks.iter().map(|b| b.id))
        .collect()
}

/// `host:path` words for the CLI.
fn words(bricks: &[(String, std::path::PathBuf)]) -> Vec<String> {
    bricks
        .iter()
        .map(|(h, p)| format!("{h}:{}", p.display()))
        .collect()
}

#[test]
fn add_brick_grows_a_started_volume_under_a_mount_and_a_stopped_one() {
    let t = three(63);
    let first: Vec<_> = (0..3).map(|i| brick(&t, i, "g1")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "grow",
            "replicate",
            &first,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/grow/start", None);
    assert_eq!(s, 200, "{b}");
    let before = volume(&t, 0);
    let mount = Mount::new(&t.ips[0], "grow").unwrap();
    for i in 0..20 {
        std::fs::write(mount.dir.join(format!("f{i}")), content(i)).unwrap();
    }

    // Bad requests first: each refused, nothing changed, nothing marked.
    let second: Vec<_> = (0..3).map(|i| brick(&t, i, "g2")).collect();
    let w = words(&second);
    for (args, why) in [
        (vec![w[0].as_str(), w[1].as_str()], "do not make whole sets"),
        (
            vec!["replica", "2", w[0].as_str(), w[1].as_str(), w[2].as_str()],
            "has replica 3",
        ),
    ] {
        let mut all = vec!["volume", "add-brick", "grow"];
        all.extend(args);
        let out = t.cli(1, &all);
        assert!(!out.status.success(), "{all:?} is refused");
        assert!(stderr(&out).contains(why), "{all:?}: {}", stderr(&out));
    }
    let old = words(&first);
    let out = t.cli(1, &["volume", "add-brick", "grow", &old[0], &w[1], &w[2]]);
    assert!(
        stderr(&out).contains("is already in volume grow"),
        "{}",
        stderr(&out)
    );
    assert_eq!(volume(&t, 2), before, "the refusals changed nothing");
    assert!(
        second.iter().all(|(_, p)| !p.exists()),
        "nothing was made or marked"
    );

    // The started volume grows by a set: the new bricks run when the call returns.
    let out = t.cli(
        1,
        &[
            "volume",
            "add-brick",
            "grow",
            &w[0],
            &w[1],
            &w[2],
            "--create-brick-dir",
            "--allow-root-dir",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Volume grow expanded");
    let (_, b) = t.api(2, "GET", "/v1/volumes/grow/bricks", None);
    let status: Vec<gd_api::BrickStatus> = serde_json::from_value(b).unwrap();
    assert_eq!(status.len(), 6);
    assert!(status.iter().all(|b| b.online && b.pid > 0), "{status:?}");
    let after = volume(&t, 2);
    assert_eq!(after.kind, "Distributed-Replicate");
    assert_eq!(after.distribute_count, 2);
    // The bricks that were there keep their place, so their client ids stay.
    assert_eq!(
        brick_ids(&after)[..3],
        brick_ids(&before)[..],
        "old bricks first"
    );
    for (_, p) in &second {
        assert_eq!(
            xattr::get(p, VOLUME_ID_XATTR).unwrap().unwrap(),
            after.id.as_bytes()
        );
    }
    // The mount was told, and loads the graph with the new set.
    let new_set = mount.dir.join(".meta/graphs/active/grow-replicate-1");
    wait_for("the mount's graph to have the new set", WAIT, || {
        new_set.exists().then_some(())
    })
    .unwrap();
    for i in 20..40 {
        if let Err(e) = std::fs::write(mount.dir.join(format!("f{i}")), content(i)) {
            panic!("f{i}: {e}; client log:\n{}", tail(&read(&mount.log), 40));
        }
    }
    for i in 0..40 {
        assert_eq!(
            std::fs::read(mount.dir.join(format!("f{i}"))).unwrap(),
            content(i),
            "f{i}"
        );
    }
    drop(mount);

    // Stopped, it grows too, and nothing starts.
    let (s, b) = t.api(0, "POST", "/v1/volumes/grow/stop", None);
    assert_eq!(s, 200, "{b}");
    let third: Vec<_> = (0..3).map(|i| brick(&t, i, "g3")).collect();
    let body = json!({
        "bricks": third.iter().map(|(h, p)| json!({"host": h, "path": p})).collect::<Vec<_>>(),
        "flags": {"create-brick-dir": true, "allow-root-dir": true},
    });
    let (s, b) = t.api(0, "POST", "/v1/volumes/grow/expand", Some(body));
    assert_eq!(s, 200, "{b}");
    let grown: VolumeInfo = serde_json::from_value(b).unwrap();
    assert_eq!(
        (grown.distribute_count, grown.state.as_str()),
        (3, "Stopped")
    );
    let (_, b) = t.api(1, "GET", "/v1/volumes/grow/bricks", None);
    let status: Vec<gd_api::BrickStatus> = serde_json::from_value(b).unwrap();
    assert!(status.iter().all(|b| !b.online), "{status:?}");
}
