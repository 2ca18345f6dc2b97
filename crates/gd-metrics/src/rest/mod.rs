//! `GET /metrics`: open, or behind the token of `metrics-token-file`.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use gd_api::{ErrorCode, ErrorResp};
use gd_feature::{Cluster, http::ApiErr};
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::scrape::{CONTENT_TYPE, scrape};

/// The route of the metrics feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// This node's figures and the cluster's, in OpenMetrics text (for Prometheus). Open unless
/// the node has a `metrics-token-file`: then `Authorization: Bearer <token>`.
#[utoipa::path(
    get, path = "/metrics", tag = "meta", operation_id = "Metrics",
    responses(
        (status = 200, description = "The figures, in OpenMetrics text", body = String,
            content_type = "application/openmetrics-text"),
        (status = 401, description = "The node asks for a token and the request has not the right one", body = ErrorResp),
    ),
    security((), ("bearer" = [])),
)]
async fn metrics(State(cx): State<Cluster>, headers: HeaderMap) -> Response {
    if let Some(file) = &cx.node.config.metrics_token_file {
        let want = match std::fs::read_to_string(file) {
            Ok(t) => t.trim().to_owned(),
            Err(e) => {
                return ApiErr::new(
                    ErrorCode::Internal,
                    format!(
                        "the metrics token file {} cannot be read: {e}",
                        file.display()
                    ),
                )
                .into_response();
            }
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared as digests, so the time taken says nothing of how much matched.
        if want.is_empty() || Sha256::digest(given.trim()) != Sha256::digest(&want) {
            return ApiErr::new(
                ErrorCode::Unauthorized,
                "this node asks for its metrics token: Authorization: Bearer <token>",
            )
            .into_response();
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        scrape(&cx).await,
    )
        .into_response()
}
