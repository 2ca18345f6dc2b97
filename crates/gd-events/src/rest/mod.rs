//! `GET /v1/events` and `GET /v1/events/stream` (server-sent events).

use std::{convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::sse::{Event as Sse, KeepAlive, Sse as SseBody},
};
use futures::{Stream, StreamExt};
use gd_api::{ErrorCode, ErrorResp, Event, WebhookDelReq, WebhookReq, WebhookTestResult};
use gd_core::OpError;
use gd_feature::{
    Cluster,
    http::{ApiResult, JsonBody, QueryArgs},
};
use gd_store::Store;

use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{history, webhooks};

/// The routes of the events feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(stream_events))
        .routes(routes!(add_webhook, list_webhooks, delete_webhook))
        .routes(routes!(test_webhook))
        // Node to node: not in the OpenAPI document; signed with the cluster secret.
        .route(TEST_PATH, axum::routing::post(test_here))
}

/// Where a node is asked to send a test delivery.
const TEST_PATH: &str = "/v1/internal/events/webhook/test";

/// Adds a webhook (GD2's request): every event from now on is POSTed to it (GD1's body),
/// signed with its secret or carrying its token.
#[utoipa::path(
    post, path = "/v1/events/webhook", tag = "events", operation_id = "WebhookAdd",
    request_body = WebhookReq,
    responses(
        (status = 200, description = "Added"),
        (status = 400, description = "No URL, or not an http(s) URL with a host", body = ErrorResp),
        (status = 409, description = "The webhook exists already, or there are 32", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn add_webhook(
    State(cx): State<Cluster>,
    JsonBody(req): JsonBody<WebhookReq>,
) -> ApiResult<Json<()>> {
    webhooks::add(cx.node.store.as_ref(), req).await?;
    Ok(Json(()))
}

/// The webhooks' URLs (their tokens and secrets are never shown).
#[utoipa::path(
    get, path = "/v1/events/webhook", tag = "events", operation_id = "WebhookList",
    responses(
        (status = 200, description = "The URLs", body = Vec<String>),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_webhooks(State(cx): State<Cluster>) -> ApiResult<Json<Vec<String>>> {
    let all = webhooks::list(cx.node.store.as_ref())
        .await
        .map_err(OpError::from)?;
    let mut urls: Vec<String> = all.into_values().map(|h| h.url).collect();
    urls.sort();
    Ok(Json(urls))
}

/// Deletes a webhook: nothing more is delivered to it.
#[utoipa::path(
    delete, path = "/v1/events/webhook", tag = "events", operation_id = "WebhookDelete",
    request_body = WebhookDelReq,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "No URL", body = ErrorResp),
        (status = 404, description = "No such webhook", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn delete_webhook(
    State(cx): State<Cluster>,
    JsonBody(req): JsonBody<WebhookDelReq>,
) -> ApiResult<axum::http::StatusCode> {
    webhooks::delete(cx.node.store.as_ref(), &req.url).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Every online node POSTs a test event (`TEST`) to the URL, signed as a delivery would be:
/// whichever node delivers, it must reach the webhook. Answers each node's outcome.
#[utoipa::path(
    post, path = "/v1/events/webhook/test", tag = "events", operation_id = "WebhookTest",
    request_body = WebhookReq,
    responses(
        (status = 200, description = "Each online node's try", body = Vec<WebhookTestResult>),
        (status = 400, description = "No URL, or not an http(s) URL with a host", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn test_webhook(
    State(cx): State<Cluster>,
    JsonBody(req): JsonBody<WebhookReq>,
) -> ApiResult<Json<Vec<WebhookTestResult>>> {
    webhooks::check(&req)?;
    let me = cx.node.identity().peer_id;
    let peers = gd_node::peers::list_peers(cx.node.store.as_ref())
        .await
        .map_err(OpError::from)?;
    let tries = peers.iter().filter(|p| p.online).map(|p| {
        let (node, req, id) = (cx.node.clone(), req.clone(), p.id);
        async move {
            if id == me {
                return webhooks::test(&node, &req).await;
            }
            match node
                .call_peer::<_, WebhookTestResult>(id, TEST_PATH, &req)
                .await
            {
                Ok(r) => r,
                Err(e) => WebhookTestResult {
                    node: id,
                    ok: false,
                    error: e.message,
                },
            }
        }
    });
    Ok(Json(futures::future::join_all(tries).await))
}

/// This node's test delivery (from the node asked).
async fn test_here(
    State(cx): State<Cluster>,
    JsonBody(req): JsonBody<WebhookReq>,
) -> ApiResult<Json<WebhookTestResult>> {
    webhooks::check(&req)?;
    Ok(Json(webhooks::test(&cx.node, &req).await))
}

/// The most events one list answers.
const LIST_MAX: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the events after this `seq`.
    after: Option<i64>,
    /// At most this many (1 to 1000; 1000 by default).
    limit: Option<usize>,
}

/// The cluster's recent events, oldest first (the store keeps the last 1,000).
#[utoipa::path(
    get, path = "/v1/events", tag = "events", operation_id = "EventList",
    params(ListQuery),
    responses(
        (status = 200, description = "The events", body = Vec<Event>),
        (status = 400, description = "A bad `after` or `limit`", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_events(
    State(cx): State<Cluster>,
    QueryArgs(q): QueryArgs<ListQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    let limit = q.limit.unwrap_or(LIST_MAX);
    if limit == 0 || limit > LIST_MAX {
        return Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!("limit {limit} is not between 1 and {LIST_MAX}"),
        )
        .into());
    }
    let (events, _) = history::after(cx.node.store.as_ref(), q.after, limit).await?;
    Ok(Json(events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Start after this `seq` (as the `Last-Event-ID` header does); without either, the
    /// stream starts with the next event.
    after: Option<i64>,
}

/// The cluster's events as they happen, as server-sent events (`id:` is the event's `seq`,
/// `event:` its name, `data:` the event as JSON). Resumes after `Last-Event-ID` (or `after`):
/// the events since then that the history still holds come first. A stream outlives a store
/// member's failover (it reads on from the last event it sent).
#[utoipa::path(
    get, path = "/v1/events/stream", tag = "events", operation_id = "EventStream",
    params(StreamQuery),
    responses(
        (status = 200, description = "A stream of events (text/event-stream)", content_type = "text/event-stream", body = String),
        (status = 400, description = "A bad `after` or `Last-Event-ID`", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn stream_events(
    State(cx): State<Cluster>,
    QueryArgs(q): QueryArgs<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<SseBody<impl Stream<Item = Result<Sse, Infallible>>>> {
    let last = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    OpError::new(
                        ErrorCode::InvalidRequest,
                        "Last-Event-ID is not an event's seq",
                    )
                })?,
        ),
    };
    let store: std::sync::Arc<dyn Store> = cx.node.store.clone();
    // Without a resume point, the stream starts with the next event.
    let after = match last.or(q.after) {
        Some(a) => a,
        None => store.revision().await.map_err(OpError::from)?,
    };
    let events = crate::follow::follow(store, after).map(|e| Ok(sse(&e)));
    Ok(SseBody::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse(e: &Event) -> Sse {
    Sse::default()
        .id(e.seq.to_string())
        .event(e.event.clone())
        .data(serde_json::to_string(e).unwrap_or_default())
}
