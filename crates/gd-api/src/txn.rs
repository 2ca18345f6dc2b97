//! `/v1/transactions`: what a cluster operation is doing, or how it ended.
//!
//! An operation that takes longer than the daemon waits before answering gets `202 Accepted`
//! with this body (and `Location: /v1/transactions/{id}`): it goes on, whatever the client does,
//! and this says when it has ended and how.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiError;

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TxnState {
    /// Its steps are being done.
    Running,
    /// A step failed (or its initiator died early): what was done is being undone.
    Undoing,
    /// Every step was done on every node.
    Succeeded,
    /// It did not complete, and what it had done was undone (see `undo-pending`).
    Failed,
}

impl TxnState {
    /// Whether the transaction is over.
    pub fn ended(self) -> bool {
        matches!(self, TxnState::Succeeded | TxnState::Failed)
    }
}

/// A transaction: `GET /v1/transactions/{id}`, and the body of a `202 Accepted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transaction {
    pub id: Uuid,
    /// What it does ("volume create vol1").
    pub operation: String,
    pub state: TxnState,
    /// The node that started it.
    pub initiator: Uuid,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended (RFC 3339); absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The names of its steps, in order.
    pub steps: Vec<String>,
    /// The step it is at, while it runs or is undone.
    #[serde(
        default,
        rename = "current-step",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_step: Option<String>,
    /// Why it failed (`state` failed): the error its operation would have answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    /// Nodes (by address) that were down while its steps were undone: they undo their part
    /// when they return.
    #[serde(
        default,
        rename = "undo-pending",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub undo_pending: Vec<String>,
    /// What nodes said about steps they completed ("on <node>: ...").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Where the object it changes is read once it has ended (`/v1/volumes/<name>`), in a
    /// `202 Accepted` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Who ended it: its initiator, its initiator after a restart, or the cleanup leader.
    #[serde(default, rename = "ended-by", skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
}

/// `GET /v1/transactions`: running transactions, then the latest ended ones (kept an hour at least),
/// newest first.
pub type TxnListResp = Vec<Transaction>;
