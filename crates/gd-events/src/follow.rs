//! Following the events as they are written, for a stream: the history after a resume point,
//! then each new event as the store's watch delivers it. The watch may break (the store member
//! it was on went away): the follower then reads the history after the last event it gave and
//! watches again, so a client sees every event once, in order, through a store failover. It
//! gives up when the store has not answered for [`GIVE_UP`] (the client resumes later).

use std::{collections::VecDeque, sync::Arc, time::Duration};

use futures::Stream;
use gd_api::Event;
use gd_core::keys::EVENTS;
use gd_store::{EventKind, KeyValue, Store, Watch};
use tokio::time::Instant;

use crate::history;

/// How long the store may fail to answer before the stream ends.
pub const GIVE_UP: Duration = Duration::from_secs(60);
/// The pause between two tries to watch again.
const RETRY: Duration = Duration::from_secs(1);

struct Follow {
    store: Arc<dyn Store>,
    watch: Option<Watch>,
    /// The `seq` of the last event given (or the revision the stream starts after).
    last: i64,
    queue: VecDeque<Event>,
    failing_since: Option<Instant>,
}

/// The events after `after` (a `seq`, or the store revision to start after), as they come.
pub fn follow(store: Arc<dyn Store>, after: i64) -> impl Stream<Item = Event> {
    let state = Follow {
        store,
        watch: None,
        last: after,
        queue: VecDeque::new(),
        failing_since: None,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(e) = st.queue.pop_front() {
                st.last = e.seq;
                return Some((e, st));
            }
            match &mut st.watch {
                Some(w) => match w.next().await {
                    Some(Ok(ev)) if ev.kind == EventKind::Put && ev.revision > st.last => {
                        let kv = KeyValue {
                            key: ev.key,
                            value: ev.value,
                            create_revision: ev.revision,
                            mod_revision: ev.revision,
                            version: 1,
                            lease: None,
                        };
                        st.queue.extend(history::to_api(&kv));
                    }
                    // A delete is the history's trim.
                    Some(Ok(_)) => {}
                    _ => st.watch = None,
                },
                None => {
                    if st.failing_since.is_some_and(|t| t.elapsed() > GIVE_UP) {
                        return None;
                    }
                    match reopen(st.store.as_ref(), st.last).await {
                        Ok((backlog, watch)) => {
                            st.queue.extend(backlog);
                            st.watch = Some(watch);
                            st.failing_since = None;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "the events stream waits for the store");
                            st.failing_since.get_or_insert_with(Instant::now);
                            tokio::time::sleep(RETRY).await;
                        }
                    }
                }
            }
        }
    })
}

/// The history after `last`, and a watch from the revision it was read at.
async fn reopen(store: &dyn Store, last: i64) -> Result<(Vec<Event>, Watch), gd_store::StoreError> {
    let (backlog, read_at) = history::after(store, Some(last), usize::MAX).await?;
    let watch = store.watch(EVENTS, Some(read_at + 1)).await?;
    Ok((backlog, watch))
}
