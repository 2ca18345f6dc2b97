//! [`OpError`]: how an operation fails, in the API's terms but without HTTP.
//!
//! Why here: features (volumes, membership, options...) must say *what* went wrong — a code
//! clients match on, one sentence for humans, details for programs — without knowing how the
//! answer travels. The daemon's REST shell turns an `OpError` into a response (the code's
//! HTTP status and GD2's error body) in exactly one place; nothing below it names a status.

use std::collections::BTreeMap;

use gd_api::{ErrorCode, ErrorResp};
use gd_store::StoreError;

/// Why an operation did not succeed (or, see [`OpError::still_running`], has not ended yet).
#[derive(Debug)]
pub struct OpError {
    pub code: ErrorCode,
    /// One sentence for humans.
    pub message: String,
    /// Details for programs: the offending field, the step, the node.
    pub fields: BTreeMap<String, String>,
    pending: Option<Box<gd_api::Transaction>>,
}

impl OpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError {
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            pending: None,
        }
    }

    /// The request was wrong ([`ErrorCode::InvalidRequest`]).
    pub fn invalid(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::InvalidRequest, message)
    }

    /// A failure that is nobody's input ([`ErrorCode::Internal`]).
    pub fn internal(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::Internal, message)
    }

    /// Adds a detail.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> OpError {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Not a failure: the operation goes on as transaction `txn` after its caller stopped
    /// waiting. Like a failure it ends the caller early, whatever the caller returns on
    /// success; the REST shell answers `202 Accepted` with the transaction.
    pub fn still_running(txn: gd_api::Transaction) -> OpError {
        OpError {
            pending: Some(Box::new(txn)),
            ..OpError::new(ErrorCode::Generic, "the operation is still running")
        }
    }

    /// The transaction still running, for an [`OpError::still_running`].
    pub fn pending(&self) -> Option<&gd_api::Transaction> {
        self.pending.as_deref()
    }

    /// GD2's error body.
    pub fn body(&self) -> ErrorResp {
        let mut body = ErrorResp::new(self.code, self.message.clone());
        for (k, v) in &self.fields {
            body = body.with_field(k.clone(), v.clone());
        }
        body
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> OpError {
        if e.retryable() {
            OpError::new(ErrorCode::StoreUnavailable, e.to_string())
        } else {
            tracing::error!(error = %e, "store error");
            OpError::internal(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_code_message_and_fields() {
        let e = OpError::invalid("volume name is too long").field("name", "x");
        let body = e.body();
        assert_eq!(body.errors.len(), 1);
        assert_eq!(body.errors[0].code, ErrorCode::InvalidRequest.as_u32());
        assert_eq!(body.errors[0].message, "volume name is too long");
        assert_eq!(body.errors[0].fields["name"], "x");
        assert!(e.pending().is_none());
        assert_eq!(e.to_string(), "volume name is too long");
    }
}
