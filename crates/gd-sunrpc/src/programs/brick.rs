//! GD_BRICK_PROGRAM 4867634 v2 (`glusterd1-xdr.x`, `enum glusterd_brick_procnum`): the calls
//! glusterd makes, as a *client*, to the daemons it runs — each glusterfsd brick, the self-heal
//! daemon, the rebalance process — on the unix socket each was started with (`-S`).
//!
//! Every procedure carries the same two structs: [`BrickOpReq`] (the target xlator's name, an
//! op, and a serialized dict of arguments) and [`BrickOpRsp`] (a result, an errno, a
//! serialized dict of results, an error text). What the dicts hold depends on the procedure
//! and is read by the daemon's feature that asks (status, heal, rebalance, profile); the keys
//! every STATUS and NODE_STATUS request needs are here ([`KEY_CMD`], [`KEY_BRICK_NAME`],
//! [`KEY_VOLNAME`]) with the status commands of `gf_cli_status_type` ([`STATUS_MEM`], ...).

use super::{DICT_MAX, ERRSTR_MAX, KEY_MAX, decode_dict};
use crate::dict::{Dict, DictError};
use crate::rpc::CallHeader;
use crate::xdr::{XdrError, xdr_struct};

/// Program number.
pub const PROGRAM: u32 = 4_867_634;
/// Program version.
pub const VERSION: u32 = 2;

/// Procedure NULL.
pub const NULL: u32 = 0;
/// Procedure TERMINATE: the daemon exits (GD1 uses it with brick multiplexing only).
pub const TERMINATE: u32 = 1;
/// Procedure XLATOR_INFO: an xlator's info (profile info, top).
pub const XLATOR_INFO: u32 = 2;
/// Procedure XLATOR_OP: an op on an xlator (heal commands to the self-heal daemon).
pub const XLATOR_OP: u32 = 3;
/// Procedure STATUS: a brick's status (`volume status <v> <brick> mem|clients|inode|fd|callpool`).
pub const STATUS: u32 = 4;
/// Procedure BRICK_OP (`GLUSTERD_BRICK_XLATOR_DEFRAG`'s sibling for brick-side ops).
pub const BRICK_OP: u32 = 5;
/// Procedure XLATOR_DEFRAG: rebalance status and stop, to the rebalance process.
pub const XLATOR_DEFRAG: u32 = 6;
/// Procedure NODE_PROFILE: profile of a node daemon.
pub const NODE_PROFILE: u32 = 7;
/// Procedure NODE_STATUS: status of a node daemon (the self-heal daemon, quotad, bitd...).
pub const NODE_STATUS: u32 = 8;
/// Procedure VOLUME_BARRIER_OP.
pub const VOLUME_BARRIER_OP: u32 = 9;
/// Procedure BRICK_BARRIER.
pub const BRICK_BARRIER: u32 = 10;
/// Procedure NODE_BITROT.
pub const NODE_BITROT: u32 = 11;
/// Procedure BRICK_ATTACH (brick multiplexing).
pub const BRICK_ATTACH: u32 = 12;
/// Procedure DUMP_METRICS.
pub const DUMP_METRICS: u32 = 13;
/// Procedure SVC_ATTACH (self-heal daemon multiplexing).
pub const SVC_ATTACH: u32 = 14;
/// Procedure SVC_DETACH.
pub const SVC_DETACH: u32 = 15;

/// Request dict key of STATUS and NODE_STATUS: the status command (uint32), a
/// `STATUS_*` op, or'ed with the kind of daemon for NODE_STATUS ([`STATUS_SHD`], ...).
pub const KEY_CMD: &str = "cmd";
/// Request dict key of STATUS: the brick's xlator name (its path).
pub const KEY_BRICK_NAME: &str = "brick-name";
/// Request dict key of NODE_STATUS: the volume.
pub const KEY_VOLNAME: &str = "volname";

/// Status op: memory (mallinfo and memory pools).
pub const STATUS_MEM: u32 = 0x1;
/// Status op: connected clients.
pub const STATUS_CLIENTS: u32 = 0x2;
/// Status op: inode tables.
pub const STATUS_INODE: u32 = 0x4;
/// Status op: open file descriptors.
pub const STATUS_FD: u32 = 0x8;
/// Status op: pending calls.
pub const STATUS_CALLPOOL: u32 = 0x10;
/// Status op: details (answered by glusterd itself, not by a daemon).
pub const STATUS_DETAIL: u32 = 0x20;
/// Status op: tasks (answered by glusterd itself).
pub const STATUS_TASKS: u32 = 0x40;
/// The bits of a status command that say the op.
pub const STATUS_MASK: u32 = 0xff;
/// NODE_STATUS daemon: the self-heal daemon.
pub const STATUS_SHD: u32 = 0x1000;
/// NODE_STATUS daemon: quotad.
pub const STATUS_QUOTAD: u32 = 0x2000;
/// NODE_STATUS daemon: snapd.
pub const STATUS_SNAPD: u32 = 0x4000;
/// NODE_STATUS daemon: bitd.
pub const STATUS_BITD: u32 = 0x8000;
/// NODE_STATUS daemon: the scrubber.
pub const STATUS_SCRUB: u32 = 0x10000;

/// The largest result dict accepted from a daemon (a status of every inode or fd of a busy
/// brick is large; 16 MiB is far past any GD1 answers).
pub const OUTPUT_MAX: usize = 16 << 20;

xdr_struct! {
    /// `gd1_mgmt_brick_op_req`.
    pub struct BrickOpReq {
        /// The target xlator's name (a brick's path, `glustershd`, the volume...), or "".
        pub name: String => string(KEY_MAX),
        /// The op, for the procedures that take one (XLATOR_OP's heal op, the defrag command).
        pub op: i32 => value,
        /// Serialized dict: the arguments.
        pub input: Vec<u8> => opaque(DICT_MAX),
        /// Serialized dict (brick and service attach); empty otherwise.
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gd1_mgmt_brick_op_rsp`.
    pub struct BrickOpRsp {
        /// 0 on success, -1 (or another negative value) on failure.
        pub op_ret: i32 => value,
        /// errno on failure.
        pub op_errno: i32 => value,
        /// Serialized dict: the results.
        pub output: Vec<u8> => opaque(OUTPUT_MAX),
        /// Why it failed, or "".
        pub op_errstr: String => string(ERRSTR_MAX),
    }
}

impl BrickOpReq {
    /// A request to `name` with op `op` and the arguments `input`.
    pub fn new(name: impl Into<String>, op: i32, input: &Dict) -> Result<Self, DictError> {
        Ok(BrickOpReq {
            name: name.into(),
            op,
            input: input.to_xdata()?,
            dict: Vec::new(),
        })
    }

    /// The STATUS request of `cmd` ([`STATUS_MEM`], ...) for the brick whose xlator is
    /// `brick` (its path).
    pub fn brick_status(brick: &str, cmd: u32) -> Result<Self, DictError> {
        let mut input = Dict::new();
        input.set_u32(KEY_CMD, cmd);
        input.set_str(KEY_BRICK_NAME, brick);
        BrickOpReq::new(brick, 0, &input)
    }

    /// Decodes `input`.
    pub fn decode_input(&self) -> Result<Dict, DictError> {
        decode_dict(&self.input)
    }
}

impl BrickOpRsp {
    /// Decodes `output`.
    pub fn decode_output(&self) -> Result<Dict, DictError> {
        decode_dict(&self.output)
    }
}

/// The complete call record of `procedure` with `req` (AUTH_NULL, as glusterd's own calls on
/// a daemon's socket).
pub fn call_record(xid: u32, procedure: u32, req: &BrickOpReq) -> Result<Vec<u8>, XdrError> {
    CallHeader::new(xid, PROGRAM, VERSION, procedure).to_record(req)
}
