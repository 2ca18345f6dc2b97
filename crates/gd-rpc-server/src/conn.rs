//! One SunRPC connection: reading records, answering calls, sending callbacks.
//!
//! The connection is full duplex and carries two kinds of outgoing messages: our replies and
//! our callback CALLs (FETCHSPEC), sent whenever the volume layer asks. Both go through one
//! bounded queue drained by one writer task, so two messages never interleave on the wire and
//! a client that stops reading stalls only its own connection: the reader then waits for
//! queue space (reading no more calls), a callback finds the queue full and closes the
//! connection instead, and a write that makes no progress for [`WRITE_TIMEOUT`] ends it.
//!
//! Calls are handled one at a time, in order: a management connection carries a handful of
//! calls in its life, and doing them in order bounds the work a connection can start.
//!
//! Timeouts. A connection must send its first bytes within [`FIRST_BYTES_TIMEOUT`], and a
//! record once started must be complete within [`RECORD_TIMEOUT`] (GlusterFS writes each
//! message at once): a peer that holds a half-sent record holds memory, so it is dropped.
//!
//! GlusterFS processes keep their management connection open for life to receive callbacks,
//! so a *known* connection — one that was served a volfile (GETSPEC) or signed a brick in
//! (SIGNIN), see [`super::handlers`] — has no idle timeout. Every other connection is a
//! *stranger*, and a stranger is closed [`super::Limits::stranger_timeout`]
//! ([`STRANGER_TIMEOUT`] by default) after it was handed to the RPC side, whatever it sends
//! meanwhile: calls other than a served GETSPEC or an accepted SIGNIN (DUMP, PING, NULL,
//! PORTBYBRICK, errors) do not count as activity. The bound is a total lifetime, not an idle
//! timer, because an idle timer that calls reset would let a stranger keep its slot of
//! [`super::Limits::max_connections`] for ever with one NULL call a minute, and because no
//! legitimate stranger needs long: a GlusterFS process identifies itself within its first
//! calls (DUMP, then GETSPEC; a brick also SIGNIN), and the only GlusterFS connections that
//! stay strangers are protocol/client's PORTBYBRICK look-ups, which disconnect as soon as
//! they have their answer. The bound is checked between calls, never inside one: a GETSPEC
//! in progress (up to [`super::handlers::GETSPEC_TIMEOUT`]) completes, and a served volfile
//! makes the connection known.

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf},
    sync::{OwnedSemaphorePermit, mpsc},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use super::{
    Peer, SunRpcServer,
    handlers::{Outcome, handle_record},
};

/// A connection that has sent nothing is closed after this long.
pub const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection that has neither been served a volfile nor signed a brick in is closed this
/// long after it was handed to the RPC side (the default of
/// [`super::Limits::stranger_timeout`]). A minute is hundreds of times what a GlusterFS
/// process takes to identify itself or a port look-up takes to finish.
pub const STRANGER_TIMEOUT: Duration = Duration::from_secs(60);

/// A record must be complete this long after its first byte arrived.
pub const RECORD_TIMEOUT: Duration = Duration::from_secs(30);

/// A write to the peer that makes no progress for this long closes the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Size of the read buffer: management messages are small, and thousands of connections
/// may sit idle holding one.
const READ_CHUNK: usize = 8 * 1024;

/// Why a connection ended (for the log).
#[derive(Debug, PartialEq, Eq)]
enum End {
    Eof,
    Shutdown,
    Error(String),
}

/// Serves one RPC connection until the peer closes it, it misbehaves, or `shutdown` fires.
///
/// `initial` holds bytes already read from `io` (the listener's classification prefix);
/// `slot` is the connection's permit ([`SunRpcServer::try_connection_slot`]), held until the
/// connection is gone.
pub async fn serve<S>(
    server: SunRpcServer,
    io: S,
    peer: Peer,
    initial: Vec<u8>,
    slot: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let _slot = slot;
    let (mut reader, writer) = tokio::io::split(io);
    let (tx, rx) = mpsc::channel(server.limits().queue_depth.max(1));
    let close = shutdown.child_token();
    let conn = server.register(peer, tx.clone(), close.clone());
    tracing::debug!(%conn, %peer, "SunRPC client connected");
    let writer = tokio::spawn(write_loop(writer, rx, close.clone()));

    let mut decoder = gd_sunrpc::RecordDecoder::new(server.limits().max_record_len);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pending = initial;
    let connected = Instant::now();
    let stranger_until = connected + server.limits().stranger_timeout;
    let mut known = false;
    let mut received_any = !pending.is_empty();
    let mut record_started: Option<Instant> = None;
    let end = 'conn: loop {
        let data: Vec<u8> = if !pending.is_empty() {
            std::mem::take(&mut pending)
        } else {
            // Once known, always known: the registry is asked only until then.
            known = known || server.is_known(conn);
            // The earliest of the bounds that apply now.
            let deadline = [
                (!received_any).then_some((connected + FIRST_BYTES_TIMEOUT, "no request")),
                record_started.map(|t| (t + RECORD_TIMEOUT, "a record not completed")),
                (!known).then_some((
                    stranger_until,
                    "neither served a volfile nor signed a brick in within the stranger bound",
                )),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at);
            // Checked before reading too: a read that finds bytes waiting returns them even
            // past its deadline, so a peer that never stops sending would never time out.
            if let Some((at, why)) = deadline
                && at <= Instant::now()
            {
                break 'conn End::Error(why.into());
            }
            let read = async {
                match deadline {
                    Some((at, why)) => tokio::time::timeout_at(at, reader.read(&mut buf))
                        .await
                        .unwrap_or_else(|_| {
                            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, why))
                        }),
                    None => reader.read(&mut buf).await,
                }
            };
            tokio::select! {
                _ = close.cancelled() => break 'conn End::Shutdown,
                r = read => match r {
                    Ok(0) => break 'conn End::Eof,
                    Ok(n) => buf[..n].to_vec(),
                    Err(e) => break 'conn End::Error(e.to_string()),
                },
            }
        };
        received_any = true;
        let records = match decoder.push(&data) {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(%conn, %peer, error = %e, "bad SunRPC record; closing the connection");
                break End::Error(e.to_string());
            }
        };
        for record in records {
            match handle_record(&server, conn, peer, &record).await {
                Outcome::Reply(reply) => {
                    let sent = tokio::select! {
                        _ = close.cancelled() => false,
                        r = tx.send(reply) => r.is_ok(),
                    };
                    if !sent {
                        break 'conn End::Shutdown;
                    }
                }
                Outcome::Nothing => {}
                Outcome::Close => break 'conn End::Error("malformed message".into()),
            }
        }
        if decoder.is_idle() {
            record_started = None;
        } else if record_started.is_none() {
            record_started = Some(Instant::now());
        }
    };
    if let (End::Eof, Err(e)) = (&end, decoder.finish()) {
        tracing::debug!(%conn, %peer, error = %e, "SunRPC client closed inside a record");
    }
    // Leave the registry (no more callbacks), then let the writer send what is queued.
    server.unregister(conn);
    drop(tx);
    if end != End::Eof {
        close.cancel();
    }
    let mut writer = writer;
    if tokio::time::timeout(WRITE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    match end {
        End::Eof => tracing::debug!(%conn, %peer, "SunRPC client disconnected"),
        End::Shutdown => tracing::debug!(%conn, %peer, "SunRPC connection closed"),
        End::Error(e) => tracing::info!(%conn, %peer, error = %e, "SunRPC connection dropped"),
    }
}

/// Writes queued records in order until the queue closes, `close` fires or a write fails.
async fn write_loop<W: AsyncWrite>(
    mut writer: WriteHalf<W>,
    mut rx: mpsc::Receiver<Vec<u8>>,
    close: CancellationToken,
) {
    loop {
        let record = tokio::select! {
            biased;
            _ = close.cancelled() => break,
            r = rx.recv() => match r {
                Some(record) => record,
                None => break,
            },
        };
        let write = async {
            writer.write_all(&record).await?;
            writer.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "SunRPC write failed");
                close.cancel();
                return;
            }
            Err(_) => {
                tracing::info!("SunRPC client does not read; closing its connection");
                close.cancel();
                return;
            }
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, writer.shutdown()).await;
}
