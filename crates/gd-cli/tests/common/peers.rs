//! The fake's peers: the fixture peers, `/v1/peers` (list, add) and `/v1/peers/{id}` (edit,
//! remove), with GD2's metadata rules and the host-of-an-address helper volumes share.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, header::LOCATION},
    response::{IntoResponse, Response},
};
use gd_api::{ApiError, ErrorCode, ErrorResp, METADATA_BYTES_MAX, Peer, PeerAddReq, PeerEditReq};
use uuid::Uuid;

use super::{
    Behaviour,
    refusal::{Refusal, error, parse_body},
    server::AppState,
};

/// The id the fake daemon gives the peer `POST /v1/peers` adds.
pub const NEW_PEER_ID: &str = "3e0d9a8b-7c6f-4e5d-9a1b-2c3d4e5f6a7b";

/// The host `peer add` cannot reach (the fake daemon answers GD2's connect error).
pub const UNREACHABLE_HOST: &str = "unreachable.invalid";

/// The peers the fake daemon serves.
pub fn peers() -> Vec<Peer> {
    vec![
        Peer {
            id: "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01".parse().unwrap(),
            name: "node1".into(),
            peer_addresses: vec!["node1:24008".into()],
            client_addresses: vec!["10.0.0.1:24007".into()],
            online: true,
            pid: Some(1234),
            metadata: [("_zone".to_owned(), "z1".to_owned())].into(),
        },
        Peer {
            id: "0b7a3c1e-2f4d-4e5b-8c6d-7e8f9a0b1c2d".parse().unwrap(),
            name: "node2".into(),
            peer_addresses: vec!["node2:24008".into()],
            client_addresses: vec!["10.0.0.2:24007".into(), "[fd00::2]:24007".into()],
            online: false,
            pid: None,
            metadata: Default::default(),
        },
    ]
}

/// GD2's metadata rules: no `_` keys from users, at most 4 KiB of user keys and values.
fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), Refusal> {
    if metadata.keys().any(|k| k.starts_with('_')) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "key names starting with '_' are restricted in metadata field",
        ));
    }
    let size: usize = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if size > METADATA_BYTES_MAX {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "metadata size exceeds max allowed size of 4KB",
        ));
    }
    Ok(())
}

/// The host part of `host[:port]` (IPv6 in brackets).
pub(super) fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split_once(']').map_or(addr, |(h, _)| h);
    }
    match addr.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h,
        _ => addr,
    }
}

pub(super) async fn list_peers(State(state): State<Arc<AppState>>) -> Response {
    // `?key=&value=` are ignored on purpose: the CLI filters again, and the tests check that.
    match state.setup.behaviour {
        Behaviour::Normal => Json(state.peers.lock().unwrap().clone()).into_response(),
        Behaviour::ApiError => {
            let body = ErrorResp {
                errors: vec![
                    ApiError {
                        code: ErrorCode::TxnStepFailed.as_u32(),
                        message: "a txn step failed".into(),
                        fields: [("step".to_owned(), "peer.list".to_owned())].into(),
                    },
                    ApiError {
                        code: 1,
                        message: "store is sad".into(),
                        fields: Default::default(),
                    },
                ],
            };
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
        Behaviour::PlainError => (StatusCode::BAD_GATEWAY, "upstream down").into_response(),
        Behaviour::Garbage => Json(serde_json::json!({"peers": "none"})).into_response(),
        Behaviour::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(peers()).into_response()
        }
    }
}

/// `POST /v1/peers`: 201 + Location + the new peer, named after the host it was added at.
pub(super) async fn add_peer(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let req: PeerAddReq = parse_body(&body)?;
    let Some(addr) = req.addresses.first() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "no addresses given",
        ));
    };
    check_metadata(&req.metadata)?;
    let host = host_of(addr).to_owned();
    if host == UNREACHABLE_HOST {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Generic,
            "could not connect to host. Make sure host address is valid, network connection is \
             active and gd2 is up and running",
        ));
    }
    let mut peers = state.peers.lock().unwrap();
    if let Some(p) = peers.iter().find(|p| {
        p.name == host
            || p.peer_addresses
                .iter()
                .chain(&p.client_addresses)
                .any(|a| host_of(a) == host)
    }) {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("Peer exists with given addresses (ID: {})", p.id),
        ));
    }
    let id: Uuid = NEW_PEER_ID.parse().unwrap();
    let mut metadata = req.metadata;
    metadata.insert("_zone".into(), req.zone.unwrap_or_else(|| id.to_string()));
    let peer = Peer {
        id,
        name: host.clone(),
        peer_addresses: vec![format!("{host}:24008")],
        client_addresses: vec![format!("{host}:24007")],
        online: true,
        pid: Some(4321),
        metadata,
    };
    peers.push(peer.clone());
    Ok((
        StatusCode::CREATED,
        [(LOCATION, format!("/v1/peers/{id}"))],
        Json(peer),
    )
        .into_response())
}

/// The index of the peer `id` names, or the 4xx to answer.
fn find_peer(peers: &[Peer], id: &str) -> Result<usize, Refusal> {
    let id: Uuid = id.parse().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("invalid peer id: {id}"),
        )
    })?;
    peers
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, ErrorCode::NotFound, "peer not found"))
}

/// `POST /v1/peers/{id}`: merge the metadata, set `_zone`, answer the edited peer.
pub(super) async fn edit_peer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Peer>, Refusal> {
    let mut peers = state.peers.lock().unwrap();
    let i = find_peer(&peers, &id)?;
    let req: PeerEditReq = parse_body(&body)?;
    check_metadata(&req.metadata)?;
    let mut metadata = peers[i].metadata.clone();
    metadata.extend(req.metadata);
    for k in &req.delete_metadata {
        metadata.remove(k);
    }
    let user: BTreeMap<String, String> = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_metadata(&user)?;
    if let Some(zone) = req.zone {
        metadata.insert("_zone".into(), zone);
    }
    peers[i].metadata = metadata;
    Ok(Json(peers[i].clone()))
}

/// `DELETE /v1/peers/{id}`: 204; an offline peer only with `?force=true`.
pub(super) async fn remove_peer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<StatusCode, Refusal> {
    let mut peers = state.peers.lock().unwrap();
    let i = find_peer(&peers, &id)?;
    let force = query.get("force").is_some_and(|v| v == "true");
    if !peers[i].online && !force {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            "peer is not alive",
        ));
    }
    peers.remove(i);
    Ok(StatusCode::NO_CONTENT)
}
