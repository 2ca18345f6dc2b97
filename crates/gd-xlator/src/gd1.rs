//! GD1's volume-set key names, as naming rules rather than a copy of its option table.
//!
//! GD1 (`glusterd_volopt_map[]` in `glusterd-volume-set.c`) names options `<domain>.<name>`:
//! `cluster.eager-lock`, `performance.write-behind-window-size`, `network.ping-timeout`.
//! Most names follow from the xlators' own tables by the rules of [`crate::resolve`]: the
//! domain says which xlators to look in ([`DOMAINS`]), and the name is the option's name,
//! possibly prefixed with the xlator's name (`write-behind-window-size` is write-behind's
//! `window-size`). What an option is — its type, default, range, description — always comes
//! from the installed xlator.
//!
//! A few dozen GD1 names follow no rule (`cluster.subvols-per-directory` is distribute's
//! `directory-layout-spread`), or a rule would pick a wrong or incomplete set of xlators
//! (`performance.cache-size` is io-cache's and quick-read's `cache-size`, not write-behind's).
//! [`IRREGULAR`] lists exactly those, as names only; an entry whose xlator or option is not
//! installed is ignored. Every other GD1 key resolves by the rules, and the tests check both
//! against GD1's own `volume get all` and `volume set help` output.

/// GD1 key domains and the xlators their keys go to, as groups in order of preference: the
/// first group with a match wins, and every xlator of that group that has the option is a
/// target. `<category>/*` stands for every xlator of that category.
pub const DOMAINS: &[(&str, &[&[&str]])] = &[
    (
        "cluster",
        &[
            &["cluster/replicate"],
            &["cluster/distribute"],
            &["cluster/disperse"],
            &["mgmt/glusterd"],
        ],
    ),
    ("performance", &[&["performance/*"]]),
    ("features", &[&["features/*"]]),
    ("storage", &[&["storage/*"]]),
    ("debug", &[&["debug/*"]]),
    ("diagnostics", &[&["debug/io-stats"]]),
    ("network", &[&["protocol/client", "protocol/server"]]),
    ("client", &[&["protocol/client"]]),
    ("server", &[&["protocol/server"]]),
    ("transport", &[&["protocol/server"], &["protocol/client"]]),
    ("auth", &[&["protocol/server"]]),
    ("ssl", &[&["protocol/server", "protocol/client"]]),
    ("config", &[&["debug/io-stats"]]),
    ("ctime", &[&["features/utime"]]),
    ("rebalance", &[&["cluster/distribute"]]),
    ("geo-replication", &[&["features/marker"]]),
];

/// GD1 keys whose targets no rule derives: key → (xlator, option) pairs.
pub const IRREGULAR: &[(&str, &[(&str, &str)])] = &[
    // A rule would find only one of two xlators, or the wrong one.
    (
        "performance.cache-size",
        &[
            ("performance/io-cache", "cache-size"),
            ("performance/quick-read", "cache-size"),
        ],
    ),
    (
        "cluster.heal-timeout",
        &[
            ("cluster/replicate", "heal-timeout"),
            ("cluster/disperse", "heal-timeout"),
        ],
    ),
    (
        "cluster.self-heal-window-size",
        &[("cluster/replicate", "data-self-heal-window-size")],
    ),
    (
        "cluster.local-volume-name",
        &[("cluster/nufa", "local-volume-name")],
    ),
    // Renamed options.
    (
        "performance.io-cache-size",
        &[("performance/io-cache", "cache-size")],
    ),
    (
        "cluster.subvols-per-directory",
        &[("cluster/distribute", "directory-layout-spread")],
    ),
    (
        "cluster.switch-pattern",
        &[("cluster/switch", "pattern.switch.case")],
    ),
    (
        "dht.force-readdirp",
        &[("cluster/distribute", "use-readdirp")],
    ),
    (
        "performance.cache-max-file-size",
        &[("performance/io-cache", "max-file-size")],
    ),
    (
        "performance.cache-min-file-size",
        &[("performance/io-cache", "min-file-size")],
    ),
    (
        "performance.cache-refresh-timeout",
        &[("performance/io-cache", "cache-timeout")],
    ),
    (
        "performance.cache-priority",
        &[("performance/io-cache", "priority")],
    ),
    (
        "performance.io-thread-count",
        &[("performance/io-threads", "thread-count")],
    ),
    (
        "performance.iot-watchdog-secs",
        &[("performance/io-threads", "watchdog-secs")],
    ),
    (
        "performance.iot-cleanup-disconnected-reqs",
        &[("performance/io-threads", "cleanup-disconnected-reqs")],
    ),
    (
        "performance.iot-pass-through",
        &[("performance/io-threads", "pass-through")],
    ),
    (
        "performance.qr-cache-timeout",
        &[("performance/quick-read", "cache-timeout")],
    ),
    (
        "diagnostics.brick-sys-log-level",
        &[("debug/io-stats", "sys-log-level")],
    ),
    (
        "diagnostics.client-sys-log-level",
        &[("debug/io-stats", "sys-log-level")],
    ),
    (
        "diagnostics.stats-dump-interval",
        &[("debug/io-stats", "ios-dump-interval")],
    ),
    (
        "diagnostics.fop-sample-interval",
        &[("debug/io-stats", "ios-sample-interval")],
    ),
    (
        "diagnostics.stats-dump-format",
        &[("debug/io-stats", "ios-dump-format")],
    ),
    (
        "diagnostics.fop-sample-buf-size",
        &[("debug/io-stats", "ios-sample-buf-size")],
    ),
    (
        "diagnostics.stats-dnscache-ttl-sec",
        &[("debug/io-stats", "ios-dnscache-ttl-sec")],
    ),
    ("debug.error-failure", &[("debug/error-gen", "failure")]),
    ("debug.error-number", &[("debug/error-gen", "error-no")]),
    (
        "network.remote-dio",
        &[("protocol/client", "filter-O_DIRECT")],
    ),
    (
        "client.ssl",
        &[("protocol/client", "transport.socket.ssl-enabled")],
    ),
    (
        "server.ssl",
        &[("protocol/server", "transport.socket.ssl-enabled")],
    ),
    (
        "server.outstanding-rpc-limit",
        &[("protocol/server", "rpc.outstanding-rpc-limit")],
    ),
    (
        "ssl.certificate-depth",
        &[
            ("protocol/server", "ssl-cert-depth"),
            ("protocol/client", "ssl-cert-depth"),
        ],
    ),
    (
        "network.compression.window-size",
        &[("features/cdc", "window-size")],
    ),
    (
        "network.compression.mem-level",
        &[("features/cdc", "mem-level")],
    ),
    (
        "network.compression.min-size",
        &[("features/cdc", "min-size")],
    ),
    (
        "network.compression.compression-level",
        &[("features/cdc", "compression-level")],
    ),
    ("network.compression.debug", &[("features/cdc", "debug")]),
    ("geo-replication.indexing", &[("features/marker", "xtime")]),
    (
        "geo-replication.ignore-pid-check",
        &[("features/marker", "gsync-force-xtime")],
    ),
    ("storage.owner-uid", &[("storage/posix", "brick-uid")]),
    ("storage.owner-gid", &[("storage/posix", "brick-gid")]),
    (
        "storage.build-pgfid",
        &[("storage/posix", "update-link-count-parent")],
    ),
    ("features.ctime", &[("storage/posix", "ctime")]),
];

/// The groups of `domain`, if it is a GD1 domain.
pub fn domain(domain: &str) -> Option<&'static [&'static [&'static str]]> {
    DOMAINS
        .iter()
        .find(|(d, _)| *d == domain)
        .map(|(_, groups)| *groups)
}

/// The targets of `key`, if it is an irregular GD1 name.
pub fn irregular(key: &str) -> Option<&'static [(&'static str, &'static str)]> {
    IRREGULAR
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, targets)| *targets)
}
