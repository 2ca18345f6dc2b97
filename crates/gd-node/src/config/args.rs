//! The command line: one optional flag per setting, so that a flag overrides the file and the
//! environment only when it is given.

use std::path::PathBuf;

use clap::Parser;

use super::{PeerJoin, StoreMode};

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
    /// A file holding the token a scraper must send (`Authorization: Bearer <token>`) to read
    /// `/metrics` [default: none, `/metrics` is open].
    #[arg(long = "metrics-token-file", value_name = "FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// GD1's hook scripts: `<dir>/<op>/{pre,post}/S*` [default: <localstatedir>/hooks/1;
    /// /var/lib/glusterd/hooks/1 runs the scripts GlusterFS's packages ship].
    #[arg(long = "hooks-dir", value_name = "DIR")]
    pub hooks_dir: Option<PathBuf>,
    /// Export traces (OpenTelemetry, OTLP over HTTP) to this collector, e.g.
    /// `http://otel-collector:4318` [default: none, nothing is exported].
    #[arg(long = "otlp-endpoint", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}
