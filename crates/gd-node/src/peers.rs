//! Peer records in the store, and the API view of them.
//!
//! Keys (relative to the cluster namespace):
//! - `peers/<peer-id>`: the [`PeerRecord`], written when a node joins or edits itself;
//! - `alive/<peer-id>`: the [`AliveRecord`], bound to the node's lease (see [`crate::liveness`]).
//!
//! `online` is never stored: it is the presence of the alive key, so a dead node goes offline
//! without anyone writing anything.

use std::collections::BTreeMap;

use gd_api::Peer;
use gd_core::keys::{ALIVE, PEERS};
use gd_store::{
    Compare, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The metadata key of a peer's failure zone; defaults to the peer's own id (as GD2).
pub const ZONE_KEY: &str = "_zone";

/// Bounds a listing so one request cannot pull an unbounded answer from the store.
pub const PEERS_MAX: usize = 10_000;

pub fn peer_key(id: Uuid) -> String {
    format!("{PEERS}{id}")
}

pub fn alive_key(id: Uuid) -> String {
    format!("{ALIVE}{id}")
}

/// A peer as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PeerRecord {
    pub id: Uuid,
    pub name: String,
    pub peer_addresses: Vec<String>,
    pub client_addresses: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

impl Record for PeerRecord {
    const KIND: &'static str = "peer";
    const VERSION: u32 = 1;
}

/// The value of a live node's `alive/<id>` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliveRecord {
    pub pid: u32,
    /// The glusterd2 release the node runs.
    pub version: String,
}

impl Record for AliveRecord {
    const KIND: &'static str = "alive";
    const VERSION: u32 = 1;
}

impl PeerRecord {
    /// The API view, with liveness joined in.
    pub fn to_api(&self, alive: Option<&AliveRecord>) -> Peer {
        Peer {
            id: self.id,
            name: self.name.clone(),
            peer_addresses: self.peer_addresses.clone(),
            client_addresses: self.client_addresses.clone(),
            online: alive.is_some(),
            pid: alive.map(|a| a.pid),
            metadata: self.metadata.clone(),
        }
    }
}

/// Writes this node's own record, keeping metadata set earlier (by an edit) and refreshing the
/// addresses and name, which may change between starts.
pub async fn upsert_self(
    store: &dyn Store,
    mut me: PeerRecord,
    unless: &str,
) -> Result<bool, StoreError> {
    let key = peer_key(me.id);
    if let Some(kv) = store.get(&key).await? {
        let old: PeerRecord = record::decode(&key, &kv.value)?;
        for (k, v) in old.metadata {
            me.metadata.entry(k).or_insert(v);
        }
        // The names users added this node by stay first (its IPs are this node's to say).
        let mut names: Vec<String> = old
            .peer_addresses
            .into_iter()
            .filter(|a| !is_ip_address(a) && !me.peer_addresses.contains(a))
            .collect();
        names.append(&mut me.peer_addresses);
        me.peer_addresses = names;
    }
    me.metadata
        .entry(ZONE_KEY.to_owned())
        .or_insert_with(|| me.id.to_string());
    if store.get(&key).await?.map(|kv| kv.value) == Some(record::encode(&me)) {
        return Ok(true);
    }
    let written = store
        .txn(
            Txn::new()
                .when([Compare::absent(unless)])
                .and_then([TxnOp::put(&key, record::encode(&me))]),
        )
        .await?;
    Ok(written.succeeded)
}

/// Whether `address` (`host:port` or a bare host) names its host by an IP literal.
pub fn is_ip_address(address: &str) -> bool {
    address.parse::<std::net::SocketAddr>().is_ok() || address.parse::<std::net::IpAddr>().is_ok()
}

/// One peer, with its liveness.
pub async fn get_peer(store: &dyn Store, id: Uuid) -> Result<Option<Peer>, StoreError> {
    let key = peer_key(id);
    let Some(kv) = store.get(&key).await? else {
        return Ok(None);
    };
    let rec: PeerRecord = record::decode(&key, &kv.value)?;
    let alive = match store.get(&alive_key(id)).await? {
        Some(kv) => Some(record::decode::<AliveRecord>(&kv.key, &kv.value)?),
        None => None,
    };
    Ok(Some(rec.to_api(alive.as_ref())))
}

/// The peers `ids` (in that order; `None` for an unknown one), with liveness: one read of the
/// store per 64 peers, whatever their number.
pub async fn get_peers(store: &dyn Store, ids: &[Uuid]) -> Result<Vec<Option<Peer>>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(gd_store::MAX_TXN_OPS / 2) {
        let gets = chunk.iter().flat_map(|id| {
            [
                TxnOp::Get { key: peer_key(*id) },
                TxnOp::Get {
                    key: alive_key(*id),
                },
            ]
        });
        let resp = store.txn(Txn::new().and_then(gets)).await?;
        let mut found = resp.responses.into_iter().map(|r| match r {
            gd_store::TxnOpResponse::Get(kv) => kv,
            _ => None,
        });
        for _ in chunk {
            let (Some(peer), alive) = (found.next().flatten(), found.next().flatten()) else {
                out.push(None);
                continue;
            };
            let rec: PeerRecord = record::decode(&peer.key, &peer.value)?;
            let alive = match alive {
                Some(kv) => Some(record::decode::<AliveRecord>(&kv.key, &kv.value)?),
                None => None,
            };
            out.push(Some(rec.to_api(alive.as_ref())));
        }
    }
    Ok(out)
}

/// Which of `ids` are online now, in that order: one read per 64.
pub async fn online_of(store: &dyn Store, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
    Ok(ids
        .iter()
        .zip(get_peers(store, ids).await?)
        .filter(|(_, p)| p.as_ref().is_some_and(|p| p.online))
        .map(|(id, _)| *id)
        .collect())
}

/// Every peer, with liveness, in id order.
pub async fn list_peers(store: &dyn Store) -> Result<Vec<Peer>, StoreError> {
    let peers = store.range(PEERS, PEERS_MAX).await?;
    let alive = store.range(ALIVE, PEERS_MAX).await?;
    let mut alive_by_id = BTreeMap::new();
    for kv in &alive.kvs {
        let id = kv.key.strip_prefix(ALIVE).unwrap_or(&kv.key).to_owned();
        alive_by_id.insert(id, record::decode::<AliveRecord>(&kv.key, &kv.value)?);
    }
    peers
        .kvs
        .iter()
        .map(|kv| {
            let rec: PeerRecord = record::decode(&kv.key, &kv.value)?;
            Ok(rec.to_api(alive_by_id.get(&rec.id.to_string())))
        })
        .collect()
}

/// How messages name a node: its first peer address (what it was added by), else its id.
pub fn peer_label(p: &gd_api::Peer) -> String {
    p.peer_addresses
        .first()
        .or(p.client_addresses.first())
        .cloned()
        .unwrap_or_else(|| p.id.to_string())
}

/// [`peer_label`] of the node `id`, from the store; its id when the store has no record.
pub async fn node_label(store: &dyn Store, id: Uuid) -> String {
    match get_peer(store, id).await {
        Ok(Some(p)) => peer_label(&p),
        _ => id.to_string(),
    }
}
