//! Bricks as a service of the reconciler: every local brick of a started volume runs.
//!
//! A brick already running (a glusterd2 restart) is adopted by its pid file; its port comes
//! back from its sign-in (a brick signs in again when its management connection reconnects;
//! until then a client asking for its port waits, see `gd_rpc_server::portmap`).
//! A started brick counts once it has signed in. Each node publishes the actual state of its
//! own bricks, `brick-status/<peer-id>/<brick-id>` (online, pid, port), bound to its lease and
//! written only when it changes: status queries read the store and never fan out to nodes.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use gd_core::keys::BRICK_STATUS;
use gd_store::{
    Store, StoreError, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use gd_node::{
    node::Node,
    process::{self, Proc},
    reconcile::{Instance, Service},
};
use gd_rpc_server::SunRpcServer;

use super::{VolumeView, bind_ip, node_ip};
use super::{
    bricks::{self, BrickLaunch, StartError},
    detail::{self, BrickDetail},
};
use crate::model::{BrickRecord, VolumeRecord, VolumeState};

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
    /// Its file system, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<BrickDetail>,
}

impl Record for BrickStatusRecord {
    const KIND: &'static str = "brick-status";
    const VERSION: u32 = 1;
}

pub fn status_key(peer: Uuid, brick: Uuid) -> String {
    format!("{BRICK_STATUS}{peer}/{brick}")
}

/// The bricks of this node.
pub struct BrickService {
    node: Arc<Node>,
    rpc: SunRpcServer,
    state: Mutex<BrickState>,
}

#[derive(Default)]
struct BrickState {
    /// Ports handed to bricks that have not signed in yet.
    ports: BTreeMap<Uuid, u16>,
    /// The pid files of the bricks seen (named by the brick's host, which a deleted volume's
    /// record no longer tells).
    pidfiles: BTreeMap<Uuid, PathBuf>,
    published: BTreeMap<Uuid, BrickStatusRecord>,
    /// The lease `published` was written with: the keys vanish with it, so a new lease (the
    /// old one was lost, or the node switched stores) means publishing everything again.
    published_lease: gd_store::LeaseId,
}

impl BrickService {
    pub fn new(node: Arc<Node>, rpc: SunRpcServer) -> BrickService {
        BrickService {
            node,
            rpc,
            state: Mutex::new(BrickState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BrickState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn instance(vol: &VolumeRecord, b: &BrickRecord) -> Instance {
        Instance {
            id: b.id.to_string(),
            scope: vol.name.clone(),
            name: b.path.clone(),
            label: format!("brick {}", b.path),
        }
    }

    /// The volume and brick of `inst`.
    fn brick<'v>(
        view: &'v VolumeView,
        inst: &Instance,
    ) -> Option<(&'v VolumeRecord, &'v BrickRecord)> {
        let id = Uuid::parse_str(&inst.id).ok()?;
        let vol = view.volume(&inst.scope)?;
        let b = vol.bricks().find(|b| b.id == id)?;
        Some((vol, b))
    }

    fn mine<'v>(
        view: &'v VolumeView,
        vol: &'v VolumeRecord,
    ) -> impl Iterator<Item = &'v BrickRecord> {
        let me = view.me;
        vol.bricks().filter(move |b| b.peer_id == me)
    }

    async fn start_brick(
        &self,
        view: &VolumeView,
        vol: &VolumeRecord,
        b: &BrickRecord,
    ) -> Result<Proc, StartError> {
        let (id, path, host) = (b.id, b.path.as_str(), b.host.as_str());
        let ip = node_ip(&self.node);
        let bind = bind_ip(&self.node);
        for _ in 0..5 {
            let port = {
                let mut st = self.state();
                let taken: BTreeSet<u16> = st.ports.values().copied().collect();
                let port =
                    bricks::alloc_port(bind.unwrap_or(self.node.config.client_addr.ip()), &taken)
                        .ok_or_else(|| StartError::Failed("no free brick port".into()))?;
                st.ports.insert(id, port);
                port
            };
            let launch = BrickLaunch {
                volume: vol.name.clone(),
                host: host.to_owned(),
                bind,
                path: path.to_owned(),
                brick_id: id,
                node_id: view.me,
                port,
                volfile_server: SocketAddr::new(ip, self.node.config.client_addr.port()),
                localtime_logging: view.cluster.localtime_logging(),
            };
            match bricks::start(&self.node.config, &launch).await {
                Err(StartError::PortInUse(_)) => continue,
                Err(e) => return Err(e),
                Ok(p) => {
                    // A brick serves once it signed in; a launcher may exit 0 while its brick
                    // fails its graph (a missing directory) and dies a moment later.
                    let pidfile =
                        bricks::files(&self.node.config, &vol.name, host, path, id).pidfile;
                    let deadline = Instant::now() + SIGNIN_WAIT;
                    loop {
                        if self.rpc.portmap().port_of(path).is_some()
                            && bricks::running_pid(&pidfile, path).is_some()
                        {
                            return Ok(p);
                        }
                        if Instant::now() >= deadline {
                            process::stop_all(&[p]).await;
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

    async fn publish(&self, inst: &Instance, id: Uuid, rec: BrickStatusRecord) {
        self.publish_all(vec![(inst, id, rec)]).await;
    }

    /// Writes the records that changed since last published, bound to this node's lease, in
    /// store transactions of up to [`gd_store::MAX_TXN_OPS`] (a glusterd2 started again next to
    /// 1,000 running bricks publishes them all at once), and tells of each change.
    async fn publish_all(&self, recs: Vec<(&Instance, Uuid, BrickStatusRecord)>) {
        let Some(lease) = self.node.liveness.lease() else {
            return;
        };
        let changed: Vec<_> = {
            let mut st = self.state();
            if st.published_lease != lease {
                st.published.clear();
                st.published_lease = lease;
            }
            recs.into_iter()
                .filter(|(_, id, rec)| st.published.get(id) != Some(rec))
                .map(|(inst, id, rec)| {
                    let old = st.published.get(&id).cloned();
                    (inst, id, rec, old)
                })
                .collect()
        };
        let me = self.node.identity().peer_id;
        for chunk in changed.chunks(gd_store::MAX_TXN_OPS) {
            let puts = chunk.iter().map(|(_, id, rec, _)| {
                TxnOp::put_with_lease(status_key(me, *id), record::encode(rec), lease)
            });
            if self
                .node
                .store
                .txn(gd_store::Txn::new().and_then(puts))
                .await
                .is_err()
            {
                // The next pass publishes what is still not as published.
                return;
            }
            {
                let mut st = self.state();
                for (_, id, rec, _) in chunk {
                    st.published.insert(*id, rec.clone());
                }
            }
            for (inst, id, rec, old) in chunk {
                self.tell(inst, *id, old.as_ref(), rec).await;
            }
        }
    }

    /// The event of a brick's change this node saw: up again, down (it could not start), or
    /// started again after it died. Nothing for the first record after glusterd2 started:
    /// what it was before is not known then.
    async fn tell(
        &self,
        inst: &Instance,
        id: Uuid,
        old: Option<&BrickStatusRecord>,
        new: &BrickStatusRecord,
    ) {
        let Some(old) = old else {
            return;
        };
        let (event, what) = match (old.online, new.online) {
            (true, true) if old.pid != new.pid => ("brick.restarted", "was started again"),
            (false, true) => ("brick.up", "is up"),
            (true, false) => ("brick.down", "is down"),
            _ => return,
        };
        let brick = format!("{}:{}", node_ip(&self.node), inst.name);
        let mut e = gd_core::events::EventRecord::new(
            self.node.identity().peer_id,
            event,
            format!("brick {brick} {what}"),
        )
        .field("brick", brick)
        .field("volume", inst.scope.clone())
        .field("brick-id", id.to_string())
        .field("pid", new.pid.to_string());
        if !new.error.is_empty() {
            e.message = format!("{}: {}", e.message, new.error);
            e = e.field("error", new.error.clone());
        }
        gd_core::events::emit(self.node.store.as_ref(), e).await;
    }

    async fn unpublish(&self, id: Uuid) {
        let key = status_key(self.node.identity().peer_id, id);
        if self.node.store.delete(&key).await.is_ok() {
            self.state().published.remove(&id);
        }
    }
}

#[async_trait]
impl Service<VolumeView> for BrickService {
    fn kind(&self) -> &'static str {
        "brick"
    }

    /// The bricks of this node's started volumes, but those being reset.
    fn wanted(&self, view: &VolumeView) -> Vec<Instance> {
        view.volumes
            .iter()
            .filter(|v| v.state == VolumeState::Started)
            .flat_map(|v| {
                Self::mine(view, v)
                    .filter(|b| !b.reset)
                    .map(move |b| Self::instance(v, b))
            })
            .collect()
    }

    /// The bricks of this node's volumes that are not started, and those being reset.
    fn leftovers(&self, view: &VolumeView) -> Vec<Instance> {
        view.volumes
            .iter()
            .flat_map(|v| {
                let started = v.state == VolumeState::Started;
                Self::mine(view, v)
                    .filter(move |b| !started || b.reset)
                    .map(move |b| Self::instance(v, b))
            })
            .collect()
    }

    fn find(&self, view: &VolumeView, inst: &Instance) -> Option<Proc> {
        let (vol, b) = Self::brick(view, inst)?;
        // A brick is named (volfile id, pid file) by the host it was given as, as in GD1.
        let files = bricks::files(&self.node.config, &vol.name, &b.host, &b.path, b.id);
        let p = bricks::running_pid(&files.pidfile, &b.path);
        // Known from now on, so that its pid file goes when it stops, even once its volume's
        // record is gone.
        if vol.state == VolumeState::Started || p.is_some() {
            self.state().pidfiles.insert(b.id, files.pidfile);
        }
        // Running but not signed in (adopted after a restart): a client asking for its port
        // waits for its sign-in.
        if p.is_some() && self.rpc.portmap().port_of(&b.path).is_none() {
            self.rpc.portmap().await_signin(&b.path);
        }
        p
    }

    async fn start(&self, view: &VolumeView, inst: &Instance) -> Result<Proc, String> {
        let (vol, b) =
            Self::brick(view, inst).ok_or_else(|| format!("brick {} is gone", inst.name))?;
        self.start_brick(view, vol, b)
            .await
            .map_err(|e| e.to_string())
    }

    async fn start_failed(&self, inst: &Instance, error: &str) {
        if let Ok(id) = Uuid::parse_str(&inst.id) {
            let rec = BrickStatusRecord {
                online: false,
                pid: 0,
                port: 0,
                error: error.to_owned(),
                detail: None,
            };
            self.publish(inst, id, rec).await;
        }
    }

    async fn stopped(&self, inst: &Instance) {
        let Ok(id) = Uuid::parse_str(&inst.id) else {
            return;
        };
        self.rpc.portmap().remove(&inst.name);
        let pidfile = {
            let mut st = self.state();
            st.ports.remove(&id);
            st.pidfiles.remove(&id)
        };
        if let Some(pidfile) = pidfile {
            let _ = std::fs::remove_file(pidfile);
        }
        self.unpublish(id).await;
    }

    async fn running(&self, running: &[(&Instance, Proc)]) {
        let mut measured = measure_all(running.iter().map(|(i, _)| i.name.clone()).collect()).await;
        let mut recs = Vec::with_capacity(running.len());
        for (inst, p) in running {
            let Ok(id) = Uuid::parse_str(&inst.id) else {
                continue;
            };
            let port = self
                .rpc
                .portmap()
                .port_of(&inst.name)
                .or(self.state().ports.get(&id).copied())
                .unwrap_or(0);
            // What was published stands while the file system moved too little to say so.
            let published = self
                .state()
                .published
                .get(&id)
                .and_then(|r| r.detail.clone());
            let detail = match (published, measured.remove(&inst.name)) {
                (Some(old), Some(new)) if detail::close_enough(&old, &new) => Some(old),
                (old, new) => new.or(old),
            };
            let rec = BrickStatusRecord {
                online: true,
                pid: p.pid,
                port,
                error: String::new(),
                detail,
            };
            recs.push((*inst, id, rec));
        }
        self.publish_all(recs).await;
    }
}

/// How long measuring this node's running bricks' file systems may take (a hung disk's
/// `statvfs` never returns: its brick then shows no fresh measure).
const MEASURE_TIMEOUT: Duration = Duration::from_secs(5);

/// The file systems of the bricks at `paths`, measured off the async threads.
async fn measure_all(paths: Vec<String>) -> BTreeMap<String, BrickDetail> {
    if paths.is_empty() {
        return BTreeMap::new();
    }
    let work = tokio::task::spawn_blocking(move || {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        paths
            .into_iter()
            .filter_map(|p| Some((p.clone(), detail::measure(Path::new(&p), &mountinfo)?)))
            .collect()
    });
    match tokio::time::timeout(MEASURE_TIMEOUT, work).await {
        Ok(Ok(m)) => m,
        _ => BTreeMap::new(),
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
        let detail = st
            .as_ref()
            .and_then(|s| s.detail.clone())
            .unwrap_or_default();
        let measured = detail.total > 0;
        out.push(gd_api::BrickStatus {
            online: st.as_ref().is_some_and(|s| s.online),
            pid: st.as_ref().map(|s| s.pid).unwrap_or(0),
            port: st.as_ref().map(|s| s.port).unwrap_or(0),
            info,
            fs_type: detail.fs_type,
            mount_opts: detail.mount_options,
            device: detail.device,
            size: measured.then_some(gd_api::SizeInfo {
                capacity: detail.total,
                used: detail.total.saturating_sub(detail.free),
                free: detail.available,
            }),
            block_size: detail.block_size,
            inodes: measured.then_some(gd_api::InodeInfo {
                total: detail.inodes_total,
                free: detail.inodes_free,
            }),
        });
    }
    Ok(out)
}
