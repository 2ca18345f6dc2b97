//! The error body of every failed request, and its stable codes.
//!
//! Clients match on `code`, never on `message`; a code, once published, keeps its meaning.
//! Codes 1 and 2 are GD2's; the rest are ours.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Stable error codes of the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorCode {
    /// Anything not covered below (GD2's `ErrCodeGeneric`).
    Generic = 1,
    /// A transaction step failed on a node (GD2's `ErrTxnStepFailed`).
    TxnStepFailed = 2,
    /// The request is malformed or a value is invalid.
    InvalidRequest = 3,
    /// No or a wrong authentication token.
    Unauthorized = 4,
    /// The addressed object does not exist.
    NotFound = 5,
    /// The object already exists, or the request conflicts with the cluster's state.
    Conflict = 6,
    /// Another operation holds the object's lock.
    OperationInProgress = 7,
    /// The store cannot answer (no quorum, unreachable).
    StoreUnavailable = 8,
    /// A bug or an unexpected failure inside the daemon.
    Internal = 9,
    /// The HTTP method is not served on this path.
    MethodNotAllowed = 10,
    /// Something this request needs is missing on this node (GlusterFS's xlators for option
    /// operations).
    NotAvailable = 11,
    /// The request body is larger than the daemon accepts.
    PayloadTooLarge = 12,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::Generic,
        ErrorCode::TxnStepFailed,
        ErrorCode::InvalidRequest,
        ErrorCode::Unauthorized,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::OperationInProgress,
        ErrorCode::StoreUnavailable,
        ErrorCode::Internal,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NotAvailable,
        ErrorCode::PayloadTooLarge,
    ];

    pub fn as_u32(self) -> u32 {
        self as u32
    }

    pub fn from_u32(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_u32() == code)
    }

    /// The HTTP status this code is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Generic | ErrorCode::TxnStepFailed | ErrorCode::Internal => 500,
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Conflict | ErrorCode::OperationInProgress => 409,
            ErrorCode::StoreUnavailable | ErrorCode::NotAvailable => 503,
        }
    }
}

/// One error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// A stable code: 1 generic, 2 a transaction step failed on a node, 3 invalid request,
    /// 4 not authenticated, 5 not found, 6 conflict, 7 another operation holds the object,
    /// 8 the store cannot answer, 9 internal error, 10 method not allowed, 11 not available
    /// on this node, 12 request body too large.
    pub code: u32,
    /// A sentence for humans.
    pub message: String,
    /// Details: the offending field, key or value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorResp {
    pub errors: Vec<ApiError>,
}

impl ErrorResp {
    /// A body with one error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            errors: vec![ApiError {
                code: code.as_u32(),
                message: message.into(),
                fields: BTreeMap::new(),
            }],
        }
    }

    /// Adds a detail to the first error.
    pub fn with_field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let Some(e) = self.errors.first_mut() {
            e.fields.insert(key.into(), value.into());
        }
        self
    }

    /// The messages joined, for printing.
    pub fn message(&self) -> String {
        self.errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        // The codes the error body's documentation lists, in order.
        let listed: Vec<u32> = (1..=12).collect();
        assert_eq!(
            ErrorCode::ALL.map(ErrorCode::as_u32).to_vec(),
            listed,
            "a new code goes into ApiError::code's documentation too"
        );
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_u32()), "duplicate code {c:?}");
            assert_eq!(ErrorCode::from_u32(c.as_u32()), Some(c));
        }
        assert_eq!(ErrorCode::from_u32(0), None);
    }

    #[test]
    fn error_json_shape() {
        let e = ErrorResp::new(ErrorCode::NotFound, "peer not found").with_field("peer-id", "x");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errors":[{"code":5,"message":"peer not found","fields":{"peer-id":"x"}}]})
        );
    }
}
