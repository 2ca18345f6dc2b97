//! The fixture volumes of [`Setup::volumes`](super::Setup::volumes), created through the
//! daemon's REST API: `gv0`, replica 3 on node1, node2 and node2 again as `[fd00::2]`, with two
//! options and metadata, recorded as started (its bricks run on nodes this process does not
//! run bricks for, see [`daemon::ServingNode::mark_started`]); `dist`, distribute over two
//! bricks of the node the CLI talks to, created only (a test starts it: its bricks are real
//! `glusterfsd` processes). The options a new volume gets, where bricks are (one directory per
//! host, which tests write `{bricks}`), and the end of the bricks a test started.

use std::{collections::BTreeMap, path::Path};

use gd_api::VolumeInfo;
use gd_cli::{Client, ClientConfig, Credentials, client::parse_endpoint};
use serde_json::json;

use super::daemon;

/// The options the daemon gives a new distribute volume (GD1 10.3's).
pub const DISTRIBUTE_DEFAULTS: [(&str, &str); 3] = [
    ("nfs.disable", "on"),
    ("storage.fips-mode-rchecksum", "on"),
    ("transport.address-family", "inet"),
];

/// The options the daemon gives a new replica volume (GD1 10.3's).
pub const REPLICATE_DEFAULTS: [(&str, &str); 5] = [
    ("cluster.granular-entry-heal", "on"),
    ("nfs.disable", "on"),
    ("performance.client-io-threads", "off"),
    ("storage.fips-mode-rchecksum", "on"),
    ("transport.address-family", "inet"),
];

/// An options map of `pairs`.
pub fn options_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `volume info`'s lines of the options `pairs` (in name order).
pub fn options_text(pairs: &[(&str, &str)]) -> String {
    let lines: String = options_of(pairs)
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    format!("Options:\n{lines}")
}

/// The host the node the CLI talks to is named by in its bricks.
pub const THIS_HOST: &str = "127.0.0.1";

/// The directory under which the bricks a request names at `host` are: one per host under the
/// test's directory (the nodes of a test cluster share this machine).
pub fn bricks_of(root: &Path, host: &str) -> String {
    let dir: String = host
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
            _ => '_',
        })
        .collect();
    format!("{}/bricks/{dir}", root.display())
}

/// `text` with every brick directory ([`bricks_of`]) under `root` written `{bricks}`.
pub fn unbricks(root: &Path, text: &str) -> String {
    let Ok(entries) = std::fs::read_dir(root.join("bricks")) else {
        return text.to_owned();
    };
    let mut dirs: Vec<String> = entries
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    // The longer first, should one directory's name begin another's.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.len()));
    dirs.iter()
        .fold(text.to_owned(), |t, d| t.replace(d.as_str(), "{bricks}"))
}

/// Creates the fixture volumes; returns them as the daemon then answers them.
pub async fn create_fixtures(
    serving: &daemon::ServingNode,
    endpoint: &str,
    secret: Option<&str>,
    root: &Path,
) -> anyhow::Result<Vec<VolumeInfo>> {
    let mut config =
        ClientConfig::new(parse_endpoint(endpoint).map_err(anyhow::Error::msg)?).insecure(true);
    if let Some(s) = secret {
        config = config.credentials(Credentials::new(gd_auth::CLI_USER, s));
    }
    let client = Client::new(config)?;
    let brick =
        |host: &str, path: &str| json!({"host": host, "path": bricks_of(root, host) + path});
    let flags = json!({"create-brick-dir": true, "allow-root-dir": true});
    let gv0: VolumeInfo = client
        .post(
            "/v1/volumes",
            &json!({"name": "gv0", "flags": flags,
                "subvols": [{"type": "replicate", "replica": 3, "bricks": [
                    brick("node1", "/gv0"),
                    brick("node2", "/gv0"),
                    brick("[fd00::2]", "/gv0-b3")]}],
                "options": {"cluster/replicate.self-heal-daemon": "on",
                            "performance/read-ahead.read-ahead": "off"},
                "metadata": {"owner": "alice"}}),
        )
        .await?;
    let bricks: Vec<_> = gv0
        .subvols
        .iter()
        .flat_map(|s| &s.bricks)
        .enumerate()
        .map(|(i, b)| (b.peer_id, b.id, 3000 + i as u32, 49152 + i as u16))
        .collect();
    serving.mark_started("gv0", gv0.id, &bricks).await?;
    let _: VolumeInfo = client
        .post(
            "/v1/volumes",
            &json!({"name": "dist", "flags": flags,
                "subvols": [{"type": "distribute", "bricks": [
                    brick(THIS_HOST, "/d1"),
                    brick(THIS_HOST, "/d2")]}],
                "metadata": {"owner": "bob", "tier": "cold"}}),
        )
        .await?;
    Ok(client.get("/v1/volumes").await?)
}

/// Kills the brick processes a node left running (a daemon leaves its bricks running when it
/// stops): those named by a pid file under its run directory whose command line names that
/// directory too, so only processes this test started.
pub fn kill_bricks(rundir: &Path) {
    let mut dirs = vec![rundir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "pid") {
                continue;
            }
            let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
            else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours = String::from_utf8_lossy(&cmdline).contains(&*rundir.to_string_lossy());
            if ours {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}
