//! How an [`EtcdStore`](super::EtcdStore) connects: its bounds, its credentials and how it
//! tells a dead connection.

use std::time::Duration;

use crate::managed;

/// How an [`EtcdStore`](super::EtcdStore) connects and how long its calls may take.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Bound on establishing a connection, and on the reachability check of
    /// [`EtcdStore::connect`](super::EtcdStore::connect) (default 3 s).
    pub connect_timeout: Duration,
    /// Bound on every request (default 5 s).
    pub request_timeout: Duration,
    /// Fail requests at once when the cluster has no leader instead of waiting (default true).
    pub require_leader: bool,
    /// User name and password, when etcd has authentication enabled.
    pub user: Option<(String, String)>,
    /// How long a connection with requests or watches open may stay silent before it is
    /// pinged, and how long the ping may go unanswered before the connection is taken for
    /// dead (default 10 s and 5 s: etcd refuses pings more often than every 5 s by default;
    /// [`EtcdOptions::managed`] for members started with [`managed::PING_MIN_INTERVAL`]).
    /// A connection to a member on the far side of a network cut is noticed only so.
    pub keep_alive: (Duration, Duration),
}

impl EtcdOptions {
    /// For the members glusterd2 manages, which accept pings every
    /// [`managed::PING_MIN_INTERVAL`]: a connection to a member cut off is given up on
    /// within 3 s, so that requests go to the members still reachable.
    pub fn managed() -> EtcdOptions {
        EtcdOptions {
            keep_alive: (managed::PING_MIN_INTERVAL * 2, managed::PING_MIN_INTERVAL),
            ..EtcdOptions::default()
        }
    }
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            require_leader: true,
            user: None,
            keep_alive: (Duration::from_secs(10), Duration::from_secs(5)),
        }
    }
}
