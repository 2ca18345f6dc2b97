//! The reconciler's loop, generic over its services, with a fake service whose processes are
//! real `sleep`s: started when wanted, adopted when found, retried after a back-off (at once
//! in a pass for one volume), stopped and waited for when no longer wanted — a left-over one
//! of an earlier daemon too — and nothing outside a pass's scope touched.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use gd_daemon::{
    bricks::Proc,
    config::{Config, Flags, StoreMode},
    identity::Identity,
    node::Node,
    reconcile::{Instance, Reconciler, Service, View},
    store::{Backend, SimulatedMembers, StoreState},
    sunrpc::SunRpcServer,
    volumes::{VolumeAuth, VolumeRecord, VolumeState, volume_key},
};
use gd_store::{LocalStore, Store, record};
use uuid::Uuid;

/// What marks our `sleep`s among the machine's processes.
const MARK: &str = "3599";

/// One `sleep` per started volume whose name does not say "broken"; pid files in `dir`.
struct Sleepers {
    dir: PathBuf,
    stopped: Mutex<Vec<String>>,
    running: Mutex<BTreeMap<String, u32>>,
}

impl Sleepers {
    fn pidfile(&self, volume: &str) -> PathBuf {
        self.dir.join(format!("{volume}.pid"))
    }

    fn instance(v: &VolumeRecord) -> Instance {
        Instance {
            id: v.name.clone(),
            volume: v.name.clone(),
            name: format!("sleeper {}", v.name),
            label: format!("the sleeper of {}", v.name),
        }
    }
}

/// Starts a `sleep` and writes its pid to `pidfile`. Not waited for here: the reconciler
/// reaps it when it stops it, as glusterd2 reaps its daemons.
#[allow(clippy::zombie_processes)]
fn spawn_sleep(pidfile: &Path) -> u32 {
    let child = std::process::Command::new("sleep")
        .arg(MARK)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sleep runs");
    std::fs::write(pidfile, child.id().to_string()).unwrap();
    child.id()
}

fn find_sleep(pidfile: &Path) -> Option<Proc> {
    let pid: u32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    Proc::find(pid, |args| args.contains(&MARK.as_bytes()))
}

#[async_trait]
impl Service for Sleepers {
    fn kind(&self) -> &'static str {
        "sleeper"
    }
    fn wanted(&self, view: &View<'_>) -> Vec<Instance> {
        view.volumes
            .iter()
            .filter(|v| v.state == VolumeState::Started)
            .map(Self::instance)
            .collect()
    }
    fn leftovers(&self, view: &View<'_>) -> Vec<Instance> {
        view.volumes
            .iter()
            .filter(|v| v.state != VolumeState::Started)
            .map(Self::instance)
            .collect()
    }
    fn find(&self, _: &View<'_>, inst: &Instance) -> Option<Proc> {
        find_sleep(&self.pidfile(&inst.volume))
    }
    async fn start(&self, _: &View<'_>, inst: &Instance) -> Result<Proc, String> {
        if inst.volume.contains("broken") {
            return Err("it cannot start".into());
        }
        let pidfile = self.pidfile(&inst.volume);
        spawn_sleep(&pidfile);
        // Serving once it runs `sleep` (between fork and exec it is still this test).
        for _ in 0..200 {
            if let Some(p) = find_sleep(&pidfile) {
                return Ok(p);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err("it did not start within 2 s".into())
    }
    async fn stopped(&self, inst: &Instance) {
        let _ = std::fs::remove_file(self.pidfile(&inst.volume));
        self.stopped.lock().unwrap().push(inst.id.clone());
    }
    async fn running(&self, running: &[(&Instance, Proc)]) {
        *self.running.lock().unwrap() =
            running.iter().map(|(i, p)| (i.id.clone(), p.pid)).collect();
    }
}

fn volume(name: &str, state: VolumeState) -> VolumeRecord {
    VolumeRecord {
        id: Uuid::new_v4(),
        name: name.into(),
        transport: "tcp".into(),
        state,
        subvols: vec![],
        options: BTreeMap::new(),
        metadata: BTreeMap::new(),
        auth: VolumeAuth {
            username: Uuid::new_v4(),
            password: Uuid::new_v4(),
        },
    }
}

async fn put(store: &dyn Store, v: &VolumeRecord) {
    store
        .put(&volume_key(&v.name), record::encode(v), None)
        .await
        .unwrap();
}

fn config(dir: &Path) -> Config {
    let flags = Flags {
        localstatedir: Some(dir.join("state")),
        rundir: Some(dir.join("run")),
        logdir: Some(dir.join("log")),
        clientaddress: Some("127.1.200.1:24007".into()),
        store: Some(StoreMode::Local),
        ..Flags::default()
    };
    let c = Config::load(flags, |_| None).expect("config");
    std::fs::create_dir_all(&c.localstatedir).unwrap();
    c
}

#[tokio::test]
async fn one_loop_starts_adopts_retries_and_stops_any_service() {
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let backend = Backend {
        state: StoreState {
            mode: StoreMode::Local,
            endpoints: vec![],
            member: false,
            joined: false,
        },
        raw: shared,
        etcd: None,
        member: None,
    };
    let identity = Identity {
        peer_id: Uuid::new_v4(),
        cluster_id: Uuid::new_v4(),
    };
    let node = Node::assemble(
        config(dir.path()),
        identity,
        None,
        backend,
        Arc::new(SimulatedMembers::default()),
    )
    .unwrap();
    let sleepers = Arc::new(Sleepers {
        dir: dir.path().to_path_buf(),
        stopped: Mutex::default(),
        running: Mutex::default(),
    });
    let reconciler = Reconciler::new(
        node.clone(),
        SunRpcServer::default(),
        vec![sleepers.clone()],
    );
    let store = node.store.as_ref();
    put(store, &volume("a", VolumeState::Started)).await;
    put(store, &volume("broken", VolumeState::Started)).await;
    put(store, &volume("c", VolumeState::Stopped)).await;
    // An earlier daemon left c's process running.
    let orphan = spawn_sleep(&sleepers.pidfile("c"));
    for _ in 0..200 {
        if find_sleep(&sleepers.pidfile("c")).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Started: a runs; broken could not start; c's orphan is stopped.
    let pass = reconciler.converge(None).await.unwrap();
    assert_eq!(pass.problems, ["sleeper broken: it cannot start"]);
    assert!(pass.killed.is_empty(), "{:?}", pass.killed);
    let a = sleepers.running.lock().unwrap()["a"];
    assert!(find_sleep(&sleepers.pidfile("a")).is_some());
    assert!(
        Proc::find(orphan, |_| true).is_none(),
        "the left-over process is gone"
    );
    assert_eq!(*sleepers.stopped.lock().unwrap(), ["c"]);

    // Again at once: a is adopted, not started again; broken waits for its back-off.
    let pass = reconciler.converge(None).await.unwrap();
    assert_eq!(pass.problems, ["sleeper broken: waiting to retry"]);
    assert_eq!(sleepers.running.lock().unwrap()["a"], a);
    // A pass for one volume (a start step) tries at once.
    let pass = reconciler.converge(Some("broken")).await.unwrap();
    assert_eq!(pass.problems, ["sleeper broken: it cannot start"]);

    // A pass for one volume touches nothing else: e stays unstarted until a pass of all.
    put(store, &volume("e", VolumeState::Started)).await;
    put(store, &volume("a", VolumeState::Stopped)).await;
    let pass = reconciler.converge(Some("a")).await.unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    assert!(find_sleep(&sleepers.pidfile("e")).is_none());
    // ... and stops what of its volume should not run, returning once it is gone.
    assert!(Proc::find(a, |_| true).is_none(), "a's process is gone");
    assert_eq!(*sleepers.stopped.lock().unwrap(), ["c", "a"]);
    assert!(!sleepers.pidfile("a").exists());

    // Deleted volumes' processes stop too; what is left runs.
    store.delete(&volume_key("broken")).await.unwrap();
    let pass = reconciler.converge(None).await.unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    let e = sleepers.running.lock().unwrap()["e"];
    assert_eq!(sleepers.running.lock().unwrap().len(), 1);
    store.delete(&volume_key("e")).await.unwrap();
    reconciler.converge(None).await.unwrap();
    assert!(Proc::find(e, |_| true).is_none(), "e's process is gone");
    assert!(sleepers.running.lock().unwrap().is_empty());
}
