//! The client graph a FUSE mount or gfapi client loads, with the readdir-ahead cache split of
//! parallel-readdir, and the client translators and replicate/disperse sets it shares with the
//! self-heal graph.

use super::context::Context;
use super::stack::Stack;
use super::{ClientKind, Volgen};
use crate::Error;
use crate::graph::Graph;
use crate::options::GraphKind;
use crate::volume::{Volume, VolumeType};

const PARALLEL_READDIR: &str = "performance.parallel-readdir";
const READDIR_AHEAD: &str = "performance.readdir-ahead";
const RDA_CACHE_LIMIT: &str = "performance.rda-cache-limit";
const RDA_REQUEST_SIZE: &str = "performance.rda-request-size";
/// The smallest cache a readdir-ahead under DHT gets (GD1's 4 KiB floor).
const RDA_CACHE_MIN: u64 = 4 * 1024;

impl Volgen<'_> {
    /// The volfile a client mounts `vol` with (GD1's `<vol>.tcp-fuse.vol`, or
    /// `trusted-<vol>.tcp-fuse.vol` for [`ClientKind::TrustedFuse`]).
    pub fn client_volfile(&self, vol: &Volume, kind: ClientKind) -> Result<Graph, Error> {
        // GD1's client builder forces send-gids to the opposite of the bricks' manage-gids.
        let manage_gids = self
            .context(vol, GraphKind::Client, Vec::new())?
            .flag("server.manage-gids", false)?;
        let send_gids = if manage_gids { "false" } else { "true" };
        let mut overlay = vec![("client.send-gids", send_gids.to_string())];
        overlay.extend(readdir_ahead_split(&self.context(
            vol,
            GraphKind::Client,
            Vec::new(),
        )?)?);
        let ctx = self.context(vol, GraphKind::Client, overlay)?;
        let name = vol.name.as_str();
        let mut g = Stack::default();
        let parallel_readdir = add_distribute(&ctx, &mut g, kind == ClientKind::TrustedFuse)?;
        if ctx.flag("features.shard", false)? {
            g.push(format!("{name}-shard"), "features/shard");
        }
        if ctx.flag("features.ctime", true)? {
            g.push(format!("{name}-utime"), "features/utime");
        }
        const PERF: [(&str, &str, &str, bool); 9] = [
            (
                "performance.write-behind",
                "write-behind",
                "performance/write-behind",
                true,
            ),
            (
                "performance.read-ahead",
                "read-ahead",
                "performance/read-ahead",
                false,
            ),
            (
                "performance.readdir-ahead",
                "readdir-ahead",
                "performance/readdir-ahead",
                false,
            ),
            (
                "performance.io-cache",
                "io-cache",
                "performance/io-cache",
                false,
            ),
            (
                "performance.open-behind",
                "open-behind",
                "performance/open-behind",
                true,
            ),
            (
                "performance.quick-read",
                "quick-read",
                "performance/quick-read",
                true,
            ),
            (
                "performance.nl-cache",
                "nl-cache",
                "performance/nl-cache",
                false,
            ),
            (
                "performance.stat-prefetch",
                "md-cache",
                "performance/md-cache",
                true,
            ),
            (
                "performance.client-io-threads",
                "io-threads",
                "performance/io-threads",
                true,
            ),
        ];
        for (key, suffix, xl_type, fallback) in PERF {
            if key == READDIR_AHEAD && parallel_readdir {
                continue;
            }
            if ctx.flag(key, fallback)? {
                g.push(format!("{name}-{suffix}"), xl_type);
            }
        }
        let top = g.push(name, "debug/io-stats");
        top.set_option("log-level", "INFO");
        top.set_option("threads", "16");

        ctx.apply(&mut g.xlators, None)?;
        g.finish()
    }
}

/// Adds what every client of the whole volume has below its own translators (mounts and the
/// rebalance process alike): a protocol/client per brick, the replicate or disperse sets, a
/// readdir-ahead over each set with parallel-readdir on, and DHT over them. Returns whether
/// parallel-readdir is on.
pub(super) fn add_distribute(
    ctx: &Context<'_>,
    g: &mut Stack,
    trusted: bool,
) -> Result<bool, Error> {
    let name = ctx.vol.name.as_str();
    let sets = add_clients_and_sets(ctx, g, trusted)?;
    // parallel-readdir: a readdir-ahead over each DHT child instead of one over DHT.
    let parallel_readdir = ctx.flag(PARALLEL_READDIR, false)?;
    let dht_children = if parallel_readdir {
        sets.into_iter()
            .enumerate()
            .map(|(k, set)| {
                let rda = g.push_over(
                    format!("{name}-readdir-ahead-{k}"),
                    "performance/readdir-ahead",
                    vec![set],
                );
                rda.set_option(READDIR_AHEAD, "on");
                rda.name.clone()
            })
            .collect()
    } else {
        sets
    };
    // GD1 names the children of DHT above the decommissioned sets, comma-separated.
    let decommissioned: Vec<&str> = ctx
        .vol
        .decommissioned
        .iter()
        .filter_map(|&k| dht_children.get(k).map(String::as_str))
        .collect();
    let decommissioned = decommissioned.join(",");
    let dht = g.push_over(format!("{name}-dht"), "cluster/distribute", dht_children);
    if !decommissioned.is_empty() {
        dht.set_option("decommissioned-bricks", decommissioned);
    }
    Ok(parallel_readdir)
}

/// GD1's `client_graph_set_rda_options`: with parallel-readdir and readdir-ahead on and more
/// than one DHT child, the cache limit is shared among the readdir-aheads under DHT (each gets
/// its part, at least 4 KiB), and the request size never exceeds a part. The values GD1 then
/// writes, as byte counts with a `B` suffix, for the option pass.
fn readdir_ahead_split(ctx: &Context<'_>) -> Result<Vec<(&'static str, String)>, Error> {
    let children = ctx.vol.bricks.len() / ctx.vol.volume_type.set_size().max(1);
    if children <= 1 || !ctx.flag(PARALLEL_READDIR, false)? || !ctx.flag(READDIR_AHEAD, false)? {
        return Ok(Vec::new());
    }
    let bytes = |key: &str| -> Result<u64, Error> {
        let value = ctx.value(key).unwrap_or_default();
        match gd_xlator::parse::bytesize(value) {
            Some(0) => Err(Error::InvalidOption {
                key: key.to_string(),
                value: value.to_string(),
                reason: "must not be 0 with parallel-readdir on".into(),
            }),
            Some(n) => Ok(n),
            None => Err(Error::InvalidOption {
                key: key.to_string(),
                value: value.to_string(),
                reason: "expected a size such as 131072, 128KB or 10MB".into(),
            }),
        }
    };
    let cache = bytes(RDA_CACHE_LIMIT)?;
    let request = bytes(RDA_REQUEST_SIZE)?;
    let mut part = cache / children as u64;
    let mut split = Vec::new();
    if part < request {
        let request = if part < RDA_CACHE_MIN {
            part = RDA_CACHE_MIN;
            RDA_CACHE_MIN
        } else {
            part
        };
        split.push((RDA_REQUEST_SIZE, format!("{request}B")));
    }
    split.push((RDA_CACHE_LIMIT, format!("{part}B")));
    Ok(split)
}

/// Adds a protocol/client per brick and, when sets have more than one brick, a replicate or
/// disperse translator per set. Returns the names DHT (or the self-heal top) sits on.
pub(super) fn add_clients_and_sets(
    ctx: &Context<'_>,
    g: &mut Stack,
    trusted: bool,
) -> Result<Vec<String>, Error> {
    let vol = ctx.vol;
    let family = ctx.value_checked("transport.address-family")?;
    let mut clients = Vec::with_capacity(vol.bricks.len());
    for brick in &vol.bricks {
        let client = g.push_over(brick.client_name(&vol.name), "protocol/client", Vec::new());
        client.set_option("ping-timeout", "42");
        client.set_option("remote-host", &brick.host);
        client.set_option("remote-subvolume", &brick.path);
        client.set_option("transport-type", vol.transport.as_str());
        if let Some(family) = family {
            client.set_option("transport.address-family", family);
        }
        if trusted {
            client.set_option("username", vol.username.to_string());
            client.set_option("password", vol.password.to_string());
        }
        clients.push(client.name.clone());
    }
    let set_size = vol.volume_type.set_size();
    if set_size == 1 {
        return Ok(clients);
    }
    let mut sets = Vec::new();
    for (k, children) in clients.chunks(set_size).enumerate() {
        let set = match vol.volume_type {
            VolumeType::Disperse { redundancy, .. } => {
                let ec = g.push_over(
                    format!("{}-disperse-{k}", vol.name),
                    "cluster/disperse",
                    children.to_vec(),
                );
                ec.set_option("redundancy", redundancy.to_string());
                ec
            }
            _ => {
                let afr = g.push_over(
                    format!("{}-replicate-{k}", vol.name),
                    "cluster/replicate",
                    children.to_vec(),
                );
                afr.set_option("afr-pending-xattr", children.join(","));
                afr.set_option("volume-id", vol.id.to_string());
                if vol.volume_type == VolumeType::Arbiter {
                    afr.set_option("arbiter-count", "1");
                }
                afr
            }
        };
        sets.push(set.name.clone());
    }
    Ok(sets)
}
