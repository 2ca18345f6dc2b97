//! The cluster core: logic shared by every node that is not HTTP, not a store backend and not
//! a process: for now the transaction engine ([`txn`]) and its test seam ([`failpoint`]).

pub mod failpoint;
pub mod keys;
pub mod txn;
