//! What the server answers: one record in, at most one record out.
//!
//! The programs and their procedures are those GD1 serves to GlusterFS processes on 24007
//! (research notes §2): GF-DUMP (DUMP, PING), Gluster Handshake (GETSPEC) and Gluster Portmap
//! (PORTBYBRICK, BRICKBYPORT, SIGNIN, SIGNOUT). Everything else gets the RFC 5531 answer —
//! PROG_UNAVAIL, PROG_MISMATCH with the version we serve, PROC_UNAVAIL (also for the NULL
//! procedures, as in GD1) — because a call left unanswered makes a GlusterFS client wait for
//! its frame timeout (30 minutes). Arguments that do not decode get GARBAGE_ARGS; a bad RPC
//! version or credential gets the denied reply `gd_sunrpc` prescribes. Only a record whose
//! header cannot be read at all has no possible answer: the connection is closed.
//!
//! Credentials are never checked (GD1 accepts every flavor and so do we): the SunRPC side of
//! glusterd is as open as GD1's. Two answers mark a connection as a GlusterFS process, which
//! lifts its stranger bound ([`super::Limits::stranger_timeout`]): a GETSPEC answered with a
//! volfile and an accepted SIGNIN — the first things a client, self-heal daemon or brick does
//! (a brick's management connection does both, also when it reconnects). A GETSPEC answered
//! with an error marks nothing: anyone can ask for a volfile that does not exist. Arguments
//! are decoded with `from_xdr_prefix`, ignoring bytes after the structure, as libtirpc does.

use std::time::Duration;

use gd_sunrpc::{
    Decode, Dict, Encode,
    programs::{self, dump, handshake, portmap},
    rpc::{AcceptStat, CallHeader, ReplyHeader},
};
use nix::errno::Errno;

use super::{
    ConnId, Peer, SunRpcServer,
    portmap::SigninError,
    volfile::{GetspecRequest, Volfile},
};

/// How long GETSPEC waits for the volfile source before answering ETIMEDOUT.
pub const GETSPEC_TIMEOUT: Duration = Duration::from_secs(30);

/// GD1 refuses GETSPEC keys of `NAME_MAX` (255) bytes or more with EINVAL.
const GETSPEC_KEY_MAX: usize = 254;

/// The programs listed in our DUMP reply, in GD1's order. Portmap must be listed: that is how
/// a protocol/client learns it talks to glusterd and asks PORTBYBRICK.
pub const SERVED_PROGRAMS: [programs::Program; 3] = [
    programs::GF_DUMP,
    programs::GLUSTER_PORTMAP,
    programs::GLUSTER_HANDSHAKE,
];

/// What to do after a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send this record.
    Reply(Vec<u8>),
    /// Nothing to send (a REPLY from the client: nobody answers callbacks, so it is stray).
    Nothing,
    /// The record cannot be answered: close the connection.
    Close,
}

/// Handles one complete record received on connection `conn` from `peer`.
pub async fn handle_record(
    server: &SunRpcServer,
    conn: ConnId,
    peer: Peer,
    record: &[u8],
) -> Outcome {
    let (msg, args) = match gd_sunrpc::RpcMessage::decode(record) {
        Ok(decoded) => decoded,
        Err(e) => {
            return match e.reply() {
                Some(header) => {
                    tracing::debug!(%conn, %peer, error = %e, "SunRPC call denied");
                    encode(&header, &())
                }
                None => {
                    tracing::warn!(%conn, %peer, error = %e, "malformed SunRPC message; closing the connection");
                    Outcome::Close
                }
            };
        }
    };
    let call = match msg {
        gd_sunrpc::RpcMessage::Call(call) => call,
        gd_sunrpc::RpcMessage::Reply(reply) => {
            tracing::debug!(%conn, %peer, xid = reply.xid, "ignoring a SunRPC reply");
            return Outcome::Nothing;
        }
    };
    tracing::trace!(%conn, %peer, xid = call.xid, prog = call.prog, vers = call.vers,
        procedure = call.procedure, "SunRPC call");
    let Some(program) = SERVED_PROGRAMS.iter().find(|p| p.number == call.prog) else {
        return accepted(call.xid, AcceptStat::ProgUnavail);
    };
    if program.version != call.vers {
        return accepted(
            call.xid,
            AcceptStat::ProgMismatch {
                low: program.version,
                high: program.version,
            },
        );
    }
    match (call.prog, call.procedure) {
        (dump::PROGRAM, dump::DUMP) => with_args(&call, args, |_: dump::DumpReq| {
            let rsp = dump::DumpRsp {
                // GD1 answers 0 whatever the request's id.
                gfs_id: 0,
                op_ret: 0,
                op_errno: 0,
                progs: SERVED_PROGRAMS.iter().map(|&p| p.into()).collect(),
            };
            success(call.xid, &rsp)
        }),
        // PING has no arguments (GD1 ignores any).
        (dump::PROGRAM, dump::PING) => success(call.xid, &dump::CommonRsp::default()),
        (handshake::PROGRAM, handshake::GETSPEC) => {
            match handshake::GetspecReq::from_xdr_prefix(args) {
                Ok(req) => {
                    let rsp = getspec(server, conn, peer, &req).await;
                    success(call.xid, &rsp)
                }
                Err(e) => garbage(&call, peer, &e),
            }
        }
        (handshake::PROGRAM, handshake::EVENT_NOTIFY) => {
            match handshake::EventNotifyReq::from_xdr_prefix(args) {
                Ok(req) => event_notify(server, conn, peer, call.xid, req).await,
                Err(e) => garbage(&call, peer, &e),
            }
        }
        (portmap::PROGRAM, portmap::PORTBYBRICK) => {
            match portmap::PortByBrickReq::from_xdr_prefix(args) {
                Ok(req) => {
                    let port = server
                        .portmap()
                        .port_of_awaited(&req.brick, crate::portmap::SIGNIN_AWAIT)
                        .await;
                    let rsp = match port {
                        Some(port) => portmap::PortByBrickRsp {
                            port: port.into(),
                            ..Default::default()
                        },
                        // GD1: op_ret -1 and port 0; op_errno and status stay 0.
                        None => portmap::PortByBrickRsp {
                            op_ret: -1,
                            ..Default::default()
                        },
                    };
                    tracing::debug!(%conn, %peer, brick = %req.brick, port = rsp.port, "PORTBYBRICK");
                    success(call.xid, &rsp)
                }
                Err(e) => garbage(&call, peer, &e),
            }
        }
        (portmap::PROGRAM, portmap::BRICKBYPORT) => {
            // GD1 never answers this (nobody calls it); we answer properly instead.
            with_args(&call, args, |req: portmap::BrickByPortReq| {
                let bricks = u16::try_from(req.port)
                    .map(|p| server.portmap().bricks_on(p))
                    .unwrap_or_default();
                let rsp = if bricks.is_empty() {
                    portmap::BrickByPortRsp {
                        op_ret: -1,
                        ..Default::default()
                    }
                } else {
                    portmap::BrickByPortRsp {
                        brick: bricks.join(" "),
                        ..Default::default()
                    }
                };
                success(call.xid, &rsp)
            })
        }
        (portmap::PROGRAM, portmap::SIGNIN) => with_args(&call, args, |req: portmap::SigninReq| {
            let rsp = match server
                .portmap()
                .sign_in(&req.brick, req.port, req.pid, conn)
            {
                Ok(()) => {
                    tracing::info!(%conn, %peer, brick = %req.brick, port = req.port, pid = req.pid,
                        "brick signed in");
                    // A brick's connection: kept for life (its entry goes when it closes).
                    server.mark_known(conn);
                    portmap::SigninRsp::default()
                }
                Err(e) => {
                    tracing::warn!(%conn, %peer, brick = %req.brick.escape_debug(), port = req.port,
                        error = %e, "brick sign-in refused");
                    let errno = match e {
                        SigninError::Full => Errno::ENOSPC,
                        SigninError::BadName | SigninError::BadPort(_) => Errno::EINVAL,
                    };
                    portmap::SigninRsp {
                        op_ret: -1,
                        op_errno: errno as i32,
                    }
                }
            };
            success(call.xid, &rsp)
        }),
        (portmap::PROGRAM, portmap::SIGNOUT) => {
            with_args(&call, args, |req: portmap::SignoutReq| {
                let was = server.portmap().sign_out(&req.brick);
                tracing::info!(%conn, %peer, brick = %req.brick.escape_debug(), port = req.port,
                    signed_in = was, "brick signed out");
                // GD1 answers 0 whether or not the brick was known.
                success(call.xid, &portmap::SignoutRsp::default())
            })
        }
        _ => accepted(call.xid, AcceptStat::ProcUnavail),
    }
}

/// EVENT_NOTIFY, as GD1's `__server_event_notify`: a rebalance status push (op
/// `GF_EN_DEFRAG_STATUS` with a dict) gets no reply at all, and goes to the event sink with the
/// volume of the `rebalance/<vol>` volfile this connection fetched — only from this machine,
/// where that volfile is served; any other op is answered `op_ret` -1, an empty status 0.
async fn event_notify(
    server: &SunRpcServer,
    conn: ConnId,
    peer: Peer,
    xid: u32,
    req: handshake::EventNotifyReq,
) -> Outcome {
    if req.op != handshake::EVENT_DEFRAG_STATUS {
        let rsp = handshake::EventNotifyRsp {
            op_ret: -1,
            op_errno: 0,
            dict: Vec::new(),
        };
        return success(xid, &rsp);
    }
    if req.dict.is_empty() {
        return success(xid, &handshake::EventNotifyRsp::default());
    }
    let volume = server
        .keys_of(conn)
        .iter()
        .find_map(|k| k.strip_prefix("rebalance/").map(str::to_owned));
    match (volume, req.decode_dict()) {
        (Some(volume), Ok(status)) if peer.is_loopback() => {
            server.event_sink().defrag_status(&volume, status).await;
        }
        (volume, status) => {
            tracing::debug!(%conn, %peer, volume, bad_dict = status.is_err(),
                "a rebalance status push from a connection that is no local rebalance process, or unreadable; dropped");
        }
    }
    Outcome::Nothing
}

/// GETSPEC: asks the volfile source, answers `op_ret` = length and the text, or -1 and errno.
async fn getspec(
    server: &SunRpcServer,
    conn: ConnId,
    peer: Peer,
    req: &handshake::GetspecReq,
) -> handshake::GetspecRsp {
    let raw_key = req.key.as_str();
    let key = raw_key.trim_start_matches('/');
    tracing::info!(%conn, %peer, key = %raw_key.escape_debug(), flags = req.flags,
        "volfile requested (GETSPEC)");
    if raw_key.len() > GETSPEC_KEY_MAX {
        tracing::warn!(%conn, %peer, len = raw_key.len(), "GETSPEC key too long");
        return handshake::GetspecRsp::error(Errno::EINVAL as i32);
    }
    let xdata = match Dict::from_xdata(&req.xdata) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(%conn, %peer, key = %raw_key.escape_debug(), error = %e,
                "GETSPEC with an undecodable dict");
            return handshake::GetspecRsp::error(Errno::EINVAL as i32);
        }
    };
    server.remember_key(conn, key);
    let source = server.volfile_source();
    let request = GetspecRequest {
        key,
        raw_key,
        flags: req.flags,
        xdata: &xdata,
        peer,
    };
    let result = tokio::time::timeout(GETSPEC_TIMEOUT, source.getspec(&request))
        .await
        .unwrap_or_else(|_| {
            tracing::warn!(%conn, %peer, key = %raw_key.escape_debug(), "volfile source timed out");
            Err(Errno::ETIMEDOUT as i32)
        });
    match result {
        Ok(Volfile { spec, xdata }) => {
            if spec.len() > programs::SPEC_MAX || spec.contains('\0') {
                tracing::error!(%conn, %peer, key = %raw_key.escape_debug(), len = spec.len(),
                    "volfile too large or not text; not sent");
                return handshake::GetspecRsp::error(Errno::EFBIG as i32);
            }
            let xdata = match xdata.to_xdata() {
                Ok(x) if x.len() <= programs::DICT_MAX => x,
                Ok(_) | Err(_) => {
                    tracing::error!(%conn, %peer, key = %raw_key.escape_debug(),
                        "volfile reply dict cannot be sent");
                    return handshake::GetspecRsp::error(Errno::EINVAL as i32);
                }
            };
            tracing::debug!(%conn, %peer, key = %raw_key.escape_debug(), len = spec.len(), "volfile sent");
            // A process that got its volfile is a GlusterFS process: no idle timeout.
            server.mark_known(conn);
            handshake::GetspecRsp::volfile(spec, xdata)
        }
        Err(errno) => {
            tracing::info!(%conn, %peer, key = %raw_key.escape_debug(), errno,
                "no volfile for this key");
            handshake::GetspecRsp::error(errno)
        }
    }
}

/// Decodes the arguments and runs `f`, or answers GARBAGE_ARGS.
fn with_args<T: Decode>(call: &CallHeader, args: &[u8], f: impl FnOnce(T) -> Outcome) -> Outcome {
    match T::from_xdr_prefix(args) {
        Ok(req) => f(req),
        Err(e) => {
            tracing::debug!(xid = call.xid, prog = call.prog, procedure = call.procedure,
                error = %e, "SunRPC arguments do not decode");
            accepted(call.xid, AcceptStat::GarbageArgs)
        }
    }
}

fn garbage(call: &CallHeader, peer: Peer, e: &gd_sunrpc::XdrError) -> Outcome {
    tracing::debug!(%peer, xid = call.xid, prog = call.prog, procedure = call.procedure,
        error = %e, "SunRPC arguments do not decode");
    accepted(call.xid, AcceptStat::GarbageArgs)
}

/// A SUCCESS reply with `result`.
fn success(xid: u32, result: &dyn Encode) -> Outcome {
    encode(&ReplyHeader::success(xid), result)
}

/// An accepted reply with no result (an error status).
fn accepted(xid: u32, stat: AcceptStat) -> Outcome {
    encode(&ReplyHeader::accepted(xid, stat), &())
}

fn encode(header: &ReplyHeader, result: &dyn Encode) -> Outcome {
    match header.to_record(result) {
        Ok(record) => Outcome::Reply(record),
        Err(e) => {
            // Only a result over an encoder's bound gets here; the header alone always encodes.
            tracing::error!(xid = header.xid, error = %e, "cannot encode a SunRPC reply");
            match ReplyHeader::accepted(header.xid, AcceptStat::SystemErr).to_record(&()) {
                Ok(record) => Outcome::Reply(record),
                Err(_) => Outcome::Close,
            }
        }
    }
}
