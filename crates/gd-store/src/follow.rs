//! [`follow_prefix`]: the loop every "keep this in step with the store" task runs
//! ([`follow_prefixes`] for one that follows several prefixes).

use std::{future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{Store, WatchEvent};

/// How soon a watch that could not be opened is tried again.
const REOPEN: Duration = Duration::from_secs(1);
/// The most events that have already arrived taken into one pass.
const DRAIN_MAX: usize = 4096;

/// Runs `pass` now, then again after every change under `prefix` that `relevant` accepts,
/// and at least every `tick`, until `cancel`; a watch that ends is opened again at once (and
/// `pass` runs), one that could not be opened after [`REOPEN`]. The watch is opened before
/// the pass that follows its opening, so no change between a pass and the watch is missed.
///
/// The pass reports its own errors: a failed pass is simply tried again on the next change
/// or tick.
pub async fn follow_prefix<F, Fut>(
    store: &dyn Store,
    prefix: &str,
    tick: Duration,
    cancel: &CancellationToken,
    relevant: impl Fn(&WatchEvent) -> bool,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    follow_prefixes(store, &[prefix], tick, cancel, relevant, |_| pass()).await
}

/// Why a pass of [`follow_prefixes`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The watches were just opened (the first pass, or after a watch ended or could not be
    /// opened): anything may have changed since the last pass.
    Opened,
    /// A change under the prefixes, as the watches report it.
    Changed,
    /// The tick, with the watches still open: nothing under the prefixes changed that they
    /// did not report. A pass may then trust what it read before (and look only at what is
    /// not in the store: its processes, its clients).
    Tick,
}

/// [`follow_prefix`] over several prefixes: a change under any of them runs `pass`; when any
/// watch ends, all are opened again. `pass` is told why it runs.
///
/// The watches stay open across ticks (a tick reopens nothing and reads nothing on its own):
/// at rest a follower costs the store what its pass reads on a tick, which a pass told
/// [`Wake::Tick`] can make nothing.
pub async fn follow_prefixes<F, Fut>(
    store: &dyn Store,
    prefixes: &[&str],
    tick: Duration,
    cancel: &CancellationToken,
    relevant: impl Fn(&WatchEvent) -> bool,
    mut pass: F,
) where
    F: FnMut(Wake) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        let mut watches = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            match store.watch(prefix, None).await {
                Ok(w) => watches.push(w),
                Err(_) => {
                    watches.clear();
                    break;
                }
            }
        }
        let watching = !watches.is_empty();
        pass(Wake::Opened).await;
        // Without its watches (the store did not answer), try again soon rather than a tick
        // later.
        let wait = if watching { tick } else { tick.min(REOPEN) };
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        loop {
            let event = async {
                if watches.is_empty() {
                    return std::future::pending().await;
                }
                let next = watches.iter_mut().map(|w| Box::pin(w.next()));
                futures::future::select_all(next).await.0
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = &mut deadline => {
                    if !watching {
                        break;
                    }
                    pass(Wake::Tick).await;
                    deadline.as_mut().reset(tokio::time::Instant::now() + tick);
                }
                ev = event => match ev {
                    Some(Ok(ev)) => {
                        // A burst of changes makes one pass: what else has arrived is taken
                        // with it.
                        let (more, ended) = drain(&mut watches, &relevant);
                        if relevant(&ev) || more {
                            pass(Wake::Changed).await;
                        }
                        if ended {
                            break;
                        }
                    }
                    _ => break,
                },
            }
        }
    }
}

/// Takes the events that have already arrived on `watches` (at most [`DRAIN_MAX`]): whether
/// one of them is relevant, and whether a watch ended.
fn drain(watches: &mut [crate::Watch], relevant: &impl Fn(&WatchEvent) -> bool) -> (bool, bool) {
    use futures::FutureExt;
    let mut any = false;
    for _ in 0..DRAIN_MAX {
        let next = watches.iter_mut().map(|w| Box::pin(w.next()));
        match futures::future::select_all(next).now_or_never() {
            None => break,
            Some((Some(Ok(ev)), _, _)) => any |= relevant(&ev),
            Some(_) => return (any, true),
        }
    }
    (any, false)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::LocalStore;

    /// The first pass is told the watches opened; a change wakes one as a change; a tick
    /// keeps the watches (no second "opened") and says it is a tick.
    #[tokio::test]
    async fn ticks_keep_the_watches_and_say_why_a_pass_runs() {
        let store = LocalStore::open_in_memory().await.unwrap();
        let wakes = Arc::new(Mutex::new(vec![]));
        let cancel = CancellationToken::new();
        let follower = {
            let (store, wakes, cancel) = (store.clone(), wakes.clone(), cancel.clone());
            tokio::spawn(async move {
                follow_prefixes(
                    &*store,
                    &["a/", "b/"],
                    Duration::from_millis(200),
                    &cancel,
                    |_| true,
                    |wake| {
                        wakes.lock().unwrap().push(wake);
                        async {}
                    },
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        store.put("b/1", b"x".to_vec(), None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        cancel.cancel();
        follower.await.unwrap();
        let wakes = wakes.lock().unwrap().clone();
        assert_eq!(wakes[..2], [Wake::Opened, Wake::Changed], "{wakes:?}");
        let ticks = wakes[2..].iter().filter(|w| **w == Wake::Tick).count();
        assert!(ticks >= 2, "{wakes:?}");
        assert_eq!(
            ticks,
            wakes.len() - 2,
            "only ticks after the change: {wakes:?}"
        );
    }

    /// Changes that arrive while a pass runs make one pass after it, not one each.
    #[tokio::test]
    async fn a_burst_of_changes_makes_few_passes() {
        let store = LocalStore::open_in_memory().await.unwrap();
        let passes = Arc::new(Mutex::new(0));
        let cancel = CancellationToken::new();
        let follower = {
            let (store, passes, cancel) = (store.clone(), passes.clone(), cancel.clone());
            tokio::spawn(async move {
                follow_prefixes(
                    &*store,
                    &["a/"],
                    Duration::from_secs(60),
                    &cancel,
                    |_| true,
                    |wake| {
                        let passes = passes.clone();
                        async move {
                            if wake == Wake::Changed {
                                *passes.lock().unwrap() += 1;
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    },
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        for i in 0..20 {
            store
                .put(&format!("a/{i}"), b"x".to_vec(), None)
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        cancel.cancel();
        follower.await.unwrap();
        let n = *passes.lock().unwrap();
        assert!((1..=3).contains(&n), "{n} passes for 20 changes");
    }
}
