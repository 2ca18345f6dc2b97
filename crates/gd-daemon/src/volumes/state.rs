//! Start, stop and the process steps: the volume's state record and making each node's processes match it.

use super::*;

/// `POST /v1/volumes/{name}/start`: records the volume as started, then waits until every
/// brick node runs and has signed in its bricks; undone (bricks stopped, state restored) when
/// a node cannot.
pub async fn start_volume(node: &Node, name: &str, force: bool) -> Result<VolumeInfo, ApiErr> {
    check_name(name)?;
    let engine = engine(node)?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if vol.state == VolumeState::Started && !force {
        return Err(ApiErr::new(
            ErrorCode::Conflict,
            format!("volume {name} is already started"),
        ));
    }
    let txn = state_change(node, &vol, VolumeState::Started, "start")?;
    // What a start forces (nothing of its own volume is stopped) is in the nodes' logs.
    run(node, &engine, txn).await?;
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// `POST /v1/volumes/{name}/stop`: records the volume as stopped, then waits until every
/// brick node has stopped its bricks and self-heal daemon, and their processes are gone.
/// Returns the volume and what the nodes had to force (processes killed).
pub async fn stop_volume(node: &Node, name: &str) -> Result<(VolumeInfo, Vec<String>), ApiErr> {
    check_name(name)?;
    let engine = engine(node)?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    match vol.state {
        VolumeState::Started => {}
        VolumeState::Stopped => {
            return Err(ApiErr::new(
                ErrorCode::Conflict,
                format!("volume {name} is already stopped"),
            ));
        }
        VolumeState::Created => {
            return Err(ApiErr::new(
                ErrorCode::Conflict,
                format!("volume {name} was never started"),
            ));
        }
    }
    require_online(node, &vol, "stopped").await?;
    let txn = state_change(node, &vol, VolumeState::Stopped, "stop")?;
    let notes = run(node, &engine, txn).await?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api();
    Ok((vol, notes))
}

/// The arguments of the state and brick steps of start and stop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct StateArgs {
    volume: String,
    volume_id: Uuid,
    from: VolumeState,
    to: VolumeState,
}

/// A `volume-state.bricks` step for `vol` as it stands (its state unchanged): a reconciler
/// pass for the volume on every brick node, for a change that starts or stops its processes.
pub fn converge_step(vol: &VolumeRecord) -> Result<Step, ApiErr> {
    let args = serde_json::to_value(StateArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        from: vol.state,
        to: vol.state,
    })
    .map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?;
    let mut step = Step::new("volume-state.bricks", vol.brick_nodes(), args);
    step.timeout = Some(PROCESS_STEP_TIMEOUT);
    Ok(step)
}

pub(super) fn state_change(
    node: &Node,
    vol: &VolumeRecord,
    to: VolumeState,
    verb: &str,
) -> Result<Transaction, ApiErr> {
    let args = serde_json::to_value(StateArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        from: vol.state,
        to,
    })
    .map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?;
    let mut bricks = Step::new("volume-state.bricks", vol.brick_nodes(), args.clone());
    bricks.timeout = Some(PROCESS_STEP_TIMEOUT);
    Ok(Transaction {
        operation: format!("volume {verb} {}", vol.name),
        locks: vec![volume_lock(&vol.name)],
        steps: vec![
            Step::new("volume-state.record", vec![node.identity().peer_id], args),
            bricks,
        ],
    })
}

/// Sets a volume's state (compare-and-swap on its id); undo sets it back.
pub(super) struct RecordState {
    pub(super) node: Arc<Node>,
}

impl RecordState {
    async fn set(&self, a: &StateArgs, state: VolumeState) -> Result<(), String> {
        update_volume(&*self.node.store, &a.volume, a.volume_id, |v| {
            v.state = state;
            Ok(())
        })
        .await
    }
}

/// Changes the record of volume `name` (if it is still the volume `id`) with `change`, by
/// compare-and-swap on its revision, retried a few times when it changes meanwhile.
pub async fn update_volume(
    store: &dyn Store,
    name: &str,
    id: Uuid,
    mut change: impl FnMut(&mut VolumeRecord) -> Result<(), String>,
) -> Result<(), String> {
    let key = volume_key(name);
    for _ in 0..5 {
        let Some(kv) = store.get(&key).await.map_err(|e| e.to_string())? else {
            return Err(format!("volume {name} vanished"));
        };
        let mut v: VolumeRecord = record::decode(&key, &kv.value).map_err(|e| e.to_string())?;
        if v.id != id {
            return Err(format!("volume {name} was replaced"));
        }
        let before = v.clone();
        change(&mut v)?;
        if v == before {
            return Ok(());
        }
        let txn = Txn::new()
            .when([Compare::mod_revision(
                &key,
                gd_store::CompareOp::Equal,
                kv.mod_revision,
            )])
            .and_then([TxnOp::put(&key, record::encode(&v))]);
        if store.txn(txn).await.map_err(|e| e.to_string())?.succeeded {
            return Ok(());
        }
    }
    Err(format!("volume {name} changes concurrently"))
}

#[async_trait]
impl StepHandler for RecordState {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: StateArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        self.set(&a, a.to).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: StateArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        self.set(&a, a.from).await?;
        // Put the local processes back as they were.
        if let Some(r) = self.node.reconciler() {
            let _ = r.converge(Some(&a.volume)).await;
        }
        Ok(())
    }
}

/// Runs a reconciler pass for one volume on this node, now: returns once its processes
/// match the stored state (started, or gone); the note says what had to be killed.
pub(super) async fn converge_volume(node: &Node, volume: &str) -> Result<Option<String>, String> {
    let r = node
        .reconciler()
        .ok_or("this node's reconciler is not running")?;
    let pass = r.converge(Some(volume)).await.map_err(|e| e.to_string())?;
    if !pass.problems.is_empty() {
        return Err(pass.problems.join("; "));
    }
    Ok((!pass.killed.is_empty()).then(|| pass.killed.join("; ")))
}

/// Makes this node's bricks and self-heal daemon of the volume match its (new) state, now.
pub(super) struct ConvergeBricks {
    pub(super) node: Arc<Node>,
}

#[async_trait]
impl StepHandler for ConvergeBricks {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        self.run_noted(args).await.map(drop)
    }
    async fn run_noted(&self, args: &serde_json::Value) -> Result<Option<String>, String> {
        let a: StateArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        converge_volume(&self.node, &a.volume).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        // The state step's undo restores the record and converges again; nothing else to do.
        let _ = args;
        Ok(())
    }
}

/// Before a delete: no process of the (not started) volume runs on this node any more; any
/// that does is stopped. Changes nothing in the store, so there is nothing to undo.
pub(super) struct StopProcesses {
    pub(super) node: Arc<Node>,
}

#[async_trait]
impl StepHandler for StopProcesses {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        self.run_noted(args).await.map(drop)
    }
    async fn run_noted(&self, args: &serde_json::Value) -> Result<Option<String>, String> {
        let vol: VolumeRecord =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        if let Some(v) = get_volume(self.node.store.as_ref(), &vol.name)
            .await
            .map_err(|e| e.to_string())?
            && v.state == VolumeState::Started
        {
            return Err(format!("volume {} was started meanwhile", vol.name));
        }
        converge_volume(&self.node, &vol.name).await
    }
    async fn undo(&self, _: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}
