//! What every request goes through before its handler: the recorder behind
//! [`FakeServer::requests`](super::FakeServer::requests), then glusterd2's token check.

use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header::AUTHORIZATION},
    middleware::Next,
    response::{IntoResponse, Response},
};
use gd_api::{ErrorCode, ErrorResp};

use super::{Recorded, server::AppState};

/// Records the request (method, path, query, body) and passes it on.
pub(super) async fn record(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    state.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// glusterd2's auth middleware: a bearer JWT signed with the secret, for this method, path
/// and query.
pub(super) async fn check_token(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(secret) = &state.setup.secret {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let target = req
            .uri()
            .path_and_query()
            .map_or(req.uri().path(), |pq| pq.as_str());
        let checked = gd_auth::bearer_token(header).and_then(|token| {
            gd_auth::verify_token(
                token,
                |user| (user == gd_auth::CLI_USER).then(|| secret.clone()),
                req.method().as_str(),
                target,
                gd_auth::DEFAULT_MAX_LIFETIME,
            )
        });
        if let Err(e) = checked {
            return (
                StatusCode::UNAUTHORIZED,
                Json(ErrorResp::new(ErrorCode::Unauthorized, e.to_string())),
            )
                .into_response();
        }
    }
    next.run(req).await
}
