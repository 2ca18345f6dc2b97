//! Request authentication (GD2's JWT scheme, see `gd_auth`).
//!
//! Health and API-description endpoints are open, so load balancers and operators can probe a
//! node without its secret; everything else needs a token signed with the node's secret.

use axum::{
    extract::{Request, State},
    http::header::AUTHORIZATION,
    middleware::Next,
    response::{IntoResponse, Response},
};
use gd_api::ErrorCode;

use super::{ApiErr, SharedState};

/// Paths served without a token.
const OPEN_PATHS: [&str; 4] = ["/ping", "/version", "/endpoints", "/v1/openapi.json"];

pub(super) async fn require_token(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(secret) = state.secret.as_deref() else {
        return next.run(req).await;
    };
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let verified = gd_auth::bearer_token(header).and_then(|token| {
        gd_auth::verify_token(
            token,
            |user| (user == gd_auth::CLI_USER).then(|| secret.to_owned()),
            req.method().as_str(),
            req.uri().path(),
        )
    });
    match verified {
        Ok(claims) => {
            tracing::debug!(user = %claims.iss, "authenticated");
            next.run(req).await
        }
        Err(e) => {
            tracing::info!(path = %req.uri().path(), reason = %e, "request refused: not authenticated");
            ApiErr::new(
                ErrorCode::Unauthorized,
                format!("authentication failed: {e}"),
            )
            .into_response()
        }
    }
}
