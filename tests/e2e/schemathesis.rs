//! End-to-end: schemathesis fuzzes the REST API of a real `glusterd2` against the committed
//! OpenAPI document (`docs/api/openapi.json`).
//!
//! The document is what clients are written against, and the daemon must keep to it under
//! any input: schemathesis generates requests from it (valid and invalid bodies, path and
//! query values, missing or malformed tokens, undocumented methods; then sequences that follow
//! the ids one answer gives to the next request), signs them like a client
//! (`tests/schemathesis/gd2_hooks.py`), and checks every answer: no 5xx, status code, content
//! type, headers and body as documented, invalid data refused, a 405 for an undocumented
//! method, and — the hooks' own check — no change of the cluster's state on a 4xx. A volume,
//! `fuzz`, exists during the run, and half of the volume names generated for its routes name
//! it (`tests/schemathesis/schemathesis.toml`), so options are set, reset and read on a real
//! volume, which is started, stopped and measured, its brick a real glusterfsd. Afterwards
//! the node still runs, lists the same peers and volumes, and never refused a signed request's
//! hash (which would mean the hooks and `gd_auth` disagree on `qsh`).
//!
//! One check is left out: `positive_data_acceptance`, which wants every request that fits the
//! schema accepted. A request that fits can still be wrong in ways no schema states: a brick
//! on a peer that does not exist, an option key the installed xlators do not know, removing
//! the node itself. The rules a schema can state (names, ids, brick paths, counts) are in the
//! document, and `negative_data_rejection` checks that the daemon refuses what breaks them.
//!
//! schemathesis comes from PyPI, pinned, in a venv `scripts/setup.sh --tests` makes
//! (`/opt/gd2-schemathesis`, or `GD2_SCHEMATHESIS_VENV`); without it the test fails and says
//! so. The run is bounded: one worker, `--max-time` for the whole run, and a kill past it.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use gd_testkit::*;
use serde_json::Value;

/// Where `scripts/setup.sh` puts the venv unless `GD2_SCHEMATHESIS_VENV` says otherwise.
const VENV_DEFAULT: &str = "/opt/gd2-schemathesis";
/// schemathesis's time budget for the whole run, in seconds.
const RUN_TIME_S: u64 = 120;
/// The operations `tests/schemathesis/schemathesis.toml` leaves out: the live event stream
/// never ends, and schemathesis reads whole answers (the events test reads it).
const NOT_FUZZED: [&str; 1] = ["EventStream"];
/// Generated cases per operation in each round of the run (rounds repeat until the budget).
const MAX_EXAMPLES: u32 = 100;
/// How long past its budget the run may take (start-up, the last cases, the report) before it
/// is killed and the test fails.
const RUN_GRACE: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// What must not change: the peers (ids and addresses; the generated requests may edit a
/// peer's metadata) and which volumes exist (none can be made, since the hooks keep bricks off
/// this node, and `fuzz` is deleted only by a generated name; its state and options change).
#[derive(Debug, PartialEq)]
struct Membership {
    /// Per peer: id, peer addresses, client addresses.
    peers: Vec<(String, Vec<String>, Vec<String>)>,
    volumes: Vec<String>,
}

fn membership(dirs: &NodeDirs, d: &Daemon) -> Membership {
    let peers = peers_of(dirs, d).expect("the node lists its peers");
    let peers = peers
        .into_iter()
        .map(|p| (p.id.to_string(), p.peer_addresses, p.client_addresses))
        .collect();
    let (status, volumes) = api(dirs, d, "GET", "/v1/volumes", None);
    assert_eq!(status, 200, "{volumes}");
    let volumes = volumes
        .as_array()
        .expect("a volume list")
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    Membership { peers, volumes }
}

#[test]
fn the_api_keeps_to_its_document_under_schemathesis() {
    let venv = std::env::var_os("GD2_SCHEMATHESIS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(VENV_DEFAULT));
    let schemathesis = venv.join("bin/schemathesis");
    assert!(
        schemathesis.is_file(),
        "{} is missing: run scripts/setup.sh --tests, which installs the pinned schemathesis",
        schemathesis.display()
    );

    let dirs = NodeDirs::new();
    // The local store: a peer add is refused before anything is sent to the generated
    // addresses, so the run talks to this node only.
    // The processes the run starts (glusterfsd, the status mounts) end with the test, after
    // the daemon (declared later, so dropped first), which would restart a brick.
    let _reaper = Reaper(vec![node_root(&dirs).display().to_string()]);
    let ip = "127.0.95.1";
    let d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();
    let brick = node_root(&dirs).join("bricks").join("fuzz");
    let (status, body) = api(
        &dirs,
        &d,
        "POST",
        "/v1/volumes",
        Some(serde_json::json!({
            "name": "fuzz",
            "subvols": [{"type": "distribute", "bricks": [{"host": ip, "path": brick}]}],
            "flags": {"create-brick-dir": true},
            "force": true,
        })),
    );
    assert_eq!(status, 201, "{body}");
    let before = membership(&dirs, &d);

    let work = tempfile::Builder::new()
        .prefix("gd2-schemathesis-")
        .tempdir()
        .unwrap();
    let report_dir = work.path().join("report");
    let spec = workspace().join("docs/api/openapi.json");
    let mut cmd = Command::new(&schemathesis);
    cmd.current_dir(work.path())
        .arg("--config-file")
        .arg(workspace().join("tests/schemathesis/schemathesis.toml"))
        .arg("run")
        .arg(&spec)
        .args(["--url", &d.url()])
        .args(["--workers", "1"])
        .args(["--max-time", &RUN_TIME_S.to_string()])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .args(["--report", "json", "--report-dir"])
        .arg(&report_dir)
        .arg("--no-color")
        .env("SCHEMATHESIS_HOOKS", "gd2_hooks")
        .env("PYTHONPATH", workspace().join("tests/schemathesis"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("GD2_URL", d.url())
        .env("GD2_SECRET_FILE", dirs.secret_file());
    let out = run_bounded(cmd, Duration::from_secs(RUN_TIME_S) + RUN_GRACE);
    let output = format!("{}{}", stdout(&out), stderr(&out));

    let report = std::fs::read_dir(&report_dir)
        .ok()
        .and_then(|mut entries| entries.find_map(|e| e.ok()))
        .and_then(|e| std::fs::read_to_string(e.path()).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .unwrap_or_else(|| panic!("schemathesis wrote no report ({}):\n{output}", out.status));
    let cases = &report["test_cases"];
    // Straight to stderr, past the test harness's capture: the count is the run's figure.
    let _ = writeln!(
        std::io::stderr(),
        "schemathesis {}: {} test cases over {} operations in {:.0} s, {} with failures (seed {})",
        report["schemathesis_version"].as_str().unwrap_or("?"),
        cases["generated"],
        report["operations"]["tested"],
        report["running_time"].as_f64().unwrap_or(0.0),
        cases["with_failures"],
        output
            .lines()
            .find_map(|l| l.trim().strip_prefix("Seed: "))
            .unwrap_or("?"),
    );
    assert!(
        out.status.success(),
        "schemathesis found failures ({}):\n{output}",
        out.status
    );
    let config = read(&workspace().join("tests/schemathesis/schemathesis.toml"));
    for op in NOT_FUZZED {
        assert!(
            config.contains(&format!("include-operation-id = \"{op}\"\nenabled = false")),
            "the configuration leaves out {op}"
        );
    }
    // A run that tested everything (but the operations the configuration leaves out), in
    // every phase, and whose signed requests got through.
    assert_eq!(
        report["operations"]["tested"].as_u64().unwrap() + NOT_FUZZED.len() as u64,
        report["operations"]["total"].as_u64().unwrap(),
        "{}",
        report["operations"]
    );
    for phase in ["coverage", "fuzzing", "stateful"] {
        assert_eq!(
            report["phases"][phase]["status"], "success",
            "phase {phase}: {}",
            report["phases"][phase]
        );
    }
    let accepted = |op: &str| {
        let rates = &report["valid_rates"][op];
        ["coverage", "fuzzing"]
            .iter()
            .filter_map(|p| rates[p]["accepted"].as_u64())
            .sum::<u64>()
    };
    assert!(
        accepted("GET /v1/peers") > 0 && accepted("GET /v1/volumes") > 0,
        "no signed request was accepted: {}",
        report["valid_rates"]
    );

    // The node still serves, with the same peers and volumes, and agreed with the hooks on
    // every request hash.
    assert_eq!(http_status(&format!("{}/ping", d.url())), Some(200));
    assert_eq!(membership(&dirs, &d), before);
    let log = d.log();
    let mismatches: Vec<&str> = log.lines().filter(|l| l.contains("qsh mismatch")).collect();
    assert!(
        mismatches.is_empty(),
        "the daemon refused {} signed requests as signed for another request:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
    let stderr_log = read(&dirs.log.join("stderr.log"));
    assert!(
        !stderr_log.contains("panicked"),
        "the daemon panicked:\n{stderr_log}"
    );
    d.stop().unwrap();
}
