//! GF-DUMP 123451501 v1: the program every GlusterFS RPC client calls first, to list the
//! programs a server offers (`rpc-common-xdr.x`).

use super::{DICT_MAX, decode_dict};
use crate::dict::{Dict, DictError};
use crate::xdr::{Decode, Encode, XdrError, XdrErrorKind, XdrReader, XdrWriter, xdr_struct};

/// Program number.
pub const PROGRAM: u32 = 123_451_501;
/// Program version.
pub const VERSION: u32 = 1;

/// Procedure NULL: GD1 registers no actor, so it answers PROC_UNAVAIL.
pub const NULL: u32 = 0;
/// Procedure DUMP: [`DumpReq`] → [`DumpRsp`].
pub const DUMP: u32 = 1;
/// Procedure PING: empty arguments → [`CommonRsp`] (12 zero bytes).
pub const PING: u32 = 2;

/// The `gfs_id` protocol/client sends in its DUMP request.
pub const CLIENT_GFS_ID: u64 = 0xcaed;

/// Maximum length of a program name in a DUMP reply.
pub const PROGNAME_MAX: usize = 1024;
/// Maximum number of programs in a DUMP reply (GD1 lists 8).
pub const PROGRAMS_MAX: usize = 256;

xdr_struct! {
    /// `gf_dump_req`.
    pub struct DumpReq {
        /// An id the reply echoes (protocol/client sends [`CLIENT_GFS_ID`]).
        pub gfs_id: u64 => value,
    }
}

/// One entry of a DUMP reply (`gf_prog_detail`, without its `next` link).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgDetail {
    /// Program name.
    pub progname: String,
    /// Program number.
    pub prognum: u64,
    /// Program version.
    pub progver: u64,
}

/// `gf_dump_rsp`. On the wire `prog` is a linked list of optional `gf_prog_detail`s
/// (`1, entry, 1, entry, ..., 0`); here it is a vector, decoded without recursion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DumpRsp {
    /// The request's `gfs_id` (GD1 answers 0).
    pub gfs_id: u64,
    /// 0 on success.
    pub op_ret: i32,
    /// errno on failure.
    pub op_errno: i32,
    /// The programs served, in registration order.
    pub progs: Vec<ProgDetail>,
}

impl Encode for DumpRsp {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        if self.progs.len() > PROGRAMS_MAX {
            return Err(XdrError::new(
                "DumpRsp.prog",
                w.len(),
                XdrErrorKind::TooLong {
                    len: self.progs.len() as u64,
                    max: PROGRAMS_MAX as u64,
                },
            ));
        }
        w.put_u64(self.gfs_id);
        w.put_i32(self.op_ret);
        w.put_i32(self.op_errno);
        for p in &self.progs {
            w.put_bool(true);
            w.put_string("ProgDetail.progname", &p.progname, PROGNAME_MAX)?;
            w.put_u64(p.prognum);
            w.put_u64(p.progver);
        }
        w.put_bool(false);
        Ok(())
    }
}

impl Decode for DumpRsp {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        let gfs_id = r.u64("DumpRsp.gfs_id")?;
        let op_ret = r.i32("DumpRsp.op_ret")?;
        let op_errno = r.i32("DumpRsp.op_errno")?;
        let mut progs = Vec::new();
        loop {
            let at = r.position();
            if !r.bool("DumpRsp.prog")? {
                break;
            }
            if progs.len() == PROGRAMS_MAX {
                return Err(XdrError::new(
                    "DumpRsp.prog",
                    at,
                    XdrErrorKind::TooLong {
                        len: PROGRAMS_MAX as u64 + 1,
                        max: PROGRAMS_MAX as u64,
                    },
                ));
            }
            progs.push(ProgDetail {
                progname: r.string("ProgDetail.progname", PROGNAME_MAX)?,
                prognum: r.u64("ProgDetail.prognum")?,
                progver: r.u64("ProgDetail.progver")?,
            });
        }
        Ok(DumpRsp {
            gfs_id,
            op_ret,
            op_errno,
            progs,
        })
    }
}

impl DumpRsp {
    /// Whether `(prognum, progver)` is listed.
    pub fn lists(&self, prognum: u32, progver: u32) -> bool {
        self.progs
            .iter()
            .any(|p| p.prognum == u64::from(prognum) && p.progver == u64::from(progver))
    }
}

xdr_struct! {
    /// `gf_common_rsp`: the PING reply, and a generic `{op_ret, op_errno, xdata}` reply.
    pub struct CommonRsp {
        /// 0 on success, -1 on failure.
        pub op_ret: i32 => value,
        /// errno on failure.
        pub op_errno: i32 => value,
        /// Serialized dict (empty: none).
        pub xdata: Vec<u8> => opaque(DICT_MAX),
    }
}

impl CommonRsp {
    /// Decodes `xdata`.
    pub fn decode_xdata(&self) -> Result<Dict, DictError> {
        decode_dict(&self.xdata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programs::{GF_DUMP, GLUSTER_PORTMAP};
    use crate::test_util::hex;

    /// §1.7 of the research notes (92 bytes).
    const NOTES_DUMP_RSP: &str = "00000000 00000000 | 00000000 | 00000000 | 00000001 00000007 \
        47462d44 554d5000 00000000 075bb86d 00000000 00000001 | 00000001 0000000f 476c7573 \
        74657220 506f7274 6d617000 00000000 0208aec0 00000000 00000001 | 00000000";

    #[test]
    fn notes_dump_reply() {
        let rsp = DumpRsp {
            progs: vec![GF_DUMP.into(), GLUSTER_PORTMAP.into()],
            ..Default::default()
        };
        let bytes = rsp.to_xdr().unwrap();
        assert_eq!(bytes.len(), 92);
        assert_eq!(bytes, hex(NOTES_DUMP_RSP));
        let back = DumpRsp::from_xdr(&bytes).unwrap();
        assert_eq!(back, rsp);
        assert!(back.lists(34_123_456, 1));
        assert!(!back.lists(1_298_437, 400));
    }

    #[test]
    fn notes_ping_reply() {
        assert_eq!(CommonRsp::default().to_xdr().unwrap(), [0; 12]);
    }

    #[test]
    fn endless_program_list_is_bounded() {
        let mut w = XdrWriter::new();
        w.put_u64(0);
        w.put_i32(0);
        w.put_i32(0);
        for _ in 0..=PROGRAMS_MAX {
            w.put_bool(true);
            w.put_string("n", "x", 8).unwrap();
            w.put_u64(1);
            w.put_u64(1);
        }
        w.put_bool(false);
        let err = DumpRsp::from_xdr(w.as_slice()).unwrap_err();
        assert_eq!(err.what, "DumpRsp.prog");
    }
}
