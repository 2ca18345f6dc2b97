//! Webhooks (GD2's API, GD1's eventsapi body and signing): the list (`webhooks/<id>`, the
//! secret never shown again), what one delivery is (the body, its token), and the test
//! delivery every node makes.
//!
//! A delivery is a `POST` of `{"nodeid", "ts", "event", "message"}` — GD1's body: the node
//! that recorded the event, its time in seconds, its GD1 name (`VOLUME_START`) and its
//! fields — plus `id` and `seq`, so a receiver can drop a duplicate (delivery is at least
//! once). `Authorization: Bearer` carries the webhook's token, or with a secret a JWT signed
//! with it as GD1's glustereventsd signs them. Only a 2xx answer counts as delivered.

use std::{collections::BTreeMap, time::Duration};

use gd_api::{ErrorCode, Event, WebhookReq};
use gd_core::{
    OpError,
    keys::{WEBHOOK_CURSORS, WEBHOOKS},
};
use gd_store::{Compare, Store, StoreError, Txn, TxnOp, record};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most webhooks a cluster has.
pub const WEBHOOKS_MAX: usize = 32;
/// How long one delivery may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest URL accepted.
const URL_MAX: usize = 2048;

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub secret: String,
}

impl record::Record for Webhook {
    const KIND: &'static str = "webhook";
    const VERSION: u32 = 1;
}

/// The last event delivered to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub seq: i64,
}

impl record::Record for Cursor {
    const KIND: &'static str = "webhook-cursor";
    const VERSION: u32 = 1;
}

/// A webhook's id: derived from its URL, so one URL is one webhook.
pub fn id_of(url: &str) -> Uuid {
    use sha2::Digest;
    let d = sha2::Sha256::digest(url.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

pub fn key(id: Uuid) -> String {
    format!("{WEBHOOKS}{id}")
}

pub fn cursor_key(id: Uuid) -> String {
    format!("{WEBHOOK_CURSORS}{id}")
}

/// Checks a webhook's URL: http or https, a host, no blanks, bounded.
pub fn check(req: &WebhookReq) -> Result<(), OpError> {
    let bad = |why: &str| OpError::new(ErrorCode::InvalidRequest, format!("webhook URL {why}"));
    if req.url.is_empty() {
        return Err(bad("is required"));
    }
    if req.url.len() > URL_MAX {
        return Err(bad(&format!("is longer than {URL_MAX} bytes")));
    }
    let rest = req
        .url
        .strip_prefix("http://")
        .or_else(|| req.url.strip_prefix("https://"))
        .ok_or_else(|| bad(&format!("{:?} is not http:// or https://", req.url)))?;
    if rest.is_empty()
        || rest.starts_with('/')
        || req.url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad(&format!("{:?} has no host, or has blanks", req.url)));
    }
    Ok(())
}

/// Adds a webhook; its deliveries start with the next event.
pub async fn add(store: &dyn Store, req: WebhookReq) -> Result<(), OpError> {
    check(&req)?;
    if list(store).await?.len() >= WEBHOOKS_MAX {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("the cluster has {WEBHOOKS_MAX} webhooks already"),
        ));
    }
    let id = id_of(&req.url);
    let hook = Webhook {
        url: req.url.clone(),
        token: req.token,
        secret: req.secret,
    };
    let from = Cursor {
        seq: store.revision().await?,
    };
    let done = store
        .txn(Txn::new().when([Compare::absent(key(id))]).and_then([
            TxnOp::put(key(id), record::encode(&hook)),
            TxnOp::put(cursor_key(id), record::encode(&from)),
        ]))
        .await?;
    if !done.succeeded {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("webhook {} exists already", req.url),
        ));
    }
    Ok(())
}

/// Deletes a webhook (and where its deliveries were).
pub async fn delete(store: &dyn Store, url: &str) -> Result<(), OpError> {
    let id = id_of(url);
    let done = store
        .txn(
            Txn::new()
                .when([Compare::present(key(id))])
                .and_then([TxnOp::delete(key(id)), TxnOp::delete(cursor_key(id))]),
        )
        .await?;
    if !done.succeeded {
        return Err(OpError::new(
            ErrorCode::NotFound,
            format!("webhook {url} does not exist"),
        ));
    }
    Ok(())
}

/// Every webhook, by id.
pub async fn list(store: &dyn Store) -> Result<BTreeMap<Uuid, Webhook>, StoreError> {
    let mut out = BTreeMap::new();
    for kv in store.range(WEBHOOKS, 0).await?.kvs {
        let Some(id) = kv
            .key
            .strip_prefix(WEBHOOKS)
            .and_then(|i| Uuid::parse_str(i).ok())
        else {
            continue;
        };
        out.insert(id, record::decode::<Webhook>(&kv.key, &kv.value)?);
    }
    Ok(out)
}

/// GD1's name of an event (`volume.started` is `VOLUME_START`); events GD1 has no name for
/// are ours in its style (`brick.restarted` is `BRICK_RESTARTED`).
pub fn gd1_name(e: &Event) -> String {
    let rebalance = e.fields.get("kind").is_some_and(|k| k == "rebalance");
    let known = match e.event.as_str() {
        "volume.created" => "VOLUME_CREATE",
        "volume.started" => "VOLUME_START",
        "volume.stopped" => "VOLUME_STOP",
        "volume.deleted" => "VOLUME_DELETE",
        "volume.option-set" => "VOLUME_SET",
        "volume.option-reset" => "VOLUME_RESET",
        "volume.expanded" => "VOLUME_ADD_BRICK",
        "volume.remove-brick-started" => "VOLUME_REMOVE_BRICK_START",
        "volume.remove-brick-stopped" => "VOLUME_REMOVE_BRICK_STOP",
        "volume.shrunk" => "VOLUME_REMOVE_BRICK_COMMIT",
        "peer.added" => "PEER_ATTACH",
        "peer.removed" => "PEER_DETACH",
        "peer.online" => "PEER_CONNECT",
        "peer.offline" => "PEER_DISCONNECT",
        "brick.up" => "BRICK_CONNECTED",
        "brick.down" => "BRICK_DISCONNECTED",
        "brick.replaced" => "BRICK_REPLACE",
        "brick.reset-started" => "BRICK_RESET_START",
        "brick.reset-committed" => "BRICK_RESET_COMMIT",
        "task.started" if rebalance => "VOLUME_REBALANCE_START",
        "task.succeeded" if rebalance => "VOLUME_REBALANCE_COMPLETE",
        "task.stopped" if rebalance => "VOLUME_REBALANCE_STOP",
        "task.failed" if rebalance => "VOLUME_REBALANCE_FAILED",
        other => return other.replace(['.', '-'], "_").to_ascii_uppercase(),
    };
    known.to_owned()
}

/// The body of `e`'s delivery.
pub fn body(e: &Event) -> serde_json::Value {
    let ts = humantime::parse_rfc3339(&e.ts)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let mut message: serde_json::Map<String, serde_json::Value> = e
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    message.insert("text".into(), e.message.clone().into());
    serde_json::json!({
        "nodeid": e.node,
        "ts": ts,
        "event": gd1_name(e),
        "message": message,
        "id": e.id,
        "seq": e.seq,
    })
}

/// POSTs `body` (about the event `subject`, at `ts`) to `hook`; `Err` says why it did not
/// count as delivered.
pub async fn post(
    client: &reqwest::Client,
    hook: &Webhook,
    subject: &str,
    ts: u64,
    body: &serde_json::Value,
    me: Uuid,
) -> Result<(), String> {
    let mut req = client
        .post(&hook.url)
        .timeout(DELIVERY_TIMEOUT)
        .header("X-Gluster-Delivered-By", me.to_string())
        .json(body);
    if !hook.secret.is_empty() {
        req = req.bearer_auth(gd_auth::event_token(&hook.secret, subject, ts));
    } else if !hook.token.is_empty() {
        req = req.bearer_auth(&hook.token);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("{} answered {}", hook.url, r.status())),
        Err(e) => Err(format!("{} cannot be reached: {e}", hook.url)),
    }
}

/// A test delivery from this node: GD1's `TEST` event, signed as deliveries are.
pub async fn test(node: &gd_node::node::Node, req: &WebhookReq) -> gd_api::WebhookTestResult {
    let me = node.identity().peer_id;
    let hook = Webhook {
        url: req.url.clone(),
        token: req.token.clone(),
        secret: req.secret.clone(),
    };
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let body = serde_json::json!({"nodeid": me, "ts": ts, "event": "TEST", "message": {}});
    let r = post(&client(), &hook, "TEST", ts, &body, me).await;
    gd_api::WebhookTestResult {
        node: me,
        ok: r.is_ok(),
        error: r.err().unwrap_or_default(),
    }
}

/// A client for deliveries (no redirects: a webhook is its URL).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, fields: &[(&str, &str)]) -> Event {
        Event {
            id: Uuid::nil(),
            seq: 42,
            ts: "2026-12-06T10:00:00.500Z".into(),
            node: Uuid::nil(),
            event: name.into(),
            message: "volume v was started".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_body_is_gd1s_with_our_id() {
        let b = body(&event("volume.started", &[("volume", "v")]));
        assert_eq!(b["event"], "VOLUME_START");
        assert_eq!(b["ts"], 1_796_551_200);
        assert_eq!(b["message"]["volume"], "v");
        assert_eq!(b["message"]["text"], "volume v was started");
        assert_eq!(b["seq"], 42);
        assert_eq!(gd1_name(&event("brick.restarted", &[])), "BRICK_RESTARTED");
        assert_eq!(
            gd1_name(&event("volume.remove-brick-started", &[])),
            "VOLUME_REMOVE_BRICK_START"
        );
        assert_eq!(
            gd1_name(&event("task.succeeded", &[("kind", "rebalance")])),
            "VOLUME_REBALANCE_COMPLETE"
        );
        assert_eq!(
            gd1_name(&event("task.succeeded", &[("kind", "heal-full")])),
            "TASK_SUCCEEDED"
        );
    }

    #[test]
    fn only_http_urls_with_a_host() {
        let req = |url: &str| WebhookReq {
            url: url.into(),
            token: String::new(),
            secret: String::new(),
        };
        assert!(check(&req("http://127.0.0.1:9000/hook")).is_ok());
        assert!(check(&req("https://example.com")).is_ok());
        for bad in [
            "",
            "ftp://x",
            "http://",
            "http:///x",
            "http://a b",
            "file:///etc/passwd",
        ] {
            assert!(check(&req(bad)).is_err(), "{bad}");
        }
        assert_eq!(id_of("http://a/"), id_of("http://a/"));
        assert_ne!(id_of("http://a/"), id_of("http://b/"));
    }
}
