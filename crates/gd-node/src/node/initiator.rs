//! Membership as the initiator sees it: adding, editing and removing peers.

use super::*;
use gd_core::keys::{
    PEER_ADDRESS_LOCK, PEER_LOCK, REMOVED, STORE_LEAVING, STORE_MEMBERS, STORE_NODES,
};

impl Node {
    // ---- membership, initiator side ----

    /// `POST /v1/peers`.
    pub async fn add_peer(&self, req: PeerAddReq) -> Result<Peer, OpError> {
        if req.addresses.is_empty() || req.addresses.len() > ADDRESSES_MAX {
            return Err(invalid(format!(
                "give 1 to {ADDRESSES_MAX} addresses of the new peer"
            ))
            .field("addresses", ""));
        }
        let addresses = req
            .addresses
            .iter()
            .map(|a| normalize_address(a).map_err(|m| invalid(m).field("addresses", a.as_str())))
            .collect::<Result<Vec<_>, _>>()?;
        check_metadata(&req.metadata, req.zone.as_deref())?;
        if let Some(t) = &req.token
            && (t.is_empty()
                || t.len() > JOIN_TOKEN_MAX
                || t.chars().any(|c| !c.is_ascii_graphic()))
        {
            return Err(invalid(format!(
                "a join token is 1 to {JOIN_TOKEN_MAX} printable characters"
            ))
            .field("token", ""));
        }
        // Refuses at once when this node's store cannot take peers (the local store).
        self.store_for_joiners().await?;

        let existing = peers::list_peers(self.store()).await?;
        for p in &existing {
            if let Some(a) = addresses
                .iter()
                .find(|a| p.peer_addresses.contains(a) || p.client_addresses.contains(a))
            {
                return Err(OpError::new(
                    ErrorCode::Conflict,
                    format!("peer {} already has the address {a}", p.id),
                )
                .field("peer-id", p.id.to_string()));
            }
        }

        let holder = format!(
            "peer add {} (from {})",
            addresses[0],
            self.identity().peer_id
        );
        let guard = self
            .lock_object(&format!("{}{}", PEER_ADDRESS_LOCK, addresses[0]), &holder)
            .await?;
        let result = self.add_peer_locked(&addresses, req).await;
        let _ = guard.unlock().await;
        result
    }

    /// The join itself. Crash-safe from both ends: the new node writes its peer record, with
    /// the requested metadata and address, in one registration (nothing is left to apply
    /// after it answers); and when the call breaks after it was sent, the outcome is read
    /// from the store — the new node's record appeared: it joined; else a tombstone
    /// (`removed/<id>`, written only while no record exists) makes it reset itself should it
    /// have joined all the same — so the answer is true either way.
    pub(super) async fn add_peer_locked(
        &self,
        addresses: &[String],
        req: PeerAddReq,
    ) -> Result<Peer, OpError> {
        let secret = self.ensure_cluster_secret()?;
        let me = self.identity();
        let mut metadata = req.metadata.clone();
        if let Some(z) = &req.zone {
            metadata.insert(ZONE_KEY.into(), z.clone());
        }
        let mut last_err = None;
        let mut joined = None;
        for address in addresses {
            // Both ends learn how the other host reaches them: this node by the route toward
            // the new peer, the new peer by the address it was reached at.
            let joiner_ip = match self.learn_address_toward(address).await {
                Ok(ip) => ip,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            let joiner = match self.peers.peer_id(address).await {
                Ok(id) => id,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            let (store, endpoints) = self.store_for_joiners().await?;
            let join = JoinReq {
                cluster_id: me.cluster_id,
                cluster_secret: secret.clone(),
                initiator: me.peer_id,
                store,
                endpoints,
                joiner_ip,
                join_token: req.token.clone(),
                metadata: metadata.clone(),
                reached_at: Some(address.clone()),
            };
            failpoint::hit("peer-add:before-join").await;
            match self
                .peers
                .post::<_, Peer>(address, "/v1/internal/join", None, &join)
                .await
            {
                Ok(peer) => {
                    joined = Some((address.clone(), peer));
                    break;
                }
                Err(e @ PeerCallError::Unreachable { .. }) => last_err = Some(e),
                Err(e @ PeerCallError::Interrupted { .. }) => {
                    match self.join_outcome(joiner).await? {
                        Some(peer) => {
                            joined = Some((address.clone(), peer));
                            break;
                        }
                        None => {
                            return Err(OpError::new(
                                ErrorCode::Generic,
                                format!(
                                    "cannot add the peer: {e}; it did not join (should it think it \
                                     did, it resets itself when it next starts)"
                                ),
                            ));
                        }
                    }
                }
                Err(e) => return Err(join_refused(e)),
            }
        }
        let Some((address, peer)) = joined else {
            return Err(join_refused(
                last_err.expect("at least one address was tried"),
            ));
        };
        failpoint::hit("peer-add:after-join").await;
        tracing::info!(peer = %peer.id, %address, "peer joined");
        gd_core::events::emit(
            self.store(),
            gd_core::events::EventRecord::new(
                self.identity().peer_id,
                "peer.added",
                format!("peer {address} ({}) joined the cluster", peer.name),
            )
            .field("peer", peer.id.to_string())
            .field("address", address.clone()),
        )
        .await;
        // Answer once the new peer shows online (bounded).
        let deadline = tokio::time::Instant::now() + JOIN_ONLINE_WAIT;
        loop {
            if let Some(p) = peers::get_peer(self.store(), peer.id).await?
                && (p.online || tokio::time::Instant::now() >= deadline)
            {
                return Ok(p);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(peer);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether `joiner`, whose join call broke after it was sent, joined: waits (bounded) for
    /// its peer record; without one, writes its tombstone — only while it still has no record
    /// — so that it can never join later on the strength of that call.
    async fn join_outcome(&self, joiner: Uuid) -> Result<Option<Peer>, OpError> {
        let deadline = tokio::time::Instant::now() + failpoint::scaled(JOIN_OUTCOME_WAIT);
        loop {
            if let Some(p) = peers::get_peer(self.store(), joiner).await? {
                return Ok(Some(p));
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let fenced = self
            .store()
            .txn(
                Txn::new()
                    .when([Compare::absent(peer_key(joiner))])
                    .and_then([TxnOp::put(
                        format!("{REMOVED}{joiner}"),
                        record::encode(&Tombstone {
                            removed_by: self.identity().peer_id,
                        }),
                    )]),
            )
            .await?;
        if fenced.succeeded {
            tracing::warn!(peer = %joiner, "a join was interrupted and did not complete; the node is fenced off");
            return Ok(None);
        }
        Ok(peers::get_peer(self.store(), joiner).await?)
    }

    /// `POST /v1/peers/{id}`.
    pub async fn edit_peer(&self, id: Uuid, req: PeerEditReq) -> Result<Peer, OpError> {
        check_metadata(&req.metadata, req.zone.as_deref())?;
        for k in &req.delete_metadata {
            if k.starts_with('_') {
                return Err(invalid(format!(
                    "metadata key {k:?} is reserved (keys starting with '_')"
                ))
                .field("key", k.as_str()));
            }
        }
        let current = peers::get_peer(self.store(), id)
            .await?
            .ok_or_else(|| peer_not_found(id))?;
        let mut merged = current.metadata.clone();
        merged.extend(req.metadata.clone());
        for k in &req.delete_metadata {
            merged.remove(k);
        }
        check_metadata_size(&merged)?;
        self.update_peer_record(id, |rec| {
            rec.metadata.extend(req.metadata.clone());
            for k in &req.delete_metadata {
                rec.metadata.remove(k);
            }
            if let Some(z) = &req.zone {
                rec.metadata.insert(ZONE_KEY.into(), z.clone());
            }
        })
        .await?;
        peers::get_peer(self.store(), id)
            .await?
            .ok_or_else(|| peer_not_found(id))
    }

    /// A compare-and-swap edit of a peer record; retried a few times on a concurrent change.
    pub(super) async fn update_peer_record(
        &self,
        id: Uuid,
        edit: impl Fn(&mut PeerRecord),
    ) -> Result<(), OpError> {
        let key = peer_key(id);
        for _ in 0..5 {
            let kv = self
                .store()
                .get(&key)
                .await?
                .ok_or_else(|| peer_not_found(id))?;
            let mut rec: PeerRecord = record::decode(&key, &kv.value)?;
            edit(&mut rec);
            let txn = Txn::new()
                .when([Compare::mod_revision(
                    &key,
                    CompareOp::Equal,
                    kv.mod_revision,
                )])
                .and_then([TxnOp::put(&key, record::encode(&rec))]);
            if self.store().txn(txn).await?.succeeded {
                return Ok(());
            }
        }
        Err(OpError::new(
            ErrorCode::OperationInProgress,
            format!("peer {id} is being changed concurrently; try again"),
        ))
    }

    /// `DELETE /v1/peers/{id}`.
    pub async fn remove_peer(&self, id: Uuid, force: bool) -> Result<(), OpError> {
        let me = self.identity().peer_id;
        if id == me {
            return Err(invalid(
                "removing this node itself is not allowed; remove it from another peer",
            ));
        }
        let peer = peers::get_peer(self.store(), id)
            .await?
            .ok_or_else(|| peer_not_found(id))?;
        if hosts_bricks(self.store(), id).await? {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!("peer {id} hosts bricks; remove its bricks first"),
            ));
        }
        let guard = self
            .lock_object(&format!("{}{id}", PEER_LOCK), &format!("peer remove {id}"))
            .await?;
        let result = match self.hand_over_member(id).await {
            Ok(()) => self.remove_peer_locked(&peer, force).await,
            Err(e) => Err(e),
        };
        let _ = self.store().delete(&format!("{STORE_LEAVING}{id}")).await;
        let _ = guard.unlock().await;
        if result.is_ok() {
            let label = peers::peer_label(&peer);
            gd_core::events::emit(
                self.store(),
                gd_core::events::EventRecord::new(
                    me,
                    "peer.removed",
                    format!("peer {label} was removed from the cluster"),
                )
                .field("peer", id.to_string())
                .field("address", label),
            )
            .await;
        }
        result
    }

    /// When the peer runs an etcd member, marks it leaving and waits (bounded) until the
    /// membership controller has moved the member elsewhere and removed it.
    pub(super) async fn hand_over_member(&self, id: Uuid) -> Result<(), OpError> {
        let key = format!("{STORE_MEMBERS}{id}");
        if self.store().get(&key).await?.is_none() {
            return Ok(());
        }
        tracing::info!(peer = %id, "peer runs an etcd member; handing it over before removal");
        // Bound to this node's lease: a removal whose initiator dies leaves no mark behind.
        let lease = self.lease().await?;
        self.store()
            .put(&format!("{STORE_LEAVING}{id}"), b"{}".to_vec(), Some(lease))
            .await?;
        let deadline = tokio::time::Instant::now() + MEMBER_HANDOVER_MAX;
        loop {
            // The store may stumble while its membership changes: keep asking until the bound.
            match self.store().get(&key).await {
                Ok(None) => break,
                Ok(Some(_)) => {}
                Err(e) => tracing::debug!(error = %e, "waiting for the member hand-over"),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(OpError::new(
                    ErrorCode::Conflict,
                    format!(
                        "peer {id} runs a member of the cluster's etcd and no other node could take it over within {} s \
                         (another live node with etcd installed is needed); nothing was removed",
                        MEMBER_HANDOVER_MAX.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// Removes the peer. The commit comes first, in one store transaction: its records go and
    /// its tombstone (`removed/<id>`) is written, which the peer obeys by resetting itself —
    /// at once when it is online (it watches for it), else when it comes back. Telling it to
    /// leave afterwards only makes that immediate; so a crash of either node at any moment
    /// leaves it either a member or, within seconds, a fresh node that the cluster no longer
    /// lists, never half.
    pub(super) async fn remove_peer_locked(&self, peer: &Peer, force: bool) -> Result<(), OpError> {
        let id = peer.id;
        if !peer.online && !force {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "peer {id} is offline and cannot be told to leave; remove it with force (it resets itself if it comes back)"
                ),
            ));
        }
        let secret = self.cluster_secret().ok_or_else(|| {
            OpError::new(
                ErrorCode::Internal,
                "this node has no cluster secret; it cannot address peers",
            )
        })?;
        failpoint::hit("peer-remove:before-commit").await;
        let ops = vec![
            TxnOp::delete(peer_key(id)),
            TxnOp::delete(peers::alive_key(id)),
            TxnOp::delete(format!("{STORE_NODES}{id}")),
            TxnOp::put(
                format!("{REMOVED}{id}"),
                record::encode(&Tombstone {
                    removed_by: self.identity().peer_id,
                }),
            ),
        ];
        // The txn is idempotent, and the etcd member of the peer may just have been removed,
        // breaking a connection under the request: repeat it within a bound.
        let txn = Txn::new().and_then(ops);
        let deadline = tokio::time::Instant::now() + REMOVAL_COMMIT_MAX;
        loop {
            match self.store().txn(txn.clone()).await {
                Ok(_) => break,
                Err(e) if e.retryable() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "peer removal not committed yet; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        failpoint::hit("peer-remove:after-commit").await;
        let mut told = false;
        if peer.online {
            let req = LeaveReq {
                initiator: self.identity().peer_id,
            };
            for address in peer
                .peer_addresses
                .iter()
                .chain(peer.client_addresses.iter())
            {
                match self
                    .peers
                    .post::<_, serde_json::Value>(
                        address,
                        "/v1/internal/leave",
                        Some(&secret),
                        &req,
                    )
                    .await
                {
                    Ok(_) => {
                        told = true;
                        break;
                    }
                    Err(e) => {
                        tracing::info!(peer = %id, error = %e, "the removed peer was not told; it obeys its tombstone");
                    }
                }
            }
        }
        tracing::info!(peer = %id, told, "peer removed");
        Ok(())
    }
}
