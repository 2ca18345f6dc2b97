//! ONC RPC as GlusterFS speaks it, without I/O: the codec glusterd2's SunRPC server is built
//! on.
//!
//! Unmodified GlusterFS processes (glusterfsd bricks, glusterfs clients and self-heal daemons,
//! gfapi) talk to glusterd on TCP 24007 in ONC RPC v2 over XDR: they fetch volfiles, sign
//! bricks in and out, and look up brick ports; glusterd calls them back when volfiles change.
//! This crate turns bytes into those messages and back, and nothing else, so that every rule
//! about hostile input (bounded lengths, no panics, typed errors) is tested here without a
//! socket. The layers, bottom-up:
//!
//! - [`xdr`]: the `Encode`/`Decode` traits and the bounded reader and writer;
//! - [`record`]: RFC 5531 record marking (framing on the TCP stream) with a maximum size;
//! - [`rpc`]: CALL/REPLY headers and the auth flavors GlusterFS sends;
//! - [`dict`]: GlusterFS's serialized `dict_t`, found inside `xdata` fields;
//! - [`programs`]: GF-DUMP, Handshake (GETSPEC), Portmap and Callback numbers and messages.
//!
//! A server loop reads bytes into a [`record::RecordDecoder`], decodes each record's header
//! with [`rpc::RpcMessage::decode`] (whose errors carry the denied reply RFC 5531 prescribes),
//! dispatches on `(prog, vers, procedure)`, decodes the arguments with
//! [`xdr::Decode::from_xdr_prefix`] (GARBAGE_ARGS on error) and answers with
//! [`rpc::ReplyHeader::to_record`]; callbacks are built with [`programs::callback`].
//!
//! [`fuzz`] (hidden) holds one function per decoder of outside bytes, run by cargo-fuzz
//! (`fuzz/` at the repository root) and, on stable, by `tests/fuzz_harness.rs`.
//!
//! Everything is checked against the installed GlusterFS 10.3 libraries: `fixtures/*.hex` are
//! produced by `fixtures/gen/gen.c` calling libgfxdr's and libtirpc's own XDR routines.

pub mod dict;
#[doc(hidden)]
pub mod fuzz;
pub mod programs;
pub mod record;
pub mod rpc;
pub mod xdr;

pub use dict::{Dict, DictError};
pub use record::{RecordDecoder, RecordError};
pub use rpc::{CallHeader, ReplyHeader, RpcError, RpcMessage};
pub use xdr::{Decode, Encode, XdrError, XdrErrorKind, XdrReader, XdrWriter};

#[cfg(test)]
mod test_util {
    /// Parses hex with any whitespace or `|` separators (as the research notes write dumps).
    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| b.is_ascii_hexdigit())
            .map(|b| (b as char).to_digit(16).unwrap_or(0) as u8)
            .collect();
        assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
        digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
    }
}
