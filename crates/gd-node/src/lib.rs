//! A glusterd2 node, without its features: what every node is before it serves anything.
//!
//! Why a crate of its own: the node context — configuration, identity, the store (local,
//! managed etcd or external), liveness, peers and membership with the elastic etcd member it
//! runs — is what every feature works with, and none of it depends on a feature. So is the
//! way a node keeps processes at their desired state: [`reconcile`] (the generic loop over a
//! feature's view and its [`reconcile::Service`]s) and [`process`] (a process's identity, its
//! stopping, the adoption of daemons an earlier glusterd2 left). Features and the daemon's
//! REST shell build on it; nothing here names a feature, HTTP routing, or a GlusterFS volume.
//!
//! **API boundary:** [`node::Node`] (the running node: store, identity, liveness, peer
//! add/remove/join), [`config::Config`], [`peers`] (records and names of peers),
//! [`store`] (opening the store, the member runner seam), [`membership`] (the controller and
//! the member agent the daemon runs), [`reconcile`] and [`process`] (what a feature's
//! process services are built of).

pub mod address;
pub mod config;
pub mod identity;
pub mod liveness;
pub mod logging;
pub mod members;
pub mod membership;
pub mod node;
pub mod peer_client;
pub mod peers;
pub mod pidfile;
pub mod process;
pub mod reconcile;
pub mod store;
