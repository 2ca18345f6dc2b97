//! glusterd2, the GlusterFS management daemon.
//!
//! [`run`] is the whole life of a node: prepare its directories, take the single-instance
//! guard, load or create its identity and secret, open the store, publish itself (peer record
//! and liveness), serve the REST API, and on SIGTERM/SIGINT undo it all in reverse order.

// The node, re-exported where the daemon's modules and tests have always found it.
pub use gd_feature as feature;
pub use gd_node::{
    address, config, identity, liveness, logging, membership, node, peer_client, peers, pidfile,
    process, reconcile, store,
};
pub use gd_rpc_server as sunrpc;
pub mod features;
#[doc(hidden)]
pub mod fuzz;
pub mod memory;
pub mod rest;

use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::{config::Config, identity::Identity, node::Node, pidfile::InstanceGuard};

/// How long in-flight requests get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long after it starts serving the daemon gives back what start-up freed.
const TRIM_AFTER: Duration = Duration::from_secs(10);
/// How often it gives back what operations freed since.
const TRIM_EVERY: Duration = Duration::from_secs(60);
/// How long the API waits for this node's registration and liveness before it serves.
const REGISTER_BEFORE_SERVING: Duration = Duration::from_secs(3);

/// Runs the daemon until a termination signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    for dir in [&config.localstatedir, &config.rundir, &config.logdir] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let _guard = InstanceGuard::acquire(&config.localstatedir, &config.pidfile)?;
    let (identity, created) = Identity::load_or_create(&config.localstatedir)?;
    tracing::info!(
        peer_id = %identity.peer_id,
        cluster_id = %identity.cluster_id,
        new = created,
        version = env!("CARGO_PKG_VERSION"),
        "starting glusterd2"
    );

    let secret = if config.restauth {
        let path = config.auth_file();
        Some(
            gd_auth::load_or_create_secret(&path)
                .with_context(|| format!("cannot create the REST secret {}", path.display()))?,
        )
    } else {
        tracing::warn!(
            "REST AUTHENTICATION IS OFF (restauth = false): anyone who can reach {} controls this cluster",
            config.client_addr
        );
        None
    };

    raise_open_files_limit();

    // The proof a cluster must show to make this node join it (DESIGN §3.6).
    let join_token = config.join_token_file();
    gd_auth::load_or_create_secret(&join_token)
        .with_context(|| format!("cannot create the join token {}", join_token.display()))?;
    if config.peer_join == config::PeerJoin::Open {
        tracing::warn!(
            "PEER JOIN IS OPEN (peer-join = open): while this node is alone, anyone who can reach {} can make it join their cluster and run bricks",
            config.client_addr
        );
    }

    // Bind before opening the store so a port conflict fails fast, before etcd starts.
    let listener = std::net::TcpListener::bind(config.client_addr).with_context(|| {
        format!(
            "cannot listen on {} (if the classic glusterd runs on this machine, stop it first: \
                 systemctl stop glusterd; or choose another --clientaddress)",
            config.client_addr
        )
    })?;
    listener.set_nonblocking(true)?;

    // The installed xlators' option tables, read once (dlopen runs their constructors here).
    let xlatordir = config.xlatordir.clone();
    tokio::task::spawn_blocking(move || gd_volume::options::init(xlatordir.as_deref()))
        .await
        .context("reading the xlator option tables")?;

    let node = Node::open(config.clone(), identity, secret).await?;

    let cancel = CancellationToken::new();
    // Registration and liveness go on in the background: after a whole-cluster restart the
    // store answers only once enough peers are back, and the API must be up meanwhile.
    let mut registration = tokio::spawn(node.clone().register_until_done(cancel.clone()));
    let liveness = tokio::spawn(node.liveness.clone().run(cancel.clone()));
    // Where the store answers, the node lists itself online by the time its API is up (a
    // script may start glusterd2 and ask for the peers at once); where it does not yet, the
    // API serves after a short wait and the node registers when the store comes back.
    let _ = tokio::time::timeout(REGISTER_BEFORE_SERVING, async {
        let _ = (&mut registration).await;
        node.liveness.wait_published(REGISTER_BEFORE_SERVING).await;
    })
    .await;
    // Elastic managed etcd: every node runs the member agent and campaigns for the controller;
    // both idle on nodes whose store is not managed.
    let elastic = membership::ElasticConfig {
        five_voters_from: config.etcd_five_voters_from,
        voter_grace: config.etcd_voter_grace,
    };
    let removal = tokio::spawn(node.clone().watch_removal(cancel.clone()));
    let agent = tokio::spawn(membership::run_member_agent(node.clone(), cancel.clone()));
    let controller = tokio::spawn(membership::run_controller(
        node.clone(),
        elastic,
        cancel.clone(),
    ));

    // The features, and what they run on: the transaction engine with their steps; the volume
    // feature's reconciler reads the port map the bricks' sign-ins fill.
    let features = features::all();
    let rpc = sunrpc::SunRpcServer::default();
    let (cluster, tasks) = feature::Cluster::assemble(node.clone(), rpc.clone(), &features)?;
    let app = rest::router(cluster.clone(), &features);
    let server = serve(listener, app, &config, rpc, cancel.clone()).await?;
    let background = cluster.spawn(tasks, &cancel);
    tracing::info!(address = %config.client_addr, tls = config.cert_file.is_some(), "serving the REST API");
    // The first passes of the features' loops have run by then; later, what operations freed.
    let trim = tokio::spawn(async {
        tokio::time::sleep(TRIM_AFTER).await;
        loop {
            memory::trim();
            tokio::time::sleep(TRIM_EVERY).await;
        }
    });

    wait_for_signal().await;
    tracing::info!("shutting down");
    cancel.cancel();
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "REST server ended with an error"),
        Err(_) => tracing::warn!("in-flight requests did not finish in time"),
        _ => {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), liveness).await;
    registration.abort();
    trim.abort();
    removal.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), controller).await;
    agent.abort();
    for task in background {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    node.close().await;
    tracing::info!("stopped");
    Ok(())
}

type ServerTask = tokio::task::JoinHandle<std::io::Result<()>>;

/// Serves the client address (REST API and SunRPC, told apart per connection) and the SunRPC
/// unix socket `<rundir>/glusterd2.socket`, until `cancel`.
///
/// Returns the server task (it ends once every connection is closed after `cancel`; bound
/// the wait). The SunRPC server `rpc` is the handle through which the volume feature sets the
/// volfile source ([`sunrpc::SunRpcServer::set_volfile_source`]), the reconciler reads the
/// brick port map ([`sunrpc::SunRpcServer::portmap`]) and clients are told of volfile changes
/// ([`sunrpc::SunRpcServer::notify_fetchspec`]).
async fn serve(
    listener: std::net::TcpListener,
    app: axum::Router,
    config: &Config,
    rpc: sunrpc::SunRpcServer,
    cancel: CancellationToken,
) -> anyhow::Result<ServerTask> {
    let tls = match (&config.cert_file, &config.key_file) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot load TLS certificate {} / key {}",
                        cert.display(),
                        key.display()
                    )
                })?,
        ),
        _ => None,
    };
    let listeners = sunrpc::listener::Listeners {
        tcp: listener,
        app,
        tls,
        unix_path: config.rundir.join(sunrpc::UNIX_SOCKET_NAME),
    };
    sunrpc::spawn_listeners(listeners, rpc, cancel)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; running until killed");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

/// Raises the soft limit of open files to the hard one: every connection (REST clients,
/// bricks, mounts) is a descriptor, and a flood of idle connections must meet the listener's
/// own bounds (`sunrpc::listener`) before the process limit, with descriptors to spare for the
/// daemon's own work (store, files, processes).
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const RESERVE: u64 = 1024;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let now = if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "cannot raise the open-files limit");
                soft
            }
        }
    } else {
        soft
    };
    let bounded = (sunrpc::listener::MAX_CLASSIFYING
        + sunrpc::listener::MAX_HTTP_CONNECTIONS
        + sunrpc::Limits::default().max_connections) as u64;
    if now < bounded + RESERVE {
        tracing::warn!(
            limit = now,
            wanted = bounded + RESERVE,
            "the open-files limit is below what the listener's connection bounds need; raise the hard limit (LimitNOFILE=)"
        );
    } else {
        tracing::debug!(limit = now, "open-files limit");
    }
}
