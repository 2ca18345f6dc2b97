//! The reconciler: makes this node's processes match the store (DESIGN §3.7).
//!
//! Why generic: every kind of process a node runs — bricks and self-heal daemons today;
//! quotad, bitd, the scrubber, gsyncd, rebalance next — follows the same life: it should run
//! or not for the cluster as stored, one already running (a glusterd2 restart) is adopted,
//! never restarted, one that dies is started again, one that should not run is stopped and
//! waited for. That loop is written once, here, over a view `V` of the cluster that a
//! [`ViewSource`] reads once per pass; a kind of process is a [`Service`] that says which
//! instances this node wants in that view, how to find a running one, how to start one, and
//! what to do when one stops. Nothing here knows what a volume is: the volume feature brings
//! its view and its services (`volumes/processes.rs`).
//!
//! On start-up a pass reads the view and adopts or starts what should run and stops what
//! should not; so does a pass after a change under the source's prefixes, over the one object
//! the change concerns when the source says so ([`ViewSource::scope_of`]: a pass for it reads
//! it alone), else over every object. A slow tick notices a process
//! that died: it checks the processes against the view the last pass read, which the watches
//! say is still true, and reads nothing from the store (at rest a node costs the store
//! nothing), unless the source says the view no longer covers what the node serves or the view
//! is older than [`RESYNC`] (a safety net: no change should reach the view unwatched), or a
//! pass after a change failed. A pass for one object (a volume's start or stop step) reads
//! only that object into the last view ([`ViewSource::refresh`]) and publishes only that
//! object's processes: an operation costs the node what it touches, not every object the
//! node holds. A failed start of a service that backs off is retried after 1 s doubling to
//! 60 s; a step's pass always tries at once. What should not
//! run is stopped, and a pass returns only once it is gone ([`process::stop_all`]: SIGTERM,
//! SIGKILL after a grace), so the steps that run a pass return when their effect is real
//! (DESIGN §3.18). Besides the processes it runs, a pass looks for leftovers in its scope (an
//! earlier glusterd2's, by their pid files) and stops them too.
//!
//! A pass acts only on a view the store itself answered: when the store has no quorum and a
//! read of the view is answered from the node's own copy (`gd_store::CachedStore`), the pass
//! fails and the last view stands. A node cut off from its cluster keeps its processes as they
//! were, and starts again those that die.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use gd_store::{Store, StoreError};
use tokio::{sync::Mutex, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::process::{self, Proc};

const TICK: Duration = Duration::from_secs(5);
/// The oldest view a tick trusts; an older one is read again.
pub const RESYNC: Duration = Duration::from_secs(60);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a kill made by a pass over every object waits to be reported by a pass for its
/// object: the change that makes a step run a pass for its volume (a stop) also wakes the loop,
/// whose pass may take the lock first and do the killing; the step must still say so.
const KILLS_KEPT: Duration = Duration::from_secs(120);
/// The most such kills kept (the oldest go first).
const KILLS_KEPT_MAX: usize = 64;
/// The most objects a burst of changes is followed by passes for one object each; more make
/// one pass over every object.
const SCOPED_MAX: usize = 16;

/// Runs a read of the view that only the store itself may answer: a node acts on what the
/// cluster is now, never on its own copy of an older answer (on a node cut off from its
/// cluster, that copy of "which bricks are mine" may predate the volumes it serves, and a
/// pass over it would stop them). Stale, it fails: the last view stands.
pub async fn fresh<T>(
    read: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match gd_store::track_staleness(read).await {
        (Ok(_), Some(stale)) => Err(StoreError::Unavailable {
            reason: format!(
                "the store has no quorum: the view came from this node's copy (revision {}), \
                 which no process is started or stopped by",
                stale.revision
            ),
        }),
        (out, _) => out,
    }
}

/// What a pass sees, read once per pass for every service (the volume feature's: this node,
/// every volume, the cluster options).
#[async_trait]
pub trait ViewSource<V: Send>: Send + Sync {
    /// The store prefixes whose changes start a pass.
    fn prefixes(&self) -> Vec<String>;
    /// Reads the view.
    async fn load(&self) -> Result<V, StoreError>;
    /// Reads what `view` (read by an earlier pass, every change since followed by the
    /// watches) says of `scope` (one object: a volume) anew, into it: what a pass for one
    /// object reads, so that starting or stopping a volume costs that volume, not every
    /// volume of the node. On an error `view` is as it was. By default, the whole view is
    /// read anew.
    async fn refresh(&self, view: &mut V, scope: &str) -> Result<(), StoreError> {
        let _ = scope;
        *view = self.load().await?;
        Ok(())
    }
    /// The one object a change of `key` (under the prefixes) concerns, if the change concerns
    /// no other: a pass for that object then follows it. `None` (the default): a pass over
    /// every object.
    fn scope_of(&self, key: &str) -> Option<String> {
        let _ = key;
        None
    }
    /// Whether `view`, read by an earlier pass and with no change under the prefixes since,
    /// still covers what this node serves (false when something outside the store, such as
    /// a client that connected since, needs more of the store than it holds).
    fn current(&self, view: &V) -> bool {
        let _ = view;
        true
    }
}

/// One process a service runs on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unique among the service's instances on this node (a brick's id, a volume's name).
    pub id: String,
    /// The object it serves (its volume): a pass for one object touches only its instances.
    pub scope: String,
    /// How a problem with it begins ("/srv/b1", "self-heal daemon").
    pub name: String,
    /// How it is named when stopped or killed ("brick /srv/b1").
    pub label: String,
}

/// A kind of process the reconciler keeps at its desired state.
#[async_trait]
pub trait Service<V>: Send + Sync {
    /// What it runs, for logs ("brick").
    fn kind(&self) -> &'static str;

    /// The instances this node should run in `view`.
    fn wanted(&self, view: &V) -> Vec<Instance>;

    /// Instances this node does not want but whose process may run all the same (left by an
    /// earlier glusterd2): each found running is stopped.
    fn leftovers(&self, view: &V) -> Vec<Instance>;

    /// The running process of `inst`, if there is one (adoption by pid file).
    fn find(&self, view: &V, inst: &Instance) -> Option<Proc>;

    /// Starts `inst`; returns once it serves.
    async fn start(&self, view: &V, inst: &Instance) -> Result<Proc, String>;

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

    /// What runs now in the pass's scope, after a pass (to publish it).
    async fn running(&self, running: &[(&Instance, Proc)]) {
        let _ = running;
    }
}

struct Backoff {
    next_try: Instant,
    delay: Duration,
}

/// This node's reconciler of the processes seen through views `V`.
pub struct Reconciler<V> {
    source: Arc<dyn ViewSource<V>>,
    services: Vec<Arc<dyn Service<V>>>,
    /// Serialises passes (the loop and the start/stop transaction steps).
    pass: Mutex<State<V>>,
    /// Where its starts and restarts are counted (the node's figures).
    metrics: Arc<gd_core::metrics::Metrics>,
}

struct State<V> {
    /// What runs, by service (its index) and instance id.
    running: BTreeMap<(usize, String), (Instance, Proc)>,
    backoff: HashMap<(usize, String), Backoff>,
    /// Kills by passes over every object not yet reported by a pass for their object: when,
    /// the object, what was killed.
    unreported: Vec<(Instant, String, String)>,
    /// The view the last pass read, and when.
    view: Option<(Instant, V)>,
    /// Whether a change the watches reported may be missing from `view` (the loop's pass
    /// for it could not read the store): the next tick reads the whole view.
    stale: bool,
}

impl<V> Default for State<V> {
    fn default() -> Self {
        State {
            running: BTreeMap::new(),
            backoff: HashMap::new(),
            unreported: vec![],
            view: None,
            stale: false,
        }
    }
}

/// What a pass left undone, and what it had to force.
#[derive(Debug, Default)]
pub struct Pass {
    /// Processes in the pass's scope that are not as desired, with the reason.
    pub problems: Vec<String>,
    /// Processes that did not exit on SIGTERM within the grace and were killed (for a pass
    /// for one object, also those of its object killed by a pass over every object in the
    /// last two minutes, which no pass for the object has reported yet).
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

impl<V: Send + Sync> Reconciler<V> {
    pub fn new(
        source: Arc<dyn ViewSource<V>>,
        services: Vec<Arc<dyn Service<V>>>,
    ) -> Arc<Reconciler<V>> {
        Reconciler::counted(source, services, Arc::default())
    }

    /// A reconciler that counts the processes it starts in `metrics`.
    pub fn counted(
        source: Arc<dyn ViewSource<V>>,
        services: Vec<Arc<dyn Service<V>>>,
        metrics: Arc<gd_core::metrics::Metrics>,
    ) -> Arc<Reconciler<V>> {
        Arc::new(Reconciler {
            source,
            services,
            pass: Mutex::new(State::default()),
            metrics,
        })
    }

    /// Runs passes on every change under the source's prefixes of `store` (and on a slow
    /// tick), until cancelled.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>, cancel: CancellationToken) {
        let prefixes = self.source.prefixes();
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let this = &*self;
        // The keys changed since the last pass, as the watches report them.
        let changed = &std::sync::Mutex::new(BTreeSet::new());
        gd_store::follow_prefixes(
            &*store,
            &prefixes,
            TICK,
            &cancel,
            |ev| {
                lock(changed).insert(ev.key.clone());
                true
            },
            |wake| async move {
                let keys = std::mem::take(&mut *lock(changed));
                let pass = match wake {
                    gd_store::Wake::Tick => this.tick().await.map(drop),
                    gd_store::Wake::Changed => this.follow(keys).await,
                    gd_store::Wake::Opened => this.converge(None).await.map(drop),
                };
                if let Err(e) = pass {
                    tracing::debug!(error = %e, "reconcile pass failed");
                }
            },
        )
        .await
    }

    /// The passes that follow the changes of `keys`: one for each object they concern when
    /// each concerns one object ([`ViewSource::scope_of`]) and they are few, else one over
    /// every object.
    async fn follow(&self, keys: BTreeSet<String>) -> Result<(), StoreError> {
        let scopes: Option<BTreeSet<String>> =
            keys.iter().map(|k| self.source.scope_of(k)).collect();
        match scopes {
            Some(scopes) if !scopes.is_empty() && scopes.len() <= SCOPED_MAX => {
                for scope in scopes {
                    self.run_pass(Some(&scope), false).await?;
                }
                Ok(())
            }
            _ => self.converge(None).await.map(drop),
        }
    }

    /// One pass; `only` limits it to one volume (a start or stop step). Returns when what
    /// should not run is gone; says what in its scope is not as desired, and what had to be
    /// killed.
    pub async fn converge(&self, only: Option<&str>) -> Result<Pass, StoreError> {
        self.run_pass(only, only.is_some()).await
    }

    /// One pass, `only` over one object, for a step (`by_step`: it tries a failed start at
    /// once, and reports the kills of the loop's passes in its object) or for the loop.
    async fn run_pass(&self, only: Option<&str>, by_step: bool) -> Result<Pass, StoreError> {
        let mut st = self.pass.lock().await;
        // A pass for one object reads that object into the last view, if it is young enough
        // (it keeps the last view's age: the tick's safety net still reads all of it after
        // RESYNC); any other pass reads the whole view, and then the loop's passes over
        // every object.
        let (read_at, view, only) = match (only, st.view.take()) {
            (Some(scope), Some((at, mut last))) if at.elapsed() < RESYNC => {
                if let Err(e) = fresh(self.source.refresh(&mut last, scope)).await {
                    st.view = Some((at, last));
                    st.stale |= !by_step;
                    return Err(e);
                }
                (at, last, Some(scope))
            }
            (_, last) => match fresh(self.source.load()).await {
                Ok(view) => {
                    st.stale = false;
                    (Instant::now(), view, only.filter(|_| by_step))
                }
                Err(e) => {
                    st.view = last;
                    st.stale |= !by_step;
                    return Err(e);
                }
            },
        };
        let pass = self.pass_over(&mut st, &view, only, by_step).await;
        st.view = Some((read_at, view));
        Ok(pass)
    }

    /// A pass over every object on the tick: over the view the last pass read while it is
    /// [`ViewSource::current`] and younger than [`RESYNC`], else over the view read anew (the
    /// last one when the store cannot answer).
    pub async fn tick(&self) -> Result<Pass, StoreError> {
        let mut st = self.pass.lock().await;
        let (read_at, view) = match st.view.take() {
            Some((at, view))
                if !st.stale && at.elapsed() < RESYNC && self.source.current(&view) =>
            {
                (at, view)
            }
            last => match fresh(self.source.load()).await {
                Ok(view) => {
                    st.stale = false;
                    (Instant::now(), view)
                }
                // The store cannot answer (no quorum): the last view stands, so that a process
                // that died is still started again; the next tick reads again.
                Err(e) => match last {
                    Some(last) => {
                        tracing::debug!(error = %e, "view not read; the last one stands");
                        last
                    }
                    None => return Err(e),
                },
            },
        };
        let pass = self.pass_over(&mut st, &view, None, false).await;
        st.view = Some((read_at, view));
        Ok(pass)
    }

    /// One pass over `view` (see [`Self::run_pass`]).
    async fn pass_over(
        &self,
        st: &mut State<V>,
        view: &V,
        only: Option<&str>,
        by_step: bool,
    ) -> Pass {
        let in_scope = |scope: &str| only.is_none_or(|o| o == scope);
        let mut problems = vec![];
        let mut wanted = BTreeMap::new();
        // Adopt or start what should run.
        for (s, service) in self.services.iter().enumerate() {
            for inst in service.wanted(view) {
                if in_scope(&inst.scope) {
                    wanted.insert((s, inst.id.clone()), inst);
                }
            }
        }
        for ((s, id), inst) in &wanted {
            let service = &self.services[*s];
            let key = (*s, id.clone());
            if let Some(p) = service.find(view, inst) {
                st.running.insert(key, (inst.clone(), p));
                continue;
            }
            // One that died: reaped, if it was this daemon's child.
            let died = st
                .running
                .remove(&key)
                .map(|(_, dead)| dead.reap())
                .is_some();
            if service.backs_off()
                && !by_step
                && st
                    .backoff
                    .get(&key)
                    .is_some_and(|b| Instant::now() < b.next_try)
            {
                problems.push(format!("{}: waiting to retry", inst.name));
                continue;
            }
            match service.start(view, inst).await {
                Ok(p) => {
                    tracing::info!(scope = %inst.scope, process = %inst.label, pid = p.pid, "{} started", service.kind());
                    self.metrics.process_start(service.kind(), died);
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
                    tracing::warn!(scope = %inst.scope, process = %inst.label, error = %e, "{} did not start", service.kind());
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
            .filter(|(key, (inst, _))| !wanted.contains_key(*key) && in_scope(&inst.scope))
            .map(|((s, _), (inst, p))| Stale {
                service: *s,
                inst: inst.clone(),
                proc: *p,
            })
            .collect();
        for (s, service) in self.services.iter().enumerate() {
            for inst in service.leftovers(view) {
                let key = (s, inst.id.clone());
                if !in_scope(&inst.scope)
                    || wanted.contains_key(&key)
                    || st.running.contains_key(&key)
                {
                    continue;
                }
                if let Some(proc) = service.find(view, &inst) {
                    stale.push(Stale {
                        service: s,
                        inst,
                        proc,
                    });
                }
            }
        }
        let kills = self.stop(st, stale, &mut problems).await;
        let killed = Self::report_kills(st, only.filter(|_| by_step), kills);
        // Publish what runs, within the pass's scope.
        for (s, service) in self.services.iter().enumerate() {
            let running: Vec<(&Instance, Proc)> = st
                .running
                .iter()
                .filter(|((rs, _), (inst, _))| *rs == s && in_scope(&inst.scope))
                .map(|(_, (inst, p))| (inst, *p))
                .collect();
            service.running(&running).await;
        }
        Pass { problems, killed }
    }

    /// Stops processes no view names (a brick whose record an undo or a commit took away: the
    /// caller finds them, by their pid files), holding the pass lock: a pass that started one
    /// from a view read before the change has finished and left its pid file, and no pass starts
    /// one between the finding and the stop (a pass after it reads the changed record). One a
    /// pass knew is stopped as a pass stops it (its service told: a brick's published status
    /// goes); returns what could not be stopped.
    pub async fn stop_found(&self, find: impl FnOnce() -> Vec<Proc>) -> Vec<String> {
        let mut st = self.pass.lock().await;
        let procs = find();
        if procs.is_empty() {
            return vec![];
        }
        tracing::info!(pids = ?procs.iter().map(|p| p.pid).collect::<Vec<_>>(), "stopping processes found by their pid files");
        let known: Vec<Stale> = st
            .running
            .iter()
            .filter(|(_, (_, p))| procs.contains(p))
            .map(|((s, _), (inst, p))| Stale {
                service: *s,
                inst: inst.clone(),
                proc: *p,
            })
            .collect();
        let unknown: Vec<Proc> = procs
            .iter()
            .filter(|p| !known.iter().any(|k| k.proc == **p))
            .copied()
            .collect();
        let mut problems = vec![];
        self.stop(&mut st, known, &mut problems).await;
        let out = process::stop_all(&unknown).await;
        problems.extend(
            out.stuck
                .iter()
                .map(|p| format!("process {} still runs after SIGKILL", p.pid)),
        );
        problems
    }

    /// What a pass reports as killed: its own kills and, for a step's pass for one object
    /// (`step`), the kills of the loop's earlier passes in that object (once). A loop's pass
    /// keeps its kills for such a pass (bounded in number and age).
    fn report_kills(
        st: &mut State<V>,
        step: Option<&str>,
        kills: Vec<(String, String)>,
    ) -> Vec<String> {
        let now = Instant::now();
        st.unreported
            .retain(|(at, _, _)| now.duration_since(*at) < KILLS_KEPT);
        let mut killed = vec![];
        match step {
            Some(object) => {
                let (earlier, others) = std::mem::take(&mut st.unreported)
                    .into_iter()
                    .partition(|(_, scope, _)| scope == object);
                st.unreported = others;
                killed.extend(earlier.into_iter().map(|(_, _, what)| what));
            }
            None => {
                st.unreported.extend(
                    kills
                        .iter()
                        .map(|(scope, what)| (now, scope.clone(), what.clone())),
                );
                let excess = st.unreported.len().saturating_sub(KILLS_KEPT_MAX);
                st.unreported.drain(..excess);
            }
        }
        killed.extend(kills.into_iter().map(|(_, what)| what));
        killed
    }

    /// Stops `stale` and waits for it; returns what had to be killed (with its object), adds to
    /// `problems` what could not be stopped.
    async fn stop(
        &self,
        st: &mut State<V>,
        stale: Vec<Stale>,
        problems: &mut Vec<String>,
    ) -> Vec<(String, String)> {
        let mut killed = vec![];
        if stale.is_empty() {
            return killed;
        }
        for x in &stale {
            tracing::info!(process = %x.describe(), "stopping");
        }
        let procs: Vec<Proc> = stale.iter().map(|x| x.proc).collect();
        let began = Instant::now();
        let out = process::stop_all(&procs).await;
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
                    process::KILL_WAIT.as_secs()
                );
                tracing::error!(problem = %why, "a process could not be stopped");
                problems.push(why);
                continue;
            }
            if out.killed.contains(&p) {
                let what = format!(
                    "{} did not exit within {} s of SIGTERM and was killed (SIGKILL)",
                    x.describe(),
                    process::STOP_GRACE.as_secs()
                );
                tracing::warn!(process = %what, "killed");
                killed.push((x.inst.scope.clone(), what));
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

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
