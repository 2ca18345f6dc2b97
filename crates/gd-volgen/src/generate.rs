//! The graph builders: a brick's, a client's, the self-heal daemon's.
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

use crate::Error;
use crate::graph::{Graph, Xlator};
use crate::options::{Action, GraphKind, OptionTable, check_value, parse_bool};
use crate::volume::{Volume, VolumeType};

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

const PARALLEL_READDIR: &str = "performance.parallel-readdir";
const READDIR_AHEAD: &str = "performance.readdir-ahead";
const RDA_CACHE_LIMIT: &str = "performance.rda-cache-limit";
const RDA_REQUEST_SIZE: &str = "performance.rda-request-size";
/// The smallest cache a readdir-ahead under DHT gets (GD1's 4 KiB floor).
const RDA_CACHE_MIN: u64 = 4 * 1024;

/// The translator types whose options the self-heal graph takes (GD1's `shd_option_handler`).
const SHD_OPTION_TYPES: [&str; 3] = ["protocol/client", "cluster/replicate", "cluster/disperse"];

impl<'t> Volgen<'t> {
    /// Generation with `table`.
    pub fn new(table: &'t OptionTable) -> Self {
        Volgen { table }
    }

    /// The volfile of the brick at `position` in `vol.bricks`: what its `glusterfsd` loads
    /// (GD1's `<vol>.<host>.<path>.vol`, volfile id [`crate::Brick::volfile_id`]).
    pub fn brick_volfile(
        &self,
        vol: &Volume,
        position: usize,
        env: &BrickEnv,
    ) -> Result<Graph, Error> {
        let ctx = self.context(vol, GraphKind::Brick, Vec::new())?;
        let brick = vol.bricks.get(position).ok_or_else(|| Error::NoSuchBrick {
            volume: vol.name.clone(),
            position,
        })?;
        if ctx.flag("features.read-only", false)? && ctx.flag("features.worm", false)? {
            return Err(Error::InvalidOption {
                key: "features.worm".into(),
                value: ctx.value("features.worm").unwrap_or_default().into(),
                reason: "read-only and worm cannot both be on".into(),
            });
        }
        if let Some(bind) = &env.bind_address {
            check_value("bind address", bind)?;
        }
        check_value("workdir", &env.workdir)?;

        let name = vol.name.as_str();
        let path = brick.path.as_str();
        let id = vol.id.to_string();
        let mut g = Stack::default();

        let posix = g.push(format!("{name}-posix"), "storage/posix");
        posix.set_option("directory", path);
        posix.set_option("volume-id", &id);
        if ctx.flag("features.quota", false)?
            || ctx.flag("storage.build-pgfid", false)?
            || ctx.flag("features.trash", false)?
        {
            posix.set_option("update-link-count-parent", "on");
        }
        posix.set_option("fips-mode-rchecksum", "on");
        let shared = match brick.fsid {
            Some(fsid) => vol
                .bricks
                .iter()
                .filter(|b| b.peer_id == brick.peer_id && b.fsid == Some(fsid))
                .count(),
            None => 1,
        };
        posix.set_option("shared-brick-count", shared.to_string());

        if vol.is_arbiter(position) {
            g.push(format!("{name}-arbiter"), "features/arbiter");
        }
        let trash = g.push(format!("{name}-trash"), "features/trash");
        trash.set_option("trash-dir", ".trashcan");
        trash.set_option("brick-path", path);
        trash.set_option("trash-internal-op", "off");

        let bitrot = ctx.value("features.bitrot").unwrap_or("disable");
        check_value("features.bitrot", bitrot)?;
        let bitrot_on = ctx.flag("features.bitrot", false)?;
        let changelog = g.push(format!("{name}-changelog"), "features/changelog");
        changelog.set_option("changelog-brick", path);
        changelog.set_option("changelog-dir", format!("{path}/.glusterfs/changelogs"));
        changelog.set_option(
            "changelog-notification",
            if bitrot_on { "on" } else { "off" },
        );
        let stub = g.push(format!("{name}-bitrot-stub"), "features/bitrot-stub");
        stub.set_option("export", path);
        stub.set_option("bitrot", bitrot);

        if ctx.flag("features.acl", true)? {
            g.push(format!("{name}-access-control"), "features/access-control");
        }
        g.push(format!("{name}-locks"), "features/locks");
        g.push(format!("{name}-worm"), "features/worm");
        g.push(format!("{name}-read-only"), "features/read-only")
            .set_option("read-only", "off");
        g.push(format!("{name}-leases"), "features/leases");
        g.push(format!("{name}-upcall"), "features/upcall");
        g.push(format!("{name}-io-threads"), "performance/io-threads");
        g.push(format!("{name}-selinux"), "features/selinux");
        let marker = g.push(format!("{name}-marker"), "features/marker");
        marker.set_option("volume-uuid", &id);
        marker.set_option(
            "timestamp-file",
            format!(
                "{}/vols/{name}/marker.tstamp",
                env.workdir.trim_end_matches('/')
            ),
        );
        marker.set_option("quota-version", vol.quota_version.to_string());
        g.push(format!("{name}-barrier"), "features/barrier");
        let index = g.push(format!("{name}-index"), "features/index");
        index.set_option("index-base", format!("{path}/.glusterfs/indices"));
        if matches!(vol.volume_type, VolumeType::Disperse { .. }) {
            index.set_option("xattrop64-watchlist", "trusted.ec.dirty");
        } else {
            index.set_option("xattrop-dirty-watchlist", "trusted.afr.dirty");
            index.set_option("xattrop-pending-watchlist", format!("trusted.afr.{name}-"));
        }
        let server_quota = ctx.value("features.quota").unwrap_or("off");
        check_value("features.quota", server_quota)?;
        let quota = g.push(format!("{name}-quota"), "features/quota");
        quota.set_option("volume-uuid", name);
        quota.set_option("server-quota", server_quota);

        let io_stats = g.push(path, "debug/io-stats");
        io_stats.set_option("unique-id", path);
        io_stats.set_option("volume-id", &id);
        io_stats.set_option("log-level", "INFO");
        io_stats.set_option("threads", "16");

        let server = g.push(format!("{name}-server"), "protocol/server");
        server.set_option("transport-type", vol.transport.as_str());
        if let Some(bind) = &env.bind_address {
            server.set_option("transport.socket.bind-address", bind);
        }
        if let Some(family) = ctx.value_checked("transport.address-family")? {
            server.set_option("transport.address-family", family);
        }
        server.set_option(format!("auth.login.{path}.allow"), vol.username.to_string());
        server.set_option(
            format!("auth.login.{}.password", vol.username),
            vol.password.to_string(),
        );
        server.set_option("auth-path", path);

        ctx.apply(&mut g.xlators, Some(path))?;
        g.finish()
    }

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
        let trusted = kind == ClientKind::TrustedFuse;
        let sets = add_clients_and_sets(&ctx, &mut g, trusted)?;

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
        let dht = format!("{name}-dht");
        g.push_over(dht, "cluster/distribute", dht_children);
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

    /// The self-heal daemon's volfile for `vols`, skipping the volumes that do not heal
    /// (distribute).
    ///
    /// For one healing volume it is GD1 10.3's `<vol>-shd.vol` (volfile id `shd/<vol>`), whose
    /// top is named after the volume: GD1 runs one daemon per node and attaches each volume's
    /// graph to it. For several, it is one graph with every volume's sets under a top named
    /// `glustershd`, as GD1 wrote before the daemon was multiplexed, for a daemon that loads
    /// them all at once.
    pub fn shd_volfile(&self, vols: &[Volume]) -> Result<Graph, Error> {
        let mut healing: Vec<&Volume> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for vol in vols {
            vol.validate()?;
            if !seen.insert(vol.name.as_str()) {
                return Err(Error::InvalidVolume(format!(
                    "volume {:?} is listed twice",
                    vol.name
                )));
            }
            if vol.volume_type.heals() {
                healing.push(vol);
            }
        }
        let (top_name, top_vol) = match healing.as_slice() {
            [] => return Err(Error::NothingToHeal),
            [only] => (only.name.as_str(), Some(*only)),
            _ => ("glustershd", None),
        };
        let mut all = Stack::default();
        let mut tops = Vec::new();
        for vol in &healing {
            let overlay = vec![
                ("cluster.background-self-heal-count", "0".to_string()),
                ("cluster.metadata-self-heal", "on".to_string()),
                ("cluster.data-self-heal", "on".to_string()),
                ("cluster.entry-self-heal", "on".to_string()),
            ];
            let ctx = self.context(vol, GraphKind::Shd, overlay)?;
            let mut g = Stack::default();
            let sets = add_clients_and_sets(&ctx, &mut g, true)?;
            ctx.apply(&mut g.xlators, None)?;
            for xl in g.xlators.iter_mut().filter(|x| sets.contains(&x.name)) {
                xl.set_option("iam-self-heal-daemon", "yes");
            }
            all.xlators.append(&mut g.xlators);
            tops.extend(sets);
        }
        // The log level and threads of a client process; the option pass of a self-heal graph
        // does not reach io-stats, so the builder sets them.
        let (log_level, threads) = match top_vol {
            Some(vol) => {
                let ctx = self.context(vol, GraphKind::Client, Vec::new())?;
                (
                    ctx.value_checked("diagnostics.client-log-level")?
                        .unwrap_or("INFO")
                        .to_string(),
                    ctx.value_checked("config.client-threads")?
                        .unwrap_or("16")
                        .to_string(),
                )
            }
            None => ("INFO".to_string(), "16".to_string()),
        };
        let top = all.push_over(top_name.to_string(), "debug/io-stats", tops);
        top.set_option("log-level", log_level);
        top.set_option("threads", threads);
        all.finish()
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
fn add_clients_and_sets(
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

/// What one option pass needs: the table, the volume, the graph kind and GD1's `mod_dict`
/// (values the builder imposes over the volume's).
struct Context<'a> {
    table: &'a OptionTable,
    vol: &'a Volume,
    kind: GraphKind,
    overlay: Vec<(&'static str, String)>,
}

impl Context<'_> {
    /// The value of `key` for this graph: the builder's, else the volume's, else the table's
    /// default.
    fn value(&self, key: &str) -> Option<&str> {
        self.overlay
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.vol.options.get(key))
            .or_else(|| self.table.default_of(key))
    }

    /// [`Context::value`], checked to be writable as one volfile word.
    fn value_checked(&self, key: &str) -> Result<Option<&str>, Error> {
        match self.value(key) {
            Some(v) => check_value(key, v).map(|()| Some(v)),
            None => Ok(None),
        }
    }

    /// The boolean value of `key`, `fallback` when it has none.
    fn flag(&self, key: &str, fallback: bool) -> Result<bool, Error> {
        match self.value(key) {
            None => Ok(fallback),
            Some(v) => parse_bool(v).ok_or_else(|| Error::InvalidOption {
                key: key.to_string(),
                value: v.to_string(),
                reason: "expected on/off, yes/no, true/false, enable/disable or 1/0".into(),
            }),
        }
    }

    /// GD1's option passes: every table entry, in order, onto every translator of its type.
    /// On a brick, the server's `auth.*` entries come first: GD1 sets them in the server
    /// builder's own pass, before the generic one.
    fn apply(&self, xlators: &mut [Xlator], brick_path: Option<&str>) -> Result<(), Error> {
        let auth_first = self
            .table
            .entries()
            .iter()
            .filter(|e| matches!(e.action, Action::ServerAuth(_)));
        let the_rest = self
            .table
            .entries()
            .iter()
            .filter(|e| !matches!(e.action, Action::ServerAuth(_)));
        for entry in auth_first.chain(the_rest) {
            if !entry.graphs.contains(self.kind) {
                continue;
            }
            if self.kind == GraphKind::Shd && !SHD_OPTION_TYPES.contains(&&*entry.xlator_type) {
                continue;
            }
            let option = match &entry.action {
                Action::Set(option) => option.to_string(),
                Action::ServerAuth(suffix) => match brick_path {
                    Some(path) => format!("auth.addr.{path}.{suffix}"),
                    None => continue,
                },
                Action::Toggle | Action::Builder => continue,
            };
            let value = self
                .overlay
                .iter()
                .find(|(k, _)| *k == entry.key)
                .map(|(_, v)| v.as_str())
                .or_else(|| self.vol.options.get(&entry.key))
                .or(entry.default.as_deref());
            let Some(value) = value else { continue };
            let mut targets = xlators
                .iter_mut()
                .filter(|x| x.xl_type == entry.xlator_type)
                .peekable();
            if targets.peek().is_none() {
                continue;
            }
            check_value(&entry.key, value)?;
            for xl in targets {
                xl.set_option(option.as_str(), value);
            }
        }
        Ok(())
    }
}

/// A graph under construction, bottom-up; options in the order they were set.
#[derive(Default)]
struct Stack {
    xlators: Vec<Xlator>,
}

impl Stack {
    /// Adds a translator on top of the previous one.
    fn push(&mut self, name: impl Into<String>, xl_type: &str) -> &mut Xlator {
        let below = self.xlators.last().map(|x| vec![x.name.clone()]);
        self.push_over(name.into(), xl_type, below.unwrap_or_default())
    }

    /// Adds a translator over `children`.
    fn push_over(&mut self, name: String, xl_type: &str, children: Vec<String>) -> &mut Xlator {
        let mut xl = Xlator::new(name, xl_type);
        xl.subvolumes = children;
        self.xlators.push(xl);
        let last = self.xlators.len() - 1;
        &mut self.xlators[last]
    }

    /// Puts each translator's options in print order (newest first, like a GlusterFS dict)
    /// and checks the graph.
    fn finish(mut self) -> Result<Graph, Error> {
        for xl in &mut self.xlators {
            xl.options.reverse();
        }
        let graph = Graph {
            xlators: self.xlators,
        };
        graph.validate()?;
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::options::{Graphs, OptionEntry};
    use crate::volume::{Brick, Transport, VolumeOptions};

    fn volume(name: &str, volume_type: VolumeType, bricks: usize) -> Volume {
        Volume {
            name: name.into(),
            id: Uuid::from_u128(1),
            volume_type,
            transport: Transport::Tcp,
            bricks: (0..bricks)
                .map(|i| Brick {
                    peer_id: Uuid::from_u128(10 + (i % 2) as u128),
                    host: format!("127.0.0.{}", 2 + i % 2),
                    path: format!("/bricks/{name}/b{i}"),
                    index: i,
                    fsid: Some(7),
                })
                .collect(),
            username: Uuid::from_u128(2),
            password: Uuid::from_u128(3),
            quota_version: 0,
            options: VolumeOptions::create_defaults(&volume_type),
        }
    }

    fn names(g: &Graph) -> Vec<&str> {
        g.xlators.iter().map(|x| x.name.as_str()).collect()
    }

    fn round_trips(g: &Graph) {
        assert_eq!(&Graph::parse(&g.to_volfile().unwrap()).unwrap(), g);
    }

    #[test]
    fn distributed_arbiter_puts_the_arbiter_on_the_last_brick_of_each_set() {
        let v = volume("a", VolumeType::Arbiter, 6);
        for position in 0..6 {
            let g = brick_volfile(&v, position, &BrickEnv::default()).unwrap();
            let has_arbiter = g.get("a-arbiter").is_some();
            assert_eq!(has_arbiter, position % 3 == 2, "brick {position}");
            if has_arbiter {
                assert_eq!(g.get("a-trash").unwrap().subvolumes, ["a-arbiter"]);
            }
            round_trips(&g);
        }
        let c = client_volfile(&v, ClientKind::Fuse).unwrap();
        let afr = c.get("a-replicate-1").unwrap();
        assert_eq!(afr.subvolumes, ["a-client-3", "a-client-4", "a-client-5"]);
        assert_eq!(afr.option("arbiter-count"), Some("1"));
        assert_eq!(
            afr.option("afr-pending-xattr"),
            Some("a-client-3,a-client-4,a-client-5")
        );
        assert_eq!(
            c.get("a-dht").unwrap().subvolumes,
            ["a-replicate-0", "a-replicate-1"]
        );
        round_trips(&c);
    }

    #[test]
    fn distributed_disperse_names_sets_and_watches_ec_xattrs() {
        let t = VolumeType::Disperse {
            disperse: 6,
            redundancy: 2,
        };
        let v = volume("d", t, 12);
        let c = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(
            c.get("d-dht").unwrap().subvolumes,
            ["d-disperse-0", "d-disperse-1"]
        );
        assert_eq!(
            c.get("d-disperse-1").unwrap().option("redundancy"),
            Some("2")
        );
        let b = brick_volfile(&v, 7, &BrickEnv::default()).unwrap();
        let index = b.get("d-index").unwrap();
        assert_eq!(
            index.option("xattrop64-watchlist"),
            Some("trusted.ec.dirty")
        );
        assert_eq!(index.option("xattrop-pending-watchlist"), None);
        let s = shd_volfile(&[v]).unwrap();
        assert_eq!(
            s.top().unwrap().subvolumes,
            ["d-disperse-0", "d-disperse-1"]
        );
        assert_eq!(
            s.get("d-disperse-0")
                .unwrap()
                .option("iam-self-heal-daemon"),
            Some("yes")
        );
    }

    #[test]
    fn performance_toggles_add_and_remove_translators_in_gd1_order() {
        let mut v = volume("p", VolumeType::Distribute, 1);
        v.options.set("performance.io-cache", "on");
        v.options.set("performance.read-ahead", "yes");
        v.options.set("performance.quick-read", "off");
        v.options.set("performance.stat-prefetch", "disable");
        v.options.set("performance.cache-size", "256MB");
        v.options.set("features.ctime", "off");
        let g = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(
            names(&g),
            [
                "p-client-0",
                "p-dht",
                "p-write-behind",
                "p-read-ahead",
                "p-io-cache",
                "p-open-behind",
                "p-io-threads",
                "p",
            ]
        );
        assert_eq!(
            g.get("p-io-cache").unwrap().option("cache-size"),
            Some("256MB")
        );
        assert_eq!(g.get("p-io-threads").unwrap().option("thread-count"), None);
        round_trips(&g);
    }

    #[test]
    fn auth_options_land_on_the_server_under_the_brick_path() {
        let mut v = volume("s", VolumeType::Distribute, 2);
        v.options.set("auth.allow", "10.0.0.*");
        v.options.set("auth.reject", "10.0.0.9");
        let g = brick_volfile(&v, 1, &BrickEnv::default()).unwrap();
        let server = g.top().unwrap();
        assert_eq!(server.name, "s-server");
        assert_eq!(
            server.option("auth.addr./bricks/s/b1.allow"),
            Some("10.0.0.*")
        );
        assert_eq!(
            server.option("auth.addr./bricks/s/b1.reject"),
            Some("10.0.0.9")
        );
        assert_eq!(server.option("transport.socket.bind-address"), None);
        assert_eq!(server.subvolumes, ["/bricks/s/b1"]);
        let client = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert!(
            client
                .xlators
                .iter()
                .all(|x| x.option("auth.allow").is_none())
        );
    }

    #[test]
    fn brick_env_and_fsids_shape_the_brick_graph() {
        let mut v = volume("e", VolumeType::Distribute, 4);
        v.bricks[3].fsid = None;
        let env = BrickEnv {
            bind_address: Some("127.0.0.2".into()),
            workdir: "/var/lib/glusterd2/".into(),
        };
        let g = brick_volfile(&v, 0, &env).unwrap();
        // Bricks 0 and 2 are on the same peer and file system.
        assert_eq!(
            g.get("e-posix").unwrap().option("shared-brick-count"),
            Some("2")
        );
        assert_eq!(
            g.get("e-marker").unwrap().option("timestamp-file"),
            Some("/var/lib/glusterd2/vols/e/marker.tstamp")
        );
        assert_eq!(
            g.top().unwrap().option("transport.socket.bind-address"),
            Some("127.0.0.2")
        );
        let g = brick_volfile(&v, 3, &env).unwrap();
        assert_eq!(
            g.get("e-posix").unwrap().option("shared-brick-count"),
            Some("1")
        );
        let bad = BrickEnv {
            bind_address: Some("a b".into()),
            ..BrickEnv::default()
        };
        assert!(matches!(
            brick_volfile(&v, 0, &bad),
            Err(Error::InvalidOption { .. })
        ));
    }

    #[test]
    fn log_levels_and_threads_follow_their_role() {
        let mut v = volume("l", VolumeType::Replicate { replica: 2 }, 2);
        v.options.set("diagnostics.brick-log-level", "DEBUG");
        v.options.set("diagnostics.client-log-level", "WARNING");
        v.options.set("config.brick-threads", "32");
        let b = brick_volfile(&v, 0, &BrickEnv::default()).unwrap();
        let stats = b.get("/bricks/l/b0").unwrap();
        assert_eq!(stats.option("log-level"), Some("DEBUG"));
        assert_eq!(stats.option("threads"), Some("32"));
        let c = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(c.top().unwrap().option("log-level"), Some("WARNING"));
        assert_eq!(c.top().unwrap().option("threads"), Some("16"));
        let s = shd_volfile(&[v]).unwrap();
        assert_eq!(s.top().unwrap().option("log-level"), Some("WARNING"));
    }

    #[test]
    fn manage_gids_turns_send_gids_off_and_shd_never_sends_gids() {
        let mut v = volume("g", VolumeType::Replicate { replica: 2 }, 2);
        let c = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(
            c.get("g-client-0").unwrap().option("send-gids"),
            Some("true")
        );
        v.options.set("server.manage-gids", "on");
        let c = client_volfile(&v, ClientKind::Gfapi).unwrap();
        assert_eq!(
            c.get("g-client-1").unwrap().option("send-gids"),
            Some("false")
        );
        let b = brick_volfile(&v, 0, &BrickEnv::default()).unwrap();
        assert_eq!(b.top().unwrap().option("manage-gids"), Some("on"));
        let s = shd_volfile(&[v]).unwrap();
        assert_eq!(s.get("g-client-0").unwrap().option("send-gids"), None);
        assert!(s.get("g-client-0").unwrap().option("username").is_some());
    }

    #[test]
    fn client_names_follow_brick_indexes_not_positions() {
        let mut v = volume("r", VolumeType::Replicate { replica: 2 }, 4);
        v.bricks[2].index = 6;
        v.bricks[3].index = 7;
        let c = client_volfile(&v, ClientKind::TrustedFuse).unwrap();
        let afr = c.get("r-replicate-1").unwrap();
        assert_eq!(afr.subvolumes, ["r-client-6", "r-client-7"]);
        assert_eq!(
            c.get("r-client-6").unwrap().option("username"),
            Some(&*Uuid::from_u128(2).to_string())
        );
    }

    #[test]
    fn parallel_readdir_shares_the_readdir_ahead_cache_among_dht_children() {
        let rda = |g: &Graph, name: &str, option: &str| {
            g.xlators
                .iter()
                .find(|x| x.name == name)
                .and_then(|x| x.option(option))
                .map(str::to_owned)
        };
        // 4 DHT children of replica 2: each readdir-ahead gets a quarter of the cache.
        let mut v = volume("p", VolumeType::Replicate { replica: 2 }, 8);
        v.options.set("performance.parallel-readdir", "on");
        v.options.set("performance.readdir-ahead", "on");
        v.options.set("performance.rda-cache-limit", "1MB");
        let g = client_volfile(&v, ClientKind::Fuse).unwrap();
        let dht = g.xlators.iter().find(|x| x.name == "p-dht").unwrap();
        assert_eq!(
            dht.subvolumes,
            (0..4)
                .map(|k| format!("p-readdir-ahead-{k}"))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            rda(&g, "p-readdir-ahead-3", "rda-cache-limit").as_deref(),
            Some("262144B")
        );
        assert_eq!(
            rda(&g, "p-readdir-ahead-3", "rda-request-size").as_deref(),
            Some("131072")
        );
        assert!(
            g.xlators.iter().all(|x| x.name != "p-readdir-ahead"),
            "no readdir-ahead over DHT"
        );
        // A part smaller than a request: the request shrinks to the part...
        v.options.set("performance.rda-cache-limit", "256KB");
        let g = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(
            rda(&g, "p-readdir-ahead-0", "rda-cache-limit").as_deref(),
            Some("65536B")
        );
        assert_eq!(
            rda(&g, "p-readdir-ahead-0", "rda-request-size").as_deref(),
            Some("65536B")
        );
        // ...and neither goes below 4 KiB.
        v.options.set("performance.rda-cache-limit", "8KB");
        let g = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(
            rda(&g, "p-readdir-ahead-0", "rda-cache-limit").as_deref(),
            Some("4096B")
        );
        assert_eq!(
            rda(&g, "p-readdir-ahead-0", "rda-request-size").as_deref(),
            Some("4096B")
        );
        // Without readdir-ahead on, the cache is not shared (GD1 does the same).
        v.options.set("performance.readdir-ahead", "off");
        let g = client_volfile(&v, ClientKind::Fuse).unwrap();
        assert_eq!(
            rda(&g, "p-readdir-ahead-0", "rda-cache-limit").as_deref(),
            Some("8KB")
        );
        // One DHT child: one readdir-ahead under DHT, nothing to share.
        let mut one = volume("o", VolumeType::Replicate { replica: 2 }, 2);
        one.options.set("performance.parallel-readdir", "on");
        one.options.set("performance.readdir-ahead", "on");
        let g = client_volfile(&one, ClientKind::Fuse).unwrap();
        assert_eq!(
            rda(&g, "o-readdir-ahead-0", "rda-cache-limit").as_deref(),
            Some("10MB")
        );
        // A size it cannot share is refused.
        for bad in ["0", "lots"] {
            v.options.set("performance.readdir-ahead", "on");
            v.options.set("performance.rda-cache-limit", bad);
            assert!(
                matches!(
                    client_volfile(&v, ClientKind::Fuse),
                    Err(Error::InvalidOption { ref key, .. }) if key == "performance.rda-cache-limit"
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_generate() {
        let v = volume("x", VolumeType::Distribute, 1);
        assert_eq!(
            brick_volfile(&v, 1, &BrickEnv::default()),
            Err(Error::NoSuchBrick {
                volume: "x".into(),
                position: 1
            })
        );
        let mut u = v.clone();
        u.options.set("features.uss", "on");
        assert!(matches!(
            client_volfile(&u, ClientKind::Fuse),
            Err(Error::Unsupported { .. })
        ));
        u.options.set("features.uss", "off");
        client_volfile(&u, ClientKind::Fuse).unwrap();
        let mut b = v.clone();
        b.options.set("performance.quick-read", "maybe");
        assert!(matches!(
            client_volfile(&b, ClientKind::Fuse),
            Err(Error::InvalidOption { .. })
        ));
        let mut s = v.clone();
        s.options.set("performance.cache-size", "64 MB");
        assert!(matches!(
            client_volfile(&s, ClientKind::Fuse),
            Err(Error::InvalidOption { .. })
        ));
        let mut w = v.clone();
        w.options.set("features.read-only", "on");
        w.options.set("features.worm", "on");
        assert!(brick_volfile(&w, 0, &BrickEnv::default()).is_err());
        let mut n = v.clone();
        n.name = "no spaces".into();
        assert!(matches!(
            client_volfile(&n, ClientKind::Fuse),
            Err(Error::InvalidVolume(_))
        ));
        assert_eq!(shd_volfile(&[]), Err(Error::NothingToHeal));
        let r = volume("r", VolumeType::Replicate { replica: 2 }, 2);
        assert!(matches!(
            shd_volfile(&[r.clone(), r]),
            Err(Error::InvalidVolume(_))
        ));
    }

    #[test]
    fn unknown_and_user_options_are_ignored() {
        let plain = volume("i", VolumeType::Distribute, 1);
        let mut v = plain.clone();
        v.options.set("user.cifs", "off");
        v.options
            .set("no.such-option", "has spaces but is never written");
        assert_eq!(
            client_volfile(&v, ClientKind::Fuse),
            client_volfile(&plain, ClientKind::Fuse)
        );
    }

    #[test]
    fn another_option_table_plugs_in() {
        let mut entries = OptionTable::builtin().entries().to_vec();
        entries.push(OptionEntry {
            key: "cluster.eager-lock".into(),
            xlator_type: "cluster/replicate".into(),
            action: Action::Set("eager-lock".into()),
            default: Some("on".into()),
            graphs: Graphs::ALL,
        });
        let table = OptionTable::new(entries);
        let v = volume("t", VolumeType::Replicate { replica: 2 }, 2);
        let g = Volgen::new(&table)
            .client_volfile(&v, ClientKind::Fuse)
            .unwrap();
        let afr = g.get("t-replicate-0").unwrap();
        assert_eq!(afr.option("eager-lock"), Some("on"));
        // Newest first: the table's last entry prints first.
        assert_eq!(afr.options[0].0, "eager-lock");
        let empty = OptionTable::default();
        let bare = Volgen::new(&empty)
            .client_volfile(&v, ClientKind::Fuse)
            .unwrap();
        assert_eq!(bare.get("t-dht").unwrap().options, []);
    }
}
