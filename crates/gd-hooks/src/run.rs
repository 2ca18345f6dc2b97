//! Running a node's scripts for an operation: the pre-hook step (every script in order; the
//! first that fails refuses the operation, as its message says) and the post-hook worker (one
//! script at a time, in the order the operations committed, failures logged, as GD1's
//! `gdhooks` thread runs them).

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use gd_core::txn::{HookCall, Step, StepError};
use gd_node::node::Node;
use gd_volume::model::{VolumeState, get_volume, list_volumes};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    scripts::{self, Context, Phase},
    volinfo,
};

/// The post-hook calls a node keeps waiting; more are dropped (and logged).
pub const POST_QUEUE: usize = 256;

/// Where a node's hooks are and what it works in.
#[derive(Clone)]
pub struct Hooks {
    pub node: Arc<Node>,
    /// The hooks directory (`<localstatedir>/hooks/1` unless configured).
    pub root: PathBuf,
}

impl Hooks {
    /// The working directory GD1's scripts are told (`--gd-workdir`, `GLUSTERD_WORKDIR`).
    pub fn workdir(&self) -> &std::path::Path {
        &self.node.config.localstatedir
    }

    /// Runs this node's scripts for `call` in `phase`; the first failure of a pre-hook stops
    /// there and is returned.
    pub async fn run(&self, call: &HookCall, phase: Phase) -> Result<(), String> {
        scripts::check(call)?;
        let scripts = scripts::enabled(&self.root, &call.op, phase);
        if scripts.is_empty() {
            return Ok(());
        }
        let store = self.node.store.as_ref();
        let started = list_volumes(store)
            .await
            .map_err(|e| format!("cannot read the volumes for the hook scripts: {e}"))?
            .iter()
            .filter(|v| v.state == VolumeState::Started)
            .count();
        // The volume as GD1's scripts read it, fresh (gone after a delete's post-hooks).
        match get_volume(store, &call.volume).await {
            Ok(Some(vol)) => {
                if let Err(e) = volinfo::write(self.workdir(), &vol) {
                    tracing::warn!(volume = %call.volume, error = %e, "cannot write the volume's info file for the hook scripts");
                }
            }
            Ok(None) => volinfo::remove(self.workdir(), &call.volume),
            Err(e) => return Err(format!("cannot read volume {}: {e}", call.volume)),
        }
        let args = scripts::args(
            call,
            phase,
            &Context {
                workdir: self.workdir(),
                started,
            },
        );
        for script in scripts {
            let ran = scripts::run(&script, &args, self.workdir(), scripts::SCRIPT_TIMEOUT).await;
            if ran.ok() {
                tracing::info!(script = %script.display(), args = ?args, output = %ran.output.trim(), "ran hook script");
            } else {
                let why = ran.why(&script);
                tracing::warn!(args = ?args, output = %ran.output.trim(), "{why}");
                if phase == Phase::Pre {
                    return Err(why);
                }
            }
        }
        Ok(())
    }
}

/// `hooks.pre`: this node's pre-hooks for the operation; one that fails refuses it. Nothing
/// to undo (GD1's scripts have no undo).
pub struct PreHooks(pub Hooks);

#[async_trait]
impl Step for PreHooks {
    const NAME: &'static str = "hooks.pre";
    type Args = HookCall;

    async fn run(&self, call: &HookCall) -> Result<(), StepError> {
        self.0
            .run(call, Phase::Pre)
            .await
            .map_err(|reason| StepError::Refused {
                check: "pre-hook",
                reason,
            })
    }

    async fn undo(&self, _call: &HookCall) -> Result<(), StepError> {
        Ok(())
    }
}

/// This node's post-hook queue.
#[derive(Clone)]
pub struct PostQueue(mpsc::Sender<HookCall>);

impl PostQueue {
    /// The queue and its worker, which runs until `cancel`.
    pub fn new(
        hooks: Hooks,
    ) -> (
        PostQueue,
        impl FnOnce(CancellationToken) -> tokio::task::JoinHandle<()>,
    ) {
        let (tx, mut rx) = mpsc::channel::<HookCall>(POST_QUEUE);
        let worker = move |cancel: CancellationToken| {
            tokio::spawn(async move {
                loop {
                    let call = tokio::select! {
                        _ = cancel.cancelled() => return,
                        c = rx.recv() => match c { Some(c) => c, None => return },
                    };
                    // A failure is logged (GD1's way: the operation has committed).
                    let _ = hooks.run(&call, Phase::Post).await;
                }
            })
        };
        (PostQueue(tx), worker)
    }

    /// Queues `call`'s post-hooks; a full queue drops it (logged).
    pub fn push(&self, call: HookCall) {
        if let Err(e) = self.0.try_send(call) {
            tracing::warn!(error = %e, "post-hook scripts not run: their queue is full");
        }
    }
}
