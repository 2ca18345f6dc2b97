//! The reconciler: makes this node's GlusterFS processes match the store (DESIGN §3.7).
//!
//! Why generic: every kind of process a node runs for its volumes — bricks and self-heal
//! daemons today; quotad, bitd, the scrubber, gsyncd, rebalance next — follows the same
//! life: it should run or not for the cluster as stored, one already running (a glusterd2
//! restart) is adopted, never restarted, one that dies is started again, one that should not
//! run is stopped and waited for. That loop is written once, here; a kind of process is a
//! [`Service`] (`brick.rs`, `shd.rs`) that says which instances this node wants, how to find a
//! running one, how to start one, and what to do when one stops.
//!
//! On start-up and on every change of `volumes/` (and on a slow tick, which also notices a
//! process that died) a pass adopts or starts what should run and stops what should not. A
//! failed start of a service that backs off (bricks) is retried after 1 s doubling to 60 s.
//! What should not run is stopped, and a pass returns only once it is gone
//! ([`bricks::stop_all`]: SIGTERM, SIGKILL after a grace), so the start and stop steps of the
//! volume transactions, which run a pass for their volume, return when their effect is real
//! (DESIGN §3.18). Besides the processes it runs, a pass looks for those of volumes in its
//! scope that an earlier glusterd2 left running (their pid files), and stops them too.
//!
//! When a started volume's options change, the pass tells this node's connected GlusterFS
//! processes to fetch their volfiles again (FETCHSPEC), and they reconfigure in place.

mod brick;
mod shd;

pub use brick::{BrickService, BrickStatusRecord, brick_statuses, status_key};
pub use shd::ShdService;

use std::{
    collections::{BTreeMap, HashMap},
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use gd_core::keys::VOLUMES;
use gd_store::StoreError;
use tokio::{sync::Mutex, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    bricks::{self, Proc},
    node::Node,
    sunrpc::SunRpcServer,
    volume_options::ClusterOptionsRecord,
    volumes::{self, VolumeRecord, VolumeState},
};

const TICK: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What a pass sees: this node, every volume, the cluster options.
pub struct View<'a> {
    pub me: Uuid,
    pub volumes: &'a [VolumeRecord],
    pub cluster: &'a ClusterOptionsRecord,
}

impl View<'_> {
    /// The volume `name` (`volumes` is in name order).
    pub fn volume(&self, name: &str) -> Option<&VolumeRecord> {
        self.volumes
            .binary_search_by(|v| v.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.volumes[i])
    }
}

/// One process a service runs on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique among the service's instances on this node (a brick's id, a volume's name).
    pub id: String,
    /// The volume it serves: a pass for one volume touches only its instances.
    pub volume: String,
    /// How a problem with it begins ("/srv/b1", "self-heal daemon").
    pub name: String,
    /// How it is named when stopped or killed ("brick /srv/b1").
    pub label: String,
}

/// A kind of process the reconciler keeps at its desired state.
#[async_trait]
pub trait Service: Send + Sync {
    /// What it runs, for logs ("brick").
    fn kind(&self) -> &'static str;

    /// The instances this node should run in `view`.
    fn wanted(&self, view: &View<'_>) -> Vec<Instance>;

    /// Instances this node does not want but whose process may run all the same (left by an
    /// earlier glusterd2): each found running is stopped.
    fn leftovers(&self, view: &View<'_>) -> Vec<Instance>;

    /// The running process of `inst`, if there is one (adoption by pid file).
    fn find(&self, view: &View<'_>, inst: &Instance) -> Option<Proc>;

    /// Starts `inst`; returns once it serves.
    async fn start(&self, view: &View<'_>, inst: &Instance) -> Result<Proc, String>;

    /// Whether a failed start waits (1 s doubling to 60 s) before a pass of every volume
    /// tries again; a pass for one volume (a start or stop step) always tries.
    fn backs_off(&self) -> bool {
        true
    }

    /// `inst` did not start.
    async fn start_failed(&self, inst: &Instance, error: &str) {
        let _ = (inst, error);
    }

    /// `inst` stopped: forget its traces (pid file, port, published status).
    async fn stopped(&self, inst: &Instance);

    /// What runs now, after a pass (to publish it).
    async fn running(&self, running: &[(&Instance, Proc)]) {
        let _ = running;
    }
}

struct Backoff {
    next_try: Instant,
    delay: Duration,
}

/// This node's reconciler.
pub struct Reconciler {
    node: Arc<Node>,
    rpc: SunRpcServer,
    services: Vec<Arc<dyn Service>>,
    /// Serialises passes (the loop and the start/stop transaction steps).
    pass: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// What runs, by service (its index) and instance id.
    running: BTreeMap<(usize, String), (Instance, Proc)>,
    backoff: HashMap<(usize, String), Backoff>,
    /// The options of each started volume as last seen: a change means new volfiles, which
    /// the processes connected to this node are told to fetch.
    seen_options: BTreeMap<String, BTreeMap<String, String>>,
}

/// What a pass left undone, and what it had to force.
#[derive(Debug, Default)]
pub struct Pass {
    /// Processes in the pass's scope that are not as desired, with the reason.
    pub problems: Vec<String>,
    /// Processes that did not exit on SIGTERM within the grace and were killed.
    pub killed: Vec<String>,
}

/// A process a pass stops.
struct Stale {
    service: usize,
    inst: Instance,
    proc: Proc,
}

impl Stale {
    fn describe(&self) -> String {
        format!("{} (pid {})", self.inst.label, self.proc.pid)
    }
}

impl Reconciler {
    pub fn new(
        node: Arc<Node>,
        rpc: SunRpcServer,
        services: Vec<Arc<dyn Service>>,
    ) -> Arc<Reconciler> {
        Arc::new(Reconciler {
            node,
            rpc,
            services,
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
        let mut vols = volumes::list_volumes(self.node.store.as_ref()).await?;
        vols.sort_by(|a, b| a.name.cmp(&b.name));
        let cluster = crate::volume_options::cluster_options(self.node.store.as_ref())
            .await
            .unwrap_or_default();
        self.notify_option_changes(&mut st, &vols);
        let view = View {
            me: self.node.identity().peer_id,
            volumes: &vols,
            cluster: &cluster,
        };
        let in_scope = |volume: &str| only.is_none_or(|o| o == volume);
        let mut problems = vec![];
        let mut wanted = BTreeMap::new();
        // Adopt or start what should run.
        for (s, service) in self.services.iter().enumerate() {
            for inst in service.wanted(&view) {
                if in_scope(&inst.volume) {
                    wanted.insert((s, inst.id.clone()), inst);
                }
            }
        }
        for ((s, id), inst) in &wanted {
            let service = &self.services[*s];
            let key = (*s, id.clone());
            if let Some(p) = service.find(&view, inst) {
                st.running.insert(key, (inst.clone(), p));
                continue;
            }
            // One that died: reaped, if it was this daemon's child.
            if let Some((_, dead)) = st.running.remove(&key) {
                dead.reap();
            }
            if service.backs_off()
                && only.is_none()
                && st
                    .backoff
                    .get(&key)
                    .is_some_and(|b| Instant::now() < b.next_try)
            {
                problems.push(format!("{}: waiting to retry", inst.name));
                continue;
            }
            match service.start(&view, inst).await {
                Ok(p) => {
                    tracing::info!(volume = %inst.volume, process = %inst.label, pid = p.pid, "{} started", service.kind());
                    st.backoff.remove(&key);
                    st.running.insert(key, (inst.clone(), p));
                }
                Err(e) => {
                    if service.backs_off() {
                        let b = st.backoff.entry(key).or_insert(Backoff {
                            next_try: Instant::now(),
                            delay: BACKOFF_MIN,
                        });
                        b.next_try = Instant::now() + b.delay;
                        b.delay = (b.delay * 2).min(BACKOFF_MAX);
                    }
                    tracing::warn!(volume = %inst.volume, process = %inst.label, error = %e, "{} did not start", service.kind());
                    problems.push(format!("{}: {e}", inst.name));
                    service.start_failed(inst, &e).await;
                }
            }
        }
        // Stop what should not run, within the pass's scope: what this node runs for a volume
        // stopped or deleted (or whose self-heal daemon is off), and what of a volume in scope
        // its pid files show running (left by an earlier glusterd2).
        let mut stale: Vec<Stale> = st
            .running
            .iter()
            .filter(|(key, (inst, _))| !wanted.contains_key(*key) && in_scope(&inst.volume))
            .map(|((s, _), (inst, p))| Stale {
                service: *s,
                inst: inst.clone(),
                proc: *p,
            })
            .collect();
        for (s, service) in self.services.iter().enumerate() {
            for inst in service.leftovers(&view) {
                let key = (s, inst.id.clone());
                if !in_scope(&inst.volume)
                    || wanted.contains_key(&key)
                    || st.running.contains_key(&key)
                {
                    continue;
                }
                if let Some(proc) = service.find(&view, &inst) {
                    stale.push(Stale {
                        service: s,
                        inst,
                        proc,
                    });
                }
            }
        }
        let killed = self.stop(&mut st, stale, &mut problems).await;
        // Publish what runs.
        for (s, service) in self.services.iter().enumerate() {
            let running: Vec<(&Instance, Proc)> = st
                .running
                .iter()
                .filter(|((rs, _), _)| *rs == s)
                .map(|(_, (inst, p))| (inst, *p))
                .collect();
            service.running(&running).await;
        }
        Ok(Pass { problems, killed })
    }

    /// Stops `stale` and waits for it; returns what had to be killed, adds to `problems` what
    /// could not be stopped.
    async fn stop(
        &self,
        st: &mut State,
        stale: Vec<Stale>,
        problems: &mut Vec<String>,
    ) -> Vec<String> {
        let mut killed = vec![];
        if stale.is_empty() {
            return killed;
        }
        for x in &stale {
            tracing::info!(process = %x.describe(), "stopping");
        }
        let procs: Vec<Proc> = stale.iter().map(|x| x.proc).collect();
        let began = Instant::now();
        let out = bricks::stop_all(&procs).await;
        tracing::info!(
            processes = procs.len(),
            took_ms = began.elapsed().as_millis() as u64,
            "stopped: every process gone, or reported"
        );
        for x in stale {
            let p = x.proc;
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
            st.running.remove(&(x.service, x.inst.id.clone()));
            self.services[x.service].stopped(&x.inst).await;
        }
        killed
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
