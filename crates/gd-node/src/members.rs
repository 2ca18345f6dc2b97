//! The records of the elastic etcd (`store/nodes/<id>`, `store/members/<id>`), and the two
//! a node writes about itself: as a candidate for a member, and as the founder's member.
//!
//! Why apart from `membership`: the node writes these while it joins or founds a cluster,
//! and the controller and member agent (which take the node) read them; with the records
//! here, neither module needs the other.

use gd_core::keys::{STORE_MEMBERS, STORE_NODES};
use gd_store::{
    EtcdStore, Store, StoreError,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::address::EtcdUrls;

/// A managed node's etcd URLs, published so the controller can make it a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NodeRecord {
    pub client_url: String,
    pub peer_url: String,
}

impl Record for NodeRecord {
    const KIND: &'static str = "store-node";
    const VERSION: u32 = 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Learner,
    Voter,
}

/// An etcd member, as the cluster records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MemberRecord {
    pub client_url: String,
    pub peer_url: String,
    pub role: Role,
    /// etcd's id of the member.
    pub member_id: u64,
    /// `--initial-cluster` for a member that starts new; empty for the founder.
    #[serde(default)]
    pub initial_cluster: String,
}

impl Record for MemberRecord {
    const KIND: &'static str = "store-member";
    const VERSION: u32 = 2;
}

/// Publishes this node as a candidate for an etcd member, with its member's URLs, when etcd is
/// installed here (written only when it changes: with the configuration or a learned address).
pub async fn publish_candidate(
    store: &dyn Store,
    me: Uuid,
    urls: EtcdUrls,
) -> Result<(), StoreError> {
    if !crate::store::on_path("etcd") {
        return Ok(());
    }
    let rec = NodeRecord {
        client_url: urls.client,
        peer_url: urls.peer,
    };
    let key = format!("{STORE_NODES}{me}");
    if store.get(&key).await?.map(|kv| kv.value) != Some(record::encode(&rec)) {
        store.put(&key, record::encode(&rec), None).await?;
    }
    Ok(())
}

/// The founder of a managed cluster records its own member.
pub async fn register_founder(
    store: &dyn Store,
    me: Uuid,
    urls: EtcdUrls,
    etcd: &EtcdStore,
) -> Result<(), StoreError> {
    let key = format!("{STORE_MEMBERS}{me}");
    if store.get(&key).await?.is_some() {
        return Ok(());
    }
    let Some(m) = etcd
        .members()
        .await?
        .into_iter()
        .find(|m| m.name == me.to_string())
    else {
        return Ok(());
    };
    let rec = MemberRecord {
        client_url: urls.client,
        peer_url: urls.peer,
        role: Role::Voter,
        member_id: m.id,
        initial_cluster: String::new(),
    };
    store.put(&key, record::encode(&rec), None).await?;
    Ok(())
}
