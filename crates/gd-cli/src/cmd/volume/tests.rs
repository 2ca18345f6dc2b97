//! Unit tests of brick and name parsing, layouts and GD1's words, the create request, the
//! printed summaries, info and status, and the delete confirmation.

use gd_api::{BrickInfo, BrickReq, SubvolInfo};
use serde_json::json;
use uuid::Uuid;

use super::*;

const PEER: &str = "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01";

fn host(h: &str, p: &str) -> BrickReq {
    BrickReq {
        host: Some(h.into()),
        path: p.into(),
        ..BrickReq::default()
    }
}

#[test]
fn bricks_parse() {
    assert_eq!(parse_brick("node1:/b/1"), Ok(host("node1", "/b/1")));
    assert_eq!(parse_brick("node1:/b:c/1"), Ok(host("node1", "/b:c/1")));
    assert_eq!(parse_brick("[::1]:/b"), Ok(host("::1", "/b")));
    assert_eq!(parse_brick("fd00::2:/b"), Ok(host("fd00::2", "/b")));
    assert_eq!(
        parse_brick(&format!("{PEER}:/b")),
        Ok(BrickReq {
            peerid: Some(PEER.parse().unwrap()),
            path: "/b".into(),
            ..BrickReq::default()
        })
    );
    for (s, why) in [
        ("node1", "there is no ':'"),
        ("/b/1", "there is no ':'"),
        ("node1:b/1", "must be absolute"),
        ("node1:", "must be absolute"),
        (":/b", "the host is empty"),
        ("[]:/b", "the host is empty"),
        ("[::1]/b", "expected [IPV6]:PATH"),
        ("[::1:/b", "expected [IPV6]:PATH"),
        ("node1:/", "root directory"),
        ("node1://", "root directory"),
    ] {
        let e = parse_brick(s).unwrap_err();
        assert!(e.contains(why) && e.contains(s), "{s}: {e}");
    }
}

#[test]
fn volume_names() {
    assert_eq!(parse_volume_name("gv_0-a"), Ok("gv_0-a".into()));
    assert!(parse_volume_name(&"v".repeat(64)).is_ok());
    for bad in ["", "-v", "a/b", "a b", "vé", "a?x"] {
        assert!(parse_volume_name(bad).is_err(), "{bad}");
    }
    assert!(
        parse_volume_name(&"v".repeat(65))
            .unwrap_err()
            .contains("64")
    );
}

fn bricks(n: usize) -> Vec<BrickReq> {
    (1..=n).map(|i| host(&format!("n{i}"), "/b")).collect()
}

fn layout_json(layout: Layout, n: usize) -> Result<serde_json::Value, String> {
    subvols(&layout, bricks(n)).map(|s| serde_json::to_value(s).unwrap())
}

fn b(i: usize, kind: &str) -> serde_json::Value {
    json!({"host": format!("n{i}"), "path": "/b", "type": kind})
}

#[test]
fn layouts() {
    assert_eq!(
        layout_json(Layout::default(), 2).unwrap(),
        json!([{"type": "distribute", "bricks": [b(1, "brick"), b(2, "brick")]}])
    );
    let replica = |r| Layout {
        replica: Some(r),
        ..Layout::default()
    };
    assert_eq!(
        layout_json(replica(2), 4).unwrap(),
        json!([
            {"type": "replicate", "replica": 2, "bricks": [b(1, "brick"), b(2, "brick")]},
            {"type": "replicate", "replica": 2, "bricks": [b(3, "brick"), b(4, "brick")]},
        ])
    );
    for r in [2, 3] {
        let l = Layout {
            arbiter: Some(1),
            ..replica(r)
        };
        assert_eq!(
            layout_json(l, 3).unwrap(),
            json!([{"type": "replicate", "replica": 2, "arbiter": 1,
                    "bricks": [b(1, "brick"), b(2, "brick"), b(3, "arbiter")]}])
        );
    }
    let ec = |n, d, r| Layout {
        disperse: n,
        disperse_data: d,
        redundancy: r,
        ..Layout::default()
    };
    let ec3 = |extra: serde_json::Value| {
        let mut v = json!({"type": "disperse", "disperse-count": 3,
                           "bricks": [b(1, "brick"), b(2, "brick"), b(3, "brick")]});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!([v])
    };
    assert_eq!(
        layout_json(ec(Some(3), None, None), 3).unwrap(),
        ec3(json!({}))
    );
    let full = ec3(json!({"disperse-data": 2, "disperse-redundancy": 1}));
    for l in [
        ec(Some(3), None, Some(1)),
        ec(Some(3), Some(2), None),
        ec(Some(3), Some(2), Some(1)),
        ec(None, Some(2), Some(1)),
        ec(None, None, Some(1)),
        ec(None, Some(2), None),
    ] {
        assert_eq!(layout_json(l.clone(), 3).unwrap(), full, "{l:?}");
    }
    assert_eq!(
        layout_json(ec(Some(3), None, None), 6)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    for (l, n, why) in [
        (
            replica(3),
            4,
            "replica 3 groups the bricks in sets of 3: the number of bricks (4)",
        ),
        (replica(1), 2, "at least 2"),
        (
            Layout {
                arbiter: Some(1),
                ..Layout::default()
            },
            3,
            "arbiter needs replica",
        ),
        (
            Layout {
                arbiter: Some(2),
                ..replica(3)
            },
            3,
            "arbiter must be 1",
        ),
        (
            Layout {
                arbiter: Some(1),
                ..replica(4)
            },
            4,
            "not replica 4",
        ),
        (
            Layout {
                disperse: Some(3),
                ..replica(3)
            },
            3,
            "cannot be combined",
        ),
        (ec(Some(2), None, None), 2, "at least 3"),
        (ec(Some(4), None, Some(2)), 4, "less than half"),
        (ec(Some(4), Some(2), Some(1)), 4, "must equal"),
        (
            ec(Some(3), Some(3), None),
            3,
            "less than the disperse count",
        ),
        (
            ec(Some(3), None, Some(3)),
            3,
            "less than the disperse count",
        ),
        (
            ec(Some(3), None, None),
            4,
            "disperse 3 groups the bricks in sets of 3",
        ),
        (Layout::default(), 0, "no bricks"),
    ] {
        let e = layout_json(l.clone(), n).unwrap_err();
        assert!(e.contains(why), "{l:?}: {e}");
    }
}

fn create_args(words: &[&str]) -> CreateArgs {
    CreateArgs {
        name: "v".into(),
        bricks: words.iter().map(|s| s.to_string()).collect(),
        replica: None,
        arbiter: None,
        disperse: None,
        disperse_data: None,
        redundancy: None,
        transport: None,
        checks: BrickChecks::default(),
        options: Vec::new(),
    }
}

#[test]
fn gd1_words() {
    let flags = CreateArgs {
        replica: Some(3),
        arbiter: Some(1),
        checks: BrickChecks {
            force: true,
            ..BrickChecks::default()
        },
        transport: Some("tcp".into()),
        ..create_args(&["n1:/b", "n2:/b", "n3:/b"])
    };
    let words = create_args(&[
        "replica",
        "3",
        "arbiter",
        "1",
        "transport",
        "tcp",
        "n1:/b",
        "n2:/b",
        "n3:/b",
        "force",
    ]);
    let req = create_request(&words).unwrap();
    assert_eq!(req, create_request(&flags).unwrap());
    assert!(req.force);
    assert_eq!(req.transport.as_deref(), Some("tcp"));

    for (words, why) in [
        (&["replica"][..], "`replica` needs a value"),
        (&["replica", "x", "n1:/b"], "`replica x`: expected a count"),
        (&["replica", "0", "n1:/b"], "expected a count"),
        (
            &["replica", "2", "replica", "2"],
            "replica is given more than once",
        ),
        (&["transport", "rdma", "n1:/b"], "only transport is tcp"),
        (&["stripe", "2", "n1:/b"], "\"stripe\": expected HOST:PATH"),
        (&["n1:/b", "n1:/b/"], "n1:/b/ is given more than once"),
        (&["force"], "no bricks"),
    ] {
        let e = create_request(&create_args(words)).unwrap_err();
        assert!(e.contains(why), "{words:?}: {e}");
    }
    let both = CreateArgs {
        replica: Some(2),
        ..create_args(&["replica", "2", "n1:/b", "n2:/b"])
    };
    assert!(
        create_request(&both)
            .unwrap_err()
            .contains("more than once")
    );
}

#[test]
fn flags_and_defaults_in_the_request() {
    let args = CreateArgs {
        checks: BrickChecks {
            create_brick_dir: true,
            reuse_bricks: true,
            ..BrickChecks::default()
        },
        ..create_args(&["n1:/b"])
    };
    assert_eq!(
        serde_json::to_value(create_request(&args).unwrap()).unwrap(),
        json!({
            "name": "v",
            "subvols": [{"type": "distribute", "bricks": [{"host": "n1", "path": "/b", "type": "brick"}]}],
            "force": false,
            "flags": {"reuse-bricks": true, "allow-root-dir": false,
                      "allow-mount-as-brick": false, "create-brick-dir": true},
        })
    );
}

fn brick(host: &str, path: &str, kind: &str) -> BrickInfo {
    BrickInfo {
        id: Uuid::nil(),
        path: path.into(),
        volume_id: Uuid::nil(),
        volume_name: "v".into(),
        peer_id: Uuid::nil(),
        host: host.into(),
        kind: kind.into(),
        reset: false,
    }
}

fn volume(kind: &str, sets: &[&[BrickInfo]]) -> VolumeInfo {
    VolumeInfo {
        id: Uuid::nil(),
        name: "v".into(),
        kind: kind.into(),
        transport: "tcp".into(),
        distribute_count: sets.len() as u32,
        replica_count: 1,
        arbiter_count: 0,
        disperse_count: 0,
        disperse_redundancy_count: 0,
        options: BTreeMap::new(),
        state: "Created".into(),
        metadata: BTreeMap::new(),
        subvols: sets
            .iter()
            .map(|bricks| SubvolInfo {
                name: "v-x-0".into(),
                kind: "Replicate".into(),
                replica_count: 1,
                arbiter_count: 0,
                disperse_count: 0,
                bricks: bricks.to_vec(),
                decommissioned: false,
            })
            .collect(),
    }
}

#[test]
fn summaries() {
    let b3 = [
        brick("n1", "/b", "Brick"),
        brick("n2", "/b", "Brick"),
        brick("n3", "/b", "Brick"),
    ];
    let dist = volume("Distribute", &[&b3[..1], &b3[1..2]]);
    assert_eq!(bricks_summary(&dist), "2");
    let mut rep = volume("Distributed-Replicate", &[&b3, &b3]);
    rep.replica_count = 3;
    assert_eq!(bricks_summary(&rep), "2 x 3 = 6");
    let mut arb = volume("Replicate", &[&b3]);
    arb.replica_count = 2;
    arb.arbiter_count = 1;
    assert_eq!(bricks_summary(&arb), "1 x (2 + 1) = 3");
    let mut ec = volume("Disperse", &[&b3]);
    ec.disperse_count = 3;
    ec.disperse_redundancy_count = 1;
    assert_eq!(bricks_summary(&ec), "1 x (2 + 1) = 3");
    ec.disperse_redundancy_count = 0;
    assert_eq!(bricks_summary(&ec), "1 x 3 = 3");
    assert_eq!(created_line(&ec), "Volume v created (Disperse, 3 bricks)");
    let one = volume("Distribute", &[&b3[..1]]);
    assert_eq!(created_line(&one), "Volume v created (Distribute, 1 brick)");
}

#[test]
fn info_block() {
    let bricks = [
        brick("n1", "/b1", "Brick"),
        brick("fd00::2", "/b2", "Brick"),
        brick("n3", "/b3", "Arbiter"),
    ];
    let mut v = volume("Replicate", &[&bricks]);
    v.replica_count = 2;
    v.arbiter_count = 1;
    v.options = [("a.b".to_owned(), "on".to_owned())].into();
    assert_eq!(
        info_text(&v),
        "Volume Name: v
Type: Replicate
Volume ID: 00000000-0000-0000-0000-000000000000
State: Created
Transport-type: tcp
Number of Bricks: 1 x (2 + 1) = 3
Bricks:
Brick1: n1:/b1
Brick2: [fd00::2]:/b2
Brick3: n3:/b3 (arbiter)
Options:
a.b: on"
    );
    v.options.clear();
    assert!(info_text(&v).ends_with("(arbiter)"));
}

#[test]
fn status_rendering() {
    let statuses = [
        BrickStatus {
            info: brick("n1", "/b1", "Brick"),
            online: true,
            pid: 1234,
            port: 49152,
            fs_type: String::new(),
            mount_opts: String::new(),
            device: String::new(),
            size: None,
            block_size: 0,
            inodes: None,
        },
        BrickStatus {
            info: brick("fd00::2", "/b2", "Brick"),
            online: false,
            pid: 0,
            port: 0,
            fs_type: String::new(),
            mount_opts: String::new(),
            device: String::new(),
            size: None,
            block_size: 0,
            inodes: None,
        },
    ];
    assert_eq!(
        status_text("v", &statuses),
        "\
Status of volume: v
+---------------+--------+-------+------+
| Brick         | Online | Port  | Pid  |
+=======================================+
| n1:/b1        | yes    | 49152 | 1234 |
| [fd00::2]:/b2 | no     | N/A   | N/A  |
+---------------+--------+-------+------+"
    );
}

#[test]
fn answers() {
    let ask = |answer: &str| {
        let mut out = Vec::new();
        let yes = confirm("Go?", &mut answer.as_bytes(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "Go? (y/N) ");
        yes
    };
    assert!(ask("y\n") && ask("YES\n") && ask(" yes "));
    assert!(!ask("n\n") && !ask("\n") && !ask("") && !ask("yess\n"));
}

/// `volume add-brick` as the command line gives it.
fn add_brick(args: &[&str]) -> Result<gd_api::VolExpandReq, String> {
    let mut v = vec!["glustercli", "volume", "add-brick"];
    v.extend_from_slice(args);
    match crate::cli::Cli::try_parse_checked_from(v) {
        Ok(cli) => match cli.command {
            crate::cli::Command::Volume(VolumeCommand::AddBrick(a)) => add_brick_request(&a),
            other => panic!("{other:?}"),
        },
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn add_brick_takes_gd1_words_and_gd2_flags() {
    let req = add_brick(&["gv0", "replica", "3", "h4:/b", "h5:/b", "h6:/b", "force"]).unwrap();
    assert_eq!(req.replica, Some(3));
    assert!(req.force);
    assert_eq!(
        req.bricks,
        [host("h4", "/b"), host("h5", "/b"), host("h6", "/b")]
    );
    let req = add_brick(&["gv0", "--create-brick-dir", "h4:/b"]).unwrap();
    assert_eq!((req.replica, req.force), (None, false));
    assert!(req.flags.create_brick_dir);
    for (args, why) in [
        (vec!["gv0", "h4:/b", "h4:/b"], "given more than once"),
        (vec!["gv0", "replica"], "needs a value"),
        (
            vec!["gv0", "replica", "2", "--replica", "2", "h:/b"],
            "more than once",
        ),
        (vec!["gv0", "force"], "at least one brick"),
        (vec!["gv0", "h4"], "there is no ':'"),
    ] {
        let e = add_brick(&args).unwrap_err();
        assert!(e.contains(why), "{args:?}: {e}");
    }
}
