//! Gluster Handshake 14398633 v2 (`glusterfs3-xdr.x`): how every glusterfsd, glusterfs and
//! gfapi process fetches its volfile (GETSPEC), plus the few other procedures glusterd serves
//! (EVENT_NOTIFY from rebalance, GET_VOLUME_INFO from gfapi, GET_SNAPSHOT_INFO from snapd).
//! SETVOLUME, PING and SET_LK_VER are brick-side procedures of the same program.

use super::{DICT_MAX, ERRSTR_MAX, KEY_MAX, SPEC_MAX, decode_dict};
use crate::dict::{Dict, DictError};
use crate::xdr::xdr_struct;

/// Program number.
pub const PROGRAM: u32 = 14_398_633;
/// Program version.
pub const VERSION: u32 = 2;

/// Procedure NULL (PROC_UNAVAIL in GD1).
pub const NULL: u32 = 0;
/// Procedure SETVOLUME (brick side; PROC_UNAVAIL at glusterd).
pub const SETVOLUME: u32 = 1;
/// Procedure GETSPEC: [`GetspecReq`] → [`GetspecRsp`].
pub const GETSPEC: u32 = 2;
/// Procedure PING (brick side).
pub const PING: u32 = 3;
/// Procedure SET_LK_VER (brick side).
pub const SET_LK_VER: u32 = 4;
/// Procedure EVENT_NOTIFY: [`EventNotifyReq`] → [`EventNotifyRsp`].
pub const EVENT_NOTIFY: u32 = 5;
/// Procedure GET_VOLUME_INFO: [`GetVolumeInfoReq`] → [`GetVolumeInfoRsp`].
pub const GET_VOLUME_INFO: u32 = 6;
/// Procedure GET_SNAPSHOT_INFO: [`GetSnapNameUuidReq`] → [`GetSnapNameUuidRsp`].
pub const GET_SNAPSHOT_INFO: u32 = 7;

/// GETSPEC `flags` bit `GF_GETSPEC_FLAG_SERVERS_LIST`, set by every client process (GD1
/// ignores it).
pub const GETSPEC_FLAG_SERVERS_LIST: u32 = 1;

/// GETSPEC request xdata key: lowest op-version the client supports (int).
pub const KEY_MIN_OP_VERSION: &str = "min-op-version";
/// GETSPEC request xdata key: highest op-version the client supports (int).
pub const KEY_MAX_OP_VERSION: &str = "max-op-version";
/// GETSPEC request xdata key: the brick path (bricks only).
pub const KEY_BRICK_NAME: &str = "brick_name";
/// GETSPEC reply xdata key: volfile servers, `"h1:24007 h2:24007 "` (GD1).
pub const KEY_BRICK_VOL_SERVERS: &str = "cluster.brick-vol-servers";
/// GETSPEC reply xdata key: volfile servers (GD2's name, also read by clients).
pub const KEY_SERVERS_LIST: &str = "servers-list";
/// GETSPEC reply xdata key: the self-heal daemon's pidfile (mandatory for `shd/<vol>`).
pub const KEY_PIDFILE: &str = "pidfile";

/// EVENT_NOTIFY `op`: rebalance status (`GF_EN_DEFRAG_STATUS`), the only one defined.
pub const EVENT_DEFRAG_STATUS: i32 = 0;

/// GET_VOLUME_INFO request dict key: the volume name.
pub const KEY_VOLNAME: &str = "volname";
/// GET_VOLUME_INFO request dict key: flags (int32).
pub const KEY_FLAGS: &str = "flags";
/// GET_VOLUME_INFO `flags` bit `GF_GET_VOLUME_UUID`.
pub const GET_VOLUME_UUID: i32 = 1;
/// GET_VOLUME_INFO reply dict key: the volume id as 36-character text.
pub const KEY_VOLUME_ID: &str = "volume_id";

xdr_struct! {
    /// `gf_getspec_req`: a volfile fetch.
    pub struct GetspecReq {
        /// 0 from bricks, [`GETSPEC_FLAG_SERVERS_LIST`] from clients.
        pub flags: u32 => value,
        /// The volfile id (`--volfile-id`), e.g. `vol1.node1.data-brick1`, `/vol1`, `shd/vol1`.
        /// GD1 answers `EINVAL` from 255 bytes on; the XDR limit is [`KEY_MAX`].
        pub key: String => string(KEY_MAX),
        /// Serialized dict: [`KEY_MIN_OP_VERSION`], [`KEY_MAX_OP_VERSION`], [`KEY_BRICK_NAME`].
        pub xdata: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gf_getspec_rsp`. Clients take `op_ret` as the volfile's size: on success it must be
    /// exactly `spec.len()` ([`GetspecRsp::volfile`] sees to it); -1 is the only failure value.
    pub struct GetspecRsp {
        /// Volfile length, or -1.
        pub op_ret: i32 => value,
        /// errno on failure (`ENOENT`, `ENOTSUP` for an op-version mismatch, `EINVAL`).
        pub op_errno: i32 => value,
        /// The volfile text ("" on failure).
        pub spec: String => string(SPEC_MAX),
        /// Serialized dict: [`KEY_BRICK_VOL_SERVERS`], [`KEY_PIDFILE`]; empty if none.
        pub xdata: Vec<u8> => opaque(DICT_MAX),
    }
}

impl GetspecReq {
    /// Decodes `xdata`.
    pub fn decode_xdata(&self) -> Result<Dict, DictError> {
        decode_dict(&self.xdata)
    }
}

impl GetspecRsp {
    /// A successful reply: `op_ret` is the volfile's length (at most [`SPEC_MAX`], which fits an
    /// `int`; a longer volfile is refused when encoding).
    pub fn volfile(spec: String, xdata: Vec<u8>) -> Self {
        GetspecRsp {
            op_ret: i32::try_from(spec.len()).unwrap_or(i32::MAX),
            op_errno: 0,
            spec,
            xdata,
        }
    }

    /// A failed reply: `op_ret` -1, the errno given, empty volfile and xdata.
    pub fn error(errno: i32) -> Self {
        GetspecRsp {
            op_ret: -1,
            op_errno: errno,
            spec: String::new(),
            xdata: Vec::new(),
        }
    }

    /// Decodes `xdata`.
    pub fn decode_xdata(&self) -> Result<Dict, DictError> {
        decode_dict(&self.xdata)
    }
}

xdr_struct! {
    /// `gf_event_notify_req` (rebalance status push).
    pub struct EventNotifyReq {
        /// [`EVENT_DEFRAG_STATUS`] is the only op defined.
        pub op: i32 => value,
        /// Serialized dict (rebalance counters).
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gf_event_notify_rsp`. GD1 sends no reply at all for a defrag status with a non-empty
    /// dict, and `{-1 or 0, 0, <>}` otherwise.
    pub struct EventNotifyRsp {
        /// 0, or -1 for an unknown op.
        pub op_ret: i32 => value,
        /// errno.
        pub op_errno: i32 => value,
        /// Serialized dict.
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gf_get_volume_info_req`.
    pub struct GetVolumeInfoReq {
        /// Serialized dict: [`KEY_VOLNAME`], [`KEY_FLAGS`].
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gf_get_volume_info_rsp`.
    pub struct GetVolumeInfoRsp {
        /// 0 or -1.
        pub op_ret: i32 => value,
        /// errno (`EINVAL` for an unknown volume).
        pub op_errno: i32 => value,
        /// Error text ("" on success).
        pub op_errstr: String => string(ERRSTR_MAX),
        /// Serialized dict: [`KEY_VOLUME_ID`].
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gf_getsnap_name_uuid_req` (GET_SNAPSHOT_INFO).
    pub struct GetSnapNameUuidReq {
        /// Serialized dict: [`KEY_VOLNAME`].
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

xdr_struct! {
    /// `gf_getsnap_name_uuid_rsp` (GET_SNAPSHOT_INFO).
    pub struct GetSnapNameUuidRsp {
        /// 0 or -1.
        pub op_ret: i32 => value,
        /// errno.
        pub op_errno: i32 => value,
        /// Error text.
        pub op_errstr: String => string(ERRSTR_MAX),
        /// Serialized dict: `snap-count`, `snapname.<i>`, `snap-id.<i>`, `snap-volname.<i>`.
        pub dict: Vec<u8> => opaque(DICT_MAX),
    }
}

macro_rules! dict_field {
    ($($t:ty),*) => {$(
        impl $t {
            /// Decodes `dict`.
            pub fn decode_dict(&self) -> Result<Dict, DictError> {
                decode_dict(&self.dict)
            }
        }
    )*};
}

dict_field!(
    EventNotifyReq,
    EventNotifyRsp,
    GetVolumeInfoReq,
    GetVolumeInfoRsp,
    GetSnapNameUuidReq,
    GetSnapNameUuidRsp
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;
    use crate::xdr::{Decode, Encode};

    /// §1.7 of the research notes (108 bytes); the dict is §3's example.
    fn notes_getspec_req() -> Vec<u8> {
        hex(&format!(
            "00000000 0000000b 766f6c2e 686f7374 2e623100 00000052 {} 0000",
            crate::dict::tests::NOTES_DICT
        ))
    }

    #[test]
    fn notes_getspec_request() {
        let mut xdata = Dict::new();
        xdata.set_str(KEY_BRICK_NAME, "/b1");
        xdata.set_i32(KEY_MAX_OP_VERSION, 100_000);
        xdata.set_i32(KEY_MIN_OP_VERSION, 1);
        let req = GetspecReq {
            flags: 0,
            key: "vol.host.b1".into(),
            xdata: xdata.to_xdata().unwrap(),
        };
        let bytes = req.to_xdr().unwrap();
        assert_eq!(bytes.len(), 108);
        assert_eq!(bytes, notes_getspec_req());
        let back = GetspecReq::from_xdr(&bytes).unwrap();
        assert_eq!(back, req);
        assert_eq!(back.decode_xdata().unwrap(), xdata);
    }

    #[test]
    fn notes_getspec_reply() {
        let rsp = GetspecRsp::volfile("abcde".into(), Vec::new());
        assert_eq!(rsp.op_ret, 5);
        assert_eq!(
            rsp.to_xdr().unwrap(),
            hex("00000005 00000000 00000005 61626364 65000000 00000000")
        );
        assert_eq!(
            GetspecRsp::error(2).to_xdr().unwrap(),
            hex("ffffffff 00000002 00000000 00000000")
        );
    }
}
