//! Heal of the other kinds of copies: a replica 3 arbiter 1 volume (GD2's body: replica 2,
//! arbiter 1) and a disperse 3
//! (redundancy 1) volume lose their bricks on one node (its glusterd2 and bricks killed -9)
//! while files are written; heal info (GlusterFS's `glfsheal`, its graph from our unix socket)
//! lists what the live bricks hold for the dead ones, an index heal is launched on each kind,
//! and once the node is back the self-heal daemons fill its bricks: heal info reaches zero,
//! the arbiter holds every name (and no data), the dispersed brick its fragment of each file,
//! and every file reads back whole through a mount.

use std::time::Duration;

use gd_api::{BrickHealInfo, HealLaunchResp};
use gd_testkit::*;
use serde_json::json;

use super::{
    heal::{heal_info, kill_brick, restart_daemon},
    post_volume,
};

const FILES: usize = 30;

fn content(name: &str, i: usize) -> Vec<u8> {
    format!("{name} file {i}, written while a brick was down\n")
        .repeat(100 + i)
        .into_bytes()
}

#[test]
fn arbiter_and_disperse_volumes_heal_what_a_dead_node_missed() {
    let mut t = three(70);
    let kinds = [
        ("ar", "replicate", json!({"replica": 2, "arbiter": 1})),
        (
            "ec",
            "disperse",
            json!({"disperse-count": 3, "disperse-redundancy": 1}),
        ),
    ];
    let mut bricks = vec![];
    for (name, kind, layout) in &kinds {
        let b: Vec<_> = (0..3).map(|i| brick(&t, i, name)).collect();
        let (s, r) = post_volume(&t, 0, Some(create_body(name, kind, &b, layout.clone())));
        assert_eq!(s, 201, "{r}");
        let (s, r) = t.api(0, "POST", &format!("/v1/volumes/{name}/start"), None);
        assert_eq!(s, 200, "{r}");
        bricks.push(b);
    }

    // Node 3 dies with its bricks; files are written to both volumes meanwhile.
    t.daemons.remove(2).kill9();
    for b in &bricks {
        kill_brick(&b[2].1);
    }
    let mounts: Vec<Mount> = kinds
        .iter()
        .map(|(name, ..)| Mount::new(&t.ips[0], name).unwrap())
        .collect();
    for ((name, ..), m) in kinds.iter().zip(&mounts) {
        for i in 0..FILES {
            std::fs::write(m.dir.join(format!("f{i}")), content(name, i)).unwrap();
        }
    }

    // The live bricks list every file for the dead one, which cannot be read.
    for (name, ..) in &kinds {
        let info = heal_info(&t, 1, name, "");
        assert_eq!(info.len(), 3, "{name}: {info:?}");
        for b in &info[..2] {
            let listed: Vec<&str> = b.files.iter().map(|f| f.filename.as_str()).collect();
            assert_eq!(b.status, "Connected", "{name}: {b:?}");
            for i in 0..FILES {
                let f = format!("/f{i}");
                assert!(
                    listed.contains(&f.as_str()),
                    "{name}: {f} not in {listed:?}"
                );
            }
        }
        assert_ne!(info[2].status, "Connected", "{name}: {:?}", info[2]);
    }
    // A count is AFR's: a dispersed volume is pointed to heal info summary.
    let (s, b) = t.api(0, "GET", "/v1/volumes/ar/heal-count", None);
    assert_eq!(s, 200, "{b}");
    let (s, b) = t.api(0, "GET", "/v1/volumes/ec/heal-count", None);
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("is not of type replicate"), "{b}");

    // The node comes back; an index heal is launched on each volume (every node's daemon takes
    // it), and heal info reaches zero.
    restart_daemon(&mut t, 2);
    wait_for("node 3's bricks to run", Duration::from_secs(60), || {
        bricks
            .iter()
            .all(|b| processes_matching(&format!("--brick-name {} ", b[2].1.display())).len() == 1)
            .then_some(())
    })
    .unwrap();
    for (name, ..) in &kinds {
        let resp = wait_for(
            &format!("an index heal of {name} to be taken"),
            Duration::from_secs(60),
            || {
                let (s, b) = t.api(0, "POST", &format!("/v1/volumes/{name}/heal"), None);
                (s == 200).then(|| serde_json::from_value::<HealLaunchResp>(b).unwrap())
            },
        )
        .unwrap();
        assert_eq!(resp.bricks.len(), 3, "{name}: {resp:?}");
        let began = std::time::Instant::now();
        wait_for(
            &format!("heal info of {name} to reach zero"),
            Duration::from_secs(180),
            || {
                let info: Vec<BrickHealInfo> = heal_info(&t, 2, name, "");
                info.iter()
                    .all(|b| b.status == "Connected" && b.entries == Some(0))
                    .then_some(())
            },
        )
        .unwrap();
        println!(
            "{name}: heal of {FILES} files took {:.1} s after the launch",
            began.elapsed().as_secs_f64()
        );
    }

    // What the healed bricks hold: the arbiter every name and no data, the dispersed brick a
    // fragment of each file (half of it, rounded up to EC's 512-byte chunk).
    for i in 0..FILES {
        let f = format!("f{i}");
        let arbiter = std::fs::metadata(bricks[0][2].1.join(&f)).unwrap();
        assert_eq!(arbiter.len(), 0, "{f} on the arbiter");
        let whole = content("ec", i).len() as u64;
        let fragment = std::fs::metadata(bricks[1][2].1.join(&f)).unwrap().len();
        assert!(
            (whole / 2..=whole / 2 + 512).contains(&fragment),
            "{f}: a fragment of {fragment} bytes of a {whole}-byte file"
        );
    }
    // Every file whole through the mounts; the dispersed volume's with a brick that never
    // missed anything killed (its node's glusterd2 first, so that it stays down), so that the
    // healed fragments take part in every read.
    t.daemons.remove(0).kill9();
    kill_brick(&bricks[1][0].1);
    for ((name, ..), m) in kinds.iter().zip(&mounts) {
        for i in 0..FILES {
            assert_eq!(
                std::fs::read(m.dir.join(format!("f{i}"))).unwrap(),
                content(name, i),
                "{name}: f{i} through the mount"
            );
        }
    }
}
