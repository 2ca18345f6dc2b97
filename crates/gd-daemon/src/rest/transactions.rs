//! `/v1/transactions`: what cluster operations are doing, and how the ones that ended within
//! the last hour ended (see `crate::transactions`).

use axum::{
    Json,
    extract::{Path, State},
};
use gd_api::{ErrorCode, ErrorResp};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{ApiErr, ApiResult, SharedState, http::QueryArgs};
use gd_feature::{Cluster, operation::view};

/// The most ended transactions one list shows.
const LIST_ENDED_MAX: usize = 1000;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_transactions))
        .routes(routes!(get_transaction))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// How many ended transactions to list, newest first (default 100, at most 1000).
    #[param(minimum = 0, maximum = 1000)]
    ended: Option<usize>,
}

/// The running transactions, then the latest ended ones (kept an hour at least), newest first.
#[utoipa::path(
    get, path = "/v1/transactions", tag = "transactions", operation_id = "TransactionList",
    params(ListParams),
    responses(
        (status = 200, description = "Running transactions, then ended ones", body = Vec<gd_api::Transaction>),
        (status = 400, description = "Invalid query", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_transactions(
    State(cx): State<Cluster>,
    QueryArgs(q): QueryArgs<ListParams>,
) -> ApiResult<Json<Vec<gd_api::Transaction>>> {
    let ended = q.ended.unwrap_or(100);
    if ended > LIST_ENDED_MAX {
        return Err(ApiErr::new(
            ErrorCode::InvalidRequest,
            format!("ended is at most {LIST_ENDED_MAX}"),
        )
        .field("ended", ended.to_string()));
    }
    let mut out = vec![];
    for status in cx.engine.list(ended).await? {
        out.push(view(cx.node.store.as_ref(), status).await);
    }
    Ok(Json(out))
}

/// One transaction: still running (at which step), or how it ended — the error its
/// operation would have answered, what nodes noted, who ended it.
#[utoipa::path(
    get, path = "/v1/transactions/{txnid}", tag = "transactions", operation_id = "TransactionGet",
    params(("txnid" = String, Path, description = "The transaction's id (a UUID)")),
    responses(
        (status = 200, description = "The transaction", body = gd_api::Transaction),
        (status = 404, description = "No such transaction running or ended within the hour", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn get_transaction(
    State(cx): State<Cluster>,
    Path(txnid): Path<String>,
) -> ApiResult<Json<gd_api::Transaction>> {
    let id = Uuid::parse_str(&txnid).map_err(|_| {
        ApiErr::new(
            ErrorCode::InvalidRequest,
            format!("invalid transaction id {txnid:?}: not a UUID"),
        )
        .field("txn-id", txnid.as_str())
    })?;
    match cx.engine.status(id).await? {
        Some(status) => Ok(Json(view(cx.node.store.as_ref(), status).await)),
        None => Err(ApiErr::new(
            ErrorCode::NotFound,
            format!("transaction {id} not found: it is not running, and did not end within the last hour"),
        )
        .field("txn-id", id.to_string())),
    }
}
