//! Volfiles served over GETSPEC, generated on demand from the store (DESIGN §3.8–3.9).
//!
//! Keys, as GlusterFS processes ask for them:
//! - `<vol>.<host>.<brick path with / as ->`: a brick's volfile (glusterfsd);
//! - `<vol>` (a FUSE mount asks for `/<vol>`, gfapi for `<vol>`): the client volfile; the
//!   trusted variant (bricks accept its login) for clients on this machine, as GD1 serves
//!   `trusted-<vol>.tcp-fuse.vol` to local peers;
//! - `shd/<vol>`: the self-heal daemon's, with the `pidfile` it must write in the reply;
//! - `rebalance/<vol>`: the rebalance process's (a volume of more than one set), to this
//!   machine's processes only: it carries the volume's login.
//!
//! A brick's volfile comes from the whole record; the others from what the volume serves
//! ([`model::VolumeRecord::serving`]: not the sets of an add-brick still running).
//!
//! Nothing is written to disk: the store is the only truth, and a volfile is a pure function
//! of the volume record (and of the installed xlators' option tables, which say where the
//! options volgen's own table does not know go: see [`crate::options`]).

use std::sync::Arc;

use async_trait::async_trait;
use gd_sunrpc::Dict;
use gd_volgen::{BrickEnv, ClientKind};

use gd_node::node::Node;
use gd_rpc_server::{GetspecRequest, Volfile, VolfileSource};

use crate::{model, processes::shd_pidfile};

/// The volume layer's [`VolfileSource`].
pub struct StoreVolfiles {
    pub node: Arc<Node>,
}

impl StoreVolfiles {
    async fn generate(&self, key: &str, trusted: bool) -> Result<Option<Volfile>, String> {
        let store = self.node.store.as_ref();
        if let Some(vol) = key.strip_prefix("shd/") {
            let Some(v) = model::get_volume(store, vol)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let table = crate::options::catalog().volgen_table(&v.options);
            let graph = gd_volgen::Volgen::new(&table)
                .shd_volfile(&[v.serving().to_volgen()])
                .map_err(|e| e.to_string())?;
            let mut xdata = Dict::new();
            xdata.set_str(
                "pidfile",
                &shd_pidfile(&self.node, vol).display().to_string(),
            );
            return Ok(Some(Volfile {
                spec: graph.to_volfile().map_err(|e| e.to_string())?,
                xdata,
            }));
        }
        // The rebalance process's (GD1's `rebalance/<vol>`): it carries the volume's login, so
        // it goes only to this node's own processes, as GD1 keeps it in its own directory.
        if let Some(vol) = key.strip_prefix("rebalance/") {
            if !trusted {
                return Ok(None);
            }
            let Some(v) = model::get_volume(store, vol)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let table = crate::options::catalog().volgen_table(&v.options);
            let graph =
                match gd_volgen::Volgen::new(&table).rebalance_volfile(&v.serving().to_volgen()) {
                    Ok(g) => g,
                    Err(gd_volgen::Error::NothingToRebalance(_)) => return Ok(None),
                    Err(e) => return Err(e.to_string()),
                };
            return Ok(Some(Volfile {
                spec: graph.to_volfile().map_err(|e| e.to_string())?,
                xdata: Dict::new(),
            }));
        }
        // A brick: the volume name ends at the first '.' (names have none).
        if let Some((vol, _)) = key.split_once('.') {
            let Some(v) = model::get_volume(store, vol)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let gv = v.to_volgen();
            let Some(pos) = gv.bricks.iter().position(|b| b.volfile_id(&v.name) == key) else {
                return Ok(None);
            };
            let env = BrickEnv {
                bind_address: crate::processes::bind_ip(&self.node).map(|ip| ip.to_string()),
                workdir: self.node.config.localstatedir.display().to_string(),
            };
            let table = crate::options::catalog().volgen_table(&v.options);
            let graph = gd_volgen::Volgen::new(&table)
                .brick_volfile(&gv, pos, &env)
                .map_err(|e| e.to_string())?;
            return Ok(Some(Volfile {
                spec: graph.to_volfile().map_err(|e| e.to_string())?,
                xdata: Dict::new(),
            }));
        }
        let Some(v) = model::get_volume(store, key)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        Ok(Some(Volfile {
            spec: client_volfile(&v, trusted)?,
            xdata: Dict::new(),
        }))
    }
}

/// The client volfile of `v` (what it serves, [`VolumeRecord::serving`]): the trusted one
/// (with the volume's login) or the one for any mount.
pub fn client_volfile(v: &model::VolumeRecord, trusted: bool) -> Result<String, String> {
    let kind = if trusted {
        ClientKind::TrustedFuse
    } else {
        ClientKind::Fuse
    };
    let table = crate::options::catalog().volgen_table(&v.options);
    let graph = gd_volgen::Volgen::new(&table)
        .client_volfile(&v.serving().to_volgen(), kind)
        .map_err(|e| e.to_string())?;
    graph.to_volfile().map_err(|e| e.to_string())
}

#[async_trait]
impl VolfileSource for StoreVolfiles {
    async fn volfile(&self, key: &str) -> Option<String> {
        self.generate(key, false)
            .await
            .ok()
            .flatten()
            .map(|v| v.spec)
    }

    async fn getspec(&self, req: &GetspecRequest<'_>) -> Result<Volfile, i32> {
        let trusted = req.peer.is_loopback();
        match self.generate(req.key, trusted).await {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(nix::errno::Errno::ENOENT as i32),
            Err(e) => {
                tracing::error!(key = req.key, error = %e, "cannot generate a volfile");
                Err(nix::errno::Errno::EINVAL as i32)
            }
        }
    }
}
