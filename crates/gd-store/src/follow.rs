//! [`follow_prefix`]: the loop every "keep this in step with the store" task runs
//! ([`follow_prefixes`] for one that follows several prefixes).

use std::{future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{Store, WatchEvent};

/// How soon a watch that could not be opened is tried again.
const REOPEN: Duration = Duration::from_secs(1);

/// Runs `pass` now, then again after every change under `prefix` that `relevant` accepts,
/// and at least every `tick`, until `cancel`; a watch that ends is opened again at once, one
/// that could not be opened after [`REOPEN`]. The watch is opened before each full pass, so no change between
/// a pass and the watch is missed.
///
/// The pass reports its own errors: a failed pass is simply tried again on the next change
/// or tick.
pub async fn follow_prefix<F, Fut>(
    store: &dyn Store,
    prefix: &str,
    tick: Duration,
    cancel: &CancellationToken,
    relevant: impl Fn(&WatchEvent) -> bool,
    pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    follow_prefixes(store, &[prefix], tick, cancel, relevant, pass).await
}

/// [`follow_prefix`] over several prefixes: a change under any of them runs `pass`; when any
/// watch ends, all are opened again.
pub async fn follow_prefixes<F, Fut>(
    store: &dyn Store,
    prefixes: &[&str],
    tick: Duration,
    cancel: &CancellationToken,
    relevant: impl Fn(&WatchEvent) -> bool,
    mut pass: F,
) where
    F: FnMut() -> Fut,
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
        pass().await;
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
                _ = &mut deadline => break,
                ev = event => match ev {
                    Some(Ok(ev)) => {
                        if relevant(&ev) {
                            pass().await;
                        }
                    }
                    _ => break,
                },
            }
        }
    }
}
