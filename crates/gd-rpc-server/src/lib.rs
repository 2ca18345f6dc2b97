//! The SunRPC server: what unmodified GlusterFS processes talk to.
//!
//! glusterfsd bricks, glusterfs clients and self-heal daemons, and gfapi reach glusterd in ONC
//! RPC on TCP 24007 and (local tools) on a unix socket: they list our programs (GF-DUMP),
//! fetch volfiles (Handshake GETSPEC), sign bricks in and out and look up brick ports
//! (Portmap); and they stay connected so that glusterd can call them back (FETCHSPEC) when
//! their volfiles change. GlusterFS speaks this protocol, not REST, so glusterd2 must too — on
//! the same port as the REST API, as GD2 did (DESIGN §3.8).
//!
//! The layers, each in its own module:
//!
//! - [`classify`]: tells a SunRPC connection from an HTTP or TLS one by its first bytes;
//! - [`listener`]: the accept loops. One TCP listener is shared with the REST API: each
//!   connection is classified (bounded wait) and handed to the RPC side or to hyper; the unix
//!   socket `<rundir>/glusterd2.socket` is RPC only;
//! - [`conn`]: one RPC connection: record reassembly, calls handled in order, one writer task
//!   so replies and callbacks never interleave on the wire;
//! - [`handlers`]: the programs (DUMP, GETSPEC, PORTBYBRICK, SIGNIN, SIGNOUT, ...) and the
//!   RFC 5531 error replies, on top of the no-I/O codec `gd_sunrpc`;
//! - [`portmap`]: the brick → port registry, fed by sign-ins and read by the volume layer;
//! - [`volfile`]: the seam through which GETSPEC asks the volume layer for volfiles;
//! - [`events`]: the seam through which the rebalance processes' status pushes
//!   (EVENT_NOTIFY) reach the feature that runs rebalance;
//! - [`client`]: the other direction, glusterd2 calling the daemons it runs on their `-S`
//!   sockets (GD_BRICK_PROGRAM: status, heal, rebalance).
//!
//! [`SunRpcServer`] is the handle the daemon keeps: the port map, the volfile source, the
//! registry of connected clients and [`SunRpcServer::notify_fetchspec`].
//!
//! Nothing here trusts a peer: records are bounded ([`Limits::max_record_len`]), connections
//! are bounded ([`Limits::max_connections`]), a connection that does not say what it is in
//! [`listener::CLASSIFY_TIMEOUT`] or stalls inside a record is closed, and a malformed record
//! closes its connection, never the daemon. A connection of a GlusterFS process — one that
//! fetched a volfile (GETSPEC) or signed a brick in (SIGNIN) — has no idle timeout: it stays
//! open for life to receive callbacks. Any other connection (a *stranger*) lives at most
//! [`Limits::stranger_timeout`] ([`conn::STRANGER_TIMEOUT`]), so idle strangers cannot hold
//! the slots of [`Limits::max_connections`]; see [`conn`] for why that bound counts from the
//! connection and not from its last call.

pub mod classify;
pub mod client;
pub mod conn;
pub mod events;
pub mod handlers;
pub mod listener;
pub mod portmap;
pub mod volfile;

#[cfg(test)]
mod tests;

use std::{
    collections::HashMap,
    fmt,
    net::SocketAddr,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

pub use events::{EventSink, NoEvents};
pub use listener::{UNIX_SOCKET_NAME, spawn as spawn_listeners};
pub use portmap::{BrickPort, PortMap};
pub use volfile::{GetspecRequest, NoVolfiles, Volfile, VolfileSource};

/// Bounds of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum number of RPC connections at once (TCP and unix together); more are closed at
    /// once. Each holds a task, a small queue and at most one partial record.
    pub max_connections: usize,
    /// Maximum size of one reassembled record; a larger one closes the connection.
    pub max_record_len: usize,
    /// Depth of a connection's outgoing queue (replies and callbacks), in messages.
    pub queue_depth: usize,
    /// How long a connection that has not shown itself to be a GlusterFS process (no volfile
    /// served to it, no brick signed in on it) is kept, from the moment it was handed to the
    /// RPC side: [`conn::STRANGER_TIMEOUT`] by default.
    pub stranger_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_record_len: gd_sunrpc::record::DEFAULT_MAX_RECORD_LEN,
            queue_depth: 64,
            stranger_timeout: conn::STRANGER_TIMEOUT,
        }
    }
}

/// Identifies one RPC connection for the lifetime of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// Where an RPC connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A TCP client at this address.
    Tcp(SocketAddr),
    /// A client of the local unix socket (GD1 treats these as local, "trusted").
    Unix,
}

impl Peer {
    /// Whether the peer is on this machine: the unix socket or a loopback address. (GD1 also
    /// counts the node's own addresses; the volume layer can refine this.)
    pub fn is_loopback(&self) -> bool {
        match self {
            Peer::Tcp(addr) => addr.ip().is_loopback(),
            Peer::Unix => true,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "{addr}"),
            Peer::Unix => f.write_str("unix"),
        }
    }
}

/// A connected client, as [`SunRpcServer::clients`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// Its connection.
    pub conn: ConnId,
    /// Where it comes from.
    pub peer: Peer,
    /// The GETSPEC keys it asked for, oldest first (at most [`KEYS_PER_CLIENT_MAX`]).
    pub keys: Vec<String>,
    /// Whether it showed itself to be a GlusterFS process: a volfile was served to it or a
    /// brick signed in on it. Other connections live at most [`Limits::stranger_timeout`].
    pub known: bool,
}

/// How many distinct GETSPEC keys are remembered per connection (a brick asks one, a
/// multiplexed brick or shd a few).
pub const KEYS_PER_CLIENT_MAX: usize = 32;

/// The registry entry of one connection.
struct Client {
    peer: Peer,
    tx: mpsc::Sender<Vec<u8>>,
    close: CancellationToken,
    /// The xid of the last callback sent on this connection (GlusterFS: `++trans->xid`).
    xid: u32,
    keys: Vec<String>,
    /// See [`ClientInfo::known`].
    known: bool,
}

struct Inner {
    limits: Limits,
    portmap: PortMap,
    volfiles: RwLock<Arc<dyn VolfileSource>>,
    events: RwLock<Arc<dyn EventSink>>,
    clients: Mutex<HashMap<ConnId, Client>>,
    next_conn: AtomicU64,
    /// One permit per RPC connection.
    slots: Arc<Semaphore>,
}

/// The SunRPC server's handle: cheap to clone, shared by the listeners, every connection and
/// the daemon (which hands it to the volume layer).
#[derive(Clone)]
pub struct SunRpcServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for SunRpcServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SunRpcServer")
            .field("limits", &self.inner.limits)
            .field("clients", &self.client_count())
            .finish_non_exhaustive()
    }
}

impl Default for SunRpcServer {
    fn default() -> Self {
        SunRpcServer::new(Limits::default())
    }
}

impl SunRpcServer {
    /// A server with these bounds, serving no volfiles until
    /// [`SunRpcServer::set_volfile_source`] is called.
    pub fn new(limits: Limits) -> Self {
        SunRpcServer {
            inner: Arc::new(Inner {
                limits,
                portmap: PortMap::new(),
                volfiles: RwLock::new(Arc::new(NoVolfiles)),
                events: RwLock::new(Arc::new(NoEvents)),
                clients: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                slots: Arc::new(Semaphore::new(limits.max_connections)),
            }),
        }
    }

    /// The bounds.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The brick → port registry that sign-ins fill.
    pub fn portmap(&self) -> &PortMap {
        &self.inner.portmap
    }

    /// Sets where GETSPEC finds volfiles (the volume layer plugs in here); replaces the
    /// previous source for every later request.
    pub fn set_volfile_source(&self, source: Arc<dyn VolfileSource>) {
        let mut guard = self
            .inner
            .volfiles
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = source;
    }

    /// Sets where the rebalance processes' status pushes go (the rebalance feature plugs in
    /// here); replaces the previous sink.
    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) {
        let mut guard = self
            .inner
            .events
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = sink;
    }

    /// The current event sink.
    pub fn event_sink(&self) -> Arc<dyn EventSink> {
        self.inner
            .events
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The GETSPEC keys connection `conn` asked for (none once it is gone).
    pub fn keys_of(&self, conn: ConnId) -> Vec<String> {
        self.lock_clients()
            .get(&conn)
            .map(|c| c.keys.clone())
            .unwrap_or_default()
    }

    /// The current volfile source.
    pub fn volfile_source(&self) -> Arc<dyn VolfileSource> {
        self.inner
            .volfiles
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Tells connected clients that volfiles changed: sends the FETCHSPEC callback on every
    /// RPC connection, and each GlusterFS process fetches its volfiles again (a volfile that
    /// did not change is recognised by its checksum and costs nothing more). Returns the
    /// number of connections notified.
    ///
    /// `volume` names the volume whose volfiles changed; it is logged but does not filter,
    /// like GD1 and GD2, which notify every connection: a GETSPEC key does not reliably name
    /// a volume (`vol.host.brick-path`, `shd/vol`, `vol.tcp`, `/vol`, gfapi names), and a
    /// client missed is worse than a spurious refetch.
    ///
    /// Never blocks: a connection whose queue is full (a client that stopped reading) is
    /// closed instead, and the client fetches its volfiles when it reconnects.
    pub fn notify_fetchspec(&self, volume: Option<&str>) -> usize {
        let mut notified = 0;
        let mut clients = self.lock_clients();
        for (conn, client) in clients.iter_mut() {
            client.xid = client.xid.wrapping_add(1);
            let record = match gd_sunrpc::programs::callback::fetchspec_record(client.xid) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode the FETCHSPEC callback");
                    return notified;
                }
            };
            match client.tx.try_send(record) {
                Ok(()) => notified += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(%conn, peer = %client.peer,
                        "SunRPC client does not read its connection; closing it instead of notifying");
                    client.close.cancel();
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        tracing::info!(
            volume = volume.unwrap_or("<all>"),
            clients = notified,
            "sent FETCHSPEC to connected clients"
        );
        notified
    }

    /// Asks the clients of `volume` connected from `ip` to dump their state if their pid is
    /// `pid` (GD1's client statedump): the STATEDUMP callback on each such connection, as GD1
    /// sends it. gfapi applications (Samba, NFS-Ganesha, QEMU) answer it; a FUSE mount ignores
    /// it (`kill -USR1` on its host dumps it). A client of a volume is one whose GETSPEC key
    /// names the volume (`vol` or `/vol`). Returns how many connections were told; never
    /// blocks (a connection whose queue is full is skipped).
    pub fn send_statedump(&self, volume: &str, ip: std::net::IpAddr, pid: u32) -> usize {
        let mut told = 0;
        let mut clients = self.lock_clients();
        for (conn, client) in clients.iter_mut() {
            let from = match client.peer {
                Peer::Tcp(addr) => addr.ip(),
                Peer::Unix => continue,
            };
            if from.to_canonical() != ip.to_canonical()
                || !client
                    .keys
                    .iter()
                    .any(|k| k.trim_start_matches('/') == volume)
            {
                continue;
            }
            client.xid = client.xid.wrapping_add(1);
            let Ok(record) = gd_sunrpc::programs::callback::statedump_record(client.xid, pid)
            else {
                continue;
            };
            if client.tx.try_send(record).is_ok() {
                told += 1;
                tracing::info!(%conn, peer = %client.peer, pid, volume, "sent STATEDUMP");
            }
        }
        told
    }

    /// The connected RPC clients.
    pub fn clients(&self) -> Vec<ClientInfo> {
        let clients = self.lock_clients();
        let mut list: Vec<ClientInfo> = clients
            .iter()
            .map(|(conn, c)| ClientInfo {
                conn: *conn,
                peer: c.peer,
                keys: c.keys.clone(),
                known: c.known,
            })
            .collect();
        list.sort_by_key(|c| c.conn);
        list
    }

    /// The number of connected RPC clients.
    pub fn client_count(&self) -> usize {
        self.lock_clients().len()
    }

    fn lock_clients(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, Client>> {
        self.inner
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A permit for one more RPC connection, or `None` at [`Limits::max_connections`].
    pub(crate) fn try_connection_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.slots.clone().try_acquire_owned().ok()
    }

    /// Enters a new connection in the registry.
    fn register(&self, peer: Peer, tx: mpsc::Sender<Vec<u8>>, close: CancellationToken) -> ConnId {
        let conn = ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed));
        self.lock_clients().insert(
            conn,
            Client {
                peer,
                tx,
                close,
                xid: 0,
                keys: Vec::new(),
                known: false,
            },
        );
        conn
    }

    /// Removes a closed connection and the bricks it signed in.
    fn unregister(&self, conn: ConnId) {
        self.lock_clients().remove(&conn);
        self.inner.portmap.disconnected(conn);
    }

    /// Marks `conn` as a GlusterFS process (a volfile was served to it, or a brick signed in
    /// on it): from now on it has no idle timeout.
    fn mark_known(&self, conn: ConnId) {
        if let Some(client) = self.lock_clients().get_mut(&conn) {
            client.known = true;
        }
    }

    /// Whether `conn` is known ([`ClientInfo::known`]).
    fn is_known(&self, conn: ConnId) -> bool {
        self.lock_clients().get(&conn).is_some_and(|c| c.known)
    }

    /// Remembers that `conn` asked for the volfile `key`.
    fn remember_key(&self, conn: ConnId, key: &str) {
        if let Some(client) = self.lock_clients().get_mut(&conn)
            && !client.keys.iter().any(|k| k == key)
        {
            if client.keys.len() == KEYS_PER_CLIENT_MAX {
                client.keys.remove(0);
            }
            client.keys.push(key.to_owned());
        }
    }
}
