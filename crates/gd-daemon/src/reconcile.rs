//! The reconciler: makes this node's brick processes match the store (DESIGN §3.7).
//!
//! Desired state: every local brick of a started volume runs. On start-up and on every change
//! of `volumes/` (and on a slow tick, which also notices a brick that died) the reconciler
//! starts what should run and stops what should not. A brick that is already running (a
//! glusterd2 restart) is adopted by its pid file, never restarted; its port comes back from
//! its sign-in (a brick signs in again when its management connection reconnects). A brick
//! that dies is restarted with back-off (1 s doubling to 60 s). Started replicate and
//! disperse volumes also get a self-heal daemon on each node that holds one of their bricks,
//! unless their self-heal-daemon option is off (GD1 stops it then too). The daemon is one
//! process per volume (not GD1's multiplexed one), so stopping a volume stops exactly its own.
//!
//! What should not run is stopped, and a pass returns only once it is gone ([`bricks::stop_all`]:
//! SIGTERM, SIGKILL after a grace), so the start and stop steps of the volume transactions, which
//! run a pass for their volume, return when their effect is real (DESIGN §3.18). Besides the
//! bricks it runs, a pass looks for processes of stopped volumes by their pid files: one that an
//! earlier glusterd2 left running is stopped too, not only those this one knows.
//!
//! Each node publishes the actual state of its own bricks, `brick-status/<peer-id>/<brick-id>`
//! (online, pid, port), bound to its lease and written only when it changes: status queries
//! read the store and never fan out to nodes.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use gd_core::keys::{BRICK_STATUS, VOLUMES};
use gd_store::{
    Store, StoreError,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use tokio::{sync::Mutex, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    bricks::{self, BrickLaunch, Proc, StartError},
    node::Node,
    sunrpc::SunRpcServer,
    volumes::{self, VolumeRecord, VolumeState},
};
const TICK: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a started brick may take to appear in the port map.
const SIGNIN_WAIT: Duration = Duration::from_secs(10);

/// A brick's actual state, as its node publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickStatusRecord {
    pub online: bool,
    pub pid: u32,
    pub port: u16,
    /// Why it is not running, when it failed to start.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

impl Record for BrickStatusRecord {
    const KIND: &'static str = "brick-status";
    const VERSION: u32 = 1;
}

pub fn status_key(peer: Uuid, brick: Uuid) -> String {
    format!("{BRICK_STATUS}{peer}/{brick}")
}

struct Backoff {
    next_try: Instant,
    delay: Duration,
}

/// This node's reconciler.
pub struct Reconciler {
    node: Arc<Node>,
    rpc: SunRpcServer,
    /// Serialises passes (the loop and the start/stop transaction steps).
    pass: Mutex<State>,
}

#[derive(Default)]
struct State {
    backoff: HashMap<Uuid, Backoff>,
    published: BTreeMap<Uuid, BrickStatusRecord>,
    /// The lease `published` was written with: the keys vanish with it, so a new lease (the
    /// old one was lost, or the node switched stores) means publishing everything again.
    published_lease: gd_store::LeaseId,
    /// Ports handed to bricks that have not signed in yet.
    ports: BTreeMap<Uuid, u16>,
    /// Bricks this node runs, by id: (volume, path, process).
    running: BTreeMap<Uuid, (String, String, Proc)>,
    /// The pid files of the bricks in `running` (named by the brick's host, which a deleted
    /// volume's record no longer tells).
    pidfiles: BTreeMap<Uuid, std::path::PathBuf>,
    /// Self-heal daemons this node runs, by volume.
    shds: BTreeMap<String, Proc>,
    /// The options of each started volume as last seen: a change means new volfiles, which
    /// the processes connected to this node are told to fetch.
    seen_options: BTreeMap<String, BTreeMap<String, String>>,
    /// The cluster options of this pass (they shape new processes' command lines).
    cluster: crate::volume_options::ClusterOptionsRecord,
}

/// What a pass left undone, and what it had to force.
#[derive(Debug, Default)]
pub struct Pass {
    /// Bricks and daemons in the pass's scope that are not as desired, with the reason.
    pub problems: Vec<String>,
    /// Processes that did not exit on SIGTERM within the grace and were killed.
    pub killed: Vec<String>,
}

/// A process a pass stops.
enum Stale {
    Brick { id: Uuid, path: String, proc: Proc },
    Shd { volume: String, proc: Proc },
}

impl Stale {
    fn proc(&self) -> Proc {
        match self {
            Stale::Brick { proc, .. } | Stale::Shd { proc, .. } => *proc,
        }
    }

    fn describe(&self) -> String {
        match self {
            Stale::Brick { path, proc, .. } => format!("brick {path} (pid {})", proc.pid),
            Stale::Shd { volume, proc } => {
                format!("the self-heal daemon of {volume} (pid {})", proc.pid)
            }
        }
    }
}

impl Reconciler {
    pub fn new(node: Arc<Node>, rpc: SunRpcServer) -> Arc<Reconciler> {
        Arc::new(Reconciler {
            node,
            rpc,
            pass: Mutex::new(State::default()),
        })
    }

    /// Runs until cancelled.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let store = self.node.store.clone();
        gd_store::follow_prefix(
            &*store,
            VOLUMES,
            TICK,
            &cancel,
            |_| true,
            || async {
                if let Err(e) = self.converge(None).await {
                    tracing::debug!(error = %e, "reconcile pass failed");
                }
            },
        )
        .await
    }

    /// Sends FETCHSPEC to this node's connected GlusterFS processes when the options of a
    /// started volume changed since the last pass: their volfiles changed, and they
    /// reconfigure in place once they fetched them (DESIGN §3.8). The first sight of a volume
    /// notifies nothing: processes fetch their volfiles when they connect.
    fn notify_option_changes(&self, st: &mut State, vols: &[VolumeRecord]) {
        let mut seen = BTreeMap::new();
        for v in vols.iter().filter(|v| v.state == VolumeState::Started) {
            if st
                .seen_options
                .get(&v.name)
                .is_some_and(|before| *before != v.options)
            {
                let n = self.rpc.notify_fetchspec(Some(&v.name));
                tracing::info!(volume = %v.name, clients = n, "volume options changed; clients told to fetch their volfiles");
            }
            seen.insert(v.name.clone(), v.options.clone());
        }
        st.seen_options = seen;
    }

    /// One pass; `only` limits it to one volume (a start or stop step). Returns when what
    /// should not run is gone; says what in its scope is not as desired, and what had to be
    /// killed.
    pub async fn converge(&self, only: Option<&str>) -> Result<Pass, StoreError> {
        let mut st = self.pass.lock().await;
        let me = self.node.identity().peer_id;
        let vols = volumes::list_volumes(self.node.store.as_ref()).await?;
        st.cluster = crate::volume_options::cluster_options(self.node.store.as_ref())
            .await
            .unwrap_or_default();
        self.notify_option_changes(&mut st, &vols);
        // A brick is named (volfile id, pid file) by the host it was given as, as in GD1.
        let mut desired: BTreeMap<Uuid, (&VolumeRecord, String, String)> = BTreeMap::new();
        for v in &vols {
            if v.state != VolumeState::Started || only.is_some_and(|o| o != v.name) {
                continue;
            }
            for b in v.bricks().filter(|b| b.peer_id == me) {
                desired.insert(b.id, (v, b.path.clone(), b.host.clone()));
            }
        }
        let mut problems = vec![];
        // Adopt or start what should run.
        for (id, (vol, path, host)) in &desired {
            let files = bricks::files(&self.node.config, &vol.name, host, path, *id);
            st.pidfiles.insert(*id, files.pidfile.clone());
            if let Some(p) = bricks::running_pid(&files.pidfile, path) {
                st.running.insert(*id, (vol.name.clone(), path.clone(), p));
                continue;
            }
            // A brick that died: reaped, if it was this daemon's child.
            if let Some((_, _, dead)) = st.running.remove(id) {
                dead.reap();
            }
            if st
                .backoff
                .get(id)
                .is_some_and(|b| Instant::now() < b.next_try)
                && only.is_none()
            {
                problems.push(format!("{path}: waiting to retry"));
                continue;
            }
            match self.start_brick(&mut st, vol, *id, path, host).await {
                Ok(p) => {
                    tracing::info!(volume = %vol.name, brick = %path, pid = p.pid, "brick started");
                    st.backoff.remove(id);
                    st.running.insert(*id, (vol.name.clone(), path.clone(), p));
                }
                Err(e) => {
                    let b = st.backoff.entry(*id).or_insert(Backoff {
                        next_try: Instant::now(),
                        delay: BACKOFF_MIN,
                    });
                    b.next_try = Instant::now() + b.delay;
                    b.delay = (b.delay * 2).min(BACKOFF_MAX);
                    tracing::warn!(volume = %vol.name, brick = %path, error = %e, "brick did not start");
                    problems.push(format!("{path}: {e}"));
                    self.publish(
                        &mut st,
                        *id,
                        BrickStatusRecord {
                            online: false,
                            pid: 0,
                            port: 0,
                            error: e.to_string(),
                        },
                    )
                    .await;
                }
            }
        }
        // Self-heal daemons: one per started replicate or disperse volume with a brick here,
        // unless its self-heal-daemon option is off.
        let in_scope = |name: &str| only.is_none_or(|o| o == name);
        let mut want_shd = BTreeSet::new();
        for v in &vols {
            if v.state == VolumeState::Started
                && v.wants_self_heal_daemon()
                && v.bricks().any(|b| b.peer_id == me)
                && in_scope(&v.name)
            {
                want_shd.insert(v.name.clone());
            }
        }
        // Stop what should not run, within the pass's scope: what this node runs for a volume
        // stopped or deleted (or whose self-heal daemon is off), and what of a volume that is
        // not started its pid files show running (left by an earlier glusterd2).
        let mut stale: Vec<Stale> = st
            .running
            .iter()
            .filter(|(id, (vname, _, _))| !desired.contains_key(id) && in_scope(vname))
            .map(|(id, (_, path, p))| Stale::Brick {
                id: *id,
                path: path.clone(),
                proc: *p,
            })
            .collect();
        stale.extend(
            st.shds
                .iter()
                .filter(|(v, _)| !want_shd.contains(*v) && in_scope(v))
                .map(|(v, p)| Stale::Shd {
                    volume: v.clone(),
                    proc: *p,
                }),
        );
        for v in vols
            .iter()
            .filter(|v| in_scope(&v.name) && v.bricks().any(|b| b.peer_id == me))
        {
            if v.state != VolumeState::Started {
                for b in v.bricks().filter(|b| b.peer_id == me) {
                    if st.running.contains_key(&b.id) {
                        continue;
                    }
                    let files = bricks::files(&self.node.config, &v.name, &b.host, &b.path, b.id);
                    if let Some(p) = bricks::running_pid(&files.pidfile, &b.path) {
                        st.pidfiles.insert(b.id, files.pidfile);
                        stale.push(Stale::Brick {
                            id: b.id,
                            path: b.path.clone(),
                            proc: p,
                        });
                    }
                }
            }
            if !want_shd.contains(&v.name) && !st.shds.contains_key(&v.name) {
                let pidfile = crate::volfiles::shd_pidfile(&self.node, &v.name);
                if let Some(p) = bricks::running_shd(&pidfile, &v.name) {
                    stale.push(Stale::Shd {
                        volume: v.name.clone(),
                        proc: p,
                    });
                }
            }
        }
        let mut killed = vec![];
        if !stale.is_empty() {
            for x in &stale {
                tracing::info!(process = %x.describe(), "stopping");
            }
            let procs: Vec<Proc> = stale.iter().map(Stale::proc).collect();
            let began = Instant::now();
            let out = bricks::stop_all(&procs).await;
            tracing::info!(
                processes = procs.len(),
                took_ms = began.elapsed().as_millis() as u64,
                "stopped: every process gone, or reported"
            );
            for x in stale {
                let p = x.proc();
                if out.stuck.contains(&p) {
                    let why = format!(
                        "{} still runs {} s after SIGKILL",
                        x.describe(),
                        bricks::KILL_WAIT.as_secs()
                    );
                    tracing::error!(problem = %why, "a process could not be stopped");
                    problems.push(why);
                    continue;
                }
                if out.killed.contains(&p) {
                    let what = format!(
                        "{} did not exit within {} s of SIGTERM and was killed (SIGKILL)",
                        x.describe(),
                        bricks::STOP_GRACE.as_secs()
                    );
                    tracing::warn!(process = %what, "killed");
                    killed.push(what);
                }
                if out.unreaped.contains(&p) {
                    tracing::info!(process = %x.describe(), "exited; its parent (not glusterd2) has not reaped it yet");
                }
                match x {
                    Stale::Brick { id, path, .. } => {
                        self.rpc.portmap().remove(&path);
                        st.running.remove(&id);
                        st.ports.remove(&id);
                        if let Some(pidfile) = st.pidfiles.remove(&id) {
                            let _ = std::fs::remove_file(pidfile);
                        }
                        self.unpublish(&mut st, id).await;
                    }
                    Stale::Shd { volume, .. } => {
                        st.shds.remove(&volume);
                        let _ =
                            std::fs::remove_file(crate::volfiles::shd_pidfile(&self.node, &volume));
                    }
                }
            }
        }
        for vol in &want_shd {
            let pidfile = crate::volfiles::shd_pidfile(&self.node, vol);
            if let Some(p) = bricks::running_shd(&pidfile, vol) {
                st.shds.insert(vol.clone(), p);
                continue;
            }
            if let Some(dead) = st.shds.remove(vol) {
                dead.reap();
            }
            let launch = bricks::ShdLaunch {
                volume: vol.clone(),
                node_id: me,
                volfile_server: SocketAddr::new(
                    node_ip(&self.node),
                    self.node.config.client_addr.port(),
                ),
                pidfile,
                localtime_logging: st.cluster.localtime_logging(),
                log_level: st.cluster.daemon_log_level(),
            };
            match bricks::start_shd(&self.node.config, &launch).await {
                Ok(p) => {
                    tracing::info!(volume = %vol, pid = p.pid, "self-heal daemon started");
                    st.shds.insert(vol.clone(), p);
                }
                Err(e) => {
                    tracing::warn!(volume = %vol, error = %e, "self-heal daemon did not start");
                    problems.push(format!("self-heal daemon: {e}"));
                }
            }
        }
        // Publish what runs.
        let running: Vec<(Uuid, String, u32)> = st
            .running
            .iter()
            .map(|(id, (_, path, p))| (*id, path.clone(), p.pid))
            .collect();
        for (id, path, pid) in running {
            let port = self
                .rpc
                .portmap()
                .port_of(&path)
                .or(st.ports.get(&id).copied())
                .unwrap_or(0);
            self.publish(
                &mut st,
                id,
                BrickStatusRecord {
                    online: true,
                    pid,
                    port,
                    error: String::new(),
                },
            )
            .await;
        }
        Ok(Pass { problems, killed })
    }

    async fn start_brick(
        &self,
        st: &mut State,
        vol: &VolumeRecord,
        id: Uuid,
        path: &str,
        host: &str,
    ) -> Result<Proc, StartError> {
        let ip = node_ip(&self.node);
        let bind = bind_ip(&self.node);
        for _ in 0..5 {
            let taken: BTreeSet<u16> = st.ports.values().copied().collect();
            let port =
                bricks::alloc_port(bind.unwrap_or(self.node.config.client_addr.ip()), &taken)
                    .ok_or_else(|| StartError::Failed("no free brick port".into()))?;
            st.ports.insert(id, port);
            let launch = BrickLaunch {
                volume: vol.name.clone(),
                host: host.to_owned(),
                bind,
                path: path.to_owned(),
                brick_id: id,
                node_id: self.node.identity().peer_id,
                port,
                volfile_server: SocketAddr::new(ip, self.node.config.client_addr.port()),
                localtime_logging: st.cluster.localtime_logging(),
            };
            match bricks::start(&self.node.config, &launch).await {
                Err(StartError::PortInUse(_)) => continue,
                Err(e) => return Err(e),
                Ok(p) => {
                    // A brick serves once it signed in; a launcher may exit 0 while its brick
                    // fails its graph (a missing directory) and dies a moment later.
                    let deadline = Instant::now() + SIGNIN_WAIT;
                    loop {
                        if self.rpc.portmap().port_of(path).is_some()
                            && bricks::running_pid(
                                &bricks::files(&self.node.config, &vol.name, host, path, id)
                                    .pidfile,
                                path,
                            )
                            .is_some()
                        {
                            return Ok(p);
                        }
                        if Instant::now() >= deadline {
                            bricks::stop_all(&[p]).await;
                            return Err(StartError::Failed(format!(
                                "brick {path} did not sign in within {} s (see its log)",
                                SIGNIN_WAIT.as_secs()
                            )));
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        Err(StartError::Failed(
            "no port could be bound after 5 tries".into(),
        ))
    }

    async fn publish(&self, st: &mut State, id: Uuid, rec: BrickStatusRecord) {
        let Some(lease) = self.node.liveness.lease() else {
            return;
        };
        if st.published_lease != lease {
            st.published.clear();
            st.published_lease = lease;
        }
        if st.published.get(&id) == Some(&rec) {
            return;
        }
        let key = status_key(self.node.identity().peer_id, id);
        if self
            .node
            .store
            .put(&key, record::encode(&rec), Some(lease))
            .await
            .is_ok()
        {
            st.published.insert(id, rec);
        }
    }

    async fn unpublish(&self, st: &mut State, id: Uuid) {
        let key = status_key(self.node.identity().peer_id, id);
        if self.node.store.delete(&key).await.is_ok() {
            st.published.remove(&id);
        }
    }
}

/// The address this node's bricks listen on: its configured client address; `None` (every
/// address) when it listens on every address.
pub fn bind_ip(node: &Node) -> Option<IpAddr> {
    let ip = node.config.client_addr.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// This node's IP for its own GlusterFS processes to reach it at: the client address, or
/// loopback when it listens on every address.
pub fn node_ip(node: &Node) -> IpAddr {
    let ip = node.config.client_addr.ip();
    if ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

/// The published status of a volume's bricks.
pub async fn brick_statuses(
    store: &dyn Store,
    vol: &VolumeRecord,
) -> Result<Vec<gd_api::BrickStatus>, StoreError> {
    let api = vol.to_api();
    let mut out = vec![];
    for info in api.subvols.into_iter().flat_map(|s| s.bricks) {
        let key = status_key(info.peer_id, info.id);
        let st = match store.get(&key).await? {
            Some(kv) => Some(record::decode::<BrickStatusRecord>(&key, &kv.value)?),
            None => None,
        };
        out.push(gd_api::BrickStatus {
            online: st.as_ref().is_some_and(|s| s.online),
            pid: st.as_ref().map(|s| s.pid).unwrap_or(0),
            port: st.as_ref().map(|s| s.port).unwrap_or(0),
            info,
        });
    }
    Ok(out)
}
