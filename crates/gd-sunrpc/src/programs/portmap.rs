//! Gluster Portmap 34123456 v1 (`portmap-xdr.x`): bricks sign in with the port they listen
//! on and sign out when they stop; clients ask which port serves a brick.
//!
//! `pid` in SIGNIN and `rdma_port` in SIGNOUT are in GlusterFS 10.3's definitions (older
//! `portmap-xdr.x` revisions lack them); the installed libgfxdr encodes both (fixtures
//! `pmap_signin_req.hex`, `pmap_signout_req.hex`).

use super::BRICK_MAX;
use crate::xdr::xdr_struct;

/// Program number.
pub const PROGRAM: u32 = 34_123_456;
/// Program version.
pub const VERSION: u32 = 1;

/// Procedure NULL (PROC_UNAVAIL in GD1).
pub const NULL: u32 = 0;
/// Procedure PORTBYBRICK: [`PortByBrickReq`] → [`PortByBrickRsp`].
pub const PORTBYBRICK: u32 = 1;
/// Procedure BRICKBYPORT: [`BrickByPortReq`] → [`BrickByPortRsp`] (nobody calls it; GD1
/// never replies).
pub const BRICKBYPORT: u32 = 2;
/// Procedure SIGNUP: deprecated, not registered by GD1 (PROC_UNAVAIL).
pub const SIGNUP: u32 = 3;
/// Procedure SIGNIN: [`SigninReq`] → [`SigninRsp`].
pub const SIGNIN: u32 = 4;
/// Procedure SIGNOUT: [`SignoutReq`] → [`SignoutRsp`].
pub const SIGNOUT: u32 = 5;

xdr_struct! {
    /// `pmap_port_by_brick_req`.
    pub struct PortByBrickReq {
        /// The client's `remote-subvolume` (the brick path), `.rdma` appended for rdma.
        pub brick: String => string(BRICK_MAX),
    }
}

xdr_struct! {
    /// `pmap_port_by_brick_rsp`. GD1: `op_ret` -1 and `port` 0 when unknown; `op_errno` and
    /// `status` always 0.
    pub struct PortByBrickRsp {
        /// 0 or -1.
        pub op_ret: i32 => value,
        /// Always 0 from GD1.
        pub op_errno: i32 => value,
        /// Always 0 from GD1.
        pub status: i32 => value,
        /// The brick's port.
        pub port: i32 => value,
    }
}

xdr_struct! {
    /// `pmap_brick_by_port_req`.
    pub struct BrickByPortReq {
        /// A port.
        pub port: i32 => value,
    }
}

xdr_struct! {
    /// `pmap_brick_by_port_rsp`.
    pub struct BrickByPortRsp {
        /// 0 or -1.
        pub op_ret: i32 => value,
        /// errno.
        pub op_errno: i32 => value,
        /// Status.
        pub status: i32 => value,
        /// The brick name(s) on that port.
        pub brick: String => string(BRICK_MAX),
    }
}

xdr_struct! {
    /// `pmap_signin_req`: sent by glusterfsd once its graph is up, once per brick name.
    pub struct SigninReq {
        /// The brick path.
        pub brick: String => string(BRICK_MAX),
        /// The port it listens on (`--brick-port`).
        pub port: i32 => value,
        /// The brick process's pid ("only consumed by glusterd2").
        pub pid: i32 => value,
    }
}

xdr_struct! {
    /// `pmap_signin_rsp`. glusterfsd's parent process exits 0 only on `op_ret` != -1.
    pub struct SigninRsp {
        /// 0 or -1.
        pub op_ret: i32 => value,
        /// errno.
        pub op_errno: i32 => value,
    }
}

xdr_struct! {
    /// `pmap_signout_req`: sent by glusterfsd on clean exit or brick detach.
    pub struct SignoutReq {
        /// The brick path.
        pub brick: String => string(BRICK_MAX),
        /// The port it listened on.
        pub port: i32 => value,
        /// Its rdma port (0 for tcp).
        pub rdma_port: i32 => value,
    }
}

xdr_struct! {
    /// `pmap_signout_rsp`.
    pub struct SignoutRsp {
        /// 0 or -1.
        pub op_ret: i32 => value,
        /// errno.
        pub op_errno: i32 => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;
    use crate::xdr::{Decode, Encode};

    #[test]
    fn notes_signin_request() {
        let req = SigninReq {
            brick: "/b1".into(),
            port: 49152,
            pid: 1234,
        };
        let bytes = hex("00000003 2f623100 0000c000 000004d2");
        assert_eq!(req.to_xdr().unwrap(), bytes);
        assert_eq!(SigninReq::from_xdr(&bytes).unwrap(), req);
    }

    #[test]
    fn notes_port_by_brick_reply() {
        let rsp = PortByBrickRsp {
            port: 49152,
            ..Default::default()
        };
        let bytes = hex("00000000 00000000 00000000 0000c000");
        assert_eq!(rsp.to_xdr().unwrap(), bytes);
        assert_eq!(PortByBrickRsp::from_xdr(&bytes).unwrap(), rsp);
    }

    #[test]
    fn notes_port_by_brick_request_from_live_capture() {
        // §2.6: PORTBYBRICK args=00000008 "/data/b1"
        let bytes = hex("00000008 2f646174 612f6231");
        assert_eq!(PortByBrickReq::from_xdr(&bytes).unwrap().brick, "/data/b1");
    }
}
