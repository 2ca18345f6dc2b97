//! Credentials and verifiers: the auth flavors GlusterFS sends, their bodies, and why a server
//! refuses one (`auth_stat`).

use crate::xdr::{
    Decode, Encode, XdrError, XdrErrorKind, XdrReader, XdrWriter, xdr_enum, xdr_struct,
};

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
