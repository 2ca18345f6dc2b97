//! The node's store backend and its own etcd member, as membership drives them: start and
//! drop the member, point the client at the voters, read how the node reaches its store.
//!
//! Why on the node: a join or reset replaces the backend (and bumps its generation) under the
//! same mutex these hold, so the member agent acts only on the cluster it read (see the
//! module above); the policy — what to start, when, with which peers — is `membership`'s.

use super::*;

impl Node {
    /// Starts this node's etcd member through its runner and records it, if the backend is
    /// still of `generation` (else starts nothing and returns `false`). `fresh` clears the
    /// leftovers of an earlier membership first. Holds the backend mutex throughout, so a
    /// join or reset never sees a half-started member.
    pub async fn start_own_member(
        &self,
        generation: u64,
        initial_cluster: Option<String>,
        fresh: bool,
    ) -> anyhow::Result<bool> {
        let mut backend = self.backend.lock().await;
        let Some(b) = backend.as_mut() else {
            return Ok(false);
        };
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(false);
        }
        if fresh {
            let _ = std::fs::remove_dir_all(member_data_dir(&self.config));
        }
        // Recorded before the start: a node killed while its member starts must restart that
        // member from its data, not wipe it as a stranger's.
        let was_member = b.state.member;
        b.state.member = true;
        b.state.joined = true;
        b.state.save_or_log(&self.config.localstatedir);
        let started = self
            .runner
            .start(
                &self.config,
                &self.addresses.etcd_urls(),
                &self.identity().peer_id.to_string(),
                initial_cluster,
                false,
            )
            .await;
        let process = match started {
            Ok(p) => p,
            Err(e) => {
                b.state.member = was_member;
                b.state.save_or_log(&self.config.localstatedir);
                return Err(e);
            }
        };
        if let Some(old) = b.member.replace(process) {
            let _ = old.stop().await;
        }
        Ok(true)
    }

    /// Stops this node's etcd member for good (the cluster removed it) and deletes its data,
    /// if the backend is still of `generation`; returns whether it did.
    pub async fn drop_own_member(&self, generation: u64) -> bool {
        let mut backend = self.backend.lock().await;
        let Some(b) = backend.as_mut() else {
            return false;
        };
        if self.generation.load(Ordering::SeqCst) != generation {
            return false;
        }
        b.state.member = false;
        b.state.joined = true;
        b.state.save_or_log(&self.config.localstatedir);
        if let Some(p) = b.member.take() {
            let _ = p.stop().await;
        }
        let _ = std::fs::remove_dir_all(member_data_dir(&self.config));
        true
    }

    /// The etcd client of a managed or external store.
    pub async fn etcd_client(&self) -> Option<Arc<gd_store::EtcdStore>> {
        let backend = self.backend.lock().await;
        backend
            .as_ref()
            .filter(|b| b.state.mode == StoreMode::Managed)
            .and_then(|b| b.etcd.clone())
    }

    /// How this node reaches its store now, and the backend's generation.
    pub async fn store_state(&self) -> Option<(StoreState, u64)> {
        let backend = self.backend.lock().await;
        let generation = self.generation.load(Ordering::SeqCst);
        backend.as_ref().map(|b| (b.state.clone(), generation))
    }

    /// Whether this node runs an etcd member process.
    pub async fn member_running(&self) -> bool {
        self.backend
            .lock()
            .await
            .as_ref()
            .is_some_and(|b| b.member.is_some())
    }

    /// Points the etcd client at `voters` and persists them, so a restart finds the cluster's
    /// store, if the backend is still of `generation`. `clustered`: the cluster has more than
    /// this node.
    pub async fn update_endpoints(&self, generation: u64, voters: Vec<String>, clustered: bool) {
        let mut backend = self.backend.lock().await;
        let Some(b) = backend.as_mut() else { return };
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let mut voters = voters;
        voters.sort();
        let mut current = b.state.endpoints.clone();
        current.sort();
        if current == voters && (b.state.joined || !clustered) {
            return;
        }
        if let Some(etcd) = &b.etcd
            && let Err(e) = etcd.set_endpoints(&b.state.endpoints, &voters).await
        {
            tracing::warn!(error = %e, "cannot update the etcd endpoints");
            return;
        }
        tracing::info!(endpoints = %voters.join(","), "etcd endpoints updated");
        b.state.endpoints = voters;
        b.state.joined |= clustered;
        b.state.save_or_log(&self.config.localstatedir);
    }
}
