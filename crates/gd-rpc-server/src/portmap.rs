//! The brick → port registry of this node.
//!
//! A glusterfsd brick process signs in (Portmap SIGNIN) with its brick path and the port it
//! listens on once its graph is up, and signs out when it stops; clients ask PORTBYBRICK
//! before connecting to a brick. The registry lives in memory only and is rebuilt from
//! sign-ins (DESIGN §3.7: never trusted from disk): an entry remembers the RPC connection that
//! made it, and when that connection closes — the brick died or was killed — its entries go,
//! as in GD1 and GD2. A brick that signs in again (from a new connection) replaces its entry.
//!
//! The volume layer reads it ([`PortMap::port_of`], [`PortMap::get`]) and can follow it
//! ([`PortMap::subscribe`]), e.g. to publish a brick's port and online state to the store.
//! Several bricks may share a port (brick multiplexing). The map is bounded
//! ([`MAX_ENTRIES`]) because any RPC client can sign in.
//!
//! After a glusterd2 restart, its running bricks sign in again only when their management
//! connection reconnects (GlusterFS retries every 3 s); GD1 has no such gap, as it reads the
//! ports back from disk. The volume layer marks the bricks it adopted as *awaited*, and a
//! PORTBYBRICK for an awaited brick waits for its sign-in ([`PortMap::port_of_awaited`],
//! bounded), so that a client starting in that moment (a mount, `glfsheal`) gets the port
//! from the brick itself rather than a refusal.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::watch;

use super::ConnId;

/// Maximum number of bricks in the map; a sign-in beyond it is refused (ENOSPC).
pub const MAX_ENTRIES: usize = 16_384;

/// Maximum length of a brick name accepted at sign-in (PATH_MAX plus a suffix such as
/// `.rdma`).
pub const BRICK_NAME_MAX: usize = 4096 + 16;

/// One signed-in brick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrickPort {
    /// The port its glusterfsd listens on.
    pub port: u16,
    /// The pid it gave at sign-in (`None` if it gave none that is valid).
    pub pid: Option<u32>,
    /// The RPC connection it signed in on; the entry goes when that connection closes.
    pub conn: ConnId,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigninError {
    /// The brick name is empty, too long or not a plain string.
    #[error("invalid brick name")]
    BadName,
    /// The port is not in 1..=65535.
    #[error("invalid port {0}")]
    BadPort(i32),
    /// The map is full.
    #[error("the port map is full ({MAX_ENTRIES} bricks)")]
    Full,
}

/// How long a PORTBYBRICK for an awaited brick waits for its sign-in.
pub const SIGNIN_AWAIT: Duration = Duration::from_secs(5);

/// The registry. Cloning shares it.
#[derive(Debug, Clone)]
pub struct PortMap {
    map: watch::Sender<BTreeMap<String, BrickPort>>,
    /// Bricks running here that have not signed in since this glusterd2 started.
    awaited: Arc<Mutex<BTreeSet<String>>>,
}

impl Default for PortMap {
    fn default() -> Self {
        PortMap::new()
    }
}

impl PortMap {
    /// An empty map.
    pub fn new() -> Self {
        PortMap {
            map: watch::Sender::new(BTreeMap::new()),
            awaited: Arc::default(),
        }
    }

    fn awaited(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.awaited.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `brick` as running but not signed in yet (adopted after a restart), unless it
    /// has signed in meanwhile.
    pub fn await_signin(&self, brick: &str) {
        let map = self.map.borrow();
        let mut awaited = self.awaited();
        if !map.contains_key(brick) && awaited.len() < MAX_ENTRIES {
            awaited.insert(brick.to_owned());
        }
    }

    /// The port of `brick`; when it is awaited, once it signs in (waiting at most `bound`).
    pub async fn port_of_awaited(&self, brick: &str, bound: Duration) -> Option<u16> {
        let mut rx = self.map.subscribe();
        if let Some(port) = self.port_of(brick) {
            return Some(port);
        }
        if !self.awaited().contains(brick) {
            return None;
        }
        let signed_in = async {
            loop {
                if let Some(e) = rx.borrow_and_update().get(brick) {
                    return Some(e.port);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(bound, signed_in).await.ok().flatten()
    }

    /// The port of `brick` (its path, exactly as signed in), if it is signed in.
    pub fn port_of(&self, brick: &str) -> Option<u16> {
        self.map.borrow().get(brick).map(|e| e.port)
    }

    /// The entry of `brick`.
    pub fn get(&self, brick: &str) -> Option<BrickPort> {
        self.map.borrow().get(brick).copied()
    }

    /// The bricks signed in on `port`, in name order.
    pub fn bricks_on(&self, port: u16) -> Vec<String> {
        self.map
            .borrow()
            .iter()
            .filter(|(_, e)| e.port == port)
            .map(|(b, _)| b.clone())
            .collect()
    }

    /// A copy of the whole map.
    pub fn snapshot(&self) -> BTreeMap<String, BrickPort> {
        self.map.borrow().clone()
    }

    /// Follows the map: the receiver sees every change (as the latest state; intermediate
    /// states may be skipped, never the last one).
    pub fn subscribe(&self) -> watch::Receiver<BTreeMap<String, BrickPort>> {
        self.map.subscribe()
    }

    /// Removes `brick` whoever signed it in (e.g. the volume layer stopped it); returns
    /// whether it was there.
    pub fn remove(&self, brick: &str) -> bool {
        self.awaited().remove(brick);
        self.map.send_if_modified(|m| m.remove(brick).is_some())
    }

    /// SIGNIN: binds `brick` to `port` for the connection `conn`.
    pub(crate) fn sign_in(
        &self,
        brick: &str,
        port: i32,
        pid: i32,
        conn: ConnId,
    ) -> Result<(), SigninError> {
        if brick.is_empty() || brick.len() > BRICK_NAME_MAX || brick.contains(char::is_control) {
            return Err(SigninError::BadName);
        }
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or(SigninError::BadPort(port))?;
        let entry = BrickPort {
            port,
            pid: u32::try_from(pid).ok().filter(|p| *p != 0),
            conn,
        };
        let mut result = Ok(());
        self.awaited().remove(brick);
        self.map.send_if_modified(|m| {
            if m.len() >= MAX_ENTRIES && !m.contains_key(brick) {
                result = Err(SigninError::Full);
                return false;
            }
            m.insert(brick.to_owned(), entry) != Some(entry)
        });
        result
    }

    /// SIGNOUT: removes `brick` (GD1 does so whatever port is given); returns whether it was
    /// there.
    pub(crate) fn sign_out(&self, brick: &str) -> bool {
        self.remove(brick)
    }

    /// The connection `conn` closed: its bricks go.
    pub(crate) fn disconnected(&self, conn: ConnId) {
        self.map.send_if_modified(|m| {
            let before = m.len();
            m.retain(|_, e| e.conn != conn);
            m.len() != before
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_out_and_disconnect() {
        let pm = PortMap::new();
        let mut rx = pm.subscribe();
        pm.sign_in("/b1", 49152, 1234, ConnId(1)).unwrap();
        pm.sign_in("/b2", 49152, 1234, ConnId(1)).unwrap();
        pm.sign_in("/b3", 49153, 0, ConnId(2)).unwrap();
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().len(), 3);
        assert_eq!(pm.port_of("/b1"), Some(49152));
        assert_eq!(pm.get("/b3").unwrap().pid, None);
        assert_eq!(pm.bricks_on(49152), ["/b1", "/b2"]);
        assert_eq!(pm.port_of("/b"), None);

        assert!(pm.sign_out("/b1"));
        assert!(!pm.sign_out("/b1"));
        assert_eq!(pm.port_of("/b1"), None);

        // /b2 signs in again from another connection: the old connection's close spares it.
        pm.sign_in("/b2", 49154, 99, ConnId(3)).unwrap();
        pm.disconnected(ConnId(1));
        assert_eq!(pm.port_of("/b2"), Some(49154));
        pm.disconnected(ConnId(2));
        assert_eq!(pm.port_of("/b3"), None);
        assert_eq!(pm.snapshot().len(), 1);
        assert!(rx.has_changed().unwrap());
    }

    #[tokio::test]
    async fn a_brick_awaited_after_a_restart_is_answered_once_it_signs_in() {
        let pm = PortMap::new();
        let bound = Duration::from_secs(5);
        // Not awaited: no wait.
        assert_eq!(pm.port_of_awaited("/b", bound).await, None);
        pm.await_signin("/b");
        let asker = {
            let pm = pm.clone();
            tokio::spawn(async move { pm.port_of_awaited("/b", bound).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        pm.sign_in("/b", 49160, 7, ConnId(1)).unwrap();
        assert_eq!(asker.await.unwrap(), Some(49160));
        // Signed in: no longer awaited; gone, it is refused at once.
        pm.disconnected(ConnId(1));
        let t = std::time::Instant::now();
        assert_eq!(pm.port_of_awaited("/b", bound).await, None);
        assert!(t.elapsed() < Duration::from_secs(1));
        // One that never signs in: refused after the bound.
        pm.await_signin("/c");
        assert_eq!(
            pm.port_of_awaited("/c", Duration::from_millis(100)).await,
            None
        );
        // One stopped by the volume layer is no longer awaited.
        pm.remove("/c");
        assert!(!pm.awaited().contains("/c"));
    }

    #[test]
    fn bad_sign_ins_change_nothing() {
        let pm = PortMap::new();
        let mut rx = pm.subscribe();
        assert_eq!(pm.sign_in("", 1, 1, ConnId(1)), Err(SigninError::BadName));
        assert_eq!(
            pm.sign_in("/b\n", 1, 1, ConnId(1)),
            Err(SigninError::BadName)
        );
        let long = "x".repeat(BRICK_NAME_MAX + 1);
        assert_eq!(
            pm.sign_in(&long, 1, 1, ConnId(1)),
            Err(SigninError::BadName)
        );
        for port in [0, -1, 65536, i32::MIN] {
            assert_eq!(
                pm.sign_in("/b", port, 1, ConnId(1)),
                Err(SigninError::BadPort(port))
            );
        }
        assert!(!rx.has_changed().unwrap());
        assert!(pm.snapshot().is_empty());
        // Re-signing the same entry is not a change.
        pm.sign_in("/b", 1, 1, ConnId(1)).unwrap();
        rx.borrow_and_update();
        pm.sign_in("/b", 1, 1, ConnId(1)).unwrap();
        assert!(!rx.has_changed().unwrap());
    }

    #[test]
    fn the_map_is_bounded() {
        let pm = PortMap::new();
        for i in 0..MAX_ENTRIES {
            pm.sign_in(&format!("/b{i}"), 49152, 1, ConnId(1)).unwrap();
        }
        assert_eq!(
            pm.sign_in("/one-more", 49152, 1, ConnId(1)),
            Err(SigninError::Full)
        );
        // An existing brick may still move.
        pm.sign_in("/b0", 49153, 1, ConnId(2)).unwrap();
        assert_eq!(pm.port_of("/b0"), Some(49153));
    }
}
