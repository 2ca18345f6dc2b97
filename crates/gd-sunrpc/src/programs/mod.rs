//! The Gluster RPC programs glusterd takes part in: numbers, procedures and message structs.
//!
//! One module per program, each with its `PROGRAM` and `VERSION` numbers, its procedure
//! numbers, and the XDR structs of the procedures glusterd serves or sends (from
//! `rpc-common-xdr.x`, `glusterfs3-xdr.x`, `portmap-xdr.x` and `glusterd1-xdr.x` of GlusterFS 10.3; every struct
//! is checked byte for byte against the installed libgfxdr, see `fixtures/`):
//!
//! - [`dump`]: GF-DUMP, which every client asks first to learn which programs we serve;
//! - [`handshake`]: GETSPEC (volfile fetch) and the other handshake procedures;
//! - [`portmap`]: brick sign-in/sign-out and brick → port lookups;
//! - [`callback`]: the calls glusterd sends to connected clients (FETCHSPEC);
//! - [`brick`]: the calls glusterd makes to the daemons it runs, on their `-S` sockets
//!   (status, heal, rebalance, profile; `glusterd1-xdr.x`).
//!
//! Field names follow the `.x` files, so a reader can hold them side by side. String and
//! opaque fields are `<>` (unbounded) in those files; the maxima here are ours, chosen so that
//! no legitimate message is refused and a decoder never holds more than the record it came in.
//! Where a limit is checked by GD1 at the application level (GETSPEC's key shorter than 255
//! bytes → `EINVAL`), the XDR maximum is larger so the server can answer the way GD1 does.

pub mod brick;
pub mod callback;
pub mod dump;
pub mod handshake;
pub mod portmap;

/// Maximum length of a dict carried in an `xdata`/`dict` opaque field (1 MiB).
pub const DICT_MAX: usize = 1 << 20;

/// Maximum length of a volfile name (GETSPEC `key`): `PATH_MAX`.
pub const KEY_MAX: usize = 4096;

/// Maximum length of a brick name (portmap): `PATH_MAX` plus room for a suffix such as
/// `.rdma`, rounded up.
pub const BRICK_MAX: usize = 8192;

/// Maximum length of a volfile (GETSPEC `spec`): 16 MiB, thousands of times a real one.
pub const SPEC_MAX: usize = 16 << 20;

/// Maximum length of an error string (`op_errstr`).
pub const ERRSTR_MAX: usize = 4096;

/// An RPC program as listed in a DUMP reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Program {
    /// The name GlusterFS gives it (shown in DUMP replies and logs).
    pub name: &'static str,
    /// Program number.
    pub number: u32,
    /// Program version.
    pub version: u32,
}

impl From<Program> for dump::ProgDetail {
    fn from(p: Program) -> Self {
        dump::ProgDetail {
            progname: p.name.to_owned(),
            prognum: p.number.into(),
            progver: p.version.into(),
        }
    }
}

/// GF-DUMP 123451501 v1.
pub const GF_DUMP: Program = Program {
    name: "GF-DUMP",
    number: dump::PROGRAM,
    version: dump::VERSION,
};

/// Gluster Handshake 14398633 v2.
pub const GLUSTER_HANDSHAKE: Program = Program {
    name: "Gluster Handshake",
    number: handshake::PROGRAM,
    version: handshake::VERSION,
};

/// Gluster Portmap 34123456 v1. Must appear in our DUMP reply: a protocol/client that finds
/// it concludes it talks to glusterd and asks PORTBYBRICK.
pub const GLUSTER_PORTMAP: Program = Program {
    name: "Gluster Portmap",
    number: portmap::PROGRAM,
    version: portmap::VERSION,
};

/// Gluster Callback 52743234 v1: served by clients, called by glusterd. The name is not part
/// of any message glusterd sends (the research notes call the program "Gluster Callback").
pub const GLUSTER_CALLBACK: Program = Program {
    name: "Gluster Callback",
    number: callback::PROGRAM,
    version: callback::VERSION,
};

/// Decodes an `xdata`/`dict` opaque field, shared by the messages' helpers.
fn decode_dict(field: &[u8]) -> Result<crate::dict::Dict, crate::dict::DictError> {
    crate::dict::Dict::from_xdata(field)
}
