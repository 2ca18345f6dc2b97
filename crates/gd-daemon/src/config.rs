//! The daemon's configuration.
//!
//! One flow, as PD and TiKV do it: built-in defaults, then the TOML file (`--config`), then
//! the environment (`GD2_<KEY>`, `-` written `_`), then command-line flags; then one
//! [`Config::validate`] that checks every value and resolves the store mode. Key names are
//! GD2's, so a GD2 `glusterd2.toml` keeps working. An unknown key or a bad value stops the
//! start with a message that names it: a typo in a config file must never be silently ignored.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    str::FromStr,
};

use clap::Parser;
use serde::{Deserialize, Serialize};

/// Where the cluster configuration is kept (DESIGN §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreMode {
    /// `etcd` when endpoints are configured, `managed` when an `etcd` binary is on PATH,
    /// else `local`.
    Auto,
    /// In-process, persistent, single node.
    Local,
    /// glusterd2 starts and supervises a local etcd member.
    Managed,
    /// An external etcd cluster at `etcdendpoints`.
    Etcd,
}

impl fmt::Display for StoreMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreMode::Auto => "auto",
            StoreMode::Local => "local",
            StoreMode::Managed => "managed",
            StoreMode::Etcd => "etcd",
        })
    }
}

impl FromStr for StoreMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(StoreMode::Auto),
            "local" => Ok(StoreMode::Local),
            "managed" => Ok(StoreMode::Managed),
            "etcd" => Ok(StoreMode::Etcd),
            _ => Err(format!(
                "{s:?} is not a store mode (auto, local, managed, etcd)"
            )),
        }
    }
}

/// Who may make a lone node join a cluster (`peer-join`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PeerJoin {
    /// Only a caller that shows the node's join token (`<localstatedir>/join-token`).
    Token,
    /// Anyone who reaches the node's port, as GD1 (trusted networks only).
    Open,
}

impl FromStr for PeerJoin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "token" => Ok(PeerJoin::Token),
            "open" => Ok(PeerJoin::Open),
            _ => Err(format!("{s:?} is not a join policy (token, open)")),
        }
    }
}

/// Command-line flags. Every setting is optional here so that a flag overrides the file and
/// the environment only when it is given.
#[derive(Debug, Default, Parser)]
#[command(
    name = "glusterd2",
    version,
    about = "The GlusterFS management daemon",
    args_override_self = true
)]
pub struct Flags {
    /// Configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State directory: node identity, secrets, local store [default: /var/lib/glusterd2].
    #[arg(long, value_name = "DIR")]
    pub localstatedir: Option<PathBuf>,
    /// Runtime directory: pid file, sockets [default: /var/run/glusterd2].
    #[arg(long, value_name = "DIR")]
    pub rundir: Option<PathBuf>,
    /// Log directory [default: /var/log/glusterd2].
    #[arg(long, value_name = "DIR")]
    pub logdir: Option<PathBuf>,
    /// Log file name under logdir, or stdout, stderr, - [default: stdout].
    #[arg(long, value_name = "NAME")]
    pub logfile: Option<String>,
    /// Log level: error, warn, info, debug, trace, or a tracing filter [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub loglevel: Option<String>,
    /// Address of the REST API and SunRPC listener, host:port or :port [default: :24007].
    #[arg(long, value_name = "ADDR")]
    pub clientaddress: Option<String>,
    /// Address other glusterd2 nodes reach this node at [default: the client address].
    #[arg(long, value_name = "ADDR")]
    pub peeraddress: Option<String>,
    /// External etcd client endpoints, comma-separated URLs.
    #[arg(long, value_name = "URLS")]
    pub etcdendpoints: Option<String>,
    /// Client URL of the managed etcd member [default: http://<client host>:24379].
    #[arg(long, value_name = "URL")]
    pub etcdcurls: Option<String>,
    /// Peer URL of the managed etcd member [default: http://<client host>:24380].
    #[arg(long, value_name = "URL")]
    pub etcdpurls: Option<String>,
    /// TLS certificate (PEM) of the REST listener.
    #[arg(long = "cert-file", value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// TLS private key (PEM) of the REST listener.
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Store backend [default: auto].
    #[arg(long, value_name = "MODE")]
    pub store: Option<StoreMode>,
    /// Pid file [default: <rundir>/glusterd2.pid].
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Who may make this node join a cluster while it is alone: `token` (a caller that shows
    /// its join token) or `open` (anyone who reaches its port) [default: token].
    #[arg(long = "peer-join", value_name = "POLICY")]
    pub peer_join: Option<PeerJoin>,
    /// Managed etcd: how long a voter may be dead before another node replaces it [default: 5m].
    #[arg(long = "etcd-voter-grace", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub etcd_voter_grace: Option<std::time::Duration>,
    /// The longest lifetime (`exp - iat`) of a REST or node-to-node token this node accepts
    /// [default: 24h].
    #[arg(long = "token-max-lifetime", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub token_max_lifetime: Option<std::time::Duration>,
    /// Managed etcd: from this many nodes on, the store has 5 voters instead of 3 [default: 7].
    #[arg(long = "etcd-five-voters-from", value_name = "NODES")]
    pub etcd_five_voters_from: Option<usize>,
    /// GlusterFS's xlator directory, whose option tables are read at start-up
    /// [default: found under /usr/lib*/glusterfs/<version>/xlator].
    #[arg(long, value_name = "DIR")]
    pub xlatordir: Option<PathBuf>,
}

/// The file (and environment) layer: the same keys as [`Flags`], plus `restauth`, which GD2
/// accepts only from the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    localstatedir: Option<PathBuf>,
    rundir: Option<PathBuf>,
    logdir: Option<PathBuf>,
    logfile: Option<String>,
    loglevel: Option<String>,
    clientaddress: Option<String>,
    peeraddress: Option<String>,
    etcdendpoints: Option<Endpoints>,
    etcdcurls: Option<String>,
    etcdpurls: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    store: Option<StoreMode>,
    pidfile: Option<PathBuf>,
    peer_join: Option<PeerJoin>,
    restauth: Option<bool>,
    #[serde(default, with = "humantime_serde_opt")]
    etcd_voter_grace: Option<std::time::Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    token_max_lifetime: Option<std::time::Duration>,
    etcd_five_voters_from: Option<usize>,
    xlatordir: Option<PathBuf>,
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
enum Endpoints {
    One(String),
    Many(Vec<String>),
}

impl Endpoints {
    fn into_vec(self) -> Vec<String> {
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

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The validated configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub localstatedir: PathBuf,
    pub rundir: PathBuf,
    pub logdir: PathBuf,
    /// `stdout`, `stderr`, or a file name (relative to `logdir`) or path.
    pub logfile: String,
    pub loglevel: String,
    /// Where the REST (and later SunRPC) listener binds.
    pub client_addr: SocketAddr,
    /// What this node advertises to peers, `host:port`: `peeraddress`, or the client address
    /// when it names a host; `None` when the node derives its addresses (`address.rs`).
    pub peer_address: Option<String>,
    /// The port other nodes reach this node's listener at.
    pub peer_port: u16,
    pub etcd_endpoints: Vec<String>,
    /// The managed etcd member's URLs when configured (or implied by a client address with a
    /// host); `None`: derived at run time (`address.rs`).
    pub etcd_client_url: Option<String>,
    pub etcd_peer_url: Option<String>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The requested store mode (maybe `auto`).
    pub store: StoreMode,
    pub pidfile: PathBuf,
    pub peer_join: PeerJoin,
    pub restauth: bool,
    pub etcd_voter_grace: std::time::Duration,
    /// The longest lifetime of a token this node accepts (`gd_auth::verify_token`).
    pub token_max_lifetime: std::time::Duration,
    pub etcd_five_voters_from: usize,
    /// Where the xlators' option tables are read from; `None`: searched for.
    pub xlatordir: Option<PathBuf>,
}

/// A configuration error: names the key (or flag or variable) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(what: impl fmt::Display, msg: impl fmt::Display) -> ConfigError {
    ConfigError(format!("invalid {what}: {msg}"))
}

/// The default port of the client listener.
pub const DEFAULT_CLIENT_PORT: u16 = 24007;
/// The default ports of the managed etcd member. Not etcd's own 2379/2380, so a managed member
/// never collides with a system etcd (Debian's etcd-server starts one on 2379).
pub const DEFAULT_ETCD_CLIENT_PORT: u16 = 24379;
pub const DEFAULT_ETCD_PEER_PORT: u16 = 24380;

impl Config {
    /// Loads the configuration: defaults ← file ← environment ← flags, then validates it.
    pub fn load(flags: Flags, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let config_path = flags
            .config
            .clone()
            .or_else(|| env("GD2_CONFIG").map(PathBuf::from));
        let file = match &config_path {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let env = env_layer(&env)?;

        macro_rules! pick {
            ($field:ident) => {
                flags
                    .$field
                    .clone()
                    .or(env.$field.clone())
                    .or(file.$field.clone())
            };
        }

        // Absolute, because the GlusterFS processes glusterd2 starts get these paths (socket,
        // pid and log files) and daemonize into another working directory.
        let localstatedir =
            absolute(pick!(localstatedir).unwrap_or_else(|| "/var/lib/glusterd2".into()));
        let rundir = absolute(pick!(rundir).unwrap_or_else(|| "/var/run/glusterd2".into()));
        let logdir = absolute(pick!(logdir).unwrap_or_else(|| "/var/log/glusterd2".into()));
        let logfile = pick!(logfile).unwrap_or_else(|| "stdout".into());
        let loglevel = pick!(loglevel).unwrap_or_else(|| "info".into());
        let clientaddress =
            pick!(clientaddress).unwrap_or_else(|| format!(":{DEFAULT_CLIENT_PORT}"));
        let etcd_endpoints = flags
            .etcdendpoints
            .as_deref()
            .map(split_list)
            .or(env.etcdendpoints.map(Endpoints::into_vec))
            .or(file.etcdendpoints.map(Endpoints::into_vec))
            .unwrap_or_default();
        let store = pick!(store).unwrap_or(StoreMode::Auto);
        let restauth = env.restauth.or(file.restauth).unwrap_or(true);
        let peer_join = pick!(peer_join).unwrap_or(PeerJoin::Token);

        let client_addr = parse_listen_addr(&clientaddress).map_err(|m| bad("clientaddress", m))?;
        // A listener on every address says nothing of how other hosts reach this node: the
        // addresses are then derived at run time (`address::Addresses`), never loopback.
        let named_host = (!client_addr.ip().is_unspecified()).then(|| client_addr.ip());
        let (peer_address, peer_port) = match pick!(peeraddress) {
            Some(a) => {
                let addr = parse_listen_addr(&a).map_err(|m| bad("peeraddress", m))?;
                match named_host.or((!addr.ip().is_unspecified()).then(|| addr.ip())) {
                    Some(ip) if addr.ip().is_unspecified() => {
                        (Some(fmt_host_port(ip, addr.port())), addr.port())
                    }
                    Some(_) => (Some(addr.to_string()), addr.port()),
                    None => (None, addr.port()),
                }
            }
            None => (
                named_host.map(|ip| fmt_host_port(ip, client_addr.port())),
                client_addr.port(),
            ),
        };
        let etcd_client_url = pick!(etcdcurls).or_else(|| {
            named_host.map(|ip| format!("http://{}", fmt_host_port(ip, DEFAULT_ETCD_CLIENT_PORT)))
        });
        let etcd_peer_url = pick!(etcdpurls).or_else(|| {
            named_host.map(|ip| format!("http://{}", fmt_host_port(ip, DEFAULT_ETCD_PEER_PORT)))
        });
        for (key, url) in [
            ("etcdcurls", &etcd_client_url),
            ("etcdpurls", &etcd_peer_url),
        ] {
            if let Some(url) = url {
                check_url(url).map_err(|m| bad(key, m))?;
            }
        }
        for url in &etcd_endpoints {
            check_url(url).map_err(|m| bad("etcdendpoints", m))?;
        }
        // A bare word must be a level: EnvFilter would take "loud" as a target name and log
        // nothing. Directives with `=` (`info,gd_store=debug`) are tracing filters.
        const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
        let loglevel_ok = if loglevel.contains('=') {
            tracing_subscriber::EnvFilter::try_new(&loglevel).is_ok()
        } else {
            LEVELS.contains(&loglevel.trim().to_ascii_lowercase().as_str())
        };
        if !loglevel_ok {
            return Err(bad(
                "loglevel",
                format!("{loglevel:?} is not a level (error, warn, info, debug, trace)"),
            ));
        }
        if logfile.trim().is_empty() {
            return Err(bad("logfile", "empty (use stdout, stderr or a file name)"));
        }
        let cert_file = pick!(cert_file);
        let key_file = pick!(key_file);
        match (&cert_file, &key_file) {
            (Some(c), Some(k)) => {
                for (key, p) in [("cert-file", c), ("key-file", k)] {
                    if !p.is_file() {
                        return Err(bad(key, format!("{} is not a readable file", p.display())));
                    }
                }
            }
            (None, None) => {}
            _ => {
                return Err(ConfigError(
                    "cert-file and key-file must be given together".into(),
                ));
            }
        }
        if store == StoreMode::Etcd && etcd_endpoints.is_empty() {
            return Err(bad(
                "store",
                "etcd mode needs etcdendpoints (the URLs of the external etcd)",
            ));
        }
        for (key, p) in [
            ("localstatedir", &localstatedir),
            ("rundir", &rundir),
            ("logdir", &logdir),
        ] {
            if p.as_os_str().is_empty() {
                return Err(bad(key, "empty path"));
            }
        }
        let pidfile = absolute(pick!(pidfile).unwrap_or_else(|| rundir.join("glusterd2.pid")));
        let etcd_voter_grace =
            pick!(etcd_voter_grace).unwrap_or(std::time::Duration::from_secs(300));
        let token_max_lifetime = pick!(token_max_lifetime).unwrap_or(gd_auth::DEFAULT_MAX_LIFETIME);
        // The CLI and other nodes sign tokens for TOKEN_VALIDITY: a shorter bound locks them out.
        if token_max_lifetime < gd_auth::TOKEN_VALIDITY {
            return Err(bad(
                "token-max-lifetime",
                format!(
                    "{} is shorter than the {} tokens glustercli and other nodes sign",
                    humantime::format_duration(token_max_lifetime),
                    humantime::format_duration(gd_auth::TOKEN_VALIDITY)
                ),
            ));
        }
        let etcd_five_voters_from = pick!(etcd_five_voters_from).unwrap_or(7);
        if etcd_five_voters_from < 5 {
            return Err(bad(
                "etcd-five-voters-from",
                format!("{etcd_five_voters_from}: 5 voters need at least 5 nodes"),
            ));
        }

        let xlatordir = pick!(xlatordir).map(absolute);
        if let Some(d) = &xlatordir
            && !d.is_dir()
        {
            return Err(bad(
                "xlatordir",
                format!("{} is not a directory", d.display()),
            ));
        }

        Ok(Config {
            localstatedir,
            rundir,
            logdir,
            logfile,
            loglevel,
            client_addr,
            peer_address,
            peer_port,
            etcd_endpoints,
            etcd_client_url,
            etcd_peer_url,
            cert_file,
            key_file,
            store,
            pidfile,
            peer_join,
            restauth,
            etcd_voter_grace,
            token_max_lifetime,
            etcd_five_voters_from,
            xlatordir,
        })
    }

    /// The path of the join token a cluster must show to make this node join it.
    pub fn join_token_file(&self) -> PathBuf {
        self.localstatedir.join("join-token")
    }

    /// The path of the REST secret.
    pub fn auth_file(&self) -> PathBuf {
        self.localstatedir.join("auth")
    }

    /// Resolves `auto` to a concrete mode. `etcd_on_path` says whether an `etcd` binary exists.
    pub fn resolve_store_mode(&self, etcd_on_path: bool) -> (StoreMode, &'static str) {
        match self.store {
            StoreMode::Auto if !self.etcd_endpoints.is_empty() => {
                (StoreMode::Etcd, "etcd endpoints are configured")
            }
            StoreMode::Auto if etcd_on_path => (StoreMode::Managed, "an etcd binary is on PATH"),
            StoreMode::Auto => (
                StoreMode::Local,
                "no etcd endpoints and no etcd binary on PATH",
            ),
            mode => (mode, "configured"),
        }
    }
}

pub fn fmt_host_port(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
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

/// Reads `GD2_<KEY>` variables. Values are parsed as their flags would be; a bad value names
/// the variable.
fn env_layer(env: &impl Fn(&str) -> Option<String>) -> Result<FileConfig, ConfigError> {
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
    })
}

/// `p` made absolute against the working directory (unchanged if it already is, or if the
/// working directory is unknown; an empty path stays empty for the validation to name it).
fn absolute(p: PathBuf) -> PathBuf {
    if p.as_os_str().is_empty() || p.is_absolute() {
        return p;
    }
    std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses `host:port`, `:port` or `[v6]:port`. The host must be an IP literal: glusterd2
/// never resolves names for its own listeners.
fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?}: {port:?} is not a port number"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_CLIENT_PORT));
    }
    Err(format!(
        "{s:?} is not an address (expected IP:port or :port)"
    ))
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

/// The configuration of `args` (argv, program name first) without environment or file, for
/// other modules' tests.
#[cfg(test)]
pub fn load_for_tests(args: &[&str]) -> Config {
    let flags = Flags::try_parse_from(args).expect("flags parse");
    Config::load(flags, |_| None).expect("a valid test configuration")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut argv = vec!["glusterd2"];
        argv.extend_from_slice(args);
        let flags = Flags::try_parse_from(argv).expect("flags parse");
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(flags, |k| env.get(k).cloned())
    }

    #[test]
    fn defaults_are_gd2s() {
        let c = load(&[], &[]).unwrap();
        assert_eq!(c.localstatedir, PathBuf::from("/var/lib/glusterd2"));
        assert_eq!(c.client_addr, "0.0.0.0:24007".parse().unwrap());
        assert_eq!(c.pidfile, PathBuf::from("/var/run/glusterd2/glusterd2.pid"));
        assert_eq!(c.store, StoreMode::Auto);
        assert!(c.restauth);
        assert_eq!(c.peer_join, PeerJoin::Token);
        // Listening everywhere: no address is configured, they are derived at run time.
        assert_eq!(c.peer_address, None);
        assert_eq!(c.peer_port, 24007);
        assert_eq!(c.etcd_client_url, None);
        assert_eq!(c.etcd_peer_url, None);
    }

    #[test]
    fn relative_directories_become_absolute() {
        let c = load(
            &[
                "--localstatedir",
                "state",
                "--rundir",
                "./run",
                "--xlatordir",
                "/",
            ],
            &[],
        )
        .unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(c.localstatedir, cwd.join("state"));
        assert_eq!(c.rundir, cwd.join("./run"));
        assert_eq!(c.pidfile, cwd.join("./run").join("glusterd2.pid"));
        assert_eq!(c.xlatordir, Some(PathBuf::from("/")));
        let e = load(&["--xlatordir", "/no/such/dir"], &[]).unwrap_err();
        assert!(e.to_string().contains("xlatordir"), "{e}");
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("gd2.toml");
        std::fs::write(
            &f,
            "localstatedir = \"/file\"\nrundir = \"/file-run\"\nlogdir = \"/file-log\"\nrestauth = false\netcdendpoints = [\"http://127.0.0.9:2379\"]\n",
        )
        .unwrap();
        let c = load(
            &["--config", f.to_str().unwrap(), "--localstatedir", "/flag"],
            &[("GD2_LOCALSTATEDIR", "/env"), ("GD2_RUNDIR", "/env-run")],
        )
        .unwrap();
        assert_eq!(c.localstatedir, PathBuf::from("/flag"));
        assert_eq!(c.rundir, PathBuf::from("/env-run"));
        assert_eq!(c.logdir, PathBuf::from("/file-log"));
        assert!(!c.restauth);
        assert_eq!(c.etcd_endpoints, vec!["http://127.0.0.9:2379"]);
        assert_eq!(c.resolve_store_mode(false).0, StoreMode::Etcd);
    }

    #[test]
    fn unknown_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("gd2.toml");
        std::fs::write(&f, "localstatedir = \"/x\"\nbogus-key = 1\n").unwrap();
        let err = load(&["--config", f.to_str().unwrap()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus-key"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (&["--clientaddress", "nowhere:x"], &[], "clientaddress"),
            (&["--loglevel", "loud"], &[], "loglevel"),
            (&["--etcdendpoints", "ftp://x"], &[], "etcdendpoints"),
            (&["--store", "etcd"], &[], "etcdendpoints"),
            (&[], &[("GD2_STORE", "raft")], "GD2_STORE"),
            (&[], &[("GD2_RESTAUTH", "maybe")], "GD2_RESTAUTH"),
            (&["--cert-file", "/nonexistent.pem"], &[], "together"),
        ];
        for (args, env, needle) in cases {
            let err = load(args, env).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?} {env:?}: {err}");
        }
    }

    #[test]
    fn token_max_lifetime_from_flag_env_and_file() {
        let day = std::time::Duration::from_secs(24 * 3600);
        assert_eq!(load(&[], &[]).unwrap().token_max_lifetime, day);
        let c = load(&["--token-max-lifetime", "1h"], &[]).unwrap();
        assert_eq!(c.token_max_lifetime.as_secs(), 3600);
        let c = load(&[], &[("GD2_TOKEN_MAX_LIFETIME", "10m")]).unwrap();
        assert_eq!(c.token_max_lifetime.as_secs(), 600);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "token-max-lifetime = \"7d\"\n").unwrap();
        let c = load(&["--config", f.to_str().unwrap()], &[]).unwrap();
        assert_eq!(c.token_max_lifetime, 7 * day);
        let e = load(&[], &[("GD2_TOKEN_MAX_LIFETIME", "long")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("GD2_TOKEN_MAX_LIFETIME"), "{e}");
        let e = load(&["--token-max-lifetime", "1m"], &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid token-max-lifetime: 1m is shorter than the 2m tokens glustercli and other nodes sign"
        );
    }

    #[test]
    fn peer_join_from_flag_env_and_file() {
        assert_eq!(
            load(&["--peer-join", "open"], &[]).unwrap().peer_join,
            PeerJoin::Open
        );
        assert_eq!(
            load(&[], &[("GD2_PEER_JOIN", "open")]).unwrap().peer_join,
            PeerJoin::Open
        );
        let e = load(&[], &[("GD2_PEER_JOIN", "anyone")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("GD2_PEER_JOIN") && e.contains("token, open"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "peer-join = \"open\"\n").unwrap();
        let c = load(&["--config", f.to_str().unwrap()], &[]).unwrap();
        assert_eq!(c.peer_join, PeerJoin::Open);
    }

    #[test]
    fn addresses() {
        let c = load(&["--clientaddress", "127.0.0.2:24007"], &[]).unwrap();
        assert_eq!(c.peer_address.as_deref(), Some("127.0.0.2:24007"));
        assert_eq!(c.etcd_client_url.as_deref(), Some("http://127.0.0.2:24379"));
        assert_eq!(c.etcd_peer_url.as_deref(), Some("http://127.0.0.2:24380"));
        let c = load(&["--clientaddress", "[::1]:24007"], &[]).unwrap();
        assert_eq!(c.peer_address.as_deref(), Some("[::1]:24007"));
        // A wildcard listener with a peer address advertises that; a peer address without a
        // host only sets the port.
        let c = load(&["--peeraddress", "192.0.2.5:24008"], &[]).unwrap();
        assert_eq!(c.peer_address.as_deref(), Some("192.0.2.5:24008"));
        assert_eq!(c.etcd_client_url, None);
        let c = load(&["--peeraddress", ":24008"], &[]).unwrap();
        assert_eq!((c.peer_address, c.peer_port), (None, 24008));
        let c = load(&["--etcdcurls", "http://192.0.2.5:2379"], &[]).unwrap();
        assert_eq!(c.etcd_client_url.as_deref(), Some("http://192.0.2.5:2379"));
        assert_eq!(c.etcd_peer_url, None);
        assert_eq!(
            load(&["--store", "local"], &[])
                .unwrap()
                .resolve_store_mode(true)
                .0,
            StoreMode::Local
        );
        assert_eq!(
            load(&[], &[]).unwrap().resolve_store_mode(true).0,
            StoreMode::Managed
        );
        assert_eq!(
            load(&[], &[]).unwrap().resolve_store_mode(false).0,
            StoreMode::Local
        );
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// The shipped example parses, has no unknown keys, and states the defaults.
    #[test]
    fn shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/glusterd2.toml.example");
        let flags = Flags {
            config: Some(path),
            ..Flags::default()
        };
        let c = Config::load(flags, |_| None).expect("example config loads");
        assert_eq!(c.localstatedir, PathBuf::from("/var/lib/glusterd2"));
        assert_eq!(c.client_addr.port(), DEFAULT_CLIENT_PORT);
        assert_eq!(c.store, StoreMode::Auto);
        assert!(c.restauth);
    }
}
