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

use crate::record::encode_record_with;
use crate::xdr::{
    Decode, Encode, XdrError, XdrErrorKind, XdrReader, XdrWriter, xdr_enum, xdr_struct,
};

/// The only RPC protocol version (the `rpcvers` of a CALL).
pub const RPC_VERSION: u32 = 2;

/// Maximum size of a credential or verifier body (RFC 5531; GlusterFS's `GF_MAX_AUTH_BYTES`).
pub const MAX_AUTH_BYTES: usize = 400;

/// Auth flavor AUTH_NULL (AUTH_NONE): empty body. Callbacks and every verifier use it.
pub const AUTH_NULL: u32 = 0;
/// Auth flavor AUTH_UNIX (AUTH_SYS), [`AuthUnix`]: only NFS clients send it.
pub const AUTH_UNIX: u32 = 1;
/// Auth flavor AUTH_GLUSTERFS (v1), [`AuthGlusterFsV1`]: legacy, accepted only.
pub const AUTH_GLUSTERFS: u32 = 5;
/// Auth flavor AUTH_GLUSTERFS_v2, [`AuthGlusterFsV2`]: every management connection.
pub const AUTH_GLUSTERFS_V2: u32 = 390_039;
/// Auth flavor AUTH_GLUSTERFS_v3, [`AuthGlusterFsV3`]: FOP v4 brick connections.
pub const AUTH_GLUSTERFS_V3: u32 = 390_040;

/// Maximum length of the AUTH_UNIX machine name (RFC 5531 `string machinename<255>`).
pub const AUTH_UNIX_MAX_MACHINE_NAME: usize = 255;
/// Maximum number of AUTH_UNIX supplementary groups (RFC 5531 `gids<16>`).
pub const AUTH_UNIX_MAX_GIDS: usize = 16;
/// Number of group slots in the fixed-size AUTH_GLUSTERFS v1 body.
pub const AUTH_GLUSTERFS_V1_GROUPS: usize = 16;

xdr_enum! {
    /// The `msg_type` of an RPC message.
    pub enum MsgType {
        /// A call (request).
        Call = 0,
        /// A reply.
        Reply = 1,
    }
}

xdr_enum! {
    /// Why the server refused a credential (`auth_stat`, RFC 5531 §9, RFC 2203).
    pub enum AuthStat {
        /// Success.
        Ok = 0,
        /// Bad credential (seal broken).
        BadCred = 1,
        /// The client must begin a new session.
        RejectedCred = 2,
        /// Bad verifier (seal broken).
        BadVerf = 3,
        /// Verifier expired or replayed.
        RejectedVerf = 4,
        /// Rejected for security reasons.
        TooWeak = 5,
        /// Bogus response verifier.
        InvalidResp = 6,
        /// Reason unknown.
        Failed = 7,
        /// Kerberos generic error.
        KerbGeneric = 8,
        /// Kerberos: time of credential expired.
        TimeExpire = 9,
        /// Kerberos: problem with ticket file.
        TktFile = 10,
        /// Kerberos: can't decode authenticator.
        Decode = 11,
        /// Kerberos: wrong net address in ticket.
        NetAddr = 12,
        /// RPCSEC_GSS: no credentials for user.
        GssCredProblem = 13,
        /// RPCSEC_GSS: problem with context.
        GssCtxProblem = 14,
    }
}

/// A credential or verifier as on the wire: flavor and body (at most [`MAX_AUTH_BYTES`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpaqueAuth {
    /// The auth flavor.
    pub flavor: u32,
    /// The flavor-specific body.
    pub body: Vec<u8>,
}

impl OpaqueAuth {
    /// AUTH_NULL with an empty body: every verifier GlusterFS sends or expects.
    pub fn null() -> Self {
        OpaqueAuth::default()
    }
}

impl Encode for OpaqueAuth {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        w.put_u32(self.flavor);
        w.put_opaque("OpaqueAuth.body", &self.body, MAX_AUTH_BYTES)
    }
}

impl Decode for OpaqueAuth {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        let flavor = r.u32("OpaqueAuth.flavor")?;
        let body = r.opaque("OpaqueAuth.body", MAX_AUTH_BYTES)?.to_vec();
        Ok(OpaqueAuth { flavor, body })
    }
}

xdr_struct! {
    /// AUTH_UNIX / AUTH_SYS body (RFC 5531 `authsys_parms`).
    pub struct AuthUnix {
        /// Arbitrary id the caller may generate.
        pub stamp: u32 => value,
        /// The caller's host name.
        pub machine_name: String => string(AUTH_UNIX_MAX_MACHINE_NAME),
        /// Effective user id.
        pub uid: u32 => value,
        /// Effective group id.
        pub gid: u32 => value,
        /// Supplementary groups.
        pub gids: Vec<u32> => array(AUTH_UNIX_MAX_GIDS),
    }
}

/// AUTH_GLUSTERFS (v1) body: fixed 88 bytes, `lk_owner, pid, uid, gid, ngrps, groups[16]`.
///
/// The research notes give this body as "fixed 92 bytes"; the installed libgfxdr encodes
/// 8 + 4·4 + 16·4 = 88 bytes (fixture `auth_glusterfs_v1.hex`), which is what we follow.
/// Only the first `ngrps` slots are kept; `ngrps > 16` is an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthGlusterFsV1 {
    /// Lock owner.
    pub lk_owner: u64,
    /// Caller pid.
    pub pid: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Supplementary groups (at most 16).
    pub groups: Vec<u32>,
}

impl Encode for AuthGlusterFsV1 {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        if self.groups.len() > AUTH_GLUSTERFS_V1_GROUPS {
            return Err(XdrError::new(
                "AuthGlusterFsV1.groups",
                w.len(),
                XdrErrorKind::TooLong {
                    len: self.groups.len() as u64,
                    max: AUTH_GLUSTERFS_V1_GROUPS as u64,
                },
            ));
        }
        w.put_u64(self.lk_owner);
        w.put_u32(self.pid);
        w.put_u32(self.uid);
        w.put_u32(self.gid);
        w.put_u32(self.groups.len() as u32);
        for i in 0..AUTH_GLUSTERFS_V1_GROUPS {
            w.put_u32(self.groups.get(i).copied().unwrap_or(0));
        }
        Ok(())
    }
}

impl Decode for AuthGlusterFsV1 {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        let lk_owner = r.u64("AuthGlusterFsV1.lk_owner")?;
        let pid = r.u32("AuthGlusterFsV1.pid")?;
        let uid = r.u32("AuthGlusterFsV1.uid")?;
        let gid = r.u32("AuthGlusterFsV1.gid")?;
        let at = r.position();
        let ngrps = r.u32("AuthGlusterFsV1.ngrps")?;
        let mut slots = [0u32; AUTH_GLUSTERFS_V1_GROUPS];
        for slot in &mut slots {
            *slot = r.u32("AuthGlusterFsV1.groups")?;
        }
        let groups = slots
            .get(..ngrps as usize)
            .ok_or_else(|| {
                XdrError::new(
                    "AuthGlusterFsV1.ngrps",
                    at,
                    XdrErrorKind::TooLong {
                        len: ngrps.into(),
                        max: AUTH_GLUSTERFS_V1_GROUPS as u64,
                    },
                )
            })?
            .to_vec();
        Ok(AuthGlusterFsV1 {
            lk_owner,
            pid,
            uid,
            gid,
            groups,
        })
    }
}

xdr_struct! {
    /// AUTH_GLUSTERFS_v2 body (`auth_glusterfs_parms_v2`), sent on every management connection.
    ///
    /// GlusterFS limits `groups` + `lk_owner` to what fits in the 400-byte body (its "95 xdr
    /// units"); that limit is enforced on the whole body, not per field. A client without a lock
    /// owner sends its pid as 4 little-endian bytes.
    pub struct AuthGlusterFsV2 {
        /// Caller pid (negative for GlusterFS's internal clients, e.g. -6 for self-heal).
        pub pid: i32 => value,
        /// User id.
        pub uid: u32 => value,
        /// Group id.
        pub gid: u32 => value,
        /// Supplementary groups.
        pub groups: Vec<u32> => array(MAX_AUTH_BYTES / 4),
        /// Lock owner bytes.
        pub lk_owner: Vec<u8> => opaque(MAX_AUTH_BYTES),
    }
}

xdr_struct! {
    /// AUTH_GLUSTERFS_v3 body (`auth_glusterfs_params_v3`), sent on FOP v4 brick connections.
    /// Limits as for [`AuthGlusterFsV2`] (GlusterFS's "91 xdr units").
    pub struct AuthGlusterFsV3 {
        /// Caller pid.
        pub pid: i32 => value,
        /// User id.
        pub uid: u32 => value,
        /// Group id.
        pub gid: u32 => value,
        /// Metadata flags (`MDATA_CTIME=1, MDATA_MTIME=2, MDATA_ATIME=4, MDATA_PAR_*=8/16/32`).
        pub flags: u32 => value,
        /// Nanoseconds of the frame's creation time.
        pub ctime_nsec: u32 => value,
        /// Seconds of the frame's creation time.
        pub ctime_sec: u64 => value,
        /// Supplementary groups.
        pub groups: Vec<u32> => array(MAX_AUTH_BYTES / 4),
        /// Lock owner bytes.
        pub lk_owner: Vec<u8> => opaque(MAX_AUTH_BYTES),
    }
}

/// A decoded credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// AUTH_NULL. A non-empty body is ignored when decoding (as libtirpc does).
    Null,
    /// AUTH_UNIX.
    Unix(AuthUnix),
    /// AUTH_GLUSTERFS v1.
    GlusterFsV1(AuthGlusterFsV1),
    /// AUTH_GLUSTERFS_v2.
    GlusterFsV2(AuthGlusterFsV2),
    /// AUTH_GLUSTERFS_v3.
    GlusterFsV3(AuthGlusterFsV3),
    /// Any other flavor, kept as is. Never holds one of the flavors above after decoding.
    Other(OpaqueAuth),
}

impl Credential {
    /// The flavor number.
    pub fn flavor(&self) -> u32 {
        match self {
            Credential::Null => AUTH_NULL,
            Credential::Unix(_) => AUTH_UNIX,
            Credential::GlusterFsV1(_) => AUTH_GLUSTERFS,
            Credential::GlusterFsV2(_) => AUTH_GLUSTERFS_V2,
            Credential::GlusterFsV3(_) => AUTH_GLUSTERFS_V3,
            Credential::Other(auth) => auth.flavor,
        }
    }

    /// Decodes the body of a known flavor. Bytes after the body's structure are ignored, as
    /// GlusterFS's and libtirpc's decoders do.
    pub fn from_opaque(auth: &OpaqueAuth) -> Result<Self, XdrError> {
        let mut r = XdrReader::new(&auth.body);
        Ok(match auth.flavor {
            AUTH_NULL => Credential::Null,
            AUTH_UNIX => Credential::Unix(AuthUnix::decode(&mut r)?),
            AUTH_GLUSTERFS => Credential::GlusterFsV1(AuthGlusterFsV1::decode(&mut r)?),
            AUTH_GLUSTERFS_V2 => Credential::GlusterFsV2(AuthGlusterFsV2::decode(&mut r)?),
            AUTH_GLUSTERFS_V3 => Credential::GlusterFsV3(AuthGlusterFsV3::decode(&mut r)?),
            _ => Credential::Other(auth.clone()),
        })
    }

    /// The wire form: flavor and encoded body (which must fit in [`MAX_AUTH_BYTES`]).
    pub fn to_opaque(&self) -> Result<OpaqueAuth, XdrError> {
        let body = match self {
            Credential::Null => Vec::new(),
            Credential::Unix(a) => a.to_xdr()?,
            Credential::GlusterFsV1(a) => a.to_xdr()?,
            Credential::GlusterFsV2(a) => a.to_xdr()?,
            Credential::GlusterFsV3(a) => a.to_xdr()?,
            Credential::Other(auth) => return Ok(auth.clone()),
        };
        Ok(OpaqueAuth {
            flavor: self.flavor(),
            body,
        })
    }
}

impl Encode for Credential {
    fn encode(&self, w: &mut XdrWriter) -> Result<(), XdrError> {
        self.to_opaque()?.encode(w)
    }
}

impl Decode for Credential {
    fn decode(r: &mut XdrReader<'_>) -> Result<Self, XdrError> {
        Credential::from_opaque(&OpaqueAuth::decode(r)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// §1.5 of the research notes: the AUTH_GLUSTERFS_v2 body of pid 12345.
    const NOTES_CRED_V2: &str = "00003039 00000000 00000000 00000000 00000004 39300000";

    fn hex(s: &str) -> Vec<u8> {
        crate::test_util::hex(s)
    }

    #[test]
    fn notes_credential_v2() {
        let cred = AuthGlusterFsV2 {
            pid: 12345,
            uid: 0,
            gid: 0,
            groups: vec![],
            lk_owner: 12345u32.to_le_bytes().to_vec(),
        };
        assert_eq!(cred.to_xdr().unwrap(), hex(NOTES_CRED_V2));
        assert_eq!(
            AuthGlusterFsV2::from_xdr(&hex(NOTES_CRED_V2)).unwrap(),
            cred
        );
    }

    /// §1.6: a FETCHSPEC callback is exactly 44 bytes on the wire.
    #[test]
    fn notes_fetchspec_callback() {
        let rec = CallHeader::new(9, 52_743_234, 1, 1).to_record(&()).unwrap();
        assert_eq!(
            rec,
            hex(
                "80000028 00000009 00000000 00000002 0324cc42 00000001 00000001 \
                 00000000 00000000 00000000 00000000"
            )
        );
    }

    /// §2.6: the whole DUMP call on the wire (76 bytes with the record mark).
    #[test]
    fn notes_dump_call() {
        let wire = hex(&format!(
            "80000048 00000005 00000000 00000002 075bb86d 00000001 00000001 \
             0005f397 00000018 {NOTES_CRED_V2} 00000000 00000000 00000000 0000caed"
        ));
        let (msg, args) = RpcMessage::decode(&wire[4..]).unwrap();
        let RpcMessage::Call(call) = &msg else {
            panic!("not a call: {msg:?}");
        };
        assert_eq!(
            (call.xid, call.prog, call.vers, call.procedure),
            (5, 123_451_501, 1, 1)
        );
        assert!(matches!(&call.cred, Credential::GlusterFsV2(c) if c.pid == 12345));
        assert_eq!(args, hex("00000000 0000caed"));
        let dump_req = crate::programs::dump::DumpReq { gfs_id: 0xcaed };
        assert_eq!(call.to_record(&dump_req).unwrap(), wire);
    }

    #[test]
    fn wrong_rpc_version_gets_rpc_mismatch() {
        let wire = hex("00000007 00000000 00000003 00000001");
        let err = RpcMessage::decode(&wire).unwrap_err();
        assert_eq!(err, RpcError::RpcVersion { xid: 7, rpcvers: 3 });
        let reply = err.reply().unwrap().to_record(&()).unwrap();
        assert_eq!(
            reply,
            hex("80000018 00000007 00000001 00000001 00000000 00000002 00000002")
        );
    }

    #[test]
    fn oversized_or_undecodable_credentials_get_auth_error() {
        // cred length 404 > 400
        let long = hex("00000008 00000000 00000002 00000001 00000001 00000001 0005f397 00000194");
        let err = RpcMessage::decode(&long).unwrap_err();
        assert!(matches!(
            err,
            RpcError::BadCredential {
                xid: 8,
                flavor: AUTH_GLUSTERFS_V2,
                ..
            }
        ));
        assert_eq!(
            err.reply(),
            Some(ReplyHeader::denied(
                8,
                RejectedReply::AuthError(AuthStat::BadCred)
            ))
        );
        // v2 body of 4 bytes: truncated inside the body.
        let short = hex(
            "00000008 00000000 00000002 00000001 00000001 00000001 0005f397 00000004 00000001 \
             00000000 00000000",
        );
        assert!(matches!(
            RpcMessage::decode(&short).unwrap_err(),
            RpcError::BadCredential { xid: 8, .. }
        ));
        // verifier too long
        let verf = hex(
            "00000008 00000000 00000002 00000001 00000001 00000001 00000000 00000000 00000000 \
             00000800",
        );
        let err = RpcMessage::decode(&verf).unwrap_err();
        assert!(matches!(err, RpcError::BadVerifier { xid: 8, .. }));
        assert_eq!(
            err.reply(),
            Some(ReplyHeader::denied(
                8,
                RejectedReply::AuthError(AuthStat::BadVerf)
            ))
        );
    }

    #[test]
    fn truncated_headers_are_malformed() {
        assert_eq!(RpcMessage::decode(&[0, 0]).unwrap_err().xid(), None);
        let err = RpcMessage::decode(&hex("00000009 00000000 00000002")).unwrap_err();
        assert!(matches!(err, RpcError::Malformed { xid: Some(9), .. }));
        assert_eq!(err.reply(), None);
        let err = RpcMessage::decode(&hex("00000009 00000002")).unwrap_err();
        assert!(matches!(err, RpcError::Malformed { xid: Some(9), .. }));
    }

    #[test]
    fn unknown_flavors_are_kept() {
        let call = CallHeader {
            cred: Credential::Other(OpaqueAuth {
                flavor: 6,
                body: vec![1, 2, 3],
            }),
            ..CallHeader::new(1, 2, 3, 4)
        };
        let bytes = call.to_xdr().unwrap();
        let (msg, rest) = RpcMessage::decode(&bytes).unwrap();
        assert_eq!(msg, RpcMessage::Call(call));
        assert!(rest.is_empty());
    }

    #[test]
    fn v1_credential_with_too_many_groups() {
        let mut body = AuthGlusterFsV1::default().to_xdr().unwrap();
        body[20..24].copy_from_slice(&17u32.to_be_bytes());
        let err = AuthGlusterFsV1::from_xdr(&body).unwrap_err();
        assert_eq!(err.what, "AuthGlusterFsV1.ngrps");
        let too_many = AuthGlusterFsV1 {
            groups: vec![0; 17],
            ..Default::default()
        };
        assert!(too_many.to_xdr().is_err());
    }
}
