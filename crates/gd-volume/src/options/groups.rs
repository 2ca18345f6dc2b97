//! Option groups (profiles): GD1's shipped groups, kept in code, and the check of a group's
//! options against the installed xlators.

use gd_api::{ErrorCode, GroupOption, OptionGroup};
use gd_core::OpError;
use gd_xlator::{ValidationError, is_user_key, validate::check_text};

use super::{
    OPTIONS_PER_REQUEST_MAX,
    catalog::{Catalog, resolve_err},
    check::check_volgen_only,
};

/// GD1 10.3's shipped groups (`/var/lib/glusterd/groups/*` of the Debian package).
/// A shipped group: name, description, (key, value) pairs.
type GroupDef = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const BUILTIN_GROUPS: &[GroupDef] = &[
    (
        "virt",
        "VM images on a replicated volume",
        &[
            ("performance.quick-read", "off"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.low-prio-threads", "32"),
            ("network.remote-dio", "disable"),
            ("performance.strict-o-direct", "on"),
            ("cluster.eager-lock", "enable"),
            ("cluster.quorum-type", "auto"),
            ("cluster.server-quorum-type", "server"),
            ("cluster.data-self-heal-algorithm", "full"),
            ("cluster.locking-scheme", "granular"),
            ("cluster.shd-max-threads", "8"),
            ("cluster.shd-wait-qlength", "10000"),
            ("features.shard", "on"),
            ("user.cifs", "off"),
            ("cluster.choose-local", "off"),
            ("client.event-threads", "4"),
            ("server.event-threads", "4"),
            ("performance.client-io-threads", "on"),
            ("network.ping-timeout", "20"),
            ("server.tcp-user-timeout", "20"),
            ("server.keepalive-time", "10"),
            ("server.keepalive-interval", "2"),
            ("server.keepalive-count", "5"),
            ("cluster.lookup-optimize", "off"),
        ],
    ),
    (
        "distributed-virt",
        "VM images on a distributed volume",
        &[
            ("performance.quick-read", "off"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.low-prio-threads", "32"),
            ("network.remote-dio", "enable"),
            ("features.shard", "on"),
            ("user.cifs", "off"),
            ("client.event-threads", "4"),
            ("server.event-threads", "4"),
            ("performance.client-io-threads", "on"),
            ("cluster.lookup-optimize", "off"),
        ],
    ),
    (
        "gluster-block",
        "block devices (gluster-block)",
        &[
            ("performance.quick-read", "off"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.stat-prefetch", "off"),
            ("performance.open-behind", "off"),
            ("performance.readdir-ahead", "off"),
            ("performance.strict-o-direct", "on"),
            ("performance.client-io-threads", "on"),
            ("performance.io-thread-count", "32"),
            ("performance.high-prio-threads", "32"),
            ("performance.normal-prio-threads", "32"),
            ("performance.low-prio-threads", "32"),
            ("performance.least-prio-threads", "4"),
            ("client.event-threads", "8"),
            ("server.event-threads", "8"),
            ("network.remote-dio", "disable"),
            ("cluster.eager-lock", "enable"),
            ("cluster.quorum-type", "auto"),
            ("cluster.data-self-heal-algorithm", "full"),
            ("cluster.locking-scheme", "granular"),
            ("cluster.shd-max-threads", "8"),
            ("cluster.shd-wait-qlength", "10000"),
            ("features.shard", "on"),
            ("features.shard-block-size", "64MB"),
            ("user.cifs", "off"),
            ("server.allow-insecure", "on"),
            ("cluster.choose-local", "off"),
            ("cluster.lookup-optimize", "off"),
        ],
    ),
    (
        "db-workload",
        "databases",
        &[
            ("performance.open-behind", "on"),
            ("performance.write-behind", "off"),
            ("performance.stat-prefetch", "off"),
            ("performance.quick-read", "off"),
            ("performance.strict-o-direct", "on"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.readdir-ahead", "off"),
            ("performance.client-io-threads", "on"),
            ("server.event-threads", "4"),
            ("client.event-threads", "4"),
            ("performance.read-after-open", "yes"),
        ],
    ),
    (
        "metadata-cache",
        "client-side metadata caching with upcall invalidation",
        &[
            ("features.cache-invalidation", "on"),
            ("features.cache-invalidation-timeout", "600"),
            ("performance.stat-prefetch", "on"),
            ("performance.cache-invalidation", "on"),
            ("performance.md-cache-timeout", "600"),
            ("network.inode-lru-limit", "200000"),
        ],
    ),
    (
        "nl-cache",
        "negative lookup caching",
        &[
            ("features.cache-invalidation", "on"),
            ("features.cache-invalidation-timeout", "600"),
            ("performance.nl-cache", "on"),
            ("performance.nl-cache-timeout", "600"),
            ("network.inode-lru-limit", "200000"),
        ],
    ),
    (
        "samba",
        "Samba shares",
        &[
            ("features.cache-invalidation", "on"),
            ("features.cache-invalidation-timeout", "600"),
            ("performance.cache-samba-metadata", "on"),
            ("performance.stat-prefetch", "on"),
            ("performance.cache-invalidation", "on"),
            ("performance.md-cache-timeout", "600"),
            ("network.inode-lru-limit", "200000"),
            ("performance.nl-cache", "on"),
            ("performance.nl-cache-timeout", "600"),
            ("performance.readdir-ahead", "on"),
            ("performance.parallel-readdir", "on"),
            ("performance.write-behind", "off"),
        ],
    ),
];

/// The shipped groups.
pub fn builtin_groups() -> Vec<OptionGroup> {
    BUILTIN_GROUPS
        .iter()
        .map(|(name, description, options)| OptionGroup {
            name: (*name).into(),
            description: (*description).into(),
            built_in: true,
            options: options
                .iter()
                .map(|(k, v)| GroupOption {
                    name: (*k).into(),
                    on_value: (*v).into(),
                })
                .collect(),
        })
        .collect()
}

/// The shipped group of that name.
pub fn builtin_group(name: &str) -> Option<OptionGroup> {
    builtin_groups().into_iter().find(|g| g.name == name)
}

impl Catalog {
    /// Checks a group's options (each key resolves, each value fits).
    pub fn check_group(&self, options: &[GroupOption]) -> Result<(), OpError> {
        if options.is_empty() || options.len() > OPTIONS_PER_REQUEST_MAX {
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                format!("a group holds 1 to {OPTIONS_PER_REQUEST_MAX} options"),
            ));
        }
        for o in options {
            if is_user_key(&o.name) {
                check_text(&o.on_value).map_err(|reason| {
                    OpError::new(
                        ErrorCode::InvalidRequest,
                        format!("invalid value for {}: {reason}", o.name),
                    )
                })?;
                continue;
            }
            self.available()?;
            if let Some(toggle) = self.volgen_only(&o.name) {
                check_volgen_only(&o.name, &o.on_value, toggle)?;
                continue;
            }
            self.xlators
                .validate(&o.name, &o.on_value)
                .map_err(|e| match e {
                    ValidationError::Key(k) => resolve_err(k),
                    ValidationError::Value(v) => {
                        OpError::new(ErrorCode::InvalidRequest, v.to_string())
                            .field("key", o.name.as_str())
                    }
                })?;
        }
        Ok(())
    }
}
