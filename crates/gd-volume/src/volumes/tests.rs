use super::brick_steps::*;
use super::*;

#[test]
fn a_brick_names_its_node_by_any_address_or_name_it_is_known_by() {
    let p = gd_api::Peer {
        id: Uuid::nil(),
        name: "server2".into(),
        peer_addresses: vec!["store-b:24007".into(), "198.51.100.12:24007".into()],
        client_addresses: vec!["198.51.100.12:24007".into(), "[2001:db8::12]:24007".into()],
        online: true,
        pid: None,
        metadata: BTreeMap::new(),
    };
    for host in [
        "store-b",
        "STORE-B",
        "198.51.100.12",
        "2001:db8::12",
        "server2",
        "server2.example.com",
    ] {
        assert!(known_as(&p, host), "{host}");
    }
    for host in [
        "server3",
        "198.51.100.13",
        "store",
        "server2x.example.com",
        "127.0.0.1",
    ] {
        assert!(!known_as(&p, host), "{host}");
    }
    assert_eq!(
        peer_ips(&p).collect::<Vec<_>>(),
        vec![
            "198.51.100.12".parse::<IpAddr>().unwrap(),
            "198.51.100.12".parse().unwrap(),
            "2001:db8::12".parse().unwrap()
        ]
    );
    let fqdn = gd_api::Peer {
        name: "server2.example.com".into(),
        ..p
    };
    assert!(known_as(&fqdn, "server2"));
    assert!(!known_as(&fqdn, "server2.other.org"));
}

#[test]
fn names_and_paths() {
    assert!(check_name("vol_1-a").is_ok());
    for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
        assert!(check_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(clean_path("/data//b1/./").unwrap(), "/data/b1");
    for bad in ["data/b1", "/", "/a/../b", "/a\n"] {
        assert!(clean_path(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn self_heal_daemon_follows_the_type_and_its_own_option() {
    let vol = |kind, options: &[(&str, &str)]| VolumeRecord {
        id: Uuid::new_v4(),
        name: "v".into(),
        transport: "tcp".into(),
        state: VolumeState::Started,
        subvols: vec![SubvolRecord {
            kind,
            replica: 0,
            arbiter: 0,
            disperse: 0,
            redundancy: 0,
            bricks: vec![],
            pending: false,
            decommissioned: false,
        }],
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        metadata: BTreeMap::new(),
        auth: VolumeAuth {
            username: Uuid::new_v4(),
            password: Uuid::new_v4(),
        },
    };
    use SubvolType::*;
    assert!(!vol(Distribute, &[]).wants_self_heal_daemon());
    assert!(vol(Replicate, &[]).wants_self_heal_daemon());
    assert!(vol(Disperse, &[]).wants_self_heal_daemon());
    assert!(!vol(Replicate, &[("cluster.self-heal-daemon", "off")]).wants_self_heal_daemon());
    assert!(!vol(Replicate, &[("cluster.self-heal-daemon", "Disable")]).wants_self_heal_daemon());
    assert!(vol(Replicate, &[("cluster.self-heal-daemon", "on")]).wants_self_heal_daemon());
    // Each type has its own key.
    assert!(
        vol(Replicate, &[("cluster.disperse-self-heal-daemon", "off")]).wants_self_heal_daemon()
    );
    assert!(!vol(Disperse, &[("cluster.disperse-self-heal-daemon", "0")]).wants_self_heal_daemon());
    assert!(vol(Disperse, &[("cluster.self-heal-daemon", "off")]).wants_self_heal_daemon());
}

#[test]
fn redundancy_defaults_like_glusterfs() {
    assert_eq!(default_redundancy(3), 1);
    assert_eq!(default_redundancy(6), 2);
    assert_eq!(default_redundancy(4), 1);
    assert_eq!(default_redundancy(5), 1);
    assert_eq!(default_redundancy(10), 2);
    assert_eq!(default_redundancy(12), 4);
}

#[test]
fn brick_init_and_undo_touch_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let id = Uuid::new_v4();
    let fresh = dir.path().join("made/b1");
    init_brick(&fresh, id, true, false).unwrap();
    assert_eq!(
        xattr::get(&fresh, VOLUME_ID_XATTR).unwrap().unwrap(),
        id.as_bytes()
    );
    assert!(fresh.join(".glusterfs").is_dir());
    init_brick(&fresh, id, true, false).unwrap(); // idempotent
    assert!(
        init_brick(&fresh, Uuid::new_v4(), true, false).is_err(),
        "another volume's brick"
    );
    undo_init_brick(&fresh, id);
    assert!(!fresh.exists(), "a directory it created is removed");

    let kept = dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    std::fs::write(kept.join("data"), b"x").unwrap();
    init_brick(&kept, id, false, false).unwrap();
    undo_init_brick(&kept, id);
    assert!(kept.join("data").exists() && xattr::get(&kept, VOLUME_ID_XATTR).unwrap().is_none());
}

#[test]
fn protected_directories_are_refused_whatever_the_path_says() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let state = root.join("state");
    std::fs::create_dir(&state).unwrap();
    let protected = ProtectedDirs::new([state.clone(), root.join("run")]);
    let refused = |p: &Path| protected.check(p).unwrap_err();

    for system in SYSTEM_DIRS {
        assert_eq!(
            refused(Path::new(system)),
            format!("brick {system} is a system directory: refused even with force")
        );
    }
    for pseudo in ["/proc/1/b", "/sys/b", "/dev/shm/b"] {
        assert!(
            refused(Path::new(pseudo)).contains("(a kernel file system)"),
            "{pseudo}"
        );
    }
    // Symbolic links are followed, also where the brick does not exist yet.
    symlink("/etc", root.join("etc-link")).unwrap();
    assert_eq!(
        refused(&root.join("etc-link")),
        format!(
            "brick {}/etc-link resolves to /etc, which is a system directory: refused even \
             with force",
            root.display()
        )
    );
    symlink("/proc", root.join("proc-link")).unwrap();
    assert!(refused(&root.join("proc-link/new/b")).contains("which is inside /proc"));
    symlink("/dev/gd2-no-such-device", root.join("dangling")).unwrap();
    assert!(refused(&root.join("dangling/b")).contains("which is inside /dev"));
    symlink("loop2", root.join("loop1")).unwrap();
    symlink("loop1", root.join("loop2")).unwrap();
    assert!(refused(&root.join("loop1/b")).contains("more than 40 symbolic links"));

    // The node's own directories: not them, not inside them, not above them.
    let own = format!("{} (a directory of the management daemon)", state.display());
    assert_eq!(
        refused(&state),
        format!(
            "brick {} is {own}: refused even with force",
            state.display()
        )
    );
    assert!(refused(&state.join("b")).contains(&format!("is inside {own}")));
    assert!(
        refused(&root.join("run/b")).contains("is inside"),
        "not made yet"
    );
    assert!(refused(&root).contains(&format!(
        "is a parent of {own}, which the brick would export"
    )));
    symlink(&state, root.join("state-link")).unwrap();
    assert!(refused(&root.join("state-link/b")).contains(&format!("which is inside {own}")));
    assert!(refused(Path::new("/var/lib/glusterd2/b")).contains("inside /var/lib/glusterd2"));

    // Everything else is for the other checks to judge.
    protected.check(&root.join("bricks/b1")).unwrap();
    symlink(root.join("bricks"), root.join("bricks-link")).unwrap();
    protected.check(&root.join("bricks-link/b1")).unwrap();
    protected.check(Path::new("/etc-data/b1")).unwrap();
    protected.check(Path::new("/srv/usr")).unwrap();
}

#[test]
fn brick_paths_follow_volgens_rule() {
    for (path, character) in [("/b 1", "a blank (' ')"), ("/b#1", "'#'"), ("/b`1`", "'`'")] {
        let e = clean_path(path).unwrap_err();
        assert_eq!(e.code.http_status(), 400);
        let body = e.body();
        let err = &body.errors[0];
        assert!(
            err.message
                .starts_with(&format!("brick path {path:?} contains {character};")),
            "{}",
            err.message
        );
        assert_eq!(err.fields["path"], path);
    }
    assert!(
        clean_path(&format!("/{}", "x".repeat(4095)))
            .unwrap_err()
            .message
            .contains("the limit is 4095 bytes")
    );
}

#[test]
fn brick_checks() {
    let dir = tempfile::tempdir().unwrap();
    let flags = gd_api::CreateFlags {
        allow_root_dir: true,
        ..Default::default()
    };
    let b = dir.path().join("b1");
    assert!(
        check_brick(&b, false, flags)
            .unwrap_err()
            .contains("does not exist")
    );
    let create = gd_api::CreateFlags {
        create_brick_dir: true,
        ..flags
    };
    check_brick(&b, false, create).unwrap();
    std::fs::create_dir(&b).unwrap();
    xattr::set(&b, VOLUME_ID_XATTR, Uuid::new_v4().as_bytes()).unwrap();
    let inner = b.join("sub");
    assert!(
        check_brick(&inner, false, create)
            .unwrap_err()
            .contains("volume-id")
    );
    let reuse = gd_api::CreateFlags {
        reuse_bricks: true,
        ..create
    };
    check_brick(&inner, false, reuse).unwrap();
    let strict = gd_api::CreateFlags {
        create_brick_dir: true,
        ..Default::default()
    };
    assert!(
        check_brick(&dir.path().join("x"), false, strict)
            .unwrap_err()
            .contains("root file system")
    );
}

/// A replica 3 volume of `sets` sets, its bricks numbered as a record from before client
/// numbers were stored (none).
fn replica3(sets: usize) -> VolumeRecord {
    let set = |k: usize| SubvolRecord {
        kind: SubvolType::Replicate,
        replica: 3,
        arbiter: 0,
        disperse: 0,
        redundancy: 0,
        bricks: (0..3)
            .map(|i| BrickRecord {
                id: Uuid::new_v4(),
                peer_id: Uuid::new_v4(),
                host: format!("h{i}"),
                path: format!("/b{k}"),
                kind: BrickKind::Brick,
                index: None,
                reset: false,
            })
            .collect(),
        pending: false,
        decommissioned: false,
    };
    VolumeRecord {
        id: Uuid::new_v4(),
        name: "v".into(),
        transport: "tcp".into(),
        state: VolumeState::Started,
        subvols: (0..sets).map(set).collect(),
        options: BTreeMap::new(),
        metadata: BTreeMap::new(),
        auth: VolumeAuth {
            username: Uuid::new_v4(),
            password: Uuid::new_v4(),
        },
    }
}

fn client_names(v: &VolumeRecord) -> Vec<String> {
    v.to_volgen()
        .bricks
        .iter()
        .map(|b| b.client_name(&v.name))
        .collect()
}

#[test]
fn a_brick_keeps_its_client_number_whatever_happens_to_the_other_sets() {
    // Without stored numbers, bricks are numbered by their place.
    let mut v = replica3(2);
    assert_eq!(v.next_client_index(), 6);
    assert_eq!(client_names(&v)[3], "v-client-3");
    // Fixed, and the first set gone: the second set keeps its names.
    v.fix_client_indexes();
    let second = client_names(&v)[3..].to_vec();
    v.subvols.remove(0);
    assert_eq!(client_names(&v), second);
    assert_eq!(v.next_client_index(), 6);
    // The graphs are valid with numbers that do not start at 0.
    let g = gd_volgen::client_volfile(&v.to_volgen(), gd_volgen::ClientKind::Fuse).unwrap();
    let text = g.to_volfile().unwrap();
    assert!(
        text.contains("volume v-client-3\n") && !text.contains("v-client-0"),
        "{text}"
    );
    // A volume without pending sets serves itself; pending sets are left out of `serving`.
    let mut grown = replica3(2);
    grown.subvols[1].pending = true;
    assert_eq!(grown.serving().subvols.len(), 1);
    let whole = replica3(2);
    assert_eq!(whole.serving(), whole);
}

#[test]
fn a_volumes_space_adds_its_sets_as_glusterfs_does() {
    let brick = |kind| BrickRecord {
        id: Uuid::new_v4(),
        peer_id: Uuid::new_v4(),
        host: "h".into(),
        path: "/b".into(),
        kind,
        index: None,
        reset: false,
    };
    let set = |kind, bricks: Vec<BrickRecord>, disperse, redundancy| SubvolRecord {
        kind,
        replica: 0,
        arbiter: 0,
        disperse,
        redundancy,
        bricks,
        pending: false,
        decommissioned: false,
    };
    use BrickKind::*;
    use SubvolType::*;
    let rep = vec![brick(Brick), brick(Brick), brick(Arbiter)];
    let ec = vec![brick(Brick), brick(Brick), brick(Brick)];
    let vol = VolumeRecord {
        id: Uuid::new_v4(),
        name: "v".into(),
        transport: "tcp".into(),
        state: VolumeState::Started,
        subvols: vec![
            set(Replicate, rep.clone(), 0, 0),
            set(Disperse, ec.clone(), 3, 1),
        ],
        options: BTreeMap::new(),
        metadata: BTreeMap::new(),
        auth: VolumeAuth {
            username: Uuid::new_v4(),
            password: Uuid::new_v4(),
        },
    };
    let size = |capacity, used, free| gd_api::SizeInfo {
        capacity,
        used,
        free,
    };
    let mut measured: BTreeMap<Uuid, gd_api::SizeInfo> = BTreeMap::new();
    measured.insert(rep[0].id, size(100, 10, 80));
    measured.insert(rep[1].id, size(90, 20, 60));
    // The arbiter's small disk does not bound the set.
    measured.insert(rep[2].id, size(5, 1, 4));
    for b in &ec {
        measured.insert(b.id, size(50, 5, 40));
    }
    // Replica: the smallest data brick (90, 20 used, 60 free); disperse 3 redundancy 1: twice
    // its smallest brick.
    assert_eq!(
        add_up(&vol, &measured),
        Some(size(90 + 100, 20 + 10, 60 + 80))
    );
    // A set none of whose data bricks was measured: no answer, rather than a wrong one.
    measured.remove(&rep[0].id);
    measured.remove(&rep[1].id);
    assert_eq!(add_up(&vol, &measured), None);
}
