//! Heal info and split-brain resolution, as the REST routes and tests call them (no HTTP
//! here): checks of the volume, then one `glfsheal` run on this node.
//!
//! Any node answers: `glfsheal` reads the bricks over the network, wherever they are. What it
//! needs from this node is the volume's client graph, which it fetches from this node's
//! volfile server over the unix socket.

use std::path::PathBuf;

use gd_api::{BrickHealInfo, ErrorCode, SplitBrainReq, SplitBrainResp, SubvolType};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_volume::model::{self as volumes, VolumeRecord, VolumeState};

use crate::glfsheal::{self, Query, Resolve};

/// The `glfsheal` binary: where Debian puts it (GD1's `libexecdir/glusterfs`), or on `PATH`.
pub fn glfsheal_bin() -> Option<PathBuf> {
    let multiarch = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("glusterfs/glfsheal"));
    [
        "/usr/libexec/glusterfs/glfsheal",
        "/usr/lib/glusterfs/glfsheal",
    ]
    .into_iter()
    .map(PathBuf::from)
    .chain(multiarch)
    .find(|p| p.is_file())
    .or_else(|| gd_volume::processes::bricks::find_executable("glfsheal"))
}

/// The volume `name`, which heal commands may act on: started, with replicated or dispersed
/// sets (`disperse_too`: dispersed sets count).
pub(crate) async fn healable(
    cx: &Cluster,
    name: &str,
    disperse_too: bool,
) -> Result<VolumeRecord, OpError> {
    volumes::check_name(name)?;
    let vol = volumes::get_volume(cx.node.store.as_ref(), name)
        .await?
        .ok_or_else(|| volumes::not_found(name))?;
    let fits =
        |k: SubvolType| k == SubvolType::Replicate || (disperse_too && k == SubvolType::Disperse);
    if !vol.subvols.iter().any(|s| fits(s.kind)) {
        let kinds = if disperse_too {
            "replicate or disperse"
        } else {
            "replicate"
        };
        return Err(OpError::invalid(format!(
            "volume {name} is not of type {kinds}: it has no copies to heal"
        )));
    }
    if vol.state != VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is not started: start it first"),
        ));
    }
    Ok(vol)
}

fn unix_socket(cx: &Cluster) -> PathBuf {
    cx.node.config.rundir.join(gd_rpc_server::UNIX_SOCKET_NAME)
}

fn binary() -> Result<PathBuf, OpError> {
    glfsheal_bin().ok_or_else(|| {
        OpError::new(
            ErrorCode::NotAvailable,
            "glfsheal is not installed on this node (Debian: glusterfs-server)",
        )
    })
}

async fn run(argv: &[String]) -> Result<glfsheal::Output, OpError> {
    glfsheal::run(&binary()?, argv, glfsheal::RUN_TIMEOUT)
        .await
        .map_err(|e| match e {
            glfsheal::RunError::Missing => OpError::new(ErrorCode::NotAvailable, e.to_string()),
            e => OpError::internal(e.to_string()),
        })
}

/// Every brick's heal information of volume `name` (`query` says which).
pub async fn heal_info(
    cx: &Cluster,
    name: &str,
    query: Query,
) -> Result<Vec<BrickHealInfo>, OpError> {
    // Split-brain is a state of replicas only; the index of a dispersed set is read too.
    healable(cx, name, query != Query::SplitBrain).await?;
    let out = run(&glfsheal::query_argv(name, &query, &unix_socket(cx))).await?;
    glfsheal::parse_xml(&out.stdout).map_err(|why| {
        OpError::internal(format!(
            "glfsheal could not read the heal information of {name}: {why}"
        ))
    })
}

/// Resolves a split-brain of volume `name` the way `policy` says (GD2's path words:
/// `bigger-file`, `latest-mtime`, `source-brick`).
pub async fn split_brain(
    cx: &Cluster,
    name: &str,
    policy: &str,
    req: SplitBrainReq,
) -> Result<SplitBrainResp, OpError> {
    let vol = healable(cx, name, false).await?;
    let file = || -> Result<String, OpError> {
        if req.filename.is_empty() {
            return Err(OpError::invalid(format!(
                "{policy} needs the file in split-brain (\"filename\")"
            )));
        }
        check_file(&req.filename)?;
        Ok(req.filename.clone())
    };
    let how = match policy {
        "bigger-file" => Resolve::BiggerFile { file: file()? },
        "latest-mtime" => Resolve::LatestMtime { file: file()? },
        "source-brick" => {
            let (host, path) = source_brick(cx, &vol, &req).await?;
            let file = if req.filename.is_empty() {
                None
            } else {
                Some(file()?)
            };
            Resolve::SourceBrick { host, path, file }
        }
        other => {
            return Err(OpError::invalid(format!(
                "unknown split-brain policy {other:?}: it is bigger-file, latest-mtime or source-brick"
            )));
        }
    };
    let out = run(&glfsheal::resolve_argv(name, &how, &unix_socket(cx))).await?;
    let output = glfsheal::lines(&out.stdout);
    if out.code == Some(0) {
        return Ok(SplitBrainResp { output });
    }
    let said = if output.is_empty() {
        format!("glfsheal ended with {:?} and said nothing", out.code)
    } else {
        output.join(" ")
    };
    Err(OpError::new(ErrorCode::Conflict, said))
}

/// A file as `glfsheal` takes it: a path from the volume's root, or `gfid:<uuid>`.
fn check_file(file: &str) -> Result<(), OpError> {
    let ok = if let Some(gfid) = file.strip_prefix("gfid:") {
        uuid::Uuid::parse_str(gfid).is_ok()
    } else {
        file.starts_with('/') && !file.contains('\0') && file.len() < 4096
    };
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "{file:?} is neither a path from the volume's root (/dir/file) nor gfid:<gfid>"
        ))
        .field("filename", file))
    }
}

/// The source brick's host as the volume's graph names it (what `glfsheal` matches), and its
/// path: the request names it by its recorded host, one of its node's addresses, or its
/// node's id.
async fn source_brick(
    cx: &Cluster,
    vol: &VolumeRecord,
    req: &SplitBrainReq,
) -> Result<(String, String), OpError> {
    if req.hostname.is_empty() || req.brickname.is_empty() {
        return Err(OpError::invalid(
            "source-brick needs the brick whose copy wins (\"hostname\" and \"brickname\")",
        ));
    }
    let (k, i) = named_brick(cx, vol, &req.hostname, &req.brickname).await?;
    let b = &vol.subvols[k].bricks[i];
    Ok((b.host.clone(), b.path.clone()))
}

/// Where brick `host:path` is in `vol` (its set and place there), named by its recorded
/// host, one of its node's addresses, its node's name or its node's id.
pub(crate) async fn named_brick(
    cx: &Cluster,
    vol: &VolumeRecord,
    host: &str,
    path: &str,
) -> Result<(usize, usize), OpError> {
    let store = cx.node.store.as_ref();
    for (k, set) in vol.subvols.iter().enumerate() {
        for (i, b) in set.bricks.iter().enumerate() {
            if b.path != path.trim_end_matches('/') {
                continue;
            }
            let mut names = vec![b.host.clone(), b.peer_id.to_string()];
            if let Some(p) = gd_node::peers::get_peer(store, b.peer_id).await? {
                names.extend(
                    p.peer_addresses
                        .iter()
                        .chain(&p.client_addresses)
                        .map(|a| a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h).to_owned()),
                );
                names.push(p.name.clone());
            }
            if names.iter().any(|n| n == host) {
                return Ok((k, i));
            }
        }
    }
    Err(
        OpError::invalid(format!("volume {} has no brick {host}:{path}", vol.name))
            .field("brick", format!("{host}:{path}")),
    )
}

/// Whether granular entry heal may be turned on for started volume `name`: GlusterFS's
/// `glfsheal` checks that no entry needs heal and every brick is up (GD1 runs it first too).
pub(crate) async fn granular_entry_heal_check(cx: &Cluster, name: &str) -> Result<(), OpError> {
    let argv = glfsheal::granular_entry_heal_argv(name, &unix_socket(cx));
    let out = run(&argv).await?;
    if out.code == Some(0) {
        return Ok(());
    }
    let said = glfsheal::lines(&out.stdout).join(" ");
    Err(OpError::new(
        ErrorCode::Conflict,
        if said.is_empty() {
            format!(
                "granular entry heal cannot be turned on for {name} now (glfsheal ended with {:?})",
                out.code
            )
        } else {
            said
        },
    ))
}
