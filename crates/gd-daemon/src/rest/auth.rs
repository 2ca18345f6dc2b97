//! Request authentication (GD2's JWT scheme, see `gd_auth`).
//!
//! Health and API-description endpoints are open, so load balancers and operators can probe a
//! node without its secret. The public API needs a token of `glustercli` signed with the node's
//! REST secret (unless `restauth = false`). Node-to-node calls under `/v1/internal/` need a
//! token of `glusterd2` signed with the cluster secret, whatever `restauth` says; the join
//! request is the exception (the joiner has no cluster secret yet, see `Node::join`).
//! Every token lives at most `token-max-lifetime` (configured, 24 h by default), whoever
//! signed it.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::header::AUTHORIZATION,
    middleware::Next,
    response::{IntoResponse, Response},
};
use gd_api::ErrorCode;

use super::ApiErr;
use crate::node::Node;

/// Paths served without a token.
const OPEN_PATHS: [&str; 5] = [
    "/ping",
    "/version",
    "/endpoints",
    "/v1/openapi.json",
    // Open to scrapers, or behind its own token (`metrics-token-file`): gd-metrics checks.
    "/metrics",
];
/// The node-to-node prefix.
const INTERNAL_PREFIX: &str = "/v1/internal/";
/// Node-to-node paths served without a token.
const OPEN_INTERNAL_PATHS: [&str; 1] = ["/v1/internal/join"];

pub(super) async fn require_token(
    State(node): State<Arc<Node>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let internal = path.starts_with(INTERNAL_PREFIX);
    if OPEN_PATHS.contains(&path) || OPEN_INTERNAL_PATHS.contains(&path) {
        return next.run(req).await;
    }
    let (user, secret) = if internal {
        match node.cluster_secret() {
            Some(s) => (gd_api::internal::PEER_USER, s),
            None => {
                return ApiErr::new(
                    ErrorCode::Unauthorized,
                    "this node belongs to no cluster: node-to-node calls are refused",
                )
                .into_response();
            }
        }
    } else {
        match node.rest_secret.clone() {
            Some(s) => (gd_auth::CLI_USER, s),
            None => return next.run(req).await,
        }
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    // The query is signed too (`gd_auth::qsh`), so a token for a path works with no other one.
    let target = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
    let verified = gd_auth::bearer_token(header).and_then(|token| {
        gd_auth::verify_token(
            token,
            |u| (u == user).then(|| secret.clone()),
            req.method().as_str(),
            target,
            node.config.token_max_lifetime,
        )
    });
    match verified {
        Ok(claims) => {
            tracing::debug!(user = %claims.iss, "authenticated");
            next.run(req).await
        }
        Err(e) => {
            tracing::info!(path, internal, reason = %e, "request refused: not authenticated");
            ApiErr::new(
                ErrorCode::Unauthorized,
                format!("authentication failed: {e}"),
            )
            .into_response()
        }
    }
}
