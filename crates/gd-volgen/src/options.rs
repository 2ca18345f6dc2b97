//! How volume options land on translators.
//!
//! GD1 does it in one pass after building a graph (`volgen_graph_set_options_generic`): for
//! every entry of its option map, in map order, take the volume's value for the entry's key,
//! or the entry's default, and set it on every translator of the entry's type. An
//! [`OptionTable`] is that map. Its order matters for byte-identical output: translators
//! store options like a GlusterFS dict (the newest first when printed), so the builders' own
//! options end up last in the file and the map's defaults first, in reverse map order.
//!
//! The built-in table ([`OptionTable::builtin`]) holds only what GD1 10.3 writes into brick,
//! client and self-heal volfiles by default, plus a few common settings
//! (`performance.cache-size`, `cluster.quorum-type`, `features.shard`, …), in GD1's map order
//! (the order of `gluster volume get <vol> all`). Keys it does not know are ignored here:
//! checking keys and values against the installed xlators is the option table's job, which
//! will build a complete [`OptionTable`] and hand it to [`crate::Volgen::new`].

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::Error;

/// The kind of graph being generated; option entries can be limited to some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraphKind {
    /// A brick's graph (`glusterfsd`).
    Brick,
    /// A client's graph (FUSE or gfapi).
    Client,
    /// The self-heal daemon's graph.
    Shd,
}

/// A set of [`GraphKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Graphs(u8);

impl Graphs {
    /// Brick graphs only.
    pub const BRICK: Graphs = Graphs(1);
    /// Client graphs only.
    pub const CLIENT: Graphs = Graphs(2);
    /// Self-heal daemon graphs only.
    pub const SHD: Graphs = Graphs(4);
    /// Every graph.
    pub const ALL: Graphs = Graphs(7);

    /// The union of two sets.
    pub const fn or(self, other: Graphs) -> Graphs {
        Graphs(self.0 | other.0)
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: GraphKind) -> bool {
        let bit = match kind {
            GraphKind::Brick => 1,
            GraphKind::Client => 2,
            GraphKind::Shd => 4,
        };
        self.0 & bit != 0
    }
}

/// What an entry does to a graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Set this option on every translator of the entry's type.
    Set(Cow<'static, str>),
    /// Set `auth.addr.<brick path>.<suffix>` on the brick's `protocol/server`
    /// (GD1's `!server-auth`, from `auth.allow` and `auth.reject`).
    ServerAuth(&'static str),
    /// Decides whether a translator is in the graph at all (`performance.quick-read`,
    /// `features.shard`); the builders read it, the option pass skips it.
    Toggle,
    /// Read by the builders themselves (`transport.address-family`, `features.bitrot`);
    /// the option pass skips it.
    Builder,
}

/// One volume option and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionEntry {
    /// The volume option key, `<group>.<option>`.
    pub key: Cow<'static, str>,
    /// The translator type it is set on (`cluster/replicate`).
    pub xlator_type: Cow<'static, str>,
    /// What it does.
    pub action: Action,
    /// The value used when the volume does not set the key; `None`: then nothing is written.
    pub default: Option<Cow<'static, str>>,
    /// The graphs it applies to. In self-heal graphs only entries of `protocol/client`,
    /// `cluster/replicate` and `cluster/disperse` apply, whatever this says (as in GD1).
    pub graphs: Graphs,
}

/// An ordered list of [`OptionEntry`]s, applied in order. A key may have several entries
/// (`performance.cache-size` goes to io-cache and to quick-read).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionTable {
    entries: Vec<OptionEntry>,
}

impl OptionTable {
    /// A table of `entries`, applied in the given order.
    pub fn new(entries: Vec<OptionEntry>) -> Self {
        OptionTable { entries }
    }

    /// The built-in table (see the module documentation).
    pub fn builtin() -> &'static OptionTable {
        static BUILTIN: LazyLock<OptionTable> = LazyLock::new(|| OptionTable::new(builtin()));
        &BUILTIN
    }

    /// The entries in order.
    pub fn entries(&self) -> &[OptionEntry] {
        &self.entries
    }

    /// The default of the first entry for `key` that has one.
    pub fn default_of(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .filter(|e| e.key == key)
            .find_map(|e| e.default.as_deref())
    }
}

/// GlusterFS's boolean words (`gf_string2boolean`), case-insensitive.
pub use gd_xlator::parse::boolean as parse_bool;

/// Checks that `value` can be written as one bare volfile word, which is all GD1's writer
/// produces: non-empty, no blank, control character, quote, backslash or backtick, no leading
/// `#`.
pub(crate) fn check_value(key: &str, value: &str) -> Result<(), Error> {
    let bad = value.is_empty()
        || value.starts_with('#')
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"\\`".contains(c));
    if bad {
        return Err(Error::InvalidOption {
            key: key.to_string(),
            value: value.to_string(),
            reason: "a volfile value must be one word without blanks, quotes, backslashes, \
                     backticks or control characters"
                .into(),
        });
    }
    Ok(())
}

const DHT: &str = "cluster/distribute";
const AFR: &str = "cluster/replicate";
const EC: &str = "cluster/disperse";
const CLIENT: &str = "protocol/client";
const SERVER: &str = "protocol/server";
const IO_STATS: &str = "debug/io-stats";

fn set(
    key: &'static str,
    xlator_type: &'static str,
    option: &'static str,
    default: Option<&'static str>,
    graphs: Graphs,
) -> OptionEntry {
    other(
        key,
        xlator_type,
        Action::Set(Cow::Borrowed(option)),
        default,
        graphs,
    )
}

fn other(
    key: &'static str,
    xlator_type: &'static str,
    action: Action,
    default: Option<&'static str>,
    graphs: Graphs,
) -> OptionEntry {
    OptionEntry {
        key: Cow::Borrowed(key),
        xlator_type: Cow::Borrowed(xlator_type),
        action,
        default: default.map(Cow::Borrowed),
        graphs,
    }
}

/// GD1 10.3's map entries that reach brick, client and self-heal graphs, in map order.
#[rustfmt::skip]
fn builtin() -> Vec<OptionEntry> {
    use Graphs as G;
    let all = G::ALL;
    let bc = G::BRICK.or(G::CLIENT);
    let perf = |key, xlator: &'static str, default| other(key, xlator, Action::Toggle, Some(default), G::CLIENT);
    vec![
        set("cluster.lock-migration", DHT, "lock-migration", Some("off"), all),
        set("cluster.force-migration", DHT, "force-migration", Some("off"), all),
        set("cluster.background-self-heal-count", AFR, "background-self-heal-count", None, all),
        set("cluster.metadata-self-heal", AFR, "metadata-self-heal", None, all),
        set("cluster.data-self-heal", AFR, "data-self-heal", None, all),
        set("cluster.entry-self-heal", AFR, "entry-self-heal", None, all),
        set("cluster.self-heal-daemon", AFR, "self-heal-daemon", Some("enable"), G::SHD),
        set("cluster.heal-timeout", AFR, "heal-timeout", None, G::SHD),
        set("cluster.quorum-type", AFR, "quorum-type", None, all),
        set("cluster.quorum-count", AFR, "quorum-count", None, all),
        set("diagnostics.latency-measurement", IO_STATS, "latency-measurement", Some("off"), bc),
        set("diagnostics.count-fop-hits", IO_STATS, "count-fop-hits", Some("off"), bc),
        set("diagnostics.brick-log-level", IO_STATS, "log-level", Some("INFO"), G::BRICK),
        set("diagnostics.client-log-level", IO_STATS, "log-level", Some("INFO"), G::CLIENT),
        set("performance.cache-size", "performance/io-cache", "cache-size", None, all),
        set("performance.io-thread-count", "performance/io-threads", "thread-count", None, all),
        set("performance.cache-size", "performance/quick-read", "cache-size", None, all),
        set("performance.md-cache-timeout", "performance/md-cache", "md-cache-timeout", None, all),
        set("performance.cache-samba-metadata", "performance/md-cache", "cache-samba-metadata", None, all),
        set("network.frame-timeout", CLIENT, "frame-timeout", None, all),
        set("network.ping-timeout", CLIENT, "ping-timeout", None, all),
        set("client.ssl", CLIENT, "transport.socket.ssl-enabled", Some("off"), all),
        set("client.tcp-user-timeout", CLIENT, "transport.tcp-user-timeout", Some("0"), all),
        set("client.keepalive-time", CLIENT, "transport.socket.keepalive-time", Some("20"), all),
        set("client.keepalive-interval", CLIENT, "transport.socket.keepalive-interval", Some("2"), all),
        set("client.keepalive-count", CLIENT, "transport.socket.keepalive-count", Some("9"), all),
        set("client.strict-locks", CLIENT, "strict-locks", Some("off"), all),
        set("network.inode-lru-limit", SERVER, "inode-lru-limit", None, all),
        other("auth.allow", SERVER, Action::ServerAuth("allow"), Some("*"), G::BRICK),
        other("auth.reject", SERVER, Action::ServerAuth("reject"), None, G::BRICK),
        set("transport.keepalive", SERVER, "transport.socket.keepalive", Some("1"), all),
        set("server.ssl", SERVER, "transport.socket.ssl-enabled", Some("off"), all),
        set("server.manage-gids", SERVER, "manage-gids", None, all),
        // The client builders decide the value (the opposite of server.manage-gids).
        set("client.send-gids", CLIENT, "send-gids", None, G::CLIENT),
        set("server.keepalive-time", SERVER, "transport.socket.keepalive-time", Some("20"), all),
        set("server.keepalive-interval", SERVER, "transport.socket.keepalive-interval", Some("2"), all),
        set("server.keepalive-count", SERVER, "transport.socket.keepalive-count", Some("9"), all),
        set("transport.listen-backlog", SERVER, "transport.listen-backlog", Some("1024"), all),
        other("transport.address-family", SERVER, Action::Builder, None, all),
        perf("performance.write-behind", "performance/write-behind", "on"),
        perf("performance.read-ahead", "performance/read-ahead", "off"),
        perf("performance.readdir-ahead", "performance/readdir-ahead", "off"),
        perf("performance.io-cache", "performance/io-cache", "off"),
        perf("performance.open-behind", "performance/open-behind", "on"),
        perf("performance.quick-read", "performance/quick-read", "on"),
        perf("performance.nl-cache", "performance/nl-cache", "off"),
        perf("performance.stat-prefetch", "performance/md-cache", "on"),
        perf("performance.client-io-threads", "performance/io-threads", "on"),
        set("performance.cache-invalidation", "performance/md-cache", "cache-invalidation", None, all),
        set("features.quota-deem-statfs", "features/quota", "deem-statfs", Some("off"), all),
        set("geo-replication.indexing", "features/marker", "xtime", Some("off"), all),
        set("geo-replication.ignore-pid-check", "features/marker", "gsync-force-xtime", Some("off"), all),
        set("features.quota", "features/marker", "quota", Some("off"), all),
        set("features.inode-quota", "features/marker", "inode-quota", Some("off"), all),
        other("features.bitrot", "features/bit-rot", Action::Builder, None, all),
        set("features.read-only", "features/read-only", "read-only", None, all),
        set("features.worm", "features/worm", "worm", Some("off"), all),
        set("features.worm-file-level", "features/worm", "worm-file-level", Some("off"), all),
        set("features.worm-files-deletable", "features/worm", "worm-files-deletable", Some("on"), all),
        set("storage.fips-mode-rchecksum", "storage/posix", "fips-mode-rchecksum", None, all),
        other("features.ctime", "features/utime", Action::Toggle, Some("on"), G::CLIENT),
        set("changelog.changelog-barrier-timeout", "features/changelog", "changelog-barrier-timeout", Some("120"), all),
        set("features.barrier", "features/barrier", "barrier", Some("disable"), all),
        set("features.barrier-timeout", "features/barrier", "barrier-timeout", Some("120"), all),
        set("features.trash", "features/trash", "trash", None, all),
        set("cluster.disperse-self-heal-daemon", EC, "self-heal-daemon", Some("enable"), G::SHD),
        other("features.shard", "features/shard", Action::Toggle, Some("off"), G::CLIENT),
        set("features.shard-block-size", "features/shard", "shard-block-size", None, all),
        set("features.cache-invalidation", "features/upcall", "cache-invalidation", Some("off"), all),
        set("features.cache-invalidation-timeout", "features/upcall", "cache-invalidation-timeout", None, all),
        set("features.leases", "features/leases", "leases", Some("off"), all),
        set("cluster.heal-timeout", EC, "heal-timeout", None, G::SHD),
        set("cluster.granular-entry-heal", AFR, "granular-entry-heal", None, all),
        set("cluster.use-compound-fops", AFR, "use-compound-fops", Some("off"), all),
        set("performance.parallel-readdir", "performance/readdir-ahead", "parallel-readdir", Some("off"), all),
        set("performance.rda-request-size", "performance/readdir-ahead", "rda-request-size", Some("131072"), all),
        set("performance.rda-cache-limit", "performance/readdir-ahead", "rda-cache-limit", Some("10MB"), all),
        set("performance.nl-cache-limit", "performance/nl-cache", "nl-cache-limit", Some("10MB"), all),
        set("performance.nl-cache-timeout", "performance/nl-cache", "nl-cache-timeout", None, all),
        set("features.selinux", "features/selinux", "selinux", Some("on"), all),
        set("ctime.noatime", "features/utime", "noatime", Some("on"), all),
        set("features.enforce-mandatory-lock", "features/locks", "enforce-mandatory-lock", Some("off"), all),
        set("config.global-threading", IO_STATS, "global-threading", Some("off"), bc),
        set("config.client-threads", IO_STATS, "threads", Some("16"), G::CLIENT),
        set("config.brick-threads", IO_STATS, "threads", Some("16"), G::BRICK),
        other("features.acl", "features/access-control", Action::Toggle, Some("enable"), G::BRICK),
        set("cluster.use-anonymous-inode", AFR, "use-anonymous-inode", Some("yes"), all),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_glusterfs_words() {
        for t in ["on", "ON", "1", "yes", "true", "enable"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["off", "0", "No", "false", "disable"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn builtin_table_has_the_rep3_after_set_keys() {
        let t = OptionTable::builtin();
        let keys = |k: &str| t.entries().iter().filter(|e| e.key == k).count();
        assert_eq!(keys("performance.cache-size"), 2);
        assert_eq!(keys("cluster.quorum-type"), 1);
        assert_eq!(t.default_of("features.shard"), Some("off"));
        assert_eq!(t.default_of("auth.allow"), Some("*"));
        assert_eq!(t.default_of("cluster.quorum-type"), None);
    }

    #[test]
    fn graph_sets() {
        let bc = Graphs::BRICK.or(Graphs::CLIENT);
        assert!(bc.contains(GraphKind::Brick) && bc.contains(GraphKind::Client));
        assert!(!bc.contains(GraphKind::Shd));
        assert!(Graphs::ALL.contains(GraphKind::Shd));
    }

    #[test]
    fn values_must_be_single_words() {
        check_value("k", "64MB").unwrap();
        for bad in ["", "a b", "#x", "a\"b", "`id`", "a\nb"] {
            assert!(check_value("k", bad).is_err(), "{bad:?}");
        }
    }
}
