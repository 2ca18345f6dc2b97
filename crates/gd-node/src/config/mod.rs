//! The daemon's configuration.
//!
//! One flow, as PD and TiKV do it: built-in defaults, then the TOML file (`--config`), then
//! the environment (`GD2_<KEY>`, `-` written `_`), then command-line flags; then one
//! [`Config::validate`] that checks every value and resolves the store mode. Key names are
//! GD2's, so a GD2 `glusterd2.toml` keeps working. An unknown key or a bad value stops the
//! start with a message that names it: a typo in a config file must never be silently ignored.
//!
//! Where each part lives: [`Flags`] (the command line) in `args`, the TOML file in `file`, the
//! `GD2_*` environment in `env`, [`StoreMode`] and [`PeerJoin`] in `modes`, the parsers and
//! checks of single values in `values`; [`Config`] itself, and [`Config::load`], which merges
//! the layers and checks the whole, in this module.

mod args;
mod env;
mod file;
mod modes;
#[cfg(test)]
mod tests;
mod values;

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
};

pub use args::Flags;
pub use modes::{PeerJoin, StoreMode};

use env::env_layer;
use file::{Endpoints, FileConfig, read_file, split_list};
use values::{absolute, check_url, parse_listen_addr};

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
    /// The file holding the token `/metrics` asks for; `None`: `/metrics` is open.
    pub metrics_token_file: Option<PathBuf>,
    /// Where GD1's hook scripts are (`<op>/{pre,post}/S*`).
    pub hooks_dir: PathBuf,
    /// The OTLP/HTTP collector traces are exported to; `None`: none are.
    pub otlp_endpoint: Option<String>,
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

        let metrics_token_file = pick!(metrics_token_file).map(absolute);
        if let Some(f) = &metrics_token_file {
            match std::fs::read_to_string(f) {
                Ok(t) if !t.trim().is_empty() => {}
                Ok(_) => {
                    return Err(bad(
                        "metrics-token-file",
                        format!("{} is empty", f.display()),
                    ));
                }
                Err(e) => {
                    return Err(bad(
                        "metrics-token-file",
                        format!("{} cannot be read: {e}", f.display()),
                    ));
                }
            }
        }

        let hooks_dir =
            absolute(pick!(hooks_dir).unwrap_or_else(|| localstatedir.join("hooks").join("1")));
        if hooks_dir.as_os_str().is_empty() {
            return Err(bad("hooks-dir", "empty path"));
        }

        let otlp_endpoint = pick!(otlp_endpoint).map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &otlp_endpoint {
            check_url(u).map_err(|m| bad("otlp-endpoint", m))?;
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
            metrics_token_file,
            hooks_dir,
            otlp_endpoint,
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

/// The configuration of `args` (argv, program name first) without environment or file, for
/// other modules' tests.
#[cfg(test)]
pub fn load_for_tests(args: &[&str]) -> Config {
    use clap::Parser;
    let flags = Flags::try_parse_from(args).expect("flags parse");
    Config::load(flags, |_| None).expect("a valid test configuration")
}
