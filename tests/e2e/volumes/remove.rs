//! remove-brick: a 2×3 replica volume under an open mount loses its second set: `start`
//! decommissions it and GlusterFS's rebalance processes (remove-brick mode) move every file
//! off it; `stop` keeps the bricks; started again, it completes and `commit` removes the set,
//! whose brick processes stop. Then `replica 2 … force` lowers the replica count by one brick,
//! and add-brick `replica 3` raises it again: the self-heal daemons fill the new brick.
//! Every file reads back right throughout; bad requests change nothing.

use std::{path::Path, time::Duration};

use gd_api::{RebalanceState, RebalanceStatus, VolumeInfo};
use gd_testkit::*;
use serde_json::json;

use super::{WAIT, post_volume};

const FILES: usize = 200;

fn content(i: usize) -> Vec<u8> {
    format!("file {i} of a volume losing a set\n")
        .repeat(400 + (i % 40) * 20)
        .into_bytes()
}

fn volume(t: &Three, i: usize) -> VolumeInfo {
    let (s, b) = t.api(i, "GET", "/v1/volumes/rm", None);
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b).unwrap()
}

fn status(t: &Three) -> (u16, serde_json::Value) {
    t.api(0, "GET", "/v1/volumes/rm/remove-brick", None)
}

fn read_all(mount: &Mount, phase: &str) {
    for i in 0..FILES {
        match std::fs::read(mount.dir.join(format!("f{i}"))) {
            Ok(c) => assert!(c == content(i), "f{i} {phase}: wrong bytes"),
            Err(e) => panic!(
                "f{i} {phase}: {e}\nclient log:\n{}",
                tail(&read(&mount.log), 30)
            ),
        }
    }
}

/// The data files on a brick (not GlusterFS's own, not DHT's zero-size link files).
fn data_files(brick: &Path) -> usize {
    std::fs::read_dir(brick)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != ".glusterfs")
        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() > 0))
        .count()
}

/// The brick processes serving `path`.
fn brick_processes(path: &Path) -> usize {
    processes_matching(&format!("--brick-name {} ", path.display())).len()
}

fn wait_migrated(t: &Three) -> RebalanceStatus {
    wait_for("the remove-brick's migration to end", WAIT, || {
        let (s, b) = status(t);
        assert_eq!(s, 200, "{b}");
        let st: RebalanceStatus = serde_json::from_value(b).unwrap();
        st.status.ended().then_some(st)
    })
    .unwrap()
}

#[test]
fn remove_brick_moves_every_file_off_a_set_then_commits() {
    let t = three(66);
    let s1: Vec<_> = (0..3).map(|i| brick(&t, i, "s1")).collect();
    let s2: Vec<_> = (0..3).map(|i| brick(&t, i, "s2")).collect();
    let all: Vec<_> = s1.iter().chain(&s2).cloned().collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body("rm", "replicate", &s1, json!({"replica": 3}))),
    );
    assert_eq!(s, 201, "{b}");
    // The self-heal daemons crawl at start and then every 60 s (the least GlusterFS takes; its default is 600 s), so
    // that a heal whose marks land after a start's crawl does not wait ten minutes.
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/rm/options",
        Some(json!({"options": {"cluster.heal-timeout": "60"}})),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/rm/start", None);
    assert_eq!(s, 200, "{b}");
    let added: Vec<_> = s2
        .iter()
        .map(|(h, p)| json!({"host": h, "path": p}))
        .collect();
    let flags = json!({"create-brick-dir": true, "allow-root-dir": true});
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/rm/expand",
        Some(json!({"bricks": added, "flags": flags})),
    );
    assert_eq!(s, 200, "{b}");
    let mount = Mount::new(&t.ips[1], "rm").unwrap();
    for i in 0..FILES {
        std::fs::write(mount.dir.join(format!("f{i}")), content(i)).unwrap();
    }
    let on_s2 = data_files(&s2[0].1);
    assert!(on_s2 > 0, "DHT placed files on the second set");
    let before = volume(&t, 2);
    let word = |(h, p): &(String, std::path::PathBuf)| format!("{h}:{}", p.display());
    let words = |bricks: &[(String, std::path::PathBuf)], tail: &[&str]| -> Vec<String> {
        let mut w = vec!["volume".to_owned(), "remove-brick".into(), "rm".into()];
        w.extend(bricks.iter().map(word));
        w.extend(tail.iter().map(|s| s.to_string()));
        w
    };
    let run = |w: Vec<String>| {
        let args: Vec<&str> = w.iter().map(String::as_str).collect();
        t.cli(0, &args)
    };

    // Bad requests change nothing: part of a set, every set, a brick not in the volume, a
    // commit of what was never emptied, a replica count raised, a replica change started.
    let nowhere = (t.ips[2].clone(), std::path::PathBuf::from("/nowhere"));
    for (w, why) in [
        (words(&s2[..2], &["start"]), "in whole sets of 3"),
        (words(&all, &["start"]), "leaves no volume"),
        (words(&[nowhere], &["start"]), "is not in volume rm"),
        (words(&s2, &["commit"]), "have not been moved off"),
        (
            {
                let mut w = words(&s2, &["start"]);
                w.splice(3..3, ["replica".to_owned(), "4".into()]);
                w
            },
            "raising it is add-brick's job",
        ),
        (
            {
                let mut w = words(&[s1[2].clone(), s2[2].clone()], &["start"]);
                w.splice(3..3, ["replica".to_owned(), "2".into()]);
                w
            },
            "commit it with force",
        ),
    ] {
        let out = run(w.clone());
        assert!(!out.status.success(), "{w:?} is refused");
        assert!(stderr(&out).contains(why), "{w:?}: {}", stderr(&out));
    }
    let (s, b) = status(&t);
    assert_eq!(s, 404, "no remove-brick yet: {b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/rm/remove-brick/stop", None);
    assert_eq!(s, 409, "{b}");
    assert_eq!(volume(&t, 1), before, "the refusals changed nothing");
    assert!(processes_matching("rebalance/rm ").is_empty());

    // Started, then stopped: the set is decommissioned, then back as it was.
    let out = run(words(&s2, &["start"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Remove-brick of rm started"),
        "{}",
        stdout(&out)
    );
    let v = volume(&t, 2);
    assert!(
        !v.subvols[0].decommissioned && v.subvols[1].decommissioned,
        "{v:?}"
    );
    // GD1's task block names it.
    let out = t.cli(1, &["volume", "status", "rm", "tasks"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Task                 : Remove brick\n"),
        "{}",
        stdout(&out)
    );
    let (s, b) = t.api(0, "POST", "/v1/volumes/rm/rebalance/start", None);
    assert_eq!(s, 409, "a rebalance waits for the remove-brick: {b}");
    let (h, p) = brick(&t, 0, "s9");
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/rm/expand",
        Some(json!({"bricks": [{"host": h, "path": p}], "replica": 4})),
    );
    assert_eq!(s, 409, "no add-brick while a remove-brick runs: {b}");
    assert!(!p.exists());
    let out = run(words(&s2, &["stop"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        volume(&t, 0),
        before,
        "stopped: the set stays, not decommissioned"
    );
    let out = run(words(&s2, &["commit"]));
    assert!(
        !out.status.success(),
        "a stopped remove-brick does not commit"
    );
    read_all(&mount, "after the stop");

    // Started again, to its end; reads right while files move.
    let out = run(words(&s2, &["start"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(words(&s2, &["commit"]));
    if !out.status.success() {
        // Refused while files move, unless it has already ended (commit is then allowed).
        assert!(stderr(&out).contains("still moving"), "{}", stderr(&out));
    }
    read_all(&mount, "during the migration");
    let end = wait_migrated(&t);
    assert_eq!(end.status, RebalanceState::Completed, "{end:?}");
    assert_eq!(end.removing.len(), 3, "{end:?}");
    let moved: u64 = end.nodes.iter().map(|n| n.files).sum();
    assert!(moved > 0, "files were moved: {end:?}");
    for b in &s2 {
        assert_eq!(
            data_files(&b.1),
            0,
            "{} holds no data file any more",
            b.1.display()
        );
    }
    assert!(
        data_files(&s1[0].1) == FILES,
        "the first set holds every file"
    );
    let out = t.cli(0, &["volume", "remove-brick", "rm", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("completed"), "{}", stdout(&out));
    read_all(&mount, "after the migration");

    // Committed (if the early commit above had not already): the set is gone, its bricks stop.
    if volume(&t, 0).subvols.len() == 2 {
        let out = run(words(&s2, &["commit"]));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let v = volume(&t, 1);
    assert_eq!(v.subvols.len(), 1, "{v:?}");
    assert_eq!(v.kind, "Replicate");
    let names: Vec<_> = v.subvols[0].bricks.iter().map(|b| b.path.clone()).collect();
    let s1_paths: Vec<_> = s1.iter().map(|b| b.1.display().to_string()).collect();
    assert_eq!(names, s1_paths);
    for b in &s2 {
        assert_eq!(brick_processes(&b.1), 0, "{} stopped", b.1.display());
    }
    for b in &s1 {
        assert_eq!(brick_processes(&b.1), 1, "{} runs", b.1.display());
    }
    read_all(&mount, "after the commit");

    // Replica 3 → 2: node 3's brick leaves, without migration (the others hold every file).
    let mut w = words(&s1[2..], &["force"]);
    w.splice(3..3, ["replica".to_owned(), "2".into()]);
    let out = run(w);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = volume(&t, 0);
    assert_eq!(
        (v.replica_count, v.subvols[0].bricks.len()),
        (2, 2),
        "{v:?}"
    );
    assert_eq!(brick_processes(&s1[2].1), 0);
    // The self-heal daemons run again on the new sets, on the nodes that still hold bricks.
    let shd_on = |i: usize| {
        let run = t.dirs[i].run.display().to_string();
        processes_matching("shd/rm ")
            .iter()
            .any(|(_, cmd)| cmd.contains(&run))
    };
    wait_for(
        "the self-heal daemons to run again",
        Duration::from_secs(30),
        || (shd_on(0) && shd_on(1) && !shd_on(2)).then_some(()),
    )
    .unwrap();
    std::fs::write(mount.dir.join("after-replica-2"), b"two copies").unwrap();
    read_all(&mount, "at replica 2");
    assert!(s1[..2].iter().all(|b| b.1.join("after-replica-2").exists()));
    assert!(!s1[2].1.join("after-replica-2").exists());

    // Replica 2 → 3 again: a new brick on node 3 joins the set, marked for heal as GD1 marks
    // it, and the self-heal daemons fill it with every file.
    let s3 = brick(&t, 2, "s3");
    let s4 = brick(&t, 2, "s4");
    let before = volume(&t, 0);
    let out = t.cli(
        0,
        &[
            "volume",
            "add-brick",
            "rm",
            "replica",
            "3",
            &word(&s3),
            &word(&s4),
            "--create-brick-dir",
        ],
    );
    assert!(!out.status.success(), "two bricks for one set are refused");
    assert!(
        stderr(&out).contains("takes 1 new brick(s) for each of its 1 set(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(volume(&t, 1), before, "the refusal changed nothing");
    assert!(!s3.1.exists() && !s4.1.exists());
    let out = t.cli(
        0,
        &[
            "volume",
            "add-brick",
            "rm",
            "replica",
            "3",
            &word(&s3),
            "--create-brick-dir",
            "--allow-root-dir",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = volume(&t, 1);
    assert_eq!(
        (v.replica_count, v.subvols[0].bricks.len()),
        (3, 3),
        "{v:?}"
    );
    assert_eq!(brick_processes(&s3.1), 1, "the new brick runs");
    wait_for(
        "the new brick to be healed",
        Duration::from_secs(180),
        || {
            let all = (0..FILES)
                .all(|i| std::fs::read(s3.1.join(format!("f{i}"))).is_ok_and(|c| c == content(i)));
            (all && s3.1.join("after-replica-2").exists()).then_some(())
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}: {} files there\nshd log:\n{}",
            data_files(&s3.1),
            tail(&read(&t.dirs[2].log.join("glustershd.log")), 30)
        )
    });
    read_all(&mount, "at replica 3 again");
    drop(mount);
}
