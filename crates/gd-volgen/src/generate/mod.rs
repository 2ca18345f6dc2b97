//! The graph builders: a brick's, a client's, the self-heal daemon's, the rebalance process's.
//!
//! Each builder works like GD1's (`glusterd-volgen.c`): stack the translators bottom-up with
//! the options that only the builder knows (paths, ids, names), then run the option pass of
//! the [`OptionTable`] over the whole graph, then finish: the options of each translator are
//! printed newest first, as a GlusterFS dict prints them. Translator names are GD1's:
//! `<vol>-<type>` for brick and client features, `<vol>-client-<N>` (N = the brick's
//! [`Brick::index`](crate::Brick::index)), `<vol>-replicate-<k>` / `<vol>-disperse-<k>`,
//! `<vol>-dht`, the brick path for the brick's io-stats (the port-map key) and the volume name
//! for the client's.
//!
//! What GD1 derives from the cluster and not from the volume is assumed at GD1 10.3's
//! defaults: cluster op-version 100000 (so `fips-mode-rchecksum` on posix, `volume-id` on the
//! brick's io-stats, open-behind and utime on clients), no NFS, no brick multiplexing, no
//! thin-arbiter, no snapshots. What depends on the node running the brick comes in a
//! [`BrickEnv`].
//!
//! One file per graph: `brick`, `client` (which also stacks the client translators and
//! replicate/disperse sets the self-heal graph reuses, and the distribute part the rebalance
//! graph reuses), `shd` and `rebalance`; `context` is the option pass
//! every builder ends with, `stack` the graph under construction.

mod brick;
mod client;
mod context;
mod rebalance;
mod shd;
mod stack;
#[cfg(test)]
mod tests;

use crate::Error;
use crate::graph::Graph;
use crate::options::{GraphKind, OptionTable};
use crate::volume::Volume;

use context::Context;

/// What a brick's volfile takes from the node that runs the brick rather than the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickEnv {
    /// The address the brick's server binds to (`transport.socket.bind-address`). GD1 writes
    /// the brick's host there when glusterd itself was started with a bind address; `None`
    /// writes nothing and the brick listens on every address.
    pub bind_address: Option<String>,
    /// glusterd's working directory: the marker translator keeps its timestamp file in
    /// `<workdir>/vols/<vol>/marker.tstamp`. GD1's is `/var/lib/glusterd`.
    pub workdir: String,
}

impl Default for BrickEnv {
    fn default() -> Self {
        BrickEnv {
            bind_address: None,
            workdir: "/var/lib/glusterd".into(),
        }
    }
}

/// Who a client volfile is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKind {
    /// A FUSE mount from an untrusted address (GD1's `<vol>.tcp-fuse.vol`).
    Fuse,
    /// A FUSE mount from a trusted address, a peer of the cluster (GD1's
    /// `trusted-<vol>.tcp-fuse.vol`): every client translator carries the volume's login.
    TrustedFuse,
    /// A gfapi client. GD1 has no separate gfapi volfile: it serves the same graph as
    /// [`ClientKind::Fuse`] (a gfapi client on a trusted address gets `TrustedFuse`).
    Gfapi,
}

/// Volfile generation with an option table.
///
/// The free functions [`brick_volfile`], [`client_volfile`] and [`shd_volfile`] use the
/// built-in table; a `Volgen` made with [`Volgen::new`] uses another (the full table read from
/// the installed xlators, when that exists).
#[derive(Debug, Clone, Copy)]
pub struct Volgen<'t> {
    table: &'t OptionTable,
}

impl Default for Volgen<'static> {
    fn default() -> Self {
        Volgen {
            table: OptionTable::builtin(),
        }
    }
}

/// The brick volfile of `vol.bricks[position]`, with the built-in option table.
pub fn brick_volfile(vol: &Volume, position: usize, env: &BrickEnv) -> Result<Graph, Error> {
    Volgen::default().brick_volfile(vol, position, env)
}

/// The client volfile of `vol` for `kind`, with the built-in option table.
pub fn client_volfile(vol: &Volume, kind: ClientKind) -> Result<Graph, Error> {
    Volgen::default().client_volfile(vol, kind)
}

/// The rebalance volfile of `vol`, with the built-in option table.
pub fn rebalance_volfile(vol: &Volume) -> Result<Graph, Error> {
    Volgen::default().rebalance_volfile(vol)
}

/// The self-heal daemon volfile for `vols`, with the built-in option table.
pub fn shd_volfile(vols: &[Volume]) -> Result<Graph, Error> {
    Volgen::default().shd_volfile(vols)
}

/// Options turning on translators volgen does not build yet. A volume with one of them on is
/// refused rather than served a graph without the feature.
const UNSUPPORTED: [&str; 6] = [
    "network.compression",
    "features.uss",
    "features.cloudsync",
    "features.sdfs",
    "features.tag-namespaces",
    "cluster.nufa",
];

impl<'t> Volgen<'t> {
    /// Generation with `table`.
    pub fn new(table: &'t OptionTable) -> Self {
        Volgen { table }
    }

    fn context<'a>(
        &'a self,
        vol: &'a Volume,
        kind: GraphKind,
        overlay: Vec<(&'static str, String)>,
    ) -> Result<Context<'a>, Error> {
        vol.validate()?;
        let ctx = Context {
            table: self.table,
            vol,
            kind,
            overlay,
        };
        for key in UNSUPPORTED {
            if let Some(value) = vol.options.get(key)
                && ctx.flag(key, false)?
            {
                return Err(Error::Unsupported {
                    key: key.to_string(),
                    value: value.to_string(),
                });
            }
        }
        Ok(ctx)
    }
}
