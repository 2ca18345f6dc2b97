//! The other direction: glusterd2 as a SunRPC *client* of the daemons it runs.
//!
//! GD1 asks its bricks, self-heal daemons and rebalance processes for their status, heal and
//! rebalance work over GD_BRICK_PROGRAM on the unix socket each was started with (`-S`), and
//! so does glusterd2 (DESIGN §3.17): one call per connection, AUTH_NULL as GD1's own, the
//! reply matched by its xid. Nothing a daemon answers is trusted: the whole call is bounded in
//! time ([`BrickCall::timeout`]), the reply in size ([`REPLY_MAX`]), and any reply that is not
//! a well-formed success of this call is an error that says what was wrong, never a panic.

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use gd_sunrpc::{
    Decode, RecordDecoder, RecordError, RpcMessage, XdrError,
    programs::brick::{self, BrickOpReq, BrickOpRsp, OUTPUT_MAX},
    rpc::ReplyBody,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::UnixStream,
};

/// The largest reply record read from a daemon: its result dict at most, and room for the
/// headers and the error text.
pub const REPLY_MAX: usize = OUTPUT_MAX + 64 * 1024;

/// How long a call may take by default (connect, send, answer): a status or heal command on
/// a live daemon answers in milliseconds; one that does not in this time is stuck.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to a daemon got no answer to use.
#[derive(Debug, thiserror::Error)]
pub enum BrickCallError {
    /// The daemon's socket does not take connections (the daemon is not running).
    #[error("cannot reach the daemon at {}: {source}", socket.display())]
    Connect {
        socket: PathBuf,
        source: std::io::Error,
    },
    #[error("the daemon at {} did not answer within {timeout:?}", socket.display())]
    Timeout { socket: PathBuf, timeout: Duration },
    #[error("the connection to the daemon at {} failed: {source}", socket.display())]
    Io {
        socket: PathBuf,
        source: std::io::Error,
    },
    #[error("the daemon at {} closed the connection without answering", socket.display())]
    Closed { socket: PathBuf },
    #[error("the daemon at {} answered garbage: {why}", socket.display())]
    Garbled { socket: PathBuf, why: String },
    #[error("the daemon at {} refused the call: {why}", socket.display())]
    Refused { socket: PathBuf, why: String },
}

/// One GD_BRICK_PROGRAM call to the daemon listening on `socket`.
#[derive(Debug, Clone)]
pub struct BrickCall {
    pub socket: PathBuf,
    pub timeout: Duration,
}

/// Transaction ids of this process's calls (unique per connection is enough; one counter
/// keeps them distinct in logs too).
static XID: AtomicU32 = AtomicU32::new(1);

impl BrickCall {
    /// A call to the daemon at `socket`, bounded by [`CALL_TIMEOUT`].
    pub fn to(socket: impl Into<PathBuf>) -> Self {
        BrickCall {
            socket: socket.into(),
            timeout: CALL_TIMEOUT,
        }
    }

    /// Calls `procedure` with `req` and returns the daemon's answer (whatever its `op_ret`:
    /// what a failed op means is the caller's to say).
    pub async fn call(
        &self,
        procedure: u32,
        req: &BrickOpReq,
    ) -> Result<BrickOpRsp, BrickCallError> {
        match tokio::time::timeout(self.timeout, self.exchange(procedure, req)).await {
            Ok(answer) => answer,
            Err(_) => Err(BrickCallError::Timeout {
                socket: self.socket.clone(),
                timeout: self.timeout,
            }),
        }
    }

    async fn exchange(
        &self,
        procedure: u32,
        req: &BrickOpReq,
    ) -> Result<BrickOpRsp, BrickCallError> {
        let xid = XID.fetch_add(1, Ordering::Relaxed);
        let record =
            brick::call_record(xid, procedure, req).map_err(|e| self.garbled_request(e))?;
        let mut stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| BrickCallError::Connect {
                    socket: self.socket.clone(),
                    source,
                })?;
        stream.write_all(&record).await.map_err(|e| self.io(e))?;
        let mut decoder = RecordDecoder::new(REPLY_MAX);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = stream.read(&mut buf).await.map_err(|e| self.io(e))?;
            if n == 0 {
                return Err(BrickCallError::Closed {
                    socket: self.socket.clone(),
                });
            }
            let records = decoder
                .push(&buf[..n])
                .map_err(|e| self.garbled_record(e))?;
            // The connection carries only our call: its first record is the answer.
            if let Some(reply) = records.into_iter().next() {
                return self.answer(xid, &reply);
            }
        }
    }

    /// Reads the reply record to the call `xid`.
    fn answer(&self, xid: u32, record: &[u8]) -> Result<BrickOpRsp, BrickCallError> {
        let (msg, rest) = RpcMessage::decode(record).map_err(|e| self.garbled(e.to_string()))?;
        let RpcMessage::Reply(reply) = msg else {
            return Err(self.garbled("a call where its reply belongs".into()));
        };
        if reply.xid != xid {
            return Err(self.garbled(format!("a reply to call {} instead of {xid}", reply.xid)));
        }
        if !reply.is_success() {
            let why = match reply.body {
                ReplyBody::Accepted { stat, .. } => format!("{stat:?}"),
                denied => format!("{denied:?}"),
            };
            return Err(BrickCallError::Refused {
                socket: self.socket.clone(),
                why,
            });
        }
        BrickOpRsp::from_xdr(rest).map_err(|e: XdrError| self.garbled(e.to_string()))
    }

    fn io(&self, source: std::io::Error) -> BrickCallError {
        BrickCallError::Io {
            socket: self.socket.clone(),
            source,
        }
    }

    fn garbled(&self, why: String) -> BrickCallError {
        BrickCallError::Garbled {
            socket: self.socket.clone(),
            why,
        }
    }

    fn garbled_record(&self, e: RecordError) -> BrickCallError {
        self.garbled(e.to_string())
    }

    fn garbled_request(&self, e: XdrError) -> BrickCallError {
        // Our own request cannot be encoded (a dict past its bound): say so plainly.
        BrickCallError::Refused {
            socket: self.socket.clone(),
            why: format!("the request cannot be sent: {e}"),
        }
    }

    /// The socket this call goes to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}
