//! GD2's error answers, which every handler returns: a status with GD2's error body, and the
//! 400 for a body that does not decode.

use axum::{
    Json,
    body::Bytes,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use gd_api::{ErrorCode, ErrorResp};
use serde::de::DeserializeOwned;

/// An error answer with GD2's body.
pub(super) struct Refusal(StatusCode, ErrorCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorResp::new(self.1, self.2))).into_response()
    }
}

pub(super) fn error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal(status, code, message.into())
}

/// A JSON body of type `T`, or a 400 with the decoder's message (axum's own rejection is
/// plain text, not GD2's error body).
pub(super) fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("invalid request body: {e}"),
        )
    })
}
