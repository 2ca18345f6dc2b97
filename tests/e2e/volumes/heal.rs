//! Self-heal, driven as an administrator does it: heal info on a replica 3 volume whose brick
//! died with its node's glusterd2 (GlusterFS's `glfsheal` fetches its graph from our unix
//! socket), the entries it lists while the brick is down, and none once it is back and the
//! self-heal daemons filled it; index and full heals (a full heal is a task, one at a time),
//! crawl statistics, the daemon and granular entry heal turned off and on. Bad input gets a
//! clear 4xx. Alongside, the diagnostics an administrator reads on the same volume: status
//! detail (each brick's file system as `df` sees it), clients and memory, a node's state
//! (get-state), statedumps, profile and top. Split-brains: `split_brain.rs`.

use std::{path::Path, process::Command, time::Duration};

use gd_api::BrickHealInfo;
use gd_testkit::*;
use serde_json::json;

use super::post_volume;

const FILES: usize = 100;

pub(super) fn heal_info(t: &Three, i: usize, vol: &str, kind: &str) -> Vec<BrickHealInfo> {
    let path = if kind.is_empty() {
        format!("/v1/volumes/{vol}/heal-info")
    } else {
        format!("/v1/volumes/{vol}/{kind}/heal-info")
    };
    let (s, b) = t.api(i, "GET", &path, None);
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b).unwrap()
}

/// A gfapi application: python's ctypes over GlusterFS's libgfapi, connected to volume
/// `volume` through `server`, staying connected until stopped.
struct GfapiClient(std::process::Child);

impl GfapiClient {
    const SCRIPT: &str = r#"
import ctypes, signal, sys, time
signal.alarm(60)  # glfs_init bounded: the test reads our first line
api = ctypes.CDLL("libgfapi.so.0")
api.glfs_new.restype = ctypes.c_void_p
api.glfs_new.argtypes = [ctypes.c_char_p]
api.glfs_set_volfile_server.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
api.glfs_set_logging.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
api.glfs_init.argtypes = [ctypes.c_void_p]
fs = api.glfs_new(sys.argv[1].encode())
api.glfs_set_volfile_server(fs, b"tcp", sys.argv[2].encode(), 24007)
api.glfs_set_logging(fs, b"/dev/null", 1)
if api.glfs_init(fs) != 0:
    sys.exit("glfs_init failed")
signal.alarm(0)
print("ready", flush=True)
time.sleep(300)
"#;

    fn start(volume: &str, server: &str) -> GfapiClient {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .args(["-c", Self::SCRIPT, volume, server])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/setup.sh --tests checks it)");
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the gfapi client connected");
        GfapiClient(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for GfapiClient {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every brick's count of entries to be healed, asked of node `i`.
fn heal_count(t: &Three, i: usize) -> Vec<gd_api::BrickHealCount> {
    let (s, b) = t.api(i, "GET", "/v1/volumes/hl/heal-count", None);
    assert_eq!(s, 200, "{b}");
    serde_json::from_value(b).unwrap()
}

/// Kills the brick at `path` (its process found by its command line).
pub(super) fn kill_brick(path: &Path) {
    let procs = processes_matching(&format!("--brick-name {} ", path.display()));
    assert_eq!(procs.len(), 1, "one brick process: {procs:?}");
    signal(procs[0].0 as u32, nix::sys::signal::Signal::SIGKILL);
    wait_for("the brick to die", Duration::from_secs(10), || {
        processes_matching(&format!("--brick-name {} ", path.display()))
            .is_empty()
            .then_some(())
    })
    .unwrap();
}

/// Starts node `i`'s glusterd2 again, after `t.daemons.remove(i)` (it starts the node's
/// bricks again).
pub(super) fn restart_daemon(t: &mut Three, i: usize) {
    let ip = t.ips[i].clone();
    t.daemons
        .insert(i, start_daemon(&t.dirs[i], &ip, &[]).unwrap());
}

pub(super) fn set_options(t: &Three, vol: &str, options: serde_json::Value) {
    let (s, b) = t.api(
        0,
        "POST",
        &format!("/v1/volumes/{vol}/options"),
        Some(json!({ "options": options })),
    );
    assert_eq!(s, 200, "{b}");
}

fn content(i: usize) -> Vec<u8> {
    format!("file {i}, written while a brick was down\n")
        .repeat(20 + i)
        .into_bytes()
}

#[test]
fn heal_info_lists_what_a_dead_brick_missed_until_it_is_healed() {
    let mut t = three(68);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "h")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "hl",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    set_options(&t, "hl", json!({"cluster.heal-timeout": "60"}));
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/start", None);
    assert_eq!(s, 200, "{b}");

    // Status detail: each brick's file system as its node measured it, as `df` sees it.
    let (s, b) = t.api(1, "GET", "/v1/volumes/hl/bricks", None);
    assert_eq!(s, 200, "{b}");
    let statuses: Vec<gd_api::BrickStatus> = serde_json::from_value(b).unwrap();
    for (st, (_, path)) in statuses.iter().zip(&bricks) {
        let df = Command::new("df")
            .args(["-B1", "--output=size,itotal,fstype"])
            .arg(path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&df.stdout);
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        let size = st.size.expect("a running brick's space is measured");
        let inodes = st.inodes.expect("a running brick's inodes are measured");
        assert_eq!(size.capacity.to_string(), row[0], "{st:?} vs df {row:?}");
        assert_eq!(inodes.total.to_string(), row[1], "{st:?} vs df {row:?}");
        assert_eq!(st.fs_type, row[2], "{st:?}");
        assert!(
            size.free <= size.capacity && inodes.free <= inodes.total,
            "{st:?}"
        );
        assert!(
            !st.device.is_empty() && !st.mount_opts.is_empty() && st.block_size > 0,
            "{st:?}"
        );
    }
    let out = t.cli(0, &["volume", "status", "hl", "detail"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("Total Disk Space     : ").count(), 3, "{text}");
    assert!(
        text.contains(&format!("File System          : {}", statuses[0].fs_type)),
        "{text}"
    );
    let b1 = format!("{}:{}", bricks[1].0, bricks[1].1.display());
    let out = t.cli(0, &["volume", "status", "hl", &b1, "detail"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).matches("Inode Count").count(),
        1,
        "{}",
        stdout(&out)
    );
    // The volume's space: one replica set, as big as its smallest brick (no mount needed).
    let (_, b) = t.api(2, "GET", "/v1/volumes/hl/status", None);
    let capacity = b["size"]["capacity"].as_u64().unwrap();
    assert_eq!(
        capacity,
        statuses
            .iter()
            .map(|s| s.size.unwrap().capacity)
            .min()
            .unwrap(),
        "{b}"
    );

    // In sync: no entries anywhere.
    let info = heal_info(&t, 0, "hl", "");
    assert_eq!(info.len(), 3, "{info:?}");
    for b in &info {
        assert_eq!(
            (b.status.as_str(), b.entries),
            ("Connected", Some(0)),
            "{b:?}"
        );
    }

    // Node 2 goes down with its brick; 100 files are written meanwhile.
    t.daemons.remove(2).kill9();
    kill_brick(&bricks[2].1);
    let mount = Mount::new(&t.ips[0], "hl").unwrap();
    for i in 0..FILES {
        std::fs::write(mount.dir.join(format!("f{i}")), content(i)).unwrap();
    }

    // The live bricks list every file (and the root, whose entries changed); the dead one
    // cannot be read. Any node answers, here node 1.
    let info = heal_info(&t, 1, "hl", "");
    assert_eq!(info.len(), 3, "{info:?}");
    for b in &info[..2] {
        assert_eq!(b.status, "Connected", "{b:?}");
        let listed: Vec<&str> = b.files.iter().map(|f| f.filename.as_str()).collect();
        for i in 0..FILES {
            let f = format!("/f{i}");
            assert!(listed.contains(&f.as_str()), "{f} not in {listed:?}");
        }
        assert_eq!(b.entries, Some(b.files.len() as u64), "{b:?}");
        assert!(!b.host_id.is_empty() && b.host_id != "-", "{b:?}");
    }
    assert_ne!(info[2].status, "Connected", "{:?}", info[2]);
    assert_eq!(info[2].entries, None, "{:?}", info[2]);
    let summary = heal_info(&t, 0, "hl", "info-summary");
    assert!(
        summary[0].total_entries >= Some(FILES as u64)
            && summary[0].entries_in_split_brain == Some(0),
        "{summary:?}"
    );
    // The CLI prints GD1's paragraphs.
    let out = t.cli(0, &["volume", "heal", "hl", "info", "summary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Brick {}:{}", bricks[0].0, bricks[0].1.display()))
            && text.contains("Number of entries in heal pending: "),
        "{text}"
    );

    // Heal count (GD1's `statistics heal-count`): one daemon counts its whole set, the dead
    // brick too (not connected).
    // (The daemon asked may still be reaching a live brick again: asked until both count.)
    let counts = wait_for("the live bricks' counts", Duration::from_secs(60), || {
        let counts = heal_count(&t, 1);
        counts[..2]
            .iter()
            .all(|c| c.entries >= Some(FILES as u64))
            .then_some(counts)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", heal_count(&t, 1)));
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert_eq!(
        (counts[2].entries, counts[2].status.as_str()),
        (None, "Brick is not connected"),
        "{counts:?}"
    );
    let b0 = format!("{}:{}", bricks[0].0, bricks[0].1.display());
    let out = t.cli(
        0,
        &[
            "volume",
            "heal",
            "hl",
            "statistics",
            "heal-count",
            "replica",
            &b0,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "Gathering count of entries to be healed per replica on volume hl has been successful"
        ) && text.matches("Number of entries: ").count() == 2
            && text.contains("Status: Brick is not connected"),
        "{text}"
    );
    let (s, b) = t.api(
        0,
        "GET",
        "/v1/volumes/hl/heal-count?replica=nowhere:/b",
        None,
    );
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("has no brick nowhere:/b"), "{b}");

    // A heal cannot be launched while a node of the volume is down (known offline once its
    // liveness lease lapsed, unreachable before).
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/heal", None);
    assert_eq!(s, 409, "{b}");
    let said = b.to_string();
    assert!(
        said.contains("is offline")
            || said.contains(&format!("could not connect to glusterd2 at {}", t.ips[2])),
        "{b}"
    );

    // The node comes back, its brick starts, and the self-heal daemons fill it: heal info
    // reaches zero on every brick, and every file is on the brick that missed it.
    restart_daemon(&mut t, 2);
    let began = std::time::Instant::now();
    wait_for("heal info to reach zero", Duration::from_secs(180), || {
        let info = heal_info(&t, 0, "hl", "");
        info.iter()
            .all(|b| b.status == "Connected" && b.entries == Some(0))
            .then_some(())
    })
    .unwrap();
    println!(
        "heal of {FILES} files took {:.1} s after the node came back",
        began.elapsed().as_secs_f64()
    );
    let counts = heal_count(&t, 2);
    assert!(
        counts.iter().all(|c| c.entries == Some(0)),
        "nothing left to heal: {counts:?}"
    );
    for i in 0..FILES {
        assert_eq!(
            std::fs::read(bricks[2].1.join(format!("f{i}"))).unwrap(),
            content(i),
            "f{i} on the healed brick"
        );
    }

    // The node's state (GD1's get-state): node 2 sees itself, the volume, and what it runs.
    let (s, b) = t.api(2, "GET", "/v1/state", None);
    assert_eq!(s, 200, "{b}");
    let state: gd_api::NodeState = serde_json::from_value(b).unwrap();
    assert_eq!(state.peers.len(), 3);
    assert_eq!(state.volumes[0].info.name, "hl");
    let kinds: Vec<(&str, bool)> = state
        .services
        .iter()
        .map(|s| (s.kind.as_str(), s.online))
        .collect();
    assert_eq!(
        kinds,
        [("brick", true), ("self-heal daemon", true)],
        "{state:?}"
    );
    assert!(
        state.services[0]
            .name
            .ends_with(&bricks[2].1.display().to_string())
    );
    let out = t.cli(2, &["get-state"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("[Volumes]\nVolume1.name: hl")
            && text.contains("svc2.name: self-heal daemon shd/hl (hl)")
            && text.contains(&format!("MYUUID: {}", state.node.id)),
        "{text}"
    );

    // Statedumps: every brick writes its own where server.statedump-path says, and the answer
    // lists them once written; the self-heal daemons on request.
    let dumps = node_root(&t.dirs[0]).join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    set_options(
        &t,
        "hl",
        json!({"server.statedump-path": dumps.display().to_string()}),
    );
    let out = t.cli(1, &["--json", "volume", "statedump", "hl", "mem", "fd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let resp: gd_api::StatedumpResp = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(resp.files.len(), 3, "{resp:?}");
    for (host, path) in &bricks {
        let f = resp
            .files
            .iter()
            .find(|f| f.process == format!("{host}:{}", path.display()))
            .unwrap_or_else(|| panic!("no dump of {}: {resp:?}", path.display()));
        let name = path
            .display()
            .to_string()
            .trim_start_matches('/')
            .replace('/', "-");
        assert!(
            f.file
                .starts_with(&format!("{}/{name}.{}.dump.", dumps.display(), f.pid)),
            "{f:?}"
        );
        let text = std::fs::read_to_string(&f.file).unwrap();
        assert!(
            text.starts_with("DUMP-START-TIME") && text.contains("DUMP-END-TIME"),
            "{text}"
        );
        assert!(
            text.contains("[mallinfo]") || text.contains("mem-pool"),
            "mem was asked"
        );
    }
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/hl/statedump",
        Some(json!({"shd": true})),
    );
    assert_eq!(s, 200, "{b}");
    let resp: gd_api::StatedumpResp = serde_json::from_value(b).unwrap();
    assert_eq!(resp.files.len(), 3, "{resp:?}");
    assert!(
        resp.files
            .iter()
            .all(|f| f.process == "shd/hl" && std::path::Path::new(&f.file).is_file())
    );
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes/hl/statedump",
        Some(json!({"options": ["everything"]})),
    );
    assert_eq!(s, 400, "{b}");

    // A client's statedump: a gfapi application (GlusterFS's libgfapi through python's
    // ctypes) connected to node 1 is told by it, and dumps its state on its host.
    let mut app = GfapiClient::start("hl", &t.ips[1]);
    let out = t.cli(
        0,
        &[
            "--json",
            "volume",
            "statedump",
            "hl",
            "client",
            &format!("localhost:{}", app.pid()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let resp: gd_api::StatedumpResp = serde_json::from_str(&stdout(&out)).unwrap();
    let node1 = t.api(1, "GET", "/v1/peers", None).1;
    let node1_id = node1
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["client-addresses"].to_string().contains(&t.ips[1]))
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .unwrap();
    assert!(
        resp.told
            .iter()
            .any(|c| c.node.to_string() == node1_id && c.connections >= 1),
        "node 1 told the client: {resp:?}"
    );
    let dump = wait_for("the client's dump", Duration::from_secs(20), || {
        std::fs::read_dir("/var/run/gluster")
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("glusterdump.{}.dump.", app.pid())))
            })
    })
    .unwrap();
    let text = std::fs::read_to_string(&dump).unwrap();
    let _ = std::fs::remove_file(&dump);
    assert!(
        text.starts_with("DUMP-START-TIME") && text.contains("hl"),
        "{text}"
    );
    app.stop();
    for (client, status) in [
        ("nohost.invalid:12", 400),
        ("localhost:pid", 400),
        ("192.0.2.77:12", 404),
    ] {
        let (s, b) = t.api(
            0,
            "POST",
            "/v1/volumes/hl/statedump",
            Some(json!({ "client": client })),
        );
        assert_eq!(s, status, "{client}: {b}");
    }

    // Profile: refused until started; then each brick's io-stats counts the writes made.
    let (s, b) = t.api(0, "GET", "/v1/volumes/hl/profile/info", None);
    assert_eq!(s, 409, "{b}");
    let out = t.cli(0, &["volume", "profile", "hl", "start"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for i in 0..10 {
        std::fs::write(mount.dir.join(format!("p{i}")), content(i)).unwrap();
    }
    let out = t.cli(1, &["--json", "volume", "profile", "hl", "info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let profiles: Vec<gd_api::BrickProfile> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(profiles.len(), 3, "{profiles:?}");
    for p in &profiles {
        let c = p.cumulative.as_ref().expect("a cumulative span");
        let writes = c
            .fops
            .iter()
            .find(|f| f.fop == "WRITE")
            .map_or(0, |f| f.hits);
        assert!(writes >= 10 && c.total_write > 0, "{p:?}");
    }
    let out = t.cli(2, &["volume", "profile", "hl", "info", "cumulative"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Cumulative Stats:") && text.contains("WRITE") && !text.contains("Interval"),
        "{text}"
    );
    let out = t.cli(0, &["volume", "profile", "hl", "stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (s, b) = t.api(0, "GET", "/v1/volumes/hl/profile/info-everything", None);
    assert_eq!(s, 400, "{b}");

    // Top: each brick lists the files written most; a write-perf run on one brick measures
    // its throughput; clear empties the lists.
    let out = t.cli(
        0,
        &["--json", "volume", "top", "hl", "write", "list-cnt", "5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let tops: Vec<gd_api::BrickTop> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(tops.len(), 3, "{tops:?}");
    for t in &tops {
        assert!(
            !t.files.is_empty()
                && t.files.len() <= 5
                && t.files
                    .iter()
                    .all(|f| f.value > 0 && f.file.starts_with('/')),
            "{t:?}"
        );
    }
    let b0 = format!("{}:{}", bricks[0].0, bricks[0].1.display());
    let out = t.cli(
        1,
        &[
            "volume",
            "top",
            "hl",
            "write-perf",
            "bs",
            "4096",
            "count",
            "64",
            "brick",
            &b0,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("Brick: {b0}\nThroughput "))
            && text.matches("Brick:").count() == 1,
        "{text}"
    );
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/top/clear", None);
    assert_eq!(s, 200, "{b}");
    let cleared: Vec<gd_api::BrickTop> = serde_json::from_value(b).unwrap();
    assert!(
        cleared.iter().all(|t| t.cleared == Some(true)),
        "{cleared:?}"
    );
    let (s, b) = t.api(0, "GET", "/v1/volumes/hl/top/read?list-cnt=101", None);
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(
        0,
        "GET",
        "/v1/volumes/hl/top/read?brick=10.9.9.9:/nowhere",
        None,
    );
    assert_eq!(s, 400, "{b}");

    // What the processes report: every brick lists the test's FUSE mount among its clients,
    // with what it wrote; the self-heal daemons their memory.
    let out = t.cli(2, &["--json", "volume", "status", "hl", "clients"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: Vec<gd_api::ProcessStatus> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(reports.len(), 3, "{reports:?}");
    for r in &reports {
        assert!(
            r.online
                && r.clients
                    .iter()
                    .any(|c| c.name == "fuse" && c.bytes_written > 0),
            "{r:?}"
        );
    }
    let out = t.cli(0, &["volume", "status", "hl", &b0, "clients"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.matches("Brick : ").count() == 1 && text.contains("Clients connected : "),
        "{text}"
    );
    let out = t.cli(0, &["volume", "status", "hl", "shd", "mem"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("Arena    : ").count(), 3, "{text}");
    let (s, b) = t.api(0, "GET", "/v1/volumes/hl/status/clients?shd=true", None);
    assert_eq!(s, 400, "{b}");

    // An index heal: every brick's daemon starts one.
    let out = t.cli(1, &["volume", "heal", "hl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "Launching heal operation to perform index self heal on volume hl has been successful"
        ),
        "{}",
        stdout(&out)
    );
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/heal?type=index", None);
    assert_eq!(s, 200, "{b}");
    let launched: gd_api::HealLaunchResp = serde_json::from_value(b).unwrap();
    assert_eq!(launched.bricks.len(), 3, "{launched:?}");
    assert!(
        launched
            .bricks
            .iter()
            .all(|b| b.status == "Started self-heal"),
        "{launched:?}"
    );

    // A full heal finds what no index lists: a file taken from a brick behind GlusterFS's
    // back (with its gfid link) comes back. One brick crawls the set (the last, on node 2).
    let victim = bricks[0].1.join("f7");
    let gfid = uuid::Uuid::from_slice(&xattr::get(&victim, "trusted.gfid").unwrap().unwrap())
        .unwrap()
        .to_string();
    std::fs::remove_file(&victim).unwrap();
    std::fs::remove_file(
        bricks[0]
            .1
            .join(".glusterfs")
            .join(&gfid[0..2])
            .join(&gfid[2..4])
            .join(&gfid),
    )
    .unwrap();
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/heal?type=full", None);
    assert_eq!(s, 200, "{b}");
    let launched: gd_api::HealLaunchResp = serde_json::from_value(b).unwrap();
    assert_eq!(launched.kind, "full");
    // Node 2's daemon took it (here every brick's address is on this machine, so a daemon
    // counts every brick as local and starts from each: on real hosts, only from its own).
    let crawler = format!("{}:{}", bricks[2].0, bricks[2].1.display());
    assert!(
        launched.bricks.iter().any(|b| b.name == crawler)
            && launched
                .bricks
                .iter()
                .all(|b| b.status == "Started self-heal"),
        "{launched:?}"
    );
    // One crawl at a time: a second full heal is refused while the first's task runs.
    let (s, b) = t.api(1, "POST", "/v1/volumes/hl/heal?type=full", None);
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("runs already"), "{b}");
    wait_for(
        "the full heal to bring f7 back",
        Duration::from_secs(60),
        || (std::fs::read(&victim).ok()? == content(7)).then_some(()),
    )
    .unwrap();
    // Its task, led by one node, ends once the crawl has.
    let task = wait_for(
        "the full heal's task to end",
        Duration::from_secs(60),
        || {
            let (_, b) = t.api(2, "GET", "/v1/tasks?kind=heal-full", None);
            let tasks: Vec<gd_api::TaskInfo> = serde_json::from_value(b).ok()?;
            tasks
                .into_iter()
                .find(|t| t.object == "hl" && t.state != "running")
        },
    )
    .unwrap();
    assert_eq!(task.state, "succeeded", "{task:?}");
    // The crawls, as the daemons report them: the full one on the crawling brick.
    let (s, b) = t.api(0, "GET", "/v1/volumes/hl/heal-statistics", None);
    assert_eq!(s, 200, "{b}");
    let stats: Vec<gd_api::BrickCrawls> = serde_json::from_value(b).unwrap();
    assert_eq!(stats.len(), 3, "{stats:?}");
    let crawled = stats.iter().find(|b| b.brick == crawler).unwrap();
    assert!(
        crawled
            .crawls
            .iter()
            .any(|c| c.kind == "FULL" && !c.in_progress && !c.end.is_empty()),
        "{crawled:?}"
    );
    let out = t.cli(1, &["volume", "heal", "hl", "statistics"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Crawl statistics for brick no 2")
            && stdout(&out).contains("Type of crawl: FULL"),
        "{}",
        stdout(&out)
    );

    // The daemon turned off: no heal; on again: its daemons run again.
    let shds = || processes_matching("--volfile-id shd/hl ").len();
    let out = t.cli(0, &["volume", "heal", "hl", "disable"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shds(), 0, "the self-heal daemons stopped");
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/heal", None);
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("is disabled"), "{b}");
    let out = t.cli(0, &["volume", "heal", "hl", "enable"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shds(), 3, "the self-heal daemons run again");
    // Granular entry heal, checked by glfsheal first (nothing needs heal now).
    let out = t.cli(
        0,
        &["volume", "heal", "hl", "granular-entry-heal", "enable"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, b) = t.api(0, "GET", "/v1/volumes/hl", None);
    assert_eq!(b["options"]["cluster.granular-entry-heal"], "enable", "{b}");

    // Bad input: an unknown kind, a volume that does not exist, one with nothing to heal.
    let (s, b) = t.api(0, "POST", "/v1/volumes/hl/heal?type=partial", None);
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(0, "GET", "/v1/volumes/hl/everything/heal-info", None);
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(0, "GET", "/v1/volumes/nosuch/heal-info", None);
    assert_eq!(s, 404, "{b}");
    let dist = brick(&t, 1, "d");
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body("dv", "distribute", &[dist], json!({}))),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/dv/start", None);
    assert_eq!(s, 200, "{b}");
    let (s, b) = t.api(0, "GET", "/v1/volumes/dv/heal-info", None);
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("not of type replicate"), "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/dv/heal", None);
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/dv/heal/enable", None);
    assert_eq!(s, 400, "{b}");
    drop(mount);
}
