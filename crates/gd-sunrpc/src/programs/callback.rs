//! Gluster Callback 52743234 v1: calls glusterd makes *to* its clients, on the connection the
//! client opened (`enum gf_cbk_procnum`).
//!
//! A callback is an ordinary CALL with AUTH_NULL credential and verifier and an xid from a
//! per-connection counter; clients never reply. glusterd sends FETCHSPEC (empty arguments) to
//! every connected client after volfiles change, GET_SNAPS (empty) to snapd, and STATEDUMP
//! ([`Statedump`]) for `volume statedump ... client`. The other procedures are sent by bricks.

use crate::rpc::CallHeader;
use crate::xdr::{XdrError, xdr_struct};

/// Program number.
pub const PROGRAM: u32 = 52_743_234;
/// Program version.
pub const VERSION: u32 = 1;

/// Procedure NULL.
pub const NULL: u32 = 0;
/// Procedure FETCHSPEC: no arguments; the client fetches all its volfiles again.
pub const FETCHSPEC: u32 = 1;
/// Procedure INO_FLUSH (unused in 10.3).
pub const INO_FLUSH: u32 = 2;
/// Procedure EVENT_NOTIFY (never sent by glusterd).
pub const EVENT_NOTIFY: u32 = 3;
/// Procedure GET_SNAPS: no arguments; snapd asks GET_SNAPSHOT_INFO.
pub const GET_SNAPS: u32 = 4;
/// Procedure CACHE_INVALIDATION (brick → client).
pub const CACHE_INVALIDATION: u32 = 5;
/// Procedure CHILD_UP (brick → client).
pub const CHILD_UP: u32 = 6;
/// Procedure CHILD_DOWN (brick → client).
pub const CHILD_DOWN: u32 = 7;
/// Procedure RECALL_LEASE (brick → client).
pub const RECALL_LEASE: u32 = 8;
/// Procedure STATEDUMP: [`Statedump`]; the client dumps its state if the pid is its own.
pub const STATEDUMP: u32 = 9;
/// Procedure INODELK_CONTENTION (brick → client).
pub const INODELK_CONTENTION: u32 = 10;
/// Procedure ENTRYLK_CONTENTION (brick → client).
pub const ENTRYLK_CONTENTION: u32 = 11;

xdr_struct! {
    /// `gf_statedump`: the STATEDUMP callback's argument.
    pub struct Statedump {
        /// The pid of the process that should dump its state.
        pub pid: u32 => value,
    }
}

/// The header of callback `procedure` with transaction id `xid`.
pub fn call_header(xid: u32, procedure: u32) -> CallHeader {
    CallHeader::new(xid, PROGRAM, VERSION, procedure)
}

/// The complete FETCHSPEC record (44 bytes).
pub fn fetchspec_record(xid: u32) -> Result<Vec<u8>, XdrError> {
    call_header(xid, FETCHSPEC).to_record(&())
}

/// The complete GET_SNAPS record.
pub fn get_snaps_record(xid: u32) -> Result<Vec<u8>, XdrError> {
    call_header(xid, GET_SNAPS).to_record(&())
}

/// The complete STATEDUMP record for the process `pid`.
pub fn statedump_record(xid: u32, pid: u32) -> Result<Vec<u8>, XdrError> {
    call_header(xid, STATEDUMP).to_record(&Statedump { pid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    #[test]
    fn fetchspec_is_44_bytes() {
        let rec = fetchspec_record(0x0102_0304).unwrap();
        assert_eq!(
            rec,
            hex(
                "80000028 01020304 00000000 00000002 0324cc42 00000001 00000001 \
                 00000000 00000000 00000000 00000000"
            )
        );
    }
}
