//! What every feature's REST handlers share: the error answer ([`ApiErr`], the one place an
//! [`OpError`] becomes an HTTP status), the body and query extractors ([`JsonBody`],
//! [`RawBody`], [`QueryArgs`]) with their bound, and the small answers every list or create
//! endpoint gives alike ([`created`], [`metadata_matches`]).
//!
//! Why here and not in the daemon's REST shell: the features' handlers return these, and a
//! feature crate must not depend on the daemon that composes it. The shell (middleware,
//! authentication, the OpenAPI document) stays in the daemon.

mod json_body;

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use gd_api::ErrorCode;
use gd_core::OpError;
use gd_store::StoreError;

pub use json_body::{
    JsonBody, QueryArgs, RawBody, decode, limit_bodies, malformed, optional_body, too_large,
};

/// The largest request body accepted.
pub const BODY_BYTES_MAX: usize = 1 << 20;

/// An error answer: an operation's [`OpError`] as HTTP, its code's status and GD2's error
/// body. This is the one place where an error becomes a status.
///
/// Also the answer of an operation still running when its request stops waiting
/// ([`OpError::still_running`]): `202 Accepted` with the transaction and its address.
#[derive(Debug)]
pub struct ApiErr(pub OpError);

impl ApiErr {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiErr(OpError::new(code, message))
    }

    pub fn field(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        ApiErr(self.0.field(key, value))
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        if self.0.pending().is_some() {
            return StatusCode::ACCEPTED;
        }
        StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let status = self.status();
        match self.0.pending() {
            Some(txn) => {
                let mut headers = HeaderMap::new();
                if let Ok(v) = HeaderValue::from_str(&format!("/v1/transactions/{}", txn.id)) {
                    headers.insert(axum::http::header::LOCATION, v);
                }
                (status, headers, Json(txn)).into_response()
            }
            None => (status, Json(self.0.body())).into_response(),
        }
    }
}

impl From<OpError> for ApiErr {
    fn from(e: OpError) -> Self {
        ApiErr(e)
    }
}

impl From<StoreError> for ApiErr {
    fn from(e: StoreError) -> Self {
        ApiErr(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiErr>;

/// A `201 Created` answer: the new object, and its address in `Location`.
pub fn created<T>(location: &str, body: T) -> (StatusCode, HeaderMap, Json<T>) {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(axum::http::header::LOCATION, v);
    }
    (StatusCode::CREATED, headers, Json(body))
}

/// `v` encoded for a URL's query (as a form value).
pub fn query_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// GD2's metadata filter of list endpoints: `key` only = has the key; `value` only = some
/// value equals it; both = the key has that value; neither = everything.
pub fn metadata_matches(
    md: &std::collections::BTreeMap<String, String>,
    key: Option<&str>,
    value: Option<&str>,
) -> bool {
    match (key, value) {
        (Some(k), Some(v)) => md.get(k).map(String::as_str) == Some(v),
        (Some(k), None) => md.contains_key(k),
        (None, Some(v)) => md.values().any(|x| x == v),
        (None, None) => true,
    }
}
