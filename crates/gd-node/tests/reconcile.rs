//! The reconciler's loop, generic over its view and its services, with a fake view (objects
//! wanted running or not) and a fake service whose processes are real `sleep`s: started when wanted, adopted when found, retried after a back-off (at once
//! in a pass for one object), stopped and waited for when no longer wanted — a left-over one
//! of an earlier daemon too — and nothing outside a pass's scope touched.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use gd_node::{
    process::Proc,
    reconcile::{Instance, Reconciler, Service, ViewSource},
};
use gd_store::StoreError;

/// The fake cluster: objects, each wanted running (`true`) or not.
type Objects = BTreeMap<String, bool>;

/// Reads the fake cluster; a load may take a while after its read (`slow`), as a store's
/// answer takes its time to reach a pass. Counts its loads; says a view is no longer
/// current when told to (`outgrown`), as a node whose clients need more of the store; fails a
/// refresh when told to.
#[derive(Default)]
struct Source(
    Mutex<Objects>,
    Mutex<std::time::Duration>,
    AtomicUsize,
    AtomicBool,
    /// The next refresh fails, as a store without quorum answers.
    AtomicBool,
);

impl Source {
    fn set(&self, name: &str, run: bool) {
        self.0.lock().unwrap().insert(name.into(), run);
    }
    fn delete(&self, name: &str) {
        self.0.lock().unwrap().remove(name);
    }
}

#[async_trait]
impl ViewSource<Objects> for Source {
    fn prefixes(&self) -> Vec<String> {
        vec!["objects/".into()]
    }
    async fn load(&self) -> Result<Objects, StoreError> {
        self.2.fetch_add(1, Ordering::SeqCst);
        let view = self.0.lock().unwrap().clone();
        let slow = *self.1.lock().unwrap();
        tokio::time::sleep(slow).await;
        Ok(view)
    }
    fn current(&self, _: &Objects) -> bool {
        !self.3.load(Ordering::SeqCst)
    }
    /// `objects/<name>` concerns that object; `objects/all`, every one.
    fn scope_of(&self, key: &str) -> Option<String> {
        key.strip_prefix("objects/")
            .filter(|name| *name != "all")
            .map(str::to_owned)
    }
    async fn refresh(&self, view: &mut Objects, scope: &str) -> Result<(), StoreError> {
        if self.4.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                reason: "no quorum".into(),
            });
        }
        match self.0.lock().unwrap().get(scope) {
            Some(run) => view.insert(scope.to_owned(), *run),
            None => view.remove(scope),
        };
        Ok(())
    }
}

/// What marks our `sleep`s among the machine's processes.
const MARK: &str = "3599";

/// One `sleep` per object wanted running whose name does not say "broken" (one that ignores
/// SIGTERM where it says "stubborn"); pid files in `dir`.
struct Sleepers {
    dir: PathBuf,
    stopped: Mutex<Vec<String>>,
    running: Mutex<BTreeMap<String, u32>>,
    /// What the last pass published as running.
    published: Mutex<Vec<String>>,
}

impl Sleepers {
    fn pidfile(&self, object: &str) -> PathBuf {
        self.dir.join(format!("{object}.pid"))
    }

    fn instance(name: &str) -> Instance {
        Instance {
            id: name.into(),
            scope: name.into(),
            name: format!("sleeper {name}"),
            label: format!("the sleeper of {name}"),
        }
    }

    fn those(view: &Objects, run: bool) -> Vec<Instance> {
        view.iter()
            .filter(|(_, r)| **r == run)
            .map(|(n, _)| Self::instance(n))
            .collect()
    }
}

/// Starts a `sleep` and writes its pid to `pidfile`. Not waited for here: the reconciler
/// reaps it when it stops it, as glusterd2 reaps its daemons.
fn spawn_sleep(pidfile: &Path) -> u32 {
    spawn(std::process::Command::new("sleep").arg(MARK), pidfile)
}

/// Starts a `sleep` that ignores SIGTERM (ignored signals stay ignored across `exec`), as a
/// stuck daemon would, and writes its pid to `pidfile`.
fn spawn_stubborn_sleep(pidfile: &Path) -> u32 {
    let script = format!("trap '' TERM; exec sleep {MARK}");
    spawn(
        std::process::Command::new("sh").args(["-c", &script]),
        pidfile,
    )
}

#[allow(clippy::zombie_processes)]
fn spawn(command: &mut std::process::Command, pidfile: &Path) -> u32 {
    let child = command
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
impl Service<Objects> for Sleepers {
    fn kind(&self) -> &'static str {
        "sleeper"
    }
    fn wanted(&self, view: &Objects) -> Vec<Instance> {
        Self::those(view, true)
    }
    fn leftovers(&self, view: &Objects) -> Vec<Instance> {
        Self::those(view, false)
    }
    fn find(&self, _: &Objects, inst: &Instance) -> Option<Proc> {
        find_sleep(&self.pidfile(&inst.scope))
    }
    async fn start(&self, _: &Objects, inst: &Instance) -> Result<Proc, String> {
        if inst.scope.contains("broken") {
            return Err("it cannot start".into());
        }
        let pidfile = self.pidfile(&inst.scope);
        if inst.scope.contains("stubborn") {
            spawn_stubborn_sleep(&pidfile);
        } else {
            spawn_sleep(&pidfile);
        }
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
        let _ = std::fs::remove_file(self.pidfile(&inst.scope));
        self.stopped.lock().unwrap().push(inst.id.clone());
        self.running.lock().unwrap().remove(&inst.id);
    }
    async fn running(&self, running: &[(&Instance, Proc)]) {
        *self.published.lock().unwrap() = running.iter().map(|(i, _)| i.id.clone()).collect();
        self.running
            .lock()
            .unwrap()
            .extend(running.iter().map(|(i, p)| (i.id.clone(), p.pid)));
    }
}

type Loop = Reconciler<Objects>;

/// Deletes every object: a pass stops every process.
async fn delete_all(source: &Source, reconciler: &Loop, sleepers: &Sleepers) {
    source.0.lock().unwrap().clear();
    reconciler.converge(None).await.unwrap();
    assert!(sleepers.running.lock().unwrap().is_empty());
}

/// A reconciler of sleepers over a fake cluster, their pid files in a fresh directory.
fn setup() -> (tempfile::TempDir, Arc<Sleepers>, Arc<Source>, Arc<Loop>) {
    let dir = tempfile::tempdir().unwrap();
    let sleepers = Arc::new(Sleepers {
        dir: dir.path().to_path_buf(),
        stopped: Mutex::default(),
        running: Mutex::default(),
        published: Mutex::default(),
    });
    let source = Arc::new(Source::default());
    let reconciler = Reconciler::new(source.clone(), vec![sleepers.clone()]);
    (dir, sleepers, source, reconciler)
}

#[tokio::test]
async fn one_loop_starts_adopts_retries_and_stops_any_service() {
    let (_dir, sleepers, source, reconciler) = setup();
    source.set("a", true);
    source.set("broken", true);
    source.set("c", false);
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
    // A pass for one object (a start step) tries at once.
    let pass = reconciler.converge(Some("broken")).await.unwrap();
    assert_eq!(pass.problems, ["sleeper broken: it cannot start"]);

    // A pass for one object touches nothing else: e stays unstarted until a pass of all.
    source.set("e", true);
    source.set("a", false);
    let pass = reconciler.converge(Some("a")).await.unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    assert!(find_sleep(&sleepers.pidfile("e")).is_none());
    // ... and stops what of its object should not run, returning once it is gone.
    assert!(Proc::find(a, |_| true).is_none(), "a's process is gone");
    assert_eq!(*sleepers.stopped.lock().unwrap(), ["c", "a"]);
    assert!(!sleepers.pidfile("a").exists());

    // Deleted objects' processes stop too; what is left runs.
    source.delete("broken");
    let pass = reconciler.converge(None).await.unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    let e = sleepers.running.lock().unwrap()["e"];
    assert_eq!(sleepers.running.lock().unwrap().len(), 1);
    source.delete("e");
    reconciler.converge(None).await.unwrap();
    assert!(Proc::find(e, |_| true).is_none(), "e's process is gone");
    assert!(sleepers.running.lock().unwrap().is_empty());
}

/// A process that ignores SIGTERM is killed after the grace, and the pass for its object says
/// so even when a pass over every object (the loop, woken by the same change) killed it first:
/// the step that runs the object's pass reports it, once.
#[tokio::test]
async fn a_kill_by_the_loop_is_reported_by_the_next_pass_for_its_object() {
    let (_dir, sleepers, source, reconciler) = setup();
    source.set("stubborn", true);
    source.set("b", true);
    reconciler.converge(None).await.unwrap();
    let a = sleepers.running.lock().unwrap()["stubborn"];

    source.set("stubborn", false);
    let pass = reconciler.converge(None).await.unwrap();
    let killed = format!(
        "the sleeper of stubborn (pid {a}) did not exit within {} s of SIGTERM and was killed (SIGKILL)",
        gd_node::process::STOP_GRACE.as_secs()
    );
    assert_eq!(pass.killed, std::slice::from_ref(&killed));
    assert!(Proc::find(a, |_| true).is_none(), "its process is gone");

    // Another object's pass does not report it; its object's does, once.
    let pass = reconciler.converge(Some("b")).await.unwrap();
    assert!(pass.killed.is_empty(), "{:?}", pass.killed);
    let pass = reconciler.converge(Some("stubborn")).await.unwrap();
    assert_eq!(pass.killed, [killed]);
    let pass = reconciler.converge(Some("stubborn")).await.unwrap();
    assert!(pass.killed.is_empty(), "{:?}", pass.killed);

    delete_all(&source, &reconciler, &sleepers).await;
}

/// A process no view names any more (its record was taken back) is stopped by its pid file
/// under the pass lock: a pass that read the record before it went and is still starting the
/// process finishes first, so the stop finds what it started instead of leaving it running.
#[tokio::test]
async fn a_stop_by_pid_file_waits_for_a_pass_that_read_the_old_view() {
    let (_dir, sleepers, source, reconciler) = setup();
    source.set("x", true);
    *source.1.lock().unwrap() = std::time::Duration::from_millis(300);
    let pass = tokio::spawn({
        let reconciler = reconciler.clone();
        async move { reconciler.converge(None).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // The record goes while the pass still holds the view that had it.
    source.delete("x");
    assert!(
        find_sleep(&sleepers.pidfile("x")).is_none(),
        "not started yet"
    );
    let pidfile = sleepers.pidfile("x");
    let mut found = None;
    let problems = reconciler
        .stop_found(|| {
            found = find_sleep(&pidfile);
            found.into_iter().collect()
        })
        .await;
    assert!(pass.await.unwrap().unwrap().problems.is_empty());
    let found = found.expect("the stop found the process the pass started");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(Proc::find(found.pid, |_| true).is_none(), "it is gone");
    // Its service was told, as when a pass stops what it runs.
    assert_eq!(*sleepers.stopped.lock().unwrap(), ["x"]);

    // The next pass (the changed view) neither starts it again nor counts it as running.
    *source.1.lock().unwrap() = std::time::Duration::ZERO;
    reconciler.converge(None).await.unwrap();
    assert!(find_sleep(&pidfile).is_none());
    assert!(sleepers.running.lock().unwrap().is_empty());
}

/// A tick reads nothing while the last view is current, and still starts again a process
/// that died; a view that is no longer current is read again.
#[tokio::test]
async fn a_tick_checks_processes_against_the_last_view() {
    let (_dir, sleepers, source, reconciler) = setup();
    source.set("a", true);
    reconciler.converge(None).await.unwrap();
    let first = sleepers.running.lock().unwrap()["a"];
    assert_eq!(source.2.load(Ordering::SeqCst), 1);

    // The process dies; the store does not change: the tick starts it again from the view
    // it has, without a read.
    let _ = std::process::Command::new("kill")
        .args(["-9", &first.to_string()])
        .status();
    for _ in 0..200 {
        if Proc::find(first, |args| args.contains(&MARK.as_bytes())).is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pass = reconciler.tick().await.unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    let second = sleepers.running.lock().unwrap()["a"];
    assert_ne!(second, first, "a new process");
    assert!(find_sleep(&sleepers.pidfile("a")).is_some());
    assert_eq!(source.2.load(Ordering::SeqCst), 1, "the tick read nothing");

    // A change the source says the view does not cover: the tick reads the view again.
    source.set("b", true);
    reconciler.tick().await.unwrap();
    assert!(find_sleep(&sleepers.pidfile("b")).is_none(), "not read yet");
    source.3.store(true, Ordering::SeqCst);
    reconciler.tick().await.unwrap();
    assert_eq!(source.2.load(Ordering::SeqCst), 2);
    assert!(find_sleep(&sleepers.pidfile("b")).is_some());
    delete_all(&source, &reconciler, &sleepers).await;
}

#[tokio::test]
async fn a_pass_for_one_object_reads_that_object_into_the_last_view() {
    let (_dir, sleepers, source, reconciler) = setup();
    source.set("a", true);
    source.set("b", true);
    reconciler.converge(None).await.unwrap();
    assert_eq!(source.2.load(Ordering::SeqCst), 1);
    assert_eq!(*sleepers.published.lock().unwrap(), ["a", "b"]);

    // A new object and a change of another: the pass for the new one reads it alone, starts
    // it, publishes it alone, and leaves the other as the last view has it.
    source.set("c", true);
    source.set("a", false);
    let pass = reconciler.converge(Some("c")).await.unwrap();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    assert_eq!(source.2.load(Ordering::SeqCst), 1, "no whole view read");
    assert!(find_sleep(&sleepers.pidfile("c")).is_some());
    assert!(
        find_sleep(&sleepers.pidfile("a")).is_some(),
        "not its scope"
    );
    assert_eq!(*sleepers.published.lock().unwrap(), ["c"]);
    // The view it left holds the new object: a tick keeps it running.
    reconciler.tick().await.unwrap();
    assert_eq!(source.2.load(Ordering::SeqCst), 1);
    assert!(find_sleep(&sleepers.pidfile("c")).is_some());

    // A pass over everything reads the whole view (the watch's change of "a" woke it).
    reconciler.converge(None).await.unwrap();
    assert_eq!(source.2.load(Ordering::SeqCst), 2);
    assert!(find_sleep(&sleepers.pidfile("a")).is_none());
    // An object gone: the pass for it reads that it is gone and stops it.
    source.delete("c");
    reconciler.converge(Some("c")).await.unwrap();
    assert_eq!(source.2.load(Ordering::SeqCst), 2);
    assert!(find_sleep(&sleepers.pidfile("c")).is_none());
    delete_all(&source, &reconciler, &sleepers).await;
}

/// The loop follows a change of one object with a pass for that object (it reads that object
/// alone) and any other change with a pass over every object.
#[tokio::test]
async fn the_loop_follows_a_change_of_one_object_with_a_pass_for_it() {
    let (_dir, sleepers, source, reconciler) = setup();
    let store: Arc<dyn gd_store::Store> = gd_store::LocalStore::open_in_memory().await.unwrap();
    source.set("a", true);
    let cancel = tokio_util::sync::CancellationToken::new();
    let looping = tokio::spawn(reconciler.clone().run(store.clone(), cancel.clone()));
    async fn until(what: &str, check: impl Fn() -> bool) {
        for _ in 0..500 {
            if check() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{what}: not within 5 s");
    }
    until("a started", || find_sleep(&sleepers.pidfile("a")).is_some()).await;
    assert_eq!(
        source.2.load(Ordering::SeqCst),
        1,
        "the first pass reads it all"
    );

    // A change of "b" (and one of "a" the store does not say): a pass for "b" alone.
    source.set("b", true);
    source.set("a", false);
    store.put("objects/b", b"1".to_vec(), None).await.unwrap();
    until("b started", || find_sleep(&sleepers.pidfile("b")).is_some()).await;
    assert_eq!(source.2.load(Ordering::SeqCst), 1, "no whole view read");
    assert!(
        find_sleep(&sleepers.pidfile("a")).is_some(),
        "a was not its scope"
    );

    // A change that concerns every object: a pass over all of them.
    store.put("objects/all", b"1".to_vec(), None).await.unwrap();
    until("a stopped", || find_sleep(&sleepers.pidfile("a")).is_none()).await;
    assert_eq!(source.2.load(Ordering::SeqCst), 2);

    // The pass for a change cannot read it: the next tick reads the whole view, and the
    // change is done then.
    source.set("c", true);
    source.4.store(true, Ordering::SeqCst);
    store.put("objects/c", b"1".to_vec(), None).await.unwrap();
    until("the pass for c failed", || !source.4.load(Ordering::SeqCst)).await;
    reconciler.tick().await.unwrap();
    assert_eq!(source.2.load(Ordering::SeqCst), 3, "the tick read it all");
    assert!(find_sleep(&sleepers.pidfile("c")).is_some());
    reconciler.tick().await.unwrap();
    assert_eq!(
        source.2.load(Ordering::SeqCst),
        3,
        "and the next reads nothing"
    );

    cancel.cancel();
    looping.await.unwrap();
    delete_all(&source, &reconciler, &sleepers).await;
}
