//! The REST API: routes, middleware, the error body, and the OpenAPI document.
//!
//! Routes are registered through utoipa-axum's `OpenApiRouter`, so the OpenAPI document is
//! built from the same handler annotations that route requests and cannot drift from them.
//! The document is committed at `docs/api/openapi.json`; a test fails when they differ.
//!
//! Middleware, outermost first: request id (`X-Request-Id`, generated unless the caller sent
//! one) → tracing span → panic → 500 JSON → identity headers → authentication → body limit
//! and timeout → counting (by route as declared, method, status, with its latency, in the
//! node's metrics) → handler.

mod auth;
mod internal;
mod meta;
mod openapi;
mod peers;
mod tasks;
mod transactions;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use gd_api::ErrorCode;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

pub use gd_feature::http::{ApiErr, ApiResult, BODY_BYTES_MAX, created, metadata_matches};
use gd_feature::{Cluster, Feature, http};

use crate::node::Node;

/// The longest a request may take before it is answered with 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What handlers share: the node at work (a handler that needs only the node takes
/// `State<Arc<Node>>`).
pub type SharedState = Cluster;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "glusterd2",
        description = "The GlusterFS management daemon's REST API. Authenticate with \
            `Authorization: Bearer <JWT>`: HS256 over the node's secret, claims iss, iat, exp \
            and qsh = hex(sha256(\"METHOD&path\")), or hex(sha256(\"METHOD&path&query\")) \
            when the request has query parameters, where query is canonical: the parameters \
            decoded (`+` is a blank), sorted by key then value, percent-encoded with every byte \
            but `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case hex), and joined with `&`. A token \
            covers only its request's query, and lives at most the node's token-max-lifetime \
            (exp - iat; 24 h by default).",
        license(name = "GPL-2.0-or-later"),
    ),
    modifiers(&BearerAuth),
    components(schemas(gd_api::ErrorResp, gd_api::ApiError)),
    tags(
        (name = "meta", description = "Health, version and API description"),
        (name = "peers", description = "The storage servers of the cluster"),
        (name = "volumes", description = "Volumes and their bricks"),
        (name = "options", description = "Volume options, option groups and cluster options"),
        (name = "transactions", description = "Cluster operations: running, and ended within the hour"),
        (name = "rebalance", description = "Moving a volume's files to where its layout puts them"),
        (name = "tasks", description = "Work that runs once per object, led by one node"),
        (name = "hooks", description = "GD1's hook scripts, run around volume operations"),
        (name = "events", description = "The cluster's events, listed and streamed"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The node's own routes, then every feature's.
fn api_router(features: &[Box<dyn Feature>]) -> OpenApiRouter<SharedState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(meta::routes())
        .merge(peers::routes())
        .merge(transactions::routes())
        .merge(tasks::routes());
    for f in features {
        router = router.merge(f.routes());
    }
    router
}

/// The OpenAPI document of every route the daemon serves with `features`.
pub fn openapi(features: &[Box<dyn Feature>]) -> utoipa::openapi::OpenApi {
    documented(api_router(features).split_for_parts().1)
}

/// The document as OpenAPI spells paths: axum's catch-all `{*key}` is the template `{key}`.
/// Also adds the answers of the shared middleware and extractors (`openapi::complete`).
fn documented(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let wild: Vec<String> = api
        .paths
        .paths
        .keys()
        .filter(|p| p.contains("{*"))
        .cloned()
        .collect();
    for path in wild {
        if let Some(item) = api.paths.paths.remove(&path) {
            api.paths.paths.insert(path.replace("{*", "{"), item);
        }
    }
    openapi::complete(&mut api);
    api
}

/// The whole HTTP service.
pub fn router(state: SharedState, features: &[Box<dyn Feature>]) -> Router {
    let (routes, api) = api_router(features).split_for_parts();
    let api = Arc::new(documented(api));
    let request_id = HeaderName::from_static("x-request-id");
    let routes = routes
        .merge(meta::document_routes(api))
        .merge(internal::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    http::limit_bodies(routes)
        .layer(middleware::from_fn_with_state(state.node.clone(), counted))
        .layer(middleware::from_fn(bounded))
        .layer(middleware::from_fn_with_state(
            state.node.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn_with_state(
            state.node.clone(),
            identity_headers,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiErr::new(
                ErrorCode::Internal,
                "internal error (a bug): the request panicked",
            )
            .into_response()
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let reqid = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), reqid)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Answers a request that takes longer than [`REQUEST_TIMEOUT`] with 503 and the error body.
/// (Operations that run transactions answer `202 Accepted` well before.)
async fn bounded(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiErr::new(
            ErrorCode::StoreUnavailable,
            format!(
                "no answer within {} s: the store or a node is too slow",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Counts a request in the node's metrics, by its route as declared (one series per route,
/// not per volume name; requests no route matched count as `unmatched`).
async fn counted(
    axum::extract::State(node): axum::extract::State<Arc<Node>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    node.metrics
        .request(&route, &method, resp.status().as_u16(), started.elapsed());
    resp
}

/// The header that marks an answer served from the local cache because the store had no
/// quorum; its value is the store revision the answer reflects.
pub const STALE_HEADER: &str = "x-gluster-stale-revision";

/// GD2's `X-Gluster-Peer-Id` and `X-Gluster-Cluster-Id` on every response, and the staleness
/// mark ([`STALE_HEADER`] and a `Warning`) when a read was answered from the local cache.
async fn identity_headers(
    axum::extract::State(state): axum::extract::State<Arc<Node>>,
    req: Request,
    next: Next,
) -> Response {
    let (mut resp, stale) = gd_store::track_staleness(next.run(req)).await;
    let h = resp.headers_mut();
    if let Some(stale) = stale {
        let age = stale.age().as_secs();
        tracing::warn!(
            revision = stale.revision,
            age_s = age,
            "answered from the local cache: the store has no quorum"
        );
        if let Ok(v) = HeaderValue::from_str(&stale.revision.to_string()) {
            h.insert(HeaderName::from_static(STALE_HEADER), v);
        }
        let warning = format!(
            "110 glusterd2 \"stale: the store has no quorum; answer from the local cache as of {age} s ago\""
        );
        if let Ok(v) = HeaderValue::from_str(&warning) {
            h.insert(axum::http::header::WARNING, v);
        }
    }
    let identity = state.identity();
    for (name, id) in [
        ("x-gluster-peer-id", identity.peer_id),
        ("x-gluster-cluster-id", identity.cluster_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    resp
}

async fn not_found(req: Request) -> ApiErr {
    ApiErr::new(
        ErrorCode::NotFound,
        format!("no such endpoint: {} {}", req.method(), req.uri().path()),
    )
}

async fn method_not_allowed(req: Request) -> ApiErr {
    ApiErr::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "method {} is not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed document is the generated one. To update it after changing the API:
    /// `GD2_UPDATE_OPENAPI=1 cargo test -p gd-daemon openapi`.
    #[test]
    fn openapi_document_is_committed() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api/openapi.json");
        let generated = serde_json::to_string_pretty(&openapi(&crate::features::all()))
            .expect("spec serialises")
            + "\n";
        if std::env::var_os("GD2_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("write docs/api/openapi.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/api/openapi.json is out of date: run GD2_UPDATE_OPENAPI=1 cargo test -p gd-daemon openapi"
        );
    }

    #[test]
    fn metadata_filter_is_gd2s() {
        let md: std::collections::BTreeMap<String, String> = [
            ("rack".to_owned(), "r1".to_owned()),
            ("role".to_owned(), "spare".to_owned()),
        ]
        .into();
        assert!(metadata_matches(&md, None, None));
        assert!(metadata_matches(&md, Some("rack"), None));
        assert!(!metadata_matches(&md, Some("zone"), None));
        assert!(metadata_matches(&md, None, Some("spare")));
        assert!(!metadata_matches(&md, None, Some("r2")));
        assert!(metadata_matches(&md, Some("rack"), Some("r1")));
        assert!(!metadata_matches(&md, Some("rack"), Some("spare")));
    }

    #[test]
    fn endpoints_are_derived_from_the_document() {
        let spec = serde_json::to_value(openapi(&crate::features::all())).unwrap();
        let eps = meta::endpoints_of(&spec);
        let peers = eps.iter().find(|e| e.name == "PeerList").expect("PeerList");
        assert_eq!(peers.path, "/v1/peers");
        assert_eq!(peers.methods, ["GET"]);
        assert_eq!(peers.response_type, "[]Peer");
        let one = eps.iter().find(|e| e.name == "PeerGet").expect("PeerGet");
        assert_eq!(one.response_type, "Peer");
        assert!(eps.iter().any(|e| e.path == "/ping"));
    }
}
