//! reset-brick: a brick of a replica 3 volume under an open mount is taken out of service (its
//! process stops, and stays stopped across a restart of its node's glusterd2), its disk is
//! destroyed and made anew at the same path, and the brick is brought back: the self-heal
//! daemons fill it with every file, also those written while it was out. A commit before the
//! start, and one onto the old disk's data without force, are refused and change nothing.

use std::{path::Path, time::Duration};

use gd_api::{BrickStatus, VolumeInfo};
use gd_testkit::*;
use serde_json::json;

use super::post_volume;

const FILES: usize = 60;

fn content(i: usize) -> Vec<u8> {
    format!("file {i} of a volume whose brick is reset\n")
        .repeat(80 + i)
        .into_bytes()
}

fn volume(t: &Three) -> VolumeInfo {
    let (s, b) = t.api(0, "GET", "/v1/volumes/rs", None);
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b).unwrap()
}

fn brick_processes(path: &Path) -> usize {
    processes_matching(&format!("--brick-name {} ", path.display())).len()
}

#[test]
fn reset_brick_brings_a_brick_back_on_a_new_disk() {
    let mut t = three(67);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "r")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "rs",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    // The self-heal daemons crawl at start and then every 60 s (the least GlusterFS takes; its default is 600 s), so
    // that a heal whose marks land after a start's crawl does not wait ten minutes.
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/rs/options",
        Some(json!({"options": {"cluster.heal-timeout": "60"}})),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/rs/start", None);
    assert_eq!(s, 200, "{b}");
    let mount = Mount::new(&t.ips[0], "rs").unwrap();
    for i in 0..FILES / 2 {
        std::fs::write(mount.dir.join(format!("f{i}")), content(i)).unwrap();
    }
    let w = format!("{}:{}", bricks[2].0, bricks[2].1.display());
    let reset = |t: &Three, words: &[&str]| {
        let mut args = vec!["volume", "reset-brick", "rs"];
        args.extend(words);
        t.cli(0, &args)
    };

    // A commit before the start is refused.
    let before = volume(&t);
    let out = reset(&t, &[&w, &w, "commit"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not being reset"),
        "{}",
        stderr(&out)
    );
    assert_eq!(volume(&t), before, "the refusal changed nothing");

    // Started: the brick stops, shows offline and reset, and a second start is refused.
    let out = reset(&t, &[&w, "start"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(brick_processes(&bricks[2].1), 0, "the brick stopped");
    assert!(volume(&t).subvols[0].bricks[2].reset);
    let (_, b) = t.api(0, "GET", "/v1/volumes/rs/bricks", None);
    let status: Vec<BrickStatus> = serde_json::from_value(b).unwrap();
    assert!(!status[2].online && status[0].online, "{status:?}");
    let out = reset(&t, &[&w, "start"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is being reset already"),
        "{}",
        stderr(&out)
    );

    // It stays stopped when its node's glusterd2 restarts.
    let ip = t.daemons[2].ip.clone();
    t.daemons.remove(2).kill9();
    t.daemons
        .insert(2, start_daemon(&t.dirs[2], &ip, &[]).unwrap());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        brick_processes(&bricks[2].1),
        0,
        "still stopped after a restart"
    );

    // Files written while it is out.
    for i in FILES / 2..FILES {
        std::fs::write(mount.dir.join(format!("f{i}")), content(i)).unwrap();
    }

    // Onto the old disk's data, a commit needs force.
    let out = reset(&t, &[&w, &w, "commit"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("still holds volume rs's data: commit with force"),
        "{}",
        stderr(&out)
    );
    assert!(volume(&t).subvols[0].bricks[2].reset, "still being reset");

    // A new disk: the directory destroyed and made anew by the commit; filled by the heal.
    std::fs::remove_dir_all(&bricks[2].1).unwrap();
    let out = reset(&t, &[&w, &w, "commit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = volume(&t);
    assert!(!v.subvols[0].bricks[2].reset, "{v:?}");
    assert_eq!(
        v.subvols[0].bricks[2].path,
        bricks[2].1.display().to_string()
    );
    assert_eq!(brick_processes(&bricks[2].1), 1, "the brick runs");
    wait_for(
        "the reset brick to be healed",
        Duration::from_secs(180),
        || {
            (0..FILES)
                .all(|i| {
                    std::fs::read(bricks[2].1.join(format!("f{i}"))).is_ok_and(|c| c == content(i))
                })
                .then_some(())
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}\nshd log:\n{}",
            tail(&read(&t.dirs[2].log.join("glustershd.log")), 30)
        )
    });
    for i in 0..FILES {
        let c = std::fs::read(mount.dir.join(format!("f{i}"))).unwrap();
        assert!(c == content(i), "f{i} reads right through the mount");
    }
}
