//! The crash matrix's operations: what each one requests, and the operations that bring a
//! new volume to where it applies.

use gd_testkit::*;
use serde_json::{Value, json};

use super::{OPTION, PARTICIPANT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Op {
    Create,
    Set,
    Reset,
    Start,
    Stop,
    Delete,
    Expand,
    Replace,
    /// remove-brick start of the set add-brick added.
    RemoveStart,
    /// remove-brick force of the set add-brick added (no migration).
    RemoveForce,
    /// reset-brick start of the participant's brick.
    ResetStart,
    /// reset-brick commit force of the participant's brick (onto its own data).
    ResetCommit,
    /// add-brick replica 4 of a new brick on the participant (remove-brick's `replica` force
    /// lowering it runs the steps of `RemoveForce`).
    RaiseReplica,
}

/// Every operation the matrix runs, in the order of a volume's life.
pub(super) const OPS: [Op; 13] = [
    Op::Create,
    Op::Set,
    Op::Reset,
    Op::Start,
    Op::ResetStart,
    Op::ResetCommit,
    Op::Replace,
    Op::Expand,
    Op::RemoveStart,
    Op::RemoveForce,
    Op::RaiseReplica,
    Op::Stop,
    Op::Delete,
];

/// The name of the brick directory replace-brick gives volume `v` (on the participant, in
/// place of its brick).
pub(super) fn replaced(v: &str) -> String {
    format!("{v}-replaced")
}

/// The name of the brick directory add-brick raising the replica count gives volume `v` (on
/// the participant).
pub(super) fn raised(v: &str) -> String {
    format!("{v}-raised")
}

/// The name of the brick directories add-brick gives volume `v` (one per node).
pub(super) fn added(v: &str) -> String {
    format!("{v}-added")
}

impl Op {
    /// The request that runs the operation on volume `v`.
    pub(super) fn request(self, t: &Three, v: &str) -> (&'static str, String, Option<Value>) {
        match self {
            Op::Create => {
                let bricks: Vec<_> = (0..3).map(|i| brick(t, i, v)).collect();
                let body = create_body(v, "replicate", &bricks, json!({"replica": 3}));
                ("POST", "/v1/volumes".into(), Some(body))
            }
            Op::Set => (
                "POST",
                format!("/v1/volumes/{v}/options"),
                Some(json!({"options": {OPTION.0: OPTION.1}})),
            ),
            Op::Reset => (
                "DELETE",
                format!("/v1/volumes/{v}/options"),
                Some(json!({"options": [OPTION.0]})),
            ),
            Op::Start => ("POST", format!("/v1/volumes/{v}/start"), None),
            Op::Stop => ("POST", format!("/v1/volumes/{v}/stop"), None),
            Op::Delete => ("DELETE", format!("/v1/volumes/{v}"), None),
            Op::Replace => {
                let (host, old) = brick(t, PARTICIPANT, v);
                let (_, new) = brick(t, PARTICIPANT, &replaced(v));
                let body = json!({
                    "src-host": host, "src-brickpath": old,
                    "dst-host": host, "dst-brickpath": new,
                    "flags": {"create-brick-dir": true, "allow-root-dir": true},
                });
                ("POST", format!("/v1/volumes/{v}/replacebrick"), Some(body))
            }
            Op::Expand => {
                let flags = json!({"create-brick-dir": true, "allow-root-dir": true});
                (
                    "POST",
                    format!("/v1/volumes/{v}/expand"),
                    Some(json!({"bricks": added_set(t, v), "flags": flags})),
                )
            }
            Op::RemoveStart => (
                "POST",
                format!("/v1/volumes/{v}/remove-brick/start"),
                Some(json!({"bricks": added_set(t, v)})),
            ),
            Op::RemoveForce => (
                "POST",
                format!("/v1/volumes/{v}/remove-brick/commit"),
                Some(json!({"bricks": added_set(t, v), "force": true})),
            ),
            Op::ResetStart | Op::ResetCommit => {
                let (host, path) = brick(t, PARTICIPANT, v);
                let (verb, force) = if self == Op::ResetStart {
                    ("start", false)
                } else {
                    ("commit", true)
                };
                let body = json!({"host": host, "path": path, "force": force});
                (
                    "POST",
                    format!("/v1/volumes/{v}/reset-brick/{verb}"),
                    Some(body),
                )
            }
            Op::RaiseReplica => {
                let (host, path) = brick(t, PARTICIPANT, &raised(v));
                let body = json!({
                    "bricks": [{"host": host, "path": path}], "replica": 4, "force": true,
                    "flags": {"create-brick-dir": true, "allow-root-dir": true},
                });
                ("POST", format!("/v1/volumes/{v}/expand"), Some(body))
            }
        }
    }

    /// Which of the matrix's clusters runs this operation's cases (the parts take about as
    /// long).
    pub(super) fn cluster(self) -> usize {
        match self {
            Op::Expand | Op::RemoveStart | Op::RemoveForce | Op::RaiseReplica => 1,
            _ => 0,
        }
    }

    /// The operations that bring a new volume to where this one applies.
    pub(super) fn before(self) -> &'static [Op] {
        match self {
            Op::Create => &[],
            Op::Set | Op::Start | Op::Delete => &[Op::Create],
            Op::Reset => &[Op::Create, Op::Set],
            Op::Stop | Op::Replace | Op::Expand | Op::RaiseReplica => &[Op::Create, Op::Start],
            Op::RemoveStart | Op::RemoveForce => &[Op::Create, Op::Start, Op::Expand],
            Op::ResetStart => &[Op::Create, Op::Start],
            Op::ResetCommit => &[Op::Create, Op::Start, Op::ResetStart],
        }
    }
}

/// The set add-brick adds to volume `v` (and remove-brick takes away), as a request names it.
pub(super) fn added_set(t: &Three, v: &str) -> Vec<Value> {
    (0..3)
        .map(|i| {
            let (host, path) = brick(t, i, &added(v));
            json!({"host": host, "path": path})
        })
        .collect()
}
