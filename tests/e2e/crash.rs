//! End-to-end: an operation whose initiator is killed (`kill -9`) part-way is, within seconds
//! of the restart, either fully done or fully absent on every node, and never undone once
//! done. (Issue 9's crash matrix starts here: the volume create at several moments.)

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use gd_store::Store;
use gd_testkit::*;

const VOLUME_ID_XATTR: &str = "trusted.glusterfs.volume-id";

/// The transaction records left in the cluster's store.
fn transactions(rt: &tokio::runtime::Runtime, t: &Three) -> usize {
    let ident: toml::Table = toml::from_str(&read(&t.dirs[1].state.join("uuid.toml"))).unwrap();
    let cluster = ident["cluster-id"].as_str().unwrap().to_owned();
    let store = rt
        .block_on(gd_store::EtcdStore::connect(
            &[format!("http://{}:24379", t.ips[1])],
            Default::default(),
        ))
        .unwrap();
    rt.block_on(store.range(&format!("gluster-{cluster}/txn/"), 0))
        .unwrap()
        .kvs
        .len()
}

#[test]
fn a_create_whose_initiator_is_killed_is_all_or_nothing_within_seconds() {
    let mut t = three(52);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut outcomes = vec![];
    for (round, delay_ms) in [15u64, 40, 80, 150, 300].into_iter().enumerate() {
        let name = format!("orph{round}");
        let bricks: Vec<(String, PathBuf)> = (0..3).map(|i| brick(&t, i, &name)).collect();
        let specs: Vec<String> = bricks
            .iter()
            .map(|(h, p)| format!("{h}:{}", p.display()))
            .collect();
        let endpoint = t.daemons[0].url();
        let secret = t.dirs[0].secret_file();
        let mut args = vec![
            "--endpoints",
            endpoint.as_str(),
            "--secret-file",
            secret.to_str().unwrap(),
            "volume",
            "create",
            name.as_str(),
            "replica",
            "3",
        ];
        args.extend(specs.iter().map(String::as_str));
        args.extend(["--create-brick-dir", "--allow-root-dir"]);
        let mut cli = Command::new(bin("glustercli"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let ip = t.daemons[0].ip.clone();
        t.daemons.remove(0).kill9();
        let _ = cli.wait();
        let restarted = Instant::now();
        t.daemons
            .insert(0, start_daemon(&t.dirs[0], &ip, &[]).unwrap());
        // Ended within seconds of the restart, not minutes.
        wait_for("no transaction left", Duration::from_secs(30), || {
            (transactions(&rt, &t) == 0).then_some(())
        })
        .unwrap();
        let ended = restarted.elapsed();
        let (s, _) = t.api(1, "GET", &format!("/v1/volumes/{name}"), None);
        let marked: Vec<bool> = bricks
            .iter()
            .map(|(_, p)| xattr::get(p, VOLUME_ID_XATTR).ok().flatten().is_some())
            .collect();
        match s {
            200 => {
                assert_eq!(marked, [true; 3], "{name}: a volume with unmarked bricks");
                // Done is done: it starts, and a few cleanup passes later it is still there.
                let (s, b) = t.api(2, "POST", &format!("/v1/volumes/{name}/start"), None);
                assert_eq!(s, 200, "{name}: {b}");
                std::thread::sleep(Duration::from_secs(6));
                let (s, _) = t.api(1, "GET", &format!("/v1/volumes/{name}"), None);
                assert_eq!(s, 200, "{name} was undone after it was done");
                let (s, b) = t.api(2, "POST", &format!("/v1/volumes/{name}/stop"), None);
                assert_eq!(s, 200, "{name}: {b}");
                outcomes.push(format!("{delay_ms} ms: done ({ended:?} to settle)"));
            }
            404 => {
                assert_eq!(marked, [false; 3], "{name}: an absent volume left marks");
                // The same operation works again at once.
                let out = t.cli(1, &args[4..]);
                assert!(out.status.success(), "{name}: {}", stderr(&out));
                outcomes.push(format!("{delay_ms} ms: absent ({ended:?} to settle)"));
            }
            other => panic!("{name}: GET answered {other}"),
        }
        wait_peers(&t.dirs[1], &t.daemons[1], 3, true, THREE_WAIT).unwrap();
    }
    eprintln!("outcomes: {outcomes:?}");
}
