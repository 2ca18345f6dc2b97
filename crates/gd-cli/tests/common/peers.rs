//! The peers of the test clusters, as the daemon lists them: what is written in the store for
//! each, and whether it is online (an online peer is a node running in this process, whose
//! liveness carries this process's pid).

use gd_api::Peer;

/// node1's peer id.
pub const NODE1: &str = "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01";
/// node2's peer id.
pub const NODE2: &str = "0b7a3c1e-2f4d-4e5b-8c6d-7e8f9a0b1c2d";
/// node3's peer id.
pub const NODE3: &str = "9c2e4f60-1a2b-4c3d-8e9f-a0b1c2d3e4f5";

/// A peer; `online` ones get this process's pid. Addresses are on loopback (127.0.1.x, where
/// nothing listens) or name no host, so that what the daemon sends an online peer it removes
/// is refused at once rather than waiting for a timeout.
fn peer(id: &str, name: &str, peer: &str, clients: &[&str], online: bool, zone: &str) -> Peer {
    Peer {
        id: id.parse().unwrap(),
        name: name.into(),
        peer_addresses: vec![peer.into()],
        client_addresses: clients.iter().map(|&a| a.to_owned()).collect(),
        online,
        pid: online.then(std::process::id),
        metadata: [("_zone".to_owned(), zone.to_owned())].into(),
    }
}

/// The peers of [`Setup::default`](super::Setup): node1, online, in zone z1; node2, offline,
/// with an IPv6 client address too and the zone a node gets by default (its id).
pub fn peers() -> Vec<Peer> {
    vec![
        peer(
            NODE1,
            "node1",
            "node1:24008",
            &["127.0.1.1:24007"],
            true,
            "z1",
        ),
        peer(
            NODE2,
            "node2",
            "node2:24008",
            &["127.0.1.2:24007", "[fd00::2]:24007"],
            false,
            NODE2,
        ),
    ]
}

/// node3, online, in zone z3: a second glusterd2 on node1's host (127.0.1.1).
pub fn node3() -> Peer {
    peer(
        NODE3,
        "node3",
        "127.0.1.1:24018",
        &["127.0.1.1:24017"],
        true,
        "z3",
    )
}

/// The peers of [`Setup::volumes`](super::Setup::volumes), every one online (bricks can be
/// created, stopped and deleted only on nodes that answer): node1; node2, also known as
/// fd00::2; node3, also known as fd00::3.
pub fn brick_peers() -> Vec<Peer> {
    vec![
        peer(
            NODE1,
            "node1",
            "node1:24008",
            &["127.0.1.1:24007"],
            true,
            NODE1,
        ),
        peer(
            NODE2,
            "node2",
            "node2:24008",
            &["127.0.1.2:24007", "[fd00::2]:24007"],
            true,
            NODE2,
        ),
        peer(
            NODE3,
            "node3",
            "node3:24008",
            &["127.0.1.3:24007", "[fd00::3]:24007"],
            true,
            NODE3,
        ),
    ]
}
