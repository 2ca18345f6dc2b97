//! The cluster core: logic shared by every node and every feature that is not HTTP, not a
//! store backend and not a process: the transaction engine ([`txn`]) and its test seam
//! ([`failpoint`]), tasks that run once per object under an elected leader ([`task`]), the
//! error every operation returns ([`OpError`]), and the one list of the store's keys
//! ([`keys`]).

mod error;
pub mod failpoint;
pub mod keys;
pub mod task;
pub mod txn;

pub use error::OpError;
