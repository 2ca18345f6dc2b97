//! The HTTP/2 connections to etcd, set up so that the client's own cancellations cannot close
//! them.
//!
//! A request given up on (its bound passed, or its caller gone) is reset on the connection.
//! The HTTP/2 client remembers a reset stream for a while and ignores what the server still
//! sends on it; a frame that arrives for a stream it no longer remembers counts as the
//! server's protocol error, and after 1,024 of those in the connection's life it closes the
//! connection (`GOAWAY`, "too many internal resets"), failing every request and watch on it
//! at once. Its defaults remember 50 streams for one second: an etcd slow enough to make
//! requests time out answers them later than that, so a daemon that gives up on enough slow
//! requests over its life, or many agents sharing a connection (the scale bench), lose the
//! connection to their own cancellations just when etcd is busiest. Here a reset stream is
//! remembered for longer than any request may wait, and many more of them, and the limit is
//! lifted ([`tuned`]).

use std::time::Duration;

use etcd_client::{BalancedChannelBuilder, Channel};
use tokio::sync::mpsc;
use tonic::transport::{Endpoint, channel::Change};

/// How long a reset stream is remembered: longer than the longest bound on a request.
const REMEMBER_RESET: Duration = Duration::from_secs(120);
/// How many reset streams are remembered at most (a few hundred bytes each).
const REMEMBER_RESETS_MAX: usize = 4096;

/// Builds etcd-client's balanced channel with [`tuned`] endpoints.
pub(crate) struct Tuned;

impl BalancedChannelBuilder for Tuned {
    type Error = tonic::transport::Error;

    fn balanced_channel(
        self,
        buffer_size: usize,
    ) -> Result<(Channel, mpsc::Sender<Change<http::Uri, Endpoint>>), Self::Error> {
        let (channel, inner) = tonic::transport::Channel::balance_channel(buffer_size);
        // etcd-client inserts its endpoints (and later members' ones) through this sender:
        // each is tuned on its way. The task ends when the client drops its sender.
        let (tx, mut rx) = mpsc::channel::<Change<http::Uri, Endpoint>>(buffer_size);
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                let change = match change {
                    Change::Insert(uri, endpoint) => Change::Insert(uri, tuned(endpoint)),
                    other => other,
                };
                if inner.send(change).await.is_err() {
                    return;
                }
            }
        });
        Ok((Channel::Tonic(channel), tx))
    }
}

/// `endpoint` remembering reset streams as this module says, and without the lifetime limit:
/// it guards a client against a hostile server, and etcd is the cluster's own store (past
/// 4,096 streams given up on within 2 minutes, which 2,000 agents sharing one connection in
/// the scale bench reach while they start, the limit still closed the connection).
pub(crate) fn tuned(endpoint: Endpoint) -> Endpoint {
    endpoint
        .http2_reset_stream_duration(REMEMBER_RESET)
        .http2_max_concurrent_reset_streams(REMEMBER_RESETS_MAX)
        .http2_max_local_error_reset_streams(None)
}
