//! The cluster core: logic shared by every node and every feature that is not HTTP, not a
//! store backend and not a process: the transaction engine ([`txn`]) and its test seam
//! ([`failpoint`]), tasks that run once per object under an elected leader ([`task`]), the
//! error every operation returns ([`OpError`]), the one list of the store's keys
//! ([`keys`]), the figures a node counts as it works ([`metrics`]), and the record of the
//! cluster's events ([`events`]).

mod error;
pub mod events;
pub mod failpoint;
pub mod keys;
pub mod metrics;
pub mod task;
pub mod tracing_context;
pub mod txn;

pub use error::OpError;
