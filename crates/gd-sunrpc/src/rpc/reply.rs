//! The REPLY side of a message: accepted and rejected outcomes, the reply body, and the reply
//! header a server answers every call with.

use super::{AuthStat, MsgType, OpaqueAuth};
use crate::record::encode_record_with;
use crate::xdr::{Decode, Encode, XdrError, XdrErrorKind, XdrReader, XdrWriter};

/// The outcome of an accepted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStat {
    /// Executed; the procedure's result follows.
    Success,
    /// The program is not served here.
    ProgUnavail,
    /// The program is served, but not in this version; the supported range follows.
    ProgMismatch {
        /// Lowest version served.
        low: u32,
        /// Highest version served.
        high: u32,
    },
    /// The program does not have this procedure.
    ProcUnavail,
    /// The arguments could not be decoded.
    GarbageArgs,
    /// A server-side error (e.g. out of memory).
    SystemErr,
}

impl AcceptStat {
    /// The wire value of `accept_stat`.
    pub fn value(self) -> u32 {
        match self {
            AcceptStat::Success => 0,
            AcceptStat::ProgUnavail => 1,
            AcceptStat::ProgMismatch { .. } => 2,
            AcceptStat::ProcUnavail => 3,
            AcceptStat::GarbageArgs => 4,
            AcceptStat::SystemErr => 5,
        }
    }
}

impl Encode for AcceptStat {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        w.put_u32(self.value());
        if let AcceptStat::ProgMismatch { low, high } = *self {
            w.put_u32(low);
            w.put_u32(high);
        }
        Ok(())
    }
}

impl Decode for AcceptStat {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        let at = r.position();
        Ok(match r.u32("AcceptStat")? {
            0 => AcceptStat::Success,
            1 => AcceptStat::ProgUnavail,
            2 => AcceptStat::ProgMismatch {
                low: r.u32("AcceptStat.low")?,
                high: r.u32("AcceptStat.high")?,
            },
            3 => AcceptStat::ProcUnavail,
            4 => AcceptStat::GarbageArgs,
            5 => AcceptStat::SystemErr,
            v => {
                return Err(XdrError::new(
                    "AcceptStat",
                    at,
                    XdrErrorKind::UnknownDiscriminant(v.into()),
                ));
            }
        })
    }
}

/// Why a call was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectedReply {
    /// The RPC version is not supported; the supported range follows (always 2..2).
    RpcMismatch {
        /// Lowest RPC version supported.
        low: u32,
        /// Highest RPC version supported.
        high: u32,
    },
    /// The credential or verifier was refused.
    AuthError(AuthStat),
}

impl Encode for RejectedReply {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        match *self {
            RejectedReply::RpcMismatch { low, high } => {
                w.put_u32(0);
                w.put_u32(low);
                w.put_u32(high);
                Ok(())
            }
            RejectedReply::AuthError(stat) => {
                w.put_u32(1);
                stat.encode(w)
            }
        }
    }
}

impl Decode for RejectedReply {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        let at = r.position();
        match r.u32("RejectedReply")? {
            0 => Ok(RejectedReply::RpcMismatch {
                low: r.u32("RejectedReply.low")?,
                high: r.u32("RejectedReply.high")?,
            }),
            1 => Ok(RejectedReply::AuthError(AuthStat::decode(r)?)),
            v => Err(XdrError::new(
                "RejectedReply",
                at,
                XdrErrorKind::UnknownDiscriminant(v.into()),
            )),
        }
    }
}

/// The body of a reply, before the procedure's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// MSG_ACCEPTED.
    Accepted {
        /// The server's verifier (AUTH_NULL from GlusterFS and from us).
        verf: OpaqueAuth,
        /// The outcome.
        stat: AcceptStat,
    },
    /// MSG_DENIED.
    Denied(RejectedReply),
}

impl Encode for ReplyBody {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        match self {
            ReplyBody::Accepted { verf, stat } => {
                w.put_u32(0);
                verf.encode(w)?;
                stat.encode(w)
            }
            ReplyBody::Denied(rejected) => {
                w.put_u32(1);
                rejected.encode(w)
            }
        }
    }
}

impl Decode for ReplyBody {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        let at = r.position();
        match r.u32("ReplyBody.reply_stat")? {
            0 => Ok(ReplyBody::Accepted {
                verf: OpaqueAuth::decode(r)?,
                stat: AcceptStat::decode(r)?,
            }),
            1 => Ok(ReplyBody::Denied(RejectedReply::decode(r)?)),
            v => Err(XdrError::new(
                "ReplyBody.reply_stat",
                at,
                XdrErrorKind::UnknownDiscriminant(v.into()),
            )),
        }
    }
}

/// The header of a REPLY: everything before the procedure's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyHeader {
    /// The xid of the call answered.
    pub xid: u32,
    /// Accepted or denied.
    pub body: ReplyBody,
}

impl ReplyHeader {
    /// An accepted reply with an AUTH_NULL verifier.
    pub fn accepted(xid: u32, stat: AcceptStat) -> Self {
        ReplyHeader {
            xid,
            body: ReplyBody::Accepted {
                verf: OpaqueAuth::null(),
                stat,
            },
        }
    }

    /// An accepted reply with SUCCESS: the procedure's result must follow.
    pub fn success(xid: u32) -> Self {
        ReplyHeader::accepted(xid, AcceptStat::Success)
    }

    /// A denied reply.
    pub fn denied(xid: u32, why: RejectedReply) -> Self {
        ReplyHeader {
            xid,
            body: ReplyBody::Denied(why),
        }
    }

    /// Whether this is an accepted reply with SUCCESS (the only outcome GlusterFS clients
    /// distinguish from "failed").
    pub fn is_success(&self) -> bool {
        matches!(
            self.body,
            ReplyBody::Accepted {
                stat: AcceptStat::Success,
                ..
            }
        )
    }

    /// This header followed by `result` (empty for anything but SUCCESS), as one record.
    pub fn to_record(&self, result: &dyn Encode) -> Result<Vec<u8>, XdrError> {
        encode_record_with(|w| {
            self.encode(w)?;
            result.encode(w)
        })
    }
}

impl Encode for ReplyHeader {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        w.put_u32(self.xid);
        MsgType::Reply.encode(w)?;
        self.body.encode(w)
    }
}
