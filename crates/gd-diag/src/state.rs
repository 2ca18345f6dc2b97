//! `GET /v1/state` (GD1's `get-state`): one node's view, for support bundles. Everything comes
//! from the store (the cluster's records and what each node published) and this node's own
//! pid files; a store that cannot answer fails the request (a stale view is marked by the REST
//! layer as for any read).

use gd_api::{NodeSelf, NodeState, ServiceState, StoreMember, StoreView, VolumeStatus};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::members::Role;
use gd_volume::{
    model::{self as volumes, VolumeState},
    processes::{self, bricks},
};

/// This node's view of the cluster.
pub async fn state(cx: &Cluster) -> Result<NodeState, OpError> {
    let node = &cx.node;
    let store = node.store.as_ref();
    let me = node.identity().peer_id;
    let peers = gd_node::peers::list_peers(store).await?;
    let own = peers.iter().find(|p| p.id == me);
    let (mode, endpoints, member) = match node.store_state().await {
        Some((s, _)) => (s.mode.to_string(), s.endpoints, s.member),
        None => ("unknown".to_owned(), vec![], false),
    };
    let members = gd_node::membership::list_members(store)
        .await?
        .into_iter()
        .map(|(peer_id, m)| StoreMember {
            peer_id,
            client_url: m.client_url,
            role: match m.role {
                Role::Voter => "voter",
                Role::Learner => "learner",
            }
            .to_owned(),
        })
        .collect();
    let mut vols = volumes::list_volumes(store).await?;
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out_volumes = vec![];
    let mut services = vec![];
    for vol in &vols {
        let statuses = processes::brick_statuses(store, vol).await?;
        for b in statuses.iter().filter(|b| b.info.peer_id == me) {
            services.push(ServiceState {
                kind: "brick".into(),
                volume: vol.name.clone(),
                name: format!("{}:{}", b.info.host, b.info.path),
                online: b.online,
                pid: b.pid,
                port: b.port,
            });
        }
        let here = vol.bricks().any(|b| b.peer_id == me);
        if here && vol.state == VolumeState::Started && vol.wants_self_heal_daemon() {
            let shd = bricks::running_shd(&processes::shd_pidfile(node, &vol.name), &vol.name);
            services.push(ServiceState {
                kind: "self-heal daemon".into(),
                volume: vol.name.clone(),
                name: format!("shd/{}", vol.name),
                online: shd.is_some(),
                pid: shd.map_or(0, |p| p.pid),
                port: 0,
            });
        }
        out_volumes.push(VolumeStatus {
            online: statuses.iter().all(|b| b.online),
            size: gd_volume::volumes::volume_size_of(vol, &statuses),
            info: vol.to_api(),
            bricks: statuses,
        });
    }
    let tasks = gd_core::task::list(store)
        .await?
        .into_iter()
        .map(gd_core::task::TaskRecord::to_api)
        .collect();
    Ok(NodeState {
        node: NodeSelf {
            id: me,
            name: own.map_or_else(gd_node::node::hostname, |p| p.name.clone()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            peer_addresses: own.map(|p| p.peer_addresses.clone()).unwrap_or_default(),
            client_addresses: own.map(|p| p.client_addresses.clone()).unwrap_or_default(),
        },
        store: StoreView {
            mode,
            endpoints,
            member,
            members,
        },
        peers,
        volumes: out_volumes,
        services,
        tasks,
    })
}
