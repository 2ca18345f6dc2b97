//! The TOML file (`--config`): its keys, GD2's, refused when unknown, and its two value
//! spellings (durations as humantime strings, endpoints as one string or a list).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, PeerJoin, StoreMode};

/// The file (and environment) layer: the same keys as [`Flags`](super::Flags), plus
/// `restauth`, which GD2 accepts only from the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct FileConfig {
    pub(super) localstatedir: Option<PathBuf>,
    pub(super) rundir: Option<PathBuf>,
    pub(super) logdir: Option<PathBuf>,
    pub(super) logfile: Option<String>,
    pub(super) loglevel: Option<String>,
    pub(super) clientaddress: Option<String>,
    pub(super) peeraddress: Option<String>,
    pub(super) etcdendpoints: Option<Endpoints>,
    pub(super) etcdcurls: Option<String>,
    pub(super) etcdpurls: Option<String>,
    pub(super) cert_file: Option<PathBuf>,
    pub(super) key_file: Option<PathBuf>,
    pub(super) store: Option<StoreMode>,
    pub(super) pidfile: Option<PathBuf>,
    pub(super) peer_join: Option<PeerJoin>,
    pub(super) restauth: Option<bool>,
    #[serde(default, with = "humantime_serde_opt")]
    pub(super) etcd_voter_grace: Option<std::time::Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    pub(super) token_max_lifetime: Option<std::time::Duration>,
    pub(super) etcd_five_voters_from: Option<usize>,
    pub(super) xlatordir: Option<PathBuf>,
    pub(super) metrics_token_file: Option<PathBuf>,
    pub(super) hooks_dir: Option<PathBuf>,
    pub(super) otlp_endpoint: Option<String>,
}

/// Durations in the file are humantime strings ("5m", "30s").
mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<std::time::Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => humantime::parse_duration(&s)
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration ({e})"))),
        }
    }
}

/// Endpoints may be written as one comma-separated string (GD2) or as a TOML list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Endpoints {
    One(String),
    Many(Vec<String>),
}

impl Endpoints {
    pub(super) fn into_vec(self) -> Vec<String> {
        match self {
            Endpoints::One(s) => split_list(&s),
            Endpoints::Many(v) => v
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        // toml's message names the unknown or mistyped key and its line.
        ConfigError(format!(
            "config file {}: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })
}
