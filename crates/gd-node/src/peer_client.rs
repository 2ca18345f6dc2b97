//! Calls from this daemon to another glusterd2 (node-to-node), over the other node's REST
//! listener under `/v1/internal/`.
//!
//! Calls are signed like the CLI's, with the cluster secret and issuer
//! [`gd_api::internal::PEER_USER`], so only members of the cluster can make them. The one
//! exception is the join request, which goes to a node that has no cluster secret yet: the
//! receiver accepts it only while it is alone (see `Node::join`).

use std::time::Duration;

use gd_api::{ErrorResp, internal::PEER_USER};
use serde::{Serialize, de::DeserializeOwned};

/// The default port of a peer address given without one.
pub const DEFAULT_PEER_PORT: u16 = crate::config::DEFAULT_CLIENT_PORT;

/// Bound on one node-to-node call. Joining includes reconnecting the joiner's store.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerCallError {
    #[error(
        "could not connect to glusterd2 at {address}: {reason}; make sure the address is right, \
         the network is up and glusterd2 runs there"
    )]
    Unreachable { address: String, reason: String },
    /// The request was sent, and the connection broke before the answer: whether the peer
    /// acted on it is unknown.
    #[error("the connection to glusterd2 at {address} broke before it answered: {reason}")]
    Interrupted { address: String, reason: String },
    #[error("glusterd2 at {address} refused: {}", body.message())]
    Refused {
        address: String,
        status: u16,
        body: ErrorResp,
    },
    #[error("glusterd2 at {address} answered {status}: {text}")]
    Unexpected {
        address: String,
        status: u16,
        text: String,
    },
}

/// Normalises a user-given peer address to `host:port`.
pub fn normalize_address(addr: &str) -> Result<String, String> {
    let a = addr.trim();
    if a.is_empty() || a.len() > 255 || a.chars().any(|c| c.is_whitespace() || c == '/' || c == '@')
    {
        return Err(format!("{addr:?} is not a host[:port] address"));
    }
    if let Ok(sa) = a.parse::<std::net::SocketAddr>() {
        return Ok(sa.to_string());
    }
    if let Ok(ip) = a.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, DEFAULT_PEER_PORT).to_string());
    }
    match a.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("{addr:?}: {port:?} is not a port number"))?;
            if host.is_empty() {
                return Err(format!("{addr:?} has no host"));
            }
            Ok(format!("{host}:{port}"))
        }
        Some(_) => Err(format!("{addr:?}: write IPv6 addresses as [addr]:port")),
        None => Ok(format!("{a}:{DEFAULT_PEER_PORT}")),
    }
}

#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    scheme: &'static str,
}

impl PeerClient {
    /// `tls`: whether peers serve HTTPS (this node does). Certificates are checked against the
    /// system roots.
    pub fn new(tls: bool) -> PeerClient {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("an HTTP client with default TLS settings builds");
        PeerClient {
            http,
            scheme: if tls { "https" } else { "http" },
        }
    }

    /// POSTs `body` to `path` on the node at `address`, signed with `secret` when given.
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        address: &str,
        path: &str,
        secret: Option<&str>,
        body: &Req,
    ) -> Result<Resp, PeerCallError> {
        let url = format!("{}://{address}{path}", self.scheme);
        let mut req = self.http.post(&url).json(body);
        if let Some(secret) = secret {
            req = req.bearer_auth(gd_auth::issue_token(
                PEER_USER,
                secret,
                "POST",
                path,
                gd_auth::TOKEN_VALIDITY,
            ));
        }
        let failed = |e: reqwest::Error| {
            let (address, reason) = (address.to_owned(), error_chain(&e));
            if e.is_connect() {
                PeerCallError::Unreachable { address, reason }
            } else {
                PeerCallError::Interrupted { address, reason }
            }
        };
        let resp = req.send().await.map_err(failed)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(failed)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| PeerCallError::Unexpected {
                address: address.to_owned(),
                status,
                text: format!("undecodable answer: {e}"),
            });
        }
        match serde_json::from_slice::<ErrorResp>(&bytes) {
            Ok(body) => Err(PeerCallError::Refused {
                address: address.to_owned(),
                status,
                body,
            }),
            Err(_) => Err(PeerCallError::Unexpected {
                address: address.to_owned(),
                status,
                text: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            }),
        }
    }
}

impl PeerClient {
    /// The peer id of the glusterd2 at `address` (the `X-Gluster-Peer-Id` of its `/ping`).
    pub async fn peer_id(&self, address: &str) -> Result<uuid::Uuid, PeerCallError> {
        let url = format!("{}://{address}/ping", self.scheme);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| PeerCallError::Unreachable {
                address: address.to_owned(),
                reason: error_chain(&e),
            })?;
        let status = resp.status().as_u16();
        resp.headers()
            .get("x-gluster-peer-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
            .ok_or_else(|| PeerCallError::Unexpected {
                address: address.to_owned(),
                status,
                text: "its /ping has no X-Gluster-Peer-Id: is it glusterd2?".into(),
            })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(normalize_address("127.0.0.3").unwrap(), "127.0.0.3:24007");
        assert_eq!(
            normalize_address(" 127.0.0.3:24010 ").unwrap(),
            "127.0.0.3:24010"
        );
        assert_eq!(normalize_address("[::1]:24007").unwrap(), "[::1]:24007");
        assert_eq!(normalize_address("::1").unwrap(), "[::1]:24007");
        assert_eq!(normalize_address("node2").unwrap(), "node2:24007");
        assert_eq!(normalize_address("node2:9").unwrap(), "node2:9");
        for bad in ["", "a b", "host:x", ":24007", "h/p", "u@h", "fe80::1:x:y"] {
            assert!(normalize_address(bad).is_err(), "{bad:?}");
        }
    }
}
