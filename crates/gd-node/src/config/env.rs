//! The environment layer: `GD2_<KEY>` variables, read into the file's shape so that they
//! merge like it; a bad value names its variable.

use std::path::PathBuf;

use super::{
    ConfigError, PeerJoin, StoreMode, bad,
    file::{Endpoints, FileConfig},
    values::parse_bool,
};

/// Reads `GD2_<KEY>` variables. Values are parsed as their flags would be; a bad value names
/// the variable.
pub(super) fn env_layer(env: &impl Fn(&str) -> Option<String>) -> Result<FileConfig, ConfigError> {
    let get = |key: &str| {
        env(&format!(
            "GD2_{}",
            key.to_ascii_uppercase().replace('-', "_")
        ))
    };
    let path = |key: &str| get(key).map(PathBuf::from);
    let store = match get("store") {
        Some(s) => Some(s.parse::<StoreMode>().map_err(|m| bad("GD2_STORE", m))?),
        None => None,
    };
    let peer_join = match get("peer-join") {
        Some(s) => Some(s.parse::<PeerJoin>().map_err(|m| bad("GD2_PEER_JOIN", m))?),
        None => None,
    };
    let restauth = match get("restauth") {
        Some(s) => Some(
            parse_bool(&s)
                .ok_or_else(|| bad("GD2_RESTAUTH", format!("{s:?} is not true or false")))?,
        ),
        None => None,
    };
    Ok(FileConfig {
        localstatedir: path("localstatedir"),
        rundir: path("rundir"),
        logdir: path("logdir"),
        logfile: get("logfile"),
        loglevel: get("loglevel"),
        clientaddress: get("clientaddress"),
        peeraddress: get("peeraddress"),
        etcdendpoints: get("etcdendpoints").map(Endpoints::One),
        etcdcurls: get("etcdcurls"),
        etcdpurls: get("etcdpurls"),
        cert_file: path("cert-file"),
        key_file: path("key-file"),
        store,
        pidfile: path("pidfile"),
        peer_join,
        restauth,
        etcd_voter_grace: match get("etcd-voter-grace") {
            Some(s) => Some(
                humantime::parse_duration(&s)
                    .map_err(|e| bad("GD2_ETCD_VOTER_GRACE", format!("{s:?}: {e}")))?,
            ),
            None => None,
        },
        token_max_lifetime: match get("token-max-lifetime") {
            Some(s) => Some(
                humantime::parse_duration(&s)
                    .map_err(|e| bad("GD2_TOKEN_MAX_LIFETIME", format!("{s:?}: {e}")))?,
            ),
            None => None,
        },
        etcd_five_voters_from: match get("etcd-five-voters-from") {
            Some(s) => Some(s.parse().map_err(|_| {
                bad(
                    "GD2_ETCD_FIVE_VOTERS_FROM",
                    format!("{s:?} is not a number"),
                )
            })?),
            None => None,
        },
        xlatordir: path("xlatordir"),
        metrics_token_file: path("metrics-token-file"),
        hooks_dir: path("hooks-dir"),
        otlp_endpoint: get("otlp-endpoint"),
    })
}
