//! The cluster's events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One event: a change of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Its identity (the same wherever and however often it is delivered).
    pub id: Uuid,
    /// Its place in the cluster's order of events (the store's revision it was written at):
    /// resume a stream after it.
    pub seq: i64,
    /// When it happened (RFC 3339, UTC).
    pub ts: String,
    /// The node that recorded it.
    pub node: Uuid,
    /// What happened (`volume.started`, `peer.added`, `brick.down`, `task.succeeded`...).
    pub event: String,
    /// One sentence for people.
    pub message: String,
    /// The details, for programs.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A webhook to add or test (GD2's request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReq {
    /// Where events are POSTed (`http://` or `https://`).
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` (when there is no secret).
    #[serde(default)]
    pub token: String,
    /// Signs each delivery: `Authorization: Bearer <JWT>`, HS256 with this secret, claims
    /// `iss` gluster, `sub` the event's GD1 name, `iat` its time, `exp` a minute on (GD1's
    /// eventsapi).
    #[serde(default)]
    pub secret: String,
}

/// A webhook to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookDelReq {
    pub url: String,
}

/// How a node's test delivery to a webhook went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookTestResult {
    /// The node that tried.
    pub node: Uuid,
    pub ok: bool,
    /// What went wrong, when it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}
