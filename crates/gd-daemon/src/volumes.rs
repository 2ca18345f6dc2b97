//! Volumes: creation, listing, deletion through cluster transactions (in progress, issue 4).

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::node::Node;

/// Starts the background services of the volume layer; returns their tasks.
pub fn spawn_background(_node: Arc<Node>, _cancel: CancellationToken) -> Vec<JoinHandle<()>> {
    Vec::new()
}
