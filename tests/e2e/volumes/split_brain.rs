//! Split-brains made the usual way (each copy written while the other brick was down, with
//! self-heal off) are listed by `info split-brain` and resolved with each of the three
//! policies, the winning copy checked on both bricks and through a mount; bad input gets a
//! clear 4xx and changes nothing.

use std::time::Duration;

use gd_testkit::*;
use serde_json::json;

use super::{
    heal::{heal_info, kill_brick, restart_daemon, set_options},
    post_volume,
};

/// The copies of `file` on the two bricks.
fn copies(bricks: &[(String, std::path::PathBuf)], file: &str) -> [Vec<u8>; 2] {
    [0, 1].map(|i| std::fs::read(bricks[i].1.join(file.trim_start_matches('/'))).unwrap())
}

#[test]
fn split_brains_are_listed_and_resolved_by_each_policy() {
    let mut t = three(69);
    let bricks: Vec<_> = (0..2).map(|i| brick(&t, i, "s")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "sb",
            "replicate",
            &bricks,
            json!({"replica": 2}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    // Nothing heals on its own, and either brick alone takes writes: what makes split-brains.
    // Without ctime's own times (GlusterFS's split-brain test does so too): with them, a data
    // heal also heals the times, and latest-mtime finds no difference left.
    set_options(
        &t,
        "sb",
        json!({
            "cluster.self-heal-daemon": "off",
            "cluster.data-self-heal": "off",
            "cluster.metadata-self-heal": "off",
            "cluster.entry-self-heal": "off",
            "cluster.quorum-type": "none",
            "features.ctime": "off",
        }),
    );
    let (s, b) = t.api(0, "POST", "/v1/volumes/sb/start", None);
    assert_eq!(s, 200, "{b}");
    let files = ["/bigger", "/later", "/chosen"];
    {
        let m = Mount::new(&t.ips[2], "sb").unwrap();
        for f in files {
            std::fs::write(m.dir.join(&f[1..]), b"both\n").unwrap();
        }
    }
    // Each brick in turn is down (with its node's glusterd2) while a fresh mount writes.
    let mut write_with_brick_down = |down: usize, text: &[u8]| {
        t.daemons.remove(down).kill9();
        kill_brick(&bricks[down].1);
        {
            let m = Mount::new(&t.ips[2], "sb").unwrap();
            for f in files {
                std::fs::write(m.dir.join(&f[1..]), text).unwrap();
            }
        }
        restart_daemon(&mut t, down);
        wait_for("the brick to run again", Duration::from_secs(30), || {
            (processes_matching(&format!("--brick-name {} ", bricks[down].1.display())).len() == 1)
                .then_some(())
        })
        .unwrap();
    };
    let small = b"written on brick 0 alone\n".to_vec();
    let large = b"written on brick 1 alone, later, and longer\n".repeat(4);
    write_with_brick_down(1, &small);
    std::thread::sleep(Duration::from_secs(2));
    write_with_brick_down(0, &large);
    for f in files {
        assert_eq!(copies(&bricks, f), [small.clone(), large.clone()], "{f}");
    }

    // Listed as in split-brain on both bricks.
    let listed = wait_for("the split-brains to show", Duration::from_secs(60), || {
        let info = heal_info(&t, 0, "sb", "split-brain-info");
        info.iter().all(|b| b.entries == Some(3)).then_some(info)
    })
    .unwrap();
    // Each by its path, or by its gfid where the brick could not tell the path (glfsheal
    // prints `<gfid:…>` then, as for GD1).
    let gfid = |f: &str| {
        let raw = xattr::get(bricks[0].1.join(&f[1..]), "trusted.gfid")
            .unwrap()
            .unwrap();
        uuid::Uuid::from_slice(&raw).unwrap().to_string()
    };
    for b in &listed {
        let mut listed: Vec<(String, String)> = b
            .files
            .iter()
            .map(|f| (f.gfid.clone(), f.filename.clone()))
            .collect();
        listed.sort();
        let mut want: Vec<(String, [String; 2])> = files
            .iter()
            .map(|f| (gfid(f), [f.to_string(), format!("<gfid:{}>", gfid(f))]))
            .collect();
        want.sort();
        assert_eq!(listed.len(), 3, "{b:?}");
        for ((g, name), (wg, names)) in listed.iter().zip(&want) {
            assert!(g == wg && names.contains(name), "{name} ({g}) in {b:?}");
        }
    }
    let out = t.cli(1, &["volume", "heal", "sb", "info", "split-brain"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Number of entries in split-brain: 3"),
        "{}",
        stdout(&out)
    );

    // Bad input changes nothing: a brick not in the volume, a file not in split-brain, no file.
    let b0 = format!("{}:{}", bricks[0].0, bricks[0].1.display());
    let out = t.cli(
        0,
        &[
            "volume",
            "heal",
            "sb",
            "split-brain",
            "source-brick",
            "10.9.9.9:/nowhere",
            "/chosen",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("has no brick 10.9.9.9:/nowhere"),
        "{}",
        stderr(&out)
    );
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/sb/split-brain/bigger-file",
        Some(json!({"filename": "/not-there"})),
    );
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("/not-there"), "{b}");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/sb/split-brain/latest-mtime",
        Some(json!({})),
    );
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/sb/split-brain/coin-toss",
        Some(json!({"filename": "/later"})),
    );
    assert_eq!(s, 400, "{b}");
    for f in files {
        assert_eq!(
            copies(&bricks, f),
            [small.clone(), large.clone()],
            "{f} untouched"
        );
    }

    // Each policy: its winner's copy on both bricks.
    let out = t.cli(
        0,
        &[
            "volume",
            "heal",
            "sb",
            "split-brain",
            "bigger-file",
            "/bigger",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    println!("bigger-file: {}", stdout(&out));
    assert_eq!(copies(&bricks, "/bigger"), [large.clone(), large.clone()]);
    let out = t.cli(
        1,
        &[
            "volume",
            "heal",
            "sb",
            "split-brain",
            "latest-mtime",
            "/later",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(copies(&bricks, "/later"), [large.clone(), large.clone()]);
    let out = t.cli(
        2,
        &[
            "volume",
            "heal",
            "sb",
            "split-brain",
            "source-brick",
            &b0,
            "/chosen",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(copies(&bricks, "/chosen"), [small.clone(), small.clone()]);

    // Nothing is left in split-brain; resolving a healed file again is refused.
    let info = heal_info(&t, 0, "sb", "split-brain-info");
    assert!(info.iter().all(|b| b.entries == Some(0)), "{info:?}");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/sb/split-brain/bigger-file",
        Some(json!({"filename": "/bigger"})),
    );
    assert_eq!(s, 409, "{b}");
    println!("a file not in split-brain: {b}");
    // Through a mount, each file reads as its winner.
    let m = Mount::new(&t.ips[2], "sb").unwrap();
    assert_eq!(std::fs::read(m.dir.join("bigger")).unwrap(), large);
    assert_eq!(std::fs::read(m.dir.join("chosen")).unwrap(), small);
}
