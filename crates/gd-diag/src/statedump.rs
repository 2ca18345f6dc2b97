//! Statedumps (GD1's `volume statedump <v> [all|mem|iobuf|callpool|priv|fd|inode|history]...`),
//! done as GD1 does them: each node signals its own processes of the volume.
//!
//! A GlusterFS process dumps its state on SIGUSR1. What it dumps it reads, at that moment,
//! from `/var/run/gluster/glusterdump.<pid>.options` (`<section>=yes` lines; no file: every
//! section); where it writes is the brick's `statedump-path` (the volume's
//! `server.statedump-path`), else `/var/run/gluster`; the file is
//! `<name>.<pid>.dump.<unix-seconds>`, with the brick's path as `<name>` (its leading `/`
//! dropped, the others made `-`), `glusterdump` for the other daemons, renamed into place once
//! whole. Unlike GD1, which sleeps a second and answers, a node here waits (bounded) until
//! each file is there and answers with the files: the operation returns when its effect is
//! real. The initiator asks every node with bricks of the volume
//! (`POST /v1/internal/statedump/{volname}`) and lists what they made.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use gd_api::{ErrorCode, StatedumpFile, StatedumpReq, StatedumpResp};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::{node::Node, process::Proc};
use gd_volume::{
    model::VolumeRecord,
    processes::{self, bricks},
};

/// The internal route a node is asked its part on.
pub const INTERNAL_PATH: &str = "/v1/internal/statedump/{volname}";
/// GlusterFS's run directory, compiled into its processes.
const GLUSTER_RUNDIR: &str = "/var/run/gluster";
/// The sections a process can be asked to dump (`gf_proc_dump_parse_set_option`).
pub const SECTIONS: [&str; 10] = [
    "all", "mem", "iobuf", "callpool", "priv", "fd", "inode", "inodectx", "fdctx", "history",
];
/// How long a node waits for its processes' dump files.
const DUMP_WAIT: Duration = Duration::from_secs(30);

/// Refuses sections GlusterFS does not know.
pub fn check(req: &StatedumpReq) -> Result<(), OpError> {
    match req.options.iter().find(|o| !SECTIONS.contains(&o.as_str())) {
        Some(bad) => Err(OpError::invalid(format!(
            "unknown statedump section {bad:?}: it is one of {}",
            SECTIONS.join(", ")
        ))
        .field("options", bad.clone())),
        None => Ok(()),
    }
}

/// Dumps the state of volume `name`'s bricks (or self-heal daemons) on every node.
pub async fn statedump(
    cx: &Cluster,
    name: &str,
    req: StatedumpReq,
) -> Result<StatedumpResp, OpError> {
    if !req.client.is_empty() {
        return crate::client_dump::client_statedump(cx, name, &req).await;
    }
    check(&req)?;
    let vol = crate::started(cx, name).await?;
    let nodes = vol.brick_nodes();
    let files = crate::each_node(
        cx,
        &vol,
        nodes,
        INTERNAL_PATH,
        &req,
        || dump_here(&cx.node, &vol, &req),
        |f: &StatedumpFile| f.process.as_str(),
    )
    .await?;
    Ok(StatedumpResp {
        files,
        told: vec![],
    })
}

/// This node's part: its processes of `vol` dump their state; answers once every file is
/// there.
pub async fn dump_here(
    node: &Node,
    vol: &VolumeRecord,
    req: &StatedumpReq,
) -> Result<Vec<StatedumpFile>, OpError> {
    check(req)?;
    let me = node.identity().peer_id;
    // (what, its process, its dump's name, the directory it writes to)
    let mut targets: Vec<(String, Proc, String, PathBuf)> = vec![];
    if req.shd {
        let pidfile = processes::shd_pidfile(node, &vol.name);
        if let Some(p) = bricks::running_shd(&pidfile, &vol.name) {
            targets.push((
                format!("shd/{}", vol.name),
                p,
                "glusterdump".into(),
                GLUSTER_RUNDIR.into(),
            ));
        }
    } else {
        let dir = vol
            .options
            .get("server.statedump-path")
            .map(|d| d.trim_end_matches('/').to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| GLUSTER_RUNDIR.into());
        for b in vol.bricks().filter(|b| b.peer_id == me) {
            let files = bricks::files(&node.config, &vol.name, &b.host, &b.path, b.id);
            if let Some(p) = bricks::running_pid(&files.pidfile, &b.path) {
                targets.push((
                    format!("{}:{}", b.host, b.path),
                    p,
                    b.path.trim_start_matches('/').replace('/', "-"),
                    PathBuf::from(&dir),
                ));
            }
        }
    }
    let options = req.options.clone();
    let out = tokio::task::spawn_blocking(move || dump_all(&targets, &options))
        .await
        .map_err(|e| OpError::internal(e.to_string()))??;
    Ok(out
        .into_iter()
        .map(|(process, pid, file)| StatedumpFile {
            node: me,
            process,
            pid,
            file: file.display().to_string(),
        })
        .collect())
}

type Dumped = Vec<(String, u32, PathBuf)>;

/// Signals each target and waits for its dump file (blocking: file system work and sleeps).
fn dump_all(
    targets: &[(String, Proc, String, PathBuf)],
    options: &[String],
) -> Result<Dumped, OpError> {
    let _ = std::fs::create_dir_all(GLUSTER_RUNDIR);
    let since = unix_now().saturating_sub(1);
    let mut optfiles = vec![];
    for (what, p, _, _) in targets {
        let optfile = PathBuf::from(format!("{GLUSTER_RUNDIR}/glusterdump.{}.options", p.pid));
        if options.is_empty() {
            let _ = std::fs::remove_file(&optfile);
        } else {
            let text: String = options.iter().map(|o| format!("{o}=yes\n")).collect();
            std::fs::write(&optfile, text).map_err(|e| {
                OpError::internal(format!("cannot write {}: {e}", optfile.display()))
            })?;
            optfiles.push(optfile);
        }
        if !p.signal(nix::sys::signal::Signal::SIGUSR1) {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!("the process of {what} (pid {}) is gone", p.pid),
            ));
        }
    }
    let deadline = std::time::Instant::now() + DUMP_WAIT;
    let mut out = vec![];
    let mut waiting: Vec<&(String, Proc, String, PathBuf)> = targets.iter().collect();
    while !waiting.is_empty() {
        waiting.retain(
            |(what, p, name, dir)| match newest_dump(dir, name, p.pid, since) {
                Some(file) => {
                    out.push((what.clone(), p.pid, file));
                    false
                }
                None => true,
            },
        );
        if waiting.is_empty() {
            break;
        }
        if std::time::Instant::now() >= deadline {
            for f in &optfiles {
                let _ = std::fs::remove_file(f);
            }
            let names: Vec<&str> = waiting.iter().map(|(w, ..)| w.as_str()).collect();
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "no statedump from {} within {} s (see its log)",
                    names.join(", "),
                    DUMP_WAIT.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for f in &optfiles {
        let _ = std::fs::remove_file(f);
    }
    out.sort();
    Ok(out)
}

/// The newest `<name>.<pid>.dump.<seconds>` in `dir` made at `since` or later.
pub fn newest_dump(dir: &Path, name: &str, pid: u32, since: u64) -> Option<PathBuf> {
    let prefix = format!("{name}.{pid}.dump.");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let at: u64 = file.strip_prefix(&prefix)?.parse().ok()?;
            (at >= since).then_some((at, e.path()))
        })
        .max()
        .map(|(_, p)| p)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sections_are_refused() {
        let req = |o: &[&str]| StatedumpReq {
            options: o.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert!(check(&req(&[])).is_ok());
        assert!(check(&req(&["mem", "fd", "history"])).is_ok());
        let e = check(&req(&["mem", "everything"])).unwrap_err();
        assert!(e.message.contains("\"everything\""), "{}", e.message);
    }

    #[test]
    fn the_newest_dump_of_the_process_since_the_signal_is_found() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "bricks-b1.42.dump.100",
            "bricks-b1.42.dump.205",
            "bricks-b1.42.dump.210",
            "bricks-b1.43.dump.300",
            "bricks-b1.42.dump.x",
            "dumpAbC123",
        ] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        assert_eq!(
            newest_dump(dir.path(), "bricks-b1", 42, 200).unwrap(),
            dir.path().join("bricks-b1.42.dump.210")
        );
        assert_eq!(newest_dump(dir.path(), "bricks-b1", 42, 211), None);
        assert_eq!(newest_dump(dir.path(), "bricks-b2", 42, 0), None);
    }
}
