//! ONC RPC v2 (RFC 5531) message headers, as GlusterFS uses them.
//!
//! A management connection to glusterd carries CALLs from the client (glusterfsd, glusterfs,
//! gfapi) and our REPLYs, and also our own CALLs to the client: callbacks such as FETCHSPEC,
//! which the client never answers. So both directions are encoded and decoded here.
//!
//! Decoding a CALL is where a server decides how to answer a malformed request, so
//! [`RpcMessage::decode`] reports the failures that RFC 5531 answers with a denied reply
//! (wrong RPC version, bad credential or verifier) as distinct [`RpcError`]s that carry the xid,
//! and [`RpcError::reply`] builds that answer. Credentials are decoded into structs for the
//! flavors GlusterFS sends (AUTH_NULL, AUTH_UNIX, AUTH_GLUSTERFS v1/v2/v3); others are kept as
//! flavor + raw body. Like GD1, we never reject a call on the credential's content.
//!
//! The credential and verifier bodies are in `auth`, the REPLY side (accept and reject
//! statuses, reply bodies) in `reply`; this module holds the CALL header and decoding a
//! message's header.

mod auth;
mod reply;
#[cfg(test)]
mod tests;

pub use auth::{
    AUTH_GLUSTERFS, AUTH_GLUSTERFS_V1_GROUPS, AUTH_GLUSTERFS_V2, AUTH_GLUSTERFS_V3, AUTH_NULL,
    AUTH_UNIX, AUTH_UNIX_MAX_GIDS, AUTH_UNIX_MAX_MACHINE_NAME, AuthGlusterFsV1, AuthGlusterFsV2,
    AuthGlusterFsV3, AuthStat, AuthUnix, Credential, MAX_AUTH_BYTES, OpaqueAuth,
};
pub use reply::{AcceptStat, RejectedReply, ReplyBody, ReplyHeader};

use crate::record::encode_record_with;
use crate::xdr::{Decode, Encode, XdrError, XdrErrorKind, XdrReader, XdrWriter, xdr_enum};

/// The only RPC protocol version (the `rpcvers` of a CALL).
pub const RPC_VERSION: u32 = 2;

xdr_enum! {
    /// The `msg_type` of an RPC message.
    pub enum MsgType {
        /// A call (request).
        Call = 0,
        /// A reply.
        Reply = 1,
    }
}

/// The header of a CALL: everything before the procedure's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    /// Transaction id, echoed by the reply.
    pub xid: u32,
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number.
    pub procedure: u32,
    /// Credential.
    pub cred: Credential,
    /// Verifier (AUTH_NULL from every GlusterFS client).
    pub verf: OpaqueAuth,
}

impl CallHeader {
    /// A call with AUTH_NULL credential and verifier: what glusterd sends for callbacks.
    pub fn new(xid: u32, prog: u32, vers: u32, procedure: u32) -> Self {
        CallHeader {
            xid,
            prog,
            vers,
            procedure,
            cred: Credential::Null,
            verf: OpaqueAuth::null(),
        }
    }

    /// The whole call, header and arguments, as one record-marked fragment.
    pub fn to_record(&self, args: &dyn Encode) -> Result<Vec<u8>, XdrError> {
        encode_record_with(|w| {
            self.encode(w)?;
            args.encode(w)
        })
    }
}

impl Encode for CallHeader {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        w.put_u32(self.xid);
        MsgType::Call.encode(w)?;
        w.put_u32(RPC_VERSION);
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_u32(self.procedure);
        self.cred.encode(w)?;
        self.verf.encode(w)
    }
}

/// A decoded RPC message header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcMessage {
    /// A CALL.
    Call(CallHeader),
    /// A REPLY.
    Reply(ReplyHeader),
}

impl RpcMessage {
    /// The transaction id.
    pub fn xid(&self) -> u32 {
        match self {
            RpcMessage::Call(c) => c.xid,
            RpcMessage::Reply(r) => r.xid,
        }
    }

    /// Decodes the header of one record; returns it with the rest of the record (the
    /// procedure's arguments or result, not decoded here).
    pub fn decode(record: &[u8]) -> Result<(RpcMessage, &[u8]), RpcError> {
        let mut r = XdrReader::new(record);
        let malformed = |xid| move |source| RpcError::Malformed { xid, source };
        let xid = r.u32("xid").map_err(malformed(None))?;
        let at = r.position();
        let msg_type = r.u32("msg_type").map_err(malformed(Some(xid)))?;
        let message = match msg_type {
            0 => RpcMessage::Call(decode_call(xid, &mut r)?),
            1 => RpcMessage::Reply(ReplyHeader {
                xid,
                body: ReplyBody::decode(&mut r).map_err(malformed(Some(xid)))?,
            }),
            v => {
                return Err(RpcError::Malformed {
                    xid: Some(xid),
                    source: XdrError::new(
                        "msg_type",
                        at,
                        XdrErrorKind::UnknownDiscriminant(v.into()),
                    ),
                });
            }
        };
        Ok((message, r.rest()))
    }
}

/// Reads an auth's flavor and body; a too-long body is the caller's `bad` error.
fn decode_auth(
    r: &mut XdrReader<'_>,
    what: &'static str,
    bad: impl Fn(u32, XdrError) -> RpcError,
    malformed: impl Fn(XdrError) -> RpcError,
) -> Result<OpaqueAuth, RpcError> {
    let flavor = r.u32(what).map_err(&malformed)?;
    let body = r.opaque(what, MAX_AUTH_BYTES).map_err(|e| match e.kind {
        XdrErrorKind::TooLong { .. } => bad(flavor, e),
        _ => malformed(e),
    })?;
    Ok(OpaqueAuth {
        flavor,
        body: body.to_vec(),
    })
}

fn decode_call(xid: u32, r: &mut XdrReader<'_>) -> Result<CallHeader, RpcError> {
    let malformed = |source| RpcError::Malformed {
        xid: Some(xid),
        source,
    };
    let rpcvers = r.u32("CallHeader.rpcvers").map_err(malformed)?;
    if rpcvers != RPC_VERSION {
        return Err(RpcError::RpcVersion { xid, rpcvers });
    }
    let prog = r.u32("CallHeader.prog").map_err(malformed)?;
    let vers = r.u32("CallHeader.vers").map_err(malformed)?;
    let procedure = r.u32("CallHeader.proc").map_err(malformed)?;
    let bad_cred = |flavor, source| RpcError::BadCredential {
        xid,
        flavor,
        source,
    };
    let cred = decode_auth(r, "CallHeader.cred", bad_cred, malformed)?;
    let verf = decode_auth(
        r,
        "CallHeader.verf",
        |flavor, source| RpcError::BadVerifier {
            xid,
            flavor,
            source,
        },
        malformed,
    )?;
    let cred = Credential::from_opaque(&cred).map_err(|e| bad_cred(cred.flavor, e))?;
    Ok(CallHeader {
        xid,
        prog,
        vers,
        procedure,
        cred,
        verf,
    })
}

/// Why an RPC message header could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The header is truncated or invalid. No standard reply exists; drop it.
    #[error("malformed RPC message (xid {xid:?}): {source}")]
    Malformed {
        /// The xid, if it could be read.
        xid: Option<u32>,
        /// The XDR failure.
        source: XdrError,
    },
    /// A call with an RPC version other than 2: answer MSG_DENIED / RPC_MISMATCH 2..2.
    #[error("call xid {xid}: RPC version {rpcvers} (only 2 is supported)")]
    RpcVersion {
        /// The call's xid.
        xid: u32,
        /// The version it asked for.
        rpcvers: u32,
    },
    /// A call whose credential is too long or does not decode: answer AUTH_ERROR / BADCRED.
    #[error("call xid {xid}: bad credential of flavor {flavor}: {source}")]
    BadCredential {
        /// The call's xid.
        xid: u32,
        /// The credential's flavor.
        flavor: u32,
        /// The XDR failure.
        source: XdrError,
    },
    /// A call whose verifier is too long: answer AUTH_ERROR / BADVERF.
    #[error("call xid {xid}: bad verifier of flavor {flavor}: {source}")]
    BadVerifier {
        /// The call's xid.
        xid: u32,
        /// The verifier's flavor.
        flavor: u32,
        /// The XDR failure.
        source: XdrError,
    },
}

impl RpcError {
    /// The xid of the offending message, if it could be read.
    pub fn xid(&self) -> Option<u32> {
        match *self {
            RpcError::Malformed { xid, .. } => xid,
            RpcError::RpcVersion { xid, .. }
            | RpcError::BadCredential { xid, .. }
            | RpcError::BadVerifier { xid, .. } => Some(xid),
        }
    }

    /// The denied reply RFC 5531 prescribes for this error, if any.
    pub fn reply(&self) -> Option<ReplyHeader> {
        match *self {
            RpcError::Malformed { .. } => None,
            RpcError::RpcVersion { xid, .. } => Some(ReplyHeader::denied(
                xid,
                RejectedReply::RpcMismatch {
                    low: RPC_VERSION,
                    high: RPC_VERSION,
                },
            )),
            RpcError::BadCredential { xid, .. } => Some(ReplyHeader::denied(
                xid,
                RejectedReply::AuthError(AuthStat::BadCred),
            )),
            RpcError::BadVerifier { xid, .. } => Some(ReplyHeader::denied(
                xid,
                RejectedReply::AuthError(AuthStat::BadVerf),
            )),
        }
    }
}
