//! The listeners: TCP 24007 shared by SunRPC and the REST API, and the local unix socket.
//!
//! GlusterFS processes and REST clients both connect to the client address, so the daemon
//! accepts TCP connections itself and routes each by its first bytes
//! ([`super::classify`]): SunRPC calls to [`super::conn`], everything else to the HTTP server
//! (hyper, one connection at a time, with the router given), through TLS when a certificate is
//! configured. SunRPC stays plaintext even then, as GlusterFS's management connections are
//! unless `secure-access` is set up, which glusterd2 does not support yet; plain HTTP on a TLS
//! listener goes to the TLS handshake and fails there, as before the listener was shared.
//!
//! Bounds, so that no one address can starve the others (a flood of silent or idle
//! connections must not lock out the CLI, a brick's sign-in or a mount's GETSPEC):
//! - a connection has [`CLASSIFY_TIMEOUT`] to send its first bytes; at most
//!   [`MAX_CLASSIFYING`] connections are being classified at once, and at most
//!   [`MAX_CLASSIFYING_PER_ADDRESS`] from one remote address (loopback addresses, where this
//!   node's own bricks and clients reconnect in bursts, get [`MAX_CLASSIFYING_PER_LOOPBACK`]);
//! - at most [`MAX_HTTP_CONNECTIONS`] HTTP connections are open, [`MAX_HTTP_PER_ADDRESS`] from
//!   one address; an HTTP/1 connection must send a request's whole header within
//!   [`HTTP_HEADER_TIMEOUT`] of being idle, so an idle keep-alive connection closes then too;
//! - the TLS handshake has its own timeout; RPC connections are bounded by
//!   [`super::Limits::max_connections`].
//!
//! A connection over a bound is closed at once.
//!
//! Shutdown (`cancel`): the listeners stop accepting, the unix socket file is removed, HTTP
//! connections finish their requests (hyper's graceful shutdown) and RPC connections close;
//! the returned task ends when all are gone, and the caller bounds that wait.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use anyhow::Context as _;
use axum::{Router, extract::ConnectInfo};
use axum_server::{accept::Accept, tls_rustls::RustlsConfig};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream, UnixListener},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt as _;

use super::{
    Peer, SunRpcServer,
    classify::{Kind, PREFIX_LEN, classify},
};

/// The unix socket's file name in the run directory.
pub const UNIX_SOCKET_NAME: &str = "glusterd2.socket";

/// A TCP connection must say what it is (send its first bytes) within this time.
pub const CLASSIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// The TLS handshake must complete within this time.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many TCP connections are being classified at once; more are closed at once.
pub const MAX_CLASSIFYING: usize = 1024;
/// At most this many of them from one remote address.
pub const MAX_CLASSIFYING_PER_ADDRESS: usize = 32;
/// At most this many of them from one loopback address (this node's own processes).
pub const MAX_CLASSIFYING_PER_LOOPBACK: usize = 256;
/// At most this many HTTP connections are open at once.
pub const MAX_HTTP_CONNECTIONS: usize = 2048;
/// At most this many of them from one address.
pub const MAX_HTTP_PER_ADDRESS: usize = 128;
/// An HTTP/1 connection must send a request's whole header within this time of being idle
/// (after its previous response, or from its first byte).
pub const HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// Counts connections in total and per address, up to bounds.
#[derive(Clone)]
struct Quota {
    total: usize,
    per_address: usize,
    per_loopback: usize,
    held: Arc<std::sync::Mutex<(usize, std::collections::HashMap<std::net::IpAddr, usize>)>>,
}

/// One connection's place in a [`Quota`], given back when dropped.
struct QuotaSlot {
    quota: Quota,
    ip: std::net::IpAddr,
}

impl Quota {
    fn new(total: usize, per_address: usize, per_loopback: usize) -> Quota {
        Quota {
            total,
            per_address,
            per_loopback,
            held: Arc::default(),
        }
    }

    /// A place for one more connection from `ip`, or `None` over a bound.
    fn take(&self, ip: std::net::IpAddr) -> Option<QuotaSlot> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let limit = if ip.is_loopback() {
            self.per_loopback
        } else {
            self.per_address
        };
        let from_ip = held.1.get(&ip).copied().unwrap_or(0);
        if held.0 >= self.total || from_ip >= limit {
            return None;
        }
        held.0 += 1;
        held.1.insert(ip, from_ip + 1);
        Some(QuotaSlot {
            quota: self.clone(),
            ip,
        })
    }
}

impl Drop for QuotaSlot {
    fn drop(&mut self) {
        let mut held = self.quota.held.lock().unwrap_or_else(|e| e.into_inner());
        held.0 = held.0.saturating_sub(1);
        if let Some(n) = held.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.1.remove(&self.ip);
            }
        }
    }
}

/// Everything the listeners need.
pub struct Listeners {
    /// The client address's listener (non-blocking).
    pub tcp: std::net::TcpListener,
    /// The REST API.
    pub app: Router,
    /// TLS for HTTP, if configured.
    pub tls: Option<RustlsConfig>,
    /// Where to create the unix socket.
    pub unix_path: PathBuf,
}

/// Starts serving: binds the unix socket (replacing a stale one) and spawns the accept loops.
/// The task ends after `cancel` once every connection is closed.
pub fn spawn(
    listeners: Listeners,
    server: SunRpcServer,
    cancel: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<io::Result<()>>> {
    let Listeners {
        tcp,
        app,
        tls,
        unix_path,
    } = listeners;
    let tcp = TcpListener::from_std(tcp)?;
    let local = tcp.local_addr()?;
    let unix = bind_unix(&unix_path)?;
    tracing::info!(address = %local, socket = %unix_path.display(), "serving SunRPC");
    let tracker = TaskTracker::new();
    let http = Http {
        app,
        tls: tls.map(|c| {
            axum_server::tls_rustls::RustlsAcceptor::new(c).handshake_timeout(TLS_HANDSHAKE_TIMEOUT)
        }),
    };
    Ok(tokio::spawn(async move {
        tokio::join!(
            tcp_loop(tcp, http, server.clone(), cancel.clone(), tracker.clone()),
            unix_loop(unix, &unix_path, server, cancel, tracker.clone()),
        );
        tracker.close();
        tracker.wait().await;
        Ok(())
    }))
}

/// Binds the unix socket at `path`, first removing a stale socket file (the single-instance
/// guard ensures no other daemon uses this run directory). Anything else at `path` is an error.
fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?,
        Ok(_) => anyhow::bail!(
            "{} exists and is not a socket; remove it or choose another --rundir",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
    UnixListener::bind(path).with_context(|| {
        format!(
            "cannot listen on the unix socket {} (a path must be shorter than 108 bytes)",
            path.display()
        )
    })
}

/// The HTTP side.
#[derive(Clone)]
struct Http {
    app: Router,
    tls: Option<axum_server::tls_rustls::RustlsAcceptor>,
}

async fn tcp_loop(
    listener: TcpListener,
    http: Http,
    server: SunRpcServer,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let classifying = Quota::new(
        MAX_CLASSIFYING,
        MAX_CLASSIFYING_PER_ADDRESS,
        MAX_CLASSIFYING_PER_LOOPBACK,
    );
    let http_conns = Quota::new(
        MAX_HTTP_CONNECTIONS,
        MAX_HTTP_PER_ADDRESS,
        MAX_HTTP_PER_ADDRESS,
    );
    loop {
        let (stream, addr) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        let Some(permit) = classifying.take(addr.ip()) else {
            tracing::debug!(peer = %addr, "too many connections that have not sent their first bytes; closing");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (http, server, cancel) = (http.clone(), server.clone(), cancel.clone());
        let http_conns = http_conns.clone();
        tracker.spawn(async move {
            let first = tokio::select! {
                _ = cancel.cancelled() => return,
                r = tokio::time::timeout(CLASSIFY_TIMEOUT, read_prefix(stream)) => r,
            };
            drop(permit);
            let (stream, prefix, kind) = match first {
                Ok(Ok(Some(first))) => first,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %addr, error = %e, "connection failed before its first request");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %addr, "no request within {CLASSIFY_TIMEOUT:?}; closing");
                    return;
                }
            };
            match kind {
                Kind::SunRpc => {
                    let Some(slot) = server.try_connection_slot() else {
                        tracing::warn!(peer = %addr, max = server.limits().max_connections,
                            "too many SunRPC connections; closing a new one");
                        return;
                    };
                    super::conn::serve(server, stream, Peer::Tcp(addr), prefix, slot, cancel).await;
                }
                Kind::Tls | Kind::Other | Kind::NeedMore => {
                    let Some(_slot) = http_conns.take(addr.ip()) else {
                        tracing::debug!(peer = %addr, "too many HTTP connections; closing a new one");
                        return;
                    };
                    serve_http(http, Prefixed::new(prefix, stream), addr, cancel).await;
                }
            }
        });
    }
}

async fn unix_loop(
    listener: UnixListener,
    path: &Path,
    server: SunRpcServer,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        let Some(slot) = server.try_connection_slot() else {
            tracing::warn!(
                max = server.limits().max_connections,
                "too many SunRPC connections; closing a new one on the unix socket"
            );
            continue;
        };
        tracker.spawn(super::conn::serve(
            server.clone(),
            stream,
            Peer::Unix,
            Vec::new(),
            slot,
            cancel.clone(),
        ));
    }
    drop(listener);
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the unix socket");
    }
}

/// Accept errors (out of file descriptors, a connection reset before accept) are transient:
/// log and retry after a pause, as axum does.
async fn accept_error(e: io::Error) {
    tracing::warn!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Reads until [`classify`] can decide; `None` if the peer closed first.
async fn read_prefix(mut stream: TcpStream) -> io::Result<Option<(TcpStream, Vec<u8>, Kind)>> {
    let mut buf = [0u8; PREFIX_LEN];
    let mut n = 0;
    loop {
        match classify(&buf[..n]) {
            Kind::NeedMore => {}
            kind => return Ok(Some((stream, buf[..n].to_vec(), kind))),
        }
        let read = stream.read(&mut buf[n..]).await?;
        if read == 0 {
            return Ok(None);
        }
        n += read;
    }
}

/// Serves one HTTP connection (through TLS if configured) with the router.
async fn serve_http<S>(http: Http, io: S, addr: SocketAddr, cancel: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match &http.tls {
        Some(acceptor) => match acceptor.accept(io, ()).await {
            Ok((tls, ())) => serve_hyper(http.app, tls, addr, cancel).await,
            Err(e) => tracing::debug!(peer = %addr, error = %e, "TLS handshake failed"),
        },
        None => serve_hyper(http.app, io, addr, cancel).await,
    }
}

async fn serve_hyper<S>(app: Router, io: S, addr: SocketAddr, cancel: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // What `into_make_service_with_connect_info::<SocketAddr>` gave handlers.
    let service = app.map_request(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        req
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HTTP_HEADER_TIMEOUT);
    builder.http2().enable_connect_protocol();
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::trace!(peer = %addr, error = %e, "HTTP connection ended with an error");
    }
}

/// A stream whose first bytes were already read: they are read again first.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    /// `inner`, preceded by `prefix`.
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(rest) = this.prefix.get(this.pos..)
            && !rest.is_empty()
        {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
