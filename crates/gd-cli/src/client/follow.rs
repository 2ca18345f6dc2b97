//! Operations the daemon answers `202 Accepted` (still running after its answer wait): the
//! client follows their transaction to the end and then answers like a quick operation.

use std::time::Duration;

use gd_api::{ErrorCode, ErrorResp};
use serde::de::DeserializeOwned;

use super::{Client, ClientError, Method, StatusCode};

/// How long the client follows an operation the daemon answered with `202 Accepted` (it
/// still runs) before giving up on it — not on the operation, which goes on.
pub const FOLLOW_MAX: Duration = Duration::from_secs(30 * 60);

/// How often a followed operation is asked about.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

impl Client {
    /// The answer to an operation the daemon still runs (`202 Accepted`, the body its
    /// transaction): follows the transaction to its end; then its error, or the object it
    /// changed (read at its `resource`), or nothing for answers without a body.
    pub(super) async fn accepted<Resp: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
    ) -> Result<Resp, ClientError> {
        let decode_err = |e: serde_json::Error| ClientError::Decode {
            method: method.clone(),
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let txn: gd_api::Transaction = serde_json::from_slice(body).map_err(decode_err)?;
        eprintln!(
            "{} is taking a while; following it (transaction {})",
            txn.operation, txn.id
        );
        let ended = self.follow(&txn, FOLLOW_MAX).await?;
        if let Some(error) = ended.error {
            let status = ErrorCode::from_u32(error.code)
                .and_then(|c| StatusCode::from_u16(c.http_status()).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(ClientError::Api {
                status,
                body: ErrorResp {
                    errors: vec![error],
                },
            });
        }
        for note in &ended.notes {
            eprintln!("Warning: {note}");
        }
        if let Ok(nothing) = serde_json::from_slice::<Resp>(b"null") {
            return Ok(nothing);
        }
        match &txn.resource {
            Some(resource) => {
                self.request::<(), Resp>(Method::GET, resource, &[], None)
                    .await
            }
            None => Err(ClientError::Decode {
                method,
                path: path.to_owned(),
                reason: format!("transaction {} ended without an object to read", txn.id),
            }),
        }
    }

    /// Asks about transaction `txn` until it has ended (at most `bound`), and returns it
    /// ended. An unreachable daemon or a store without quorum is asked again.
    pub async fn follow(
        &self,
        txn: &gd_api::Transaction,
        bound: Duration,
    ) -> Result<gd_api::Transaction, ClientError> {
        let started = std::time::Instant::now();
        let path = format!("/v1/transactions/{}", txn.id);
        loop {
            if started.elapsed() > bound {
                return Err(ClientError::StillRunning {
                    operation: txn.operation.clone(),
                    id: txn.id,
                    waited: bound,
                });
            }
            tokio::time::sleep(FOLLOW_EVERY).await;
            match self.get::<gd_api::Transaction>(&path).await {
                Ok(t) if t.state.ended() => return Ok(t),
                Ok(_) => {}
                Err(
                    ClientError::Unreachable { .. }
                    | ClientError::Timeout { .. }
                    | ClientError::Transport { .. },
                ) => {}
                Err(e) if e.code() == Some(ErrorCode::StoreUnavailable) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
