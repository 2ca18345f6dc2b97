//! Membership as the joining or leaving node sees it, its join token, and the addresses it learns at a join.

use super::*;
use gd_core::keys::{REMOVED, STORE_MEMBERS};

impl Node {
    // ---- membership, joining/leaving side ----

    /// `POST /v1/internal/join`: joins the initiator's cluster, if this node is alone.
    pub async fn join(&self, req: JoinReq) -> Result<Peer, OpError> {
        // The proof comes first: a caller without it learns nothing about this node.
        self.check_join_token(req.join_token.as_deref())?;
        let mut backend_slot = self.backend.lock().await;
        let Some(backend) = backend_slot.as_ref() else {
            return Err(OpError::new(
                ErrorCode::StoreUnavailable,
                "this node is shutting down",
            ));
        };
        let me = self.identity();
        if req.cluster_id == me.cluster_id {
            return Err(OpError::new(
                ErrorCode::Conflict,
                "this node is already a member of that cluster",
            ));
        }
        if backend.state.mode == StoreMode::Local {
            return Err(OpError::new(
                ErrorCode::Conflict,
                "this node uses the local store, which serves one node only; restart it with --store managed \
                 (etcd installed) or --store etcd --etcdendpoints URLS to let it join a cluster",
            ));
        }
        if req.endpoints.is_empty() || req.cluster_secret.len() < 32 {
            return Err(invalid(
                "join request without store endpoints or with a short cluster secret",
            ));
        }
        self.ensure_alone().await?;
        // The initiator reached this node at `joiner_ip`: that is how other hosts reach it.
        if let Some(ip) = req.joiner_ip
            && let Err(e) = self.addresses.learn(ip)
        {
            tracing::warn!(error = %format!("{e:#}"), "cannot record this node's address");
        }

        let mode = match req.store {
            StoreKind::Managed => StoreMode::Managed,
            StoreKind::Etcd => StoreMode::Etcd,
        };
        let state = StoreState {
            mode,
            endpoints: req.endpoints.clone(),
            member: false,
            joined: true,
        };
        // Reach the cluster's store before changing anything here.
        let next = open_backend(
            self.runner.as_ref(),
            &self.config,
            &self.addresses.etcd_urls(),
            &me.peer_id.to_string(),
            state.clone(),
            true,
        )
        .await
        .map_err(|e| {
            OpError::new(
                ErrorCode::StoreUnavailable,
                format!("cannot reach the cluster's store: {e:#}"),
            )
        })?;
        // This node is alone, so a tombstone of its id in that cluster is from a removal it has
        // since obeyed (or a join that never completed): it must not undo this join.
        Namespaced::new(
            next.raw.clone(),
            cluster_namespace(&req.cluster_id.to_string()),
        )
        .delete(&format!("{REMOVED}{}", me.peer_id))
        .await
        .map_err(|e| {
            OpError::new(
                ErrorCode::StoreUnavailable,
                format!("cannot reach the cluster's store: {e}"),
            )
        })?;
        let new_identity = Identity {
            peer_id: me.peer_id,
            cluster_id: req.cluster_id,
        };
        let dir = &self.config.localstatedir;
        failpoint::hit("peer-join:before-persist").await;
        let joined_as = JoinedAs {
            metadata: req.metadata.clone(),
            address: req.reached_at.clone(),
        };
        let persisted = cluster_secret::save(dir, &req.cluster_secret)
            .and_then(|_| state.save(dir))
            .and_then(|_| joined_as.save(dir))
            .and_then(|_| new_identity.save(dir));
        if let Err(e) = persisted {
            let _ = cluster_secret::remove(dir);
            let _ = StoreState::remove(dir);
            JoinedAs::remove(dir);
            let _ = me.save(dir);
            return Err(OpError::new(
                ErrorCode::Internal,
                format!("cannot record the new cluster membership: {e:#}"),
            ));
        }

        failpoint::hit("peer-join:after-persist").await;
        // Commit: leave the old store for the cluster's.
        self.liveness.withdraw().await;
        self.store
            .switch(cluster_view(&next, req.cluster_id, &self.metrics));
        let Some(old) = backend_slot.replace(next) else {
            return Err(OpError::new(
                ErrorCode::Internal,
                "the store backend vanished during the join",
            ));
        };
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.identity.write().unwrap_or_else(|e| e.into_inner()) = new_identity;
        *self
            .cluster_secret
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(req.cluster_secret.clone());
        old.close().await;
        // A lone member held only this node's own record; the cluster's store is the truth
        // now. (Removed even when the state does not say member: a start cut short leaves a
        // data directory behind.)
        let _ = std::fs::remove_dir_all(member_data_dir(&self.config));
        drop(backend_slot);

        // Liveness resumes even when registering fails: the node is in the cluster now, and
        // its record follows with the next registration.
        let registered = self.register().await;
        self.liveness.resume();
        registered?;
        self.liveness.wait_published(Duration::from_secs(5)).await;
        failpoint::hit("peer-join:after-register").await;
        tracing::info!(cluster = %req.cluster_id, initiator = %req.initiator, "joined the cluster");
        peers::get_peer(self.store(), me.peer_id)
            .await?
            .ok_or_else(|| {
                OpError::new(
                    ErrorCode::Internal,
                    "registered, but the peer record is missing",
                )
            })
    }

    /// `POST /v1/internal/leave` (authenticated with the cluster secret).
    pub async fn leave(&self, req: LeaveReq) -> Result<(), OpError> {
        let me = self.identity().peer_id;
        if hosts_bricks(self.store(), me).await? {
            return Err(OpError::new(
                ErrorCode::Conflict,
                "this node hosts bricks; remove them first",
            ));
        }
        tracing::info!(initiator = %req.initiator, "told to leave the cluster");
        failpoint::hit("peer-leave:before-reset").await;
        self.obey_removal().await?;
        failpoint::hit("peer-leave:after-reset").await;
        Ok(())
    }

    /// Resets this node if its cluster has removed it (its tombstone `removed/<id>` is in the
    /// store); returns whether it did. Called when told to leave, and on every change of the
    /// tombstone (the initiator of a removal commits it before telling the node, and may die
    /// in between).
    pub async fn obey_removal(&self) -> Result<bool, OpError> {
        let _once = self.removal.lock().await;
        let me = self.identity().peer_id;
        if self.store().get(&format!("{REMOVED}{me}")).await?.is_none() {
            return Ok(false);
        }
        tracing::warn!("this node was removed from its cluster; resetting to a fresh node");
        self.reset().await?;
        Ok(true)
    }

    /// Follows this node's tombstone and obeys it ([`Node::obey_removal`]), until cancelled.
    pub async fn watch_removal(self: Arc<Self>, cancel: tokio_util::sync::CancellationToken) {
        gd_store::follow_prefix(
            self.store.as_ref(),
            REMOVED,
            REMOVAL_RECHECK,
            &cancel,
            |ev| ev.key.ends_with(&self.identity().peer_id.to_string()),
            || async {
                // The initiator of a removal tells the node to leave right after committing it:
                // give that call the lead, so a removal is obeyed one way, and watch only for
                // an initiator that died in between.
                let tombstone = format!("{REMOVED}{}", self.identity().peer_id);
                if matches!(self.store().get(&tombstone).await, Ok(Some(_))) {
                    tokio::time::sleep(REMOVAL_GRACE).await;
                }
                if let Err(e) = self.obey_removal().await {
                    tracing::warn!(error = %e.message, "cannot obey this node's removal yet; retrying");
                }
            },
        )
        .await
    }

    /// Goes back to a fresh single-node state: a new cluster id, no cluster secret, the store
    /// the configuration asks for (a managed node starts a new etcd member of its own).
    pub(super) async fn reset(&self) -> Result<(), OpError> {
        let mut backend_slot = self.backend.lock().await;
        let dir = self.config.localstatedir.clone();
        let me = self.identity();
        let new_identity = Identity {
            peer_id: me.peer_id,
            cluster_id: Uuid::new_v4(),
        };
        self.liveness.withdraw().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(old) = backend_slot.take() {
            old.close().await;
        }
        // Whatever member data this node has belongs to the cluster it leaves, including that
        // of a member whose start was cut short (the state does not say member then).
        let _ = std::fs::remove_dir_all(member_data_dir(&self.config));
        let fail = |e: anyhow::Error| {
            OpError::new(
                ErrorCode::Internal,
                format!("cannot reset this node: {e:#}"),
            )
        };
        StoreState::remove(&dir).map_err(fail)?;
        cluster_secret::remove(&dir).map_err(fail)?;
        JoinedAs::remove(&dir);
        // A token the old cluster saw must not let anyone make this node join again.
        crate::identity::write_atomic(
            &self.config.join_token_file(),
            gd_auth::generate_secret().as_bytes(),
        )
        .map_err(fail)?;
        new_identity.save(&dir).map_err(fail)?;
        *self.identity.write().unwrap_or_else(|e| e.into_inner()) = new_identity;
        *self
            .cluster_secret
            .write()
            .unwrap_or_else(|e| e.into_inner()) = None;
        let urls = self.addresses.etcd_urls();
        let (state, _) = StoreState::fresh(&self.config, &urls);
        let next = open_backend(
            self.runner.as_ref(),
            &self.config,
            &urls,
            &me.peer_id.to_string(),
            state,
            true,
        )
        .await
        .map_err(fail)?;
        self.store
            .switch(cluster_view(&next, new_identity.cluster_id, &self.metrics));
        *backend_slot = Some(next);
        drop(backend_slot);
        // A failed registration is retried by the caller; liveness resumes either way.
        let registered = self.register().await;
        self.liveness.resume();
        registered?;
        tracing::info!(cluster = %new_identity.cluster_id, "now a fresh single-node cluster");
        Ok(())
    }

    /// Whether `given` is this node's join token (always, with `peer-join = "open"`).
    pub(super) fn check_join_token(&self, given: Option<&str>) -> Result<(), OpError> {
        if self.config.peer_join == PeerJoin::Open {
            return Ok(());
        }
        let path = self.config.join_token_file();
        let expected = gd_auth::read_secret(&path).map_err(|e| {
            OpError::new(
                ErrorCode::Internal,
                format!("cannot read this node's join token {}: {e}", path.display()),
            )
        })?;
        match given {
            Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(OpError::new(
                ErrorCode::Unauthorized,
                "the join token is not this node's (glustercli peer token on it shows it)",
            )),
            None => Err(OpError::new(
                ErrorCode::Unauthorized,
                "this node joins a cluster only when shown its join token: run glustercli peer token \
                 on it and pass the token with peer add --token",
            )),
        }
    }

    /// This node's join token, created when missing.
    pub fn join_token(&self) -> Result<String, OpError> {
        let path = self.config.join_token_file();
        gd_auth::load_or_create_secret(&path).map_err(|e| {
            OpError::new(
                ErrorCode::Internal,
                format!(
                    "cannot read or create the join token {}: {e}",
                    path.display()
                ),
            )
        })
    }

    // ---- addresses ----

    /// Resolves `address` (`host:port`; a name by a bounded forward lookup, never a reverse
    /// one) and, when this node derives its addresses, learns the source address of the route
    /// toward it, re-advertising itself when that is new. Returns the IP the peer is reached
    /// at.
    pub(super) async fn learn_address_toward(
        &self,
        address: &str,
    ) -> Result<Option<std::net::IpAddr>, PeerCallError> {
        let unreachable = |reason: String| PeerCallError::Unreachable {
            address: address.to_owned(),
            reason,
        };
        let target = match tokio::time::timeout(LOOKUP_MAX, tokio::net::lookup_host(address)).await
        {
            Ok(Ok(mut addrs)) => addrs
                .next()
                .ok_or_else(|| unreachable("the name has no address".into()))?,
            Ok(Err(e)) => return Err(unreachable(format!("cannot resolve it: {e}"))),
            Err(_) => {
                return Err(unreachable(format!(
                    "resolving it took longer than {} s",
                    LOOKUP_MAX.as_secs()
                )));
            }
        };
        if let Some(ip) = address::source_toward(target) {
            match self.addresses.learn(ip) {
                Ok(true) => {
                    if let Err(e) = self.readvertise().await {
                        tracing::warn!(error = %e.message, "cannot publish this node's new address yet");
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "cannot record this node's address")
                }
            }
        }
        Ok(Some(target.ip()))
    }

    /// Publishes this node's addresses after it learned a new one: its peer record and, when
    /// it runs an etcd member, the member's URLs (in etcd and in its records), so the next
    /// joiner is told an endpoint it can reach.
    pub(super) async fn readvertise(&self) -> Result<(), OpError> {
        let removed = format!("{REMOVED}{}", self.identity().peer_id);
        peers::upsert_self(self.store(), self.self_record(), &removed).await?;
        let Some(etcd) = self.etcd_client().await else {
            return Ok(());
        };
        if !self.member_running().await {
            return Ok(());
        }
        let me = self.identity().peer_id;
        let urls = self.addresses.etcd_urls();
        // etcd's own member list first: the record may not be written yet (a founder that is
        // still registering), and the next member's initial cluster comes from etcd.
        if let Some(m) = etcd
            .members()
            .await?
            .into_iter()
            .find(|m| m.name == me.to_string())
            && m.peer_urls != [urls.peer.clone()]
        {
            etcd.update_peer_url(m.id, &urls.peer).await?;
        }
        let key = format!("{STORE_MEMBERS}{me}");
        if let Some(kv) = self.store().get(&key).await? {
            let mut m: MemberRecord = record::decode(&key, &kv.value)?;
            m.client_url = urls.client.clone();
            m.peer_url = urls.peer.clone();
            self.store().put(&key, record::encode(&m), None).await?;
        }
        members::publish_candidate(
            self.store.as_ref(),
            self.identity().peer_id,
            self.addresses.etcd_urls(),
        )
        .await?;
        tracing::info!(client = %urls.client, peer = %urls.peer, "etcd member re-advertised");
        Ok(())
    }
}

/// What a node that joined starts its peer record with (the metadata the initiator was asked
/// for, the address it was reached at), kept in `<localstatedir>/joined-as.json` from the
/// join until the record is written: a node that dies in between registers it when it
/// restarts, so a join never ends with a record that lacks them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct JoinedAs {
    pub metadata: BTreeMap<String, String>,
    pub address: Option<String>,
}

impl JoinedAs {
    const FILE: &'static str = "joined-as.json";

    fn save(&self, dir: &std::path::Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec(self)?;
        crate::identity::write_atomic(&dir.join(Self::FILE), &json)
    }

    /// The pending one, if any (an unreadable file counts as none: the record then starts
    /// without them, as before this file existed).
    pub(super) fn load(dir: &std::path::Path) -> Option<JoinedAs> {
        let bytes = std::fs::read(dir.join(Self::FILE)).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(j) => Some(j),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable joined-as.json");
                None
            }
        }
    }

    pub(super) fn remove(dir: &std::path::Path) {
        let _ = std::fs::remove_file(dir.join(Self::FILE));
    }
}
