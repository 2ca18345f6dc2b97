//! Byte-for-byte checks against the encodings of the installed GlusterFS 10.3 (libgfxdr,
//! libglusterfs) and libtirpc, stored in `fixtures/*.hex` by `fixtures/gen/gen.c`: our
//! encoder must produce exactly those bytes, and our decoder must read them back to the same
//! values. The research notes' worked dumps are checked against the same files.

use std::fmt::Debug;
use std::path::PathBuf;

use gd_sunrpc::dict::Dict;
use gd_sunrpc::programs::brick::{self, BrickOpReq, BrickOpRsp};
use gd_sunrpc::programs::callback::{self, Statedump};
use gd_sunrpc::programs::dump::{self, CommonRsp, DumpReq, DumpRsp, ProgDetail};
use gd_sunrpc::programs::handshake::{
    self, EventNotifyReq, EventNotifyRsp, GetSnapNameUuidReq, GetSnapNameUuidRsp, GetVolumeInfoReq,
    GetVolumeInfoRsp, GetspecReq, GetspecRsp,
};
use gd_sunrpc::programs::portmap::{
    self, BrickByPortReq, BrickByPortRsp, PortByBrickReq, PortByBrickRsp, SigninReq, SigninRsp,
    SignoutReq, SignoutRsp,
};
use gd_sunrpc::programs::{GF_DUMP, GLUSTER_HANDSHAKE, GLUSTER_PORTMAP};
use gd_sunrpc::record::RecordDecoder;
use gd_sunrpc::rpc::{
    AUTH_GLUSTERFS_V2, AUTH_GLUSTERFS_V3, AUTH_UNIX, AcceptStat, AuthGlusterFsV1, AuthGlusterFsV2,
    AuthGlusterFsV3, AuthStat, AuthUnix, CallHeader, Credential, OpaqueAuth, RejectedReply,
    ReplyHeader, RpcMessage,
};
use gd_sunrpc::xdr::{Decode, Encode};

/// Parses hex, ignoring whitespace, `|` and `#` comment lines.
fn parse_hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.bytes())
        .filter(|b| !b.is_ascii_whitespace() && *b != b'|')
        .map(|b| match (b as char).to_digit(16) {
            Some(d) => d as u8,
            None => panic!("not a hex digit: {:?}", b as char),
        })
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures",
        &format!("{name}.hex"),
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    parse_hex(&text)
}

/// `value` encodes to the fixture, and the fixture decodes to `value`.
fn check<T: Encode + Decode + PartialEq + Debug>(name: &str, value: &T) {
    let bytes = fixture(name);
    assert_eq!(
        value.to_xdr().unwrap(),
        bytes,
        "encoding differs from fixture {name}"
    );
    assert_eq!(
        &T::from_xdr(&bytes).unwrap(),
        value,
        "decoding of fixture {name}"
    );
}

/// The fixture is one record; returns its payload.
fn record(name: &str) -> Vec<u8> {
    let wire = fixture(name);
    let mut dec = RecordDecoder::default();
    let mut records = dec.push(&wire).unwrap();
    assert_eq!(records.len(), 1, "{name}: one record");
    dec.finish().unwrap();
    records.remove(0)
}

fn lk_owner_of_pid_12345() -> Vec<u8> {
    12345u32.to_le_bytes().to_vec()
}

// ---- dicts -----------------------------------------------------------------------------------

/// GlusterFS prepends on insertion: the wire order is the reverse of its `dict_set_*` calls.
fn dict_getspec_brick() -> Dict {
    let mut d = Dict::new();
    d.set_str("brick_name", "/b1");
    d.set_i32("max-op-version", 100_000);
    d.set_i32("min-op-version", 1);
    d
}

fn dict_getspec_client() -> Dict {
    [("max-op-version", "100000"), ("min-op-version", "1")]
        .into_iter()
        .collect()
}

fn dict_typed() -> Dict {
    let mut d = Dict::new();
    d.set_str("cluster.brick-vol-servers", "h1:24007 h2:24007 ");
    d.set_bin(
        "gfid",
        [
            0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55,
            0x55, 0x55,
        ],
    );
    d.set_u64("files", u64::MAX);
    d.set_i32("status", -5);
    d.set_str("empty", "");
    d
}

#[test]
fn dicts() {
    for (name, dict) in [
        ("dict_getspec_brick", dict_getspec_brick()),
        ("dict_getspec_client", dict_getspec_client()),
        ("dict_typed", dict_typed()),
        ("dict_empty", Dict::new()),
    ] {
        let bytes = fixture(name);
        assert_eq!(dict.to_bytes().unwrap(), bytes, "{name}");
        assert_eq!(Dict::from_bytes(&bytes).unwrap(), dict, "{name}");
    }
    let typed = Dict::from_bytes(&fixture("dict_typed")).unwrap();
    assert_eq!(typed.get_i32("status").unwrap(), Some(-5));
    assert_eq!(typed.get_u64("files").unwrap(), Some(u64::MAX));
    assert_eq!(typed.get_str("empty").unwrap(), Some(""));
    assert_eq!(typed.get("gfid").map(<[u8]>::len), Some(16));
    assert_eq!(
        typed.get_str("cluster.brick-vol-servers").unwrap(),
        Some("h1:24007 h2:24007 ")
    );
}

/// §3 of the notes: the 82-byte example is what libglusterfs produces.
#[test]
fn notes_dict_matches_libglusterfs() {
    let notes = parse_hex(
        "00000003 0000000a 00000004 627269636b5f6e616d6500 2f623100 \
         0000000e 00000007 6d61782d6f702d76657273696f6e00 31303030303000 \
         0000000e 00000002 6d696e2d6f702d76657273696f6e00 3100",
    );
    assert_eq!(notes, fixture("dict_getspec_brick"));
}

// ---- auth bodies -----------------------------------------------------------------------------

#[test]
fn auth_bodies() {
    check(
        "auth_glusterfs_v2_notes",
        &AuthGlusterFsV2 {
            pid: 12345,
            uid: 0,
            gid: 0,
            groups: vec![],
            lk_owner: lk_owner_of_pid_12345(),
        },
    );
    check(
        "auth_glusterfs_v2_groups",
        &AuthGlusterFsV2 {
            pid: -6,
            uid: 1000,
            gid: 1001,
            groups: vec![10, 20, 30],
            lk_owner: vec![1, 2, 3, 4, 5, 6, 7, 8],
        },
    );
    check("auth_glusterfs_v3", &auth_v3());
    check(
        "auth_glusterfs_v1",
        &AuthGlusterFsV1 {
            lk_owner: 0x0102_0304_0506_0708,
            pid: 77,
            uid: 1000,
            gid: 1001,
            groups: vec![5, 6],
        },
    );
    check("auth_unix", &auth_unix());
    // The v1 body is 88 bytes (the notes say 92).
    assert_eq!(fixture("auth_glusterfs_v1").len(), 88);
}

fn auth_v3() -> AuthGlusterFsV3 {
    AuthGlusterFsV3 {
        pid: 4242,
        uid: 1000,
        gid: 1001,
        flags: 5,
        ctime_nsec: 999_999_999,
        ctime_sec: 1_700_000_000,
        groups: vec![10, 20],
        lk_owner: lk_owner_of_pid_12345(),
    }
}

fn auth_unix() -> AuthUnix {
    AuthUnix {
        stamp: 1_700_000_001,
        machine_name: "node1".into(),
        uid: 1000,
        gid: 1001,
        gids: vec![4, 27],
    }
}

// ---- program messages ------------------------------------------------------------------------

fn three_programs() -> DumpRsp {
    DumpRsp {
        gfs_id: 0,
        op_ret: 0,
        op_errno: 0,
        progs: vec![
            GF_DUMP.into(),
            GLUSTER_PORTMAP.into(),
            GLUSTER_HANDSHAKE.into(),
        ],
    }
}

#[test]
fn dump_messages() {
    check("dump_req", &DumpReq { gfs_id: 0xcaed });
    check("dump_rsp", &three_programs());
    check(
        "dump_rsp_empty",
        &DumpRsp {
            gfs_id: 7,
            op_ret: -1,
            op_errno: 22,
            progs: vec![],
        },
    );
    check("common_rsp", &CommonRsp::default());
    assert_eq!(
        three_programs().progs[2],
        ProgDetail {
            progname: "Gluster Handshake".into(),
            prognum: 14_398_633,
            progver: 2
        }
    );
}

/// §1.6/§1.7 of the notes: the worked dumps are exactly what libgfxdr/libtirpc produce.
#[test]
fn notes_worked_dumps_match_libgfxdr() {
    let notes_getspec_req = parse_hex(&format!(
        "00000000 0000000b 766f6c2e 686f7374 2e623100 00000052 {} 0000",
        "00000003 0000000a 00000004 627269636b5f6e616d6500 2f623100 \
         0000000e 00000007 6d61782d6f702d76657273696f6e00 31303030303000 \
         0000000e 00000002 6d696e2d6f702d76657273696f6e00 3100"
    ));
    assert_eq!(notes_getspec_req, fixture("getspec_req_brick"));
    assert_eq!(
        parse_hex("00000005 00000000 00000005 61626364 65000000 00000000"),
        fixture("getspec_rsp")
    );
    assert_eq!(
        parse_hex("00000003 2f623100 0000c000 000004d2"),
        fixture("pmap_signin_req")
    );
    assert_eq!(
        parse_hex("00000000 00000000 00000000 0000c000"),
        fixture("pmap_port_by_brick_rsp")
    );
    assert_eq!(
        parse_hex("00000000 00000000 00000000"),
        fixture("common_rsp")
    );
    assert_eq!(
        parse_hex(
            "80000028 00000001 00000000 00000002 0324cc42 00000001 00000001 \
             00000000 00000000 00000000 00000000"
        ),
        fixture("call_fetchspec")
    );
}

#[test]
fn handshake_messages() {
    let brick_req = GetspecReq {
        flags: 0,
        key: "vol.host.b1".into(),
        xdata: dict_getspec_brick().to_xdata().unwrap(),
    };
    check("getspec_req_brick", &brick_req);
    let client_req = GetspecReq {
        flags: handshake::GETSPEC_FLAG_SERVERS_LIST,
        key: "testvol".into(),
        xdata: dict_getspec_client().to_xdata().unwrap(),
    };
    check("getspec_req_client", &client_req);
    let xdata = GetspecReq::from_xdr(&fixture("getspec_req_client"))
        .unwrap()
        .decode_xdata()
        .unwrap();
    assert_eq!(
        xdata.get_i32(handshake::KEY_MIN_OP_VERSION).unwrap(),
        Some(1)
    );
    assert_eq!(
        xdata.get_i32(handshake::KEY_MAX_OP_VERSION).unwrap(),
        Some(100_000)
    );

    check(
        "getspec_rsp",
        &GetspecRsp::volfile("abcde".into(), Vec::new()),
    );
    check("getspec_rsp_enoent", &GetspecRsp::error(2));
    check(
        "getspec_rsp_xdata",
        &GetspecRsp::volfile("v\n\n".into(), dict_typed().to_xdata().unwrap()),
    );
    check(
        "event_notify_req",
        &EventNotifyReq {
            op: handshake::EVENT_DEFRAG_STATUS,
            dict: dict_getspec_client().to_xdata().unwrap(),
        },
    );
    check(
        "event_notify_rsp",
        &EventNotifyRsp {
            op_ret: -1,
            op_errno: 0,
            dict: vec![],
        },
    );
    check(
        "get_volume_info_req",
        &GetVolumeInfoReq {
            dict: dict_getspec_client().to_xdata().unwrap(),
        },
    );
    check(
        "get_volume_info_rsp",
        &GetVolumeInfoRsp {
            op_ret: -1,
            op_errno: 22,
            op_errstr: "no such volume".into(),
            dict: vec![],
        },
    );
    // An empty dict serialized by libglusterfs (4 zero bytes), not an empty opaque.
    let snap_req = GetSnapNameUuidReq {
        dict: Dict::new().to_bytes().unwrap(),
    };
    check("getsnap_name_uuid_req", &snap_req);
    assert!(snap_req.decode_dict().unwrap().is_empty());
    check(
        "getsnap_name_uuid_rsp",
        &GetSnapNameUuidRsp {
            op_ret: 0,
            op_errno: 0,
            op_errstr: String::new(),
            dict: dict_typed().to_xdata().unwrap(),
        },
    );
}

#[test]
fn portmap_messages() {
    check(
        "pmap_port_by_brick_req",
        &PortByBrickReq {
            brick: "/data/b1".into(),
        },
    );
    check(
        "pmap_port_by_brick_rsp",
        &PortByBrickRsp {
            op_ret: 0,
            op_errno: 0,
            status: 0,
            port: 49152,
        },
    );
    check(
        "pmap_port_by_brick_rsp_fail",
        &PortByBrickRsp {
            op_ret: -1,
            ..Default::default()
        },
    );
    check("pmap_brick_by_port_req", &BrickByPortReq { port: 49153 });
    check(
        "pmap_brick_by_port_rsp",
        &BrickByPortRsp {
            op_ret: 0,
            op_errno: 0,
            status: 0,
            brick: "/data/brick1".into(),
        },
    );
    check("pmap_signin_req", &signin());
    check("pmap_signin_rsp", &SigninRsp::default());
    check(
        "pmap_signout_req",
        &SignoutReq {
            brick: "/data/brick1".into(),
            port: 49153,
            rdma_port: 0,
        },
    );
    check(
        "pmap_signout_rsp",
        &SignoutRsp {
            op_ret: -1,
            op_errno: 2,
        },
    );
}

fn signin() -> SigninReq {
    SigninReq {
        brick: "/b1".into(),
        port: 49152,
        pid: 1234,
    }
}

#[test]
fn callback_argument() {
    check("statedump", &Statedump { pid: 4321 });
}

#[test]
fn brick_program() {
    // `volume status <v> <brick> clients`, as glusterd asks a brick on its -S socket.
    let req = BrickOpReq::brick_status("/data/b1", brick::STATUS_CLIENTS).unwrap();
    assert_eq!(req.input, fixture("dict_brick_status"));
    let input = req.decode_input().unwrap();
    assert_eq!(input.get_u32(brick::KEY_CMD).unwrap(), Some(2));
    assert_eq!(
        input.get_str(brick::KEY_BRICK_NAME).unwrap(),
        Some("/data/b1")
    );
    check("brick_op_req", &req);
    let rsp = BrickOpRsp {
        op_ret: 0,
        op_errno: 0,
        output: dict_typed().to_bytes().unwrap(),
        op_errstr: String::new(),
    };
    check("brick_op_rsp", &rsp);
    assert_eq!(rsp.decode_output().unwrap(), dict_typed());
    check(
        "brick_op_rsp_fail",
        &BrickOpRsp {
            op_ret: -1,
            op_errno: 0,
            output: Dict::new().to_bytes().unwrap(),
            op_errstr: "Unknown status op".into(),
        },
    );
    check_call(
        "call_brick_status",
        &CallHeader::new(5, brick::PROGRAM, brick::VERSION, brick::STATUS),
        &req,
    );
    assert_eq!(
        brick::call_record(5, brick::STATUS, &req).unwrap(),
        fixture("call_brick_status")
    );
}

// ---- whole records ---------------------------------------------------------------------------

/// Decodes a CALL record fixture, checks its header and re-encodes it with `args`.
fn check_call<A: Encode + Decode + PartialEq + Debug>(name: &str, header: &CallHeader, args: &A) {
    let payload = record(name);
    let (msg, rest) = RpcMessage::decode(&payload).unwrap();
    assert_eq!(msg, RpcMessage::Call(header.clone()), "{name}");
    assert_eq!(&A::from_xdr(rest).unwrap(), args, "{name} arguments");
    assert_eq!(header.to_record(args).unwrap(), fixture(name), "{name}");
}

#[test]
fn call_records() {
    let notes_cred = Credential::GlusterFsV2(AuthGlusterFsV2 {
        pid: 12345,
        uid: 0,
        gid: 0,
        groups: vec![],
        lk_owner: lk_owner_of_pid_12345(),
    });
    check_call(
        "call_dump",
        &CallHeader {
            cred: notes_cred.clone(),
            ..CallHeader::new(7, dump::PROGRAM, dump::VERSION, dump::DUMP)
        },
        &DumpReq {
            gfs_id: dump::CLIENT_GFS_ID,
        },
    );
    check_call(
        "call_getspec",
        &CallHeader {
            cred: notes_cred,
            ..CallHeader::new(
                2,
                handshake::PROGRAM,
                handshake::VERSION,
                handshake::GETSPEC,
            )
        },
        &GetspecReq::from_xdr(&fixture("getspec_req_client")).unwrap(),
    );
    check_call(
        "call_portbybrick_v3",
        &CallHeader {
            cred: Credential::GlusterFsV3(auth_v3()),
            ..CallHeader::new(
                0x0102_0304,
                portmap::PROGRAM,
                portmap::VERSION,
                portmap::PORTBYBRICK,
            )
        },
        &PortByBrickReq {
            brick: "/data/b1".into(),
        },
    );
    check_call(
        "call_signin_unix",
        &CallHeader {
            cred: Credential::Unix(auth_unix()),
            ..CallHeader::new(9, portmap::PROGRAM, portmap::VERSION, portmap::SIGNIN)
        },
        &signin(),
    );
    check_call(
        "call_fetchspec",
        &callback::call_header(1, callback::FETCHSPEC),
        &(),
    );
    assert_eq!(
        callback::fetchspec_record(1).unwrap(),
        fixture("call_fetchspec")
    );
    check_call(
        "call_statedump",
        &callback::call_header(3, callback::STATEDUMP),
        &Statedump { pid: 4321 },
    );
    assert_eq!(
        callback::statedump_record(3, 4321).unwrap(),
        fixture("call_statedump")
    );

    // Flavor numbers as the fixtures carry them.
    let cred = |name: &str| {
        let (msg, _) = RpcMessage::decode(&record(name)).unwrap();
        match msg {
            RpcMessage::Call(c) => c.cred.flavor(),
            RpcMessage::Reply(_) => panic!("{name} is not a call"),
        }
    };
    assert_eq!(cred("call_dump"), AUTH_GLUSTERFS_V2);
    assert_eq!(cred("call_portbybrick_v3"), AUTH_GLUSTERFS_V3);
    assert_eq!(cred("call_signin_unix"), AUTH_UNIX);
}

/// Decodes a REPLY record fixture, checks its header and re-encodes it with `result`.
fn check_reply<R: Encode + Decode + PartialEq + Debug>(
    name: &str,
    header: &ReplyHeader,
    result: &R,
) {
    let payload = record(name);
    let (msg, rest) = RpcMessage::decode(&payload).unwrap();
    assert_eq!(msg, RpcMessage::Reply(header.clone()), "{name}");
    assert_eq!(&R::from_xdr(rest).unwrap(), result, "{name} result");
    assert_eq!(header.to_record(result).unwrap(), fixture(name), "{name}");
}

#[test]
fn reply_records() {
    check_reply("reply_dump", &ReplyHeader::success(7), &three_programs());
    check_reply(
        "reply_portbybrick",
        &ReplyHeader::success(0x0102_0304),
        &PortByBrickRsp {
            port: 49152,
            ..Default::default()
        },
    );
    let accepted = [
        ("reply_prog_unavail", 11, AcceptStat::ProgUnavail),
        (
            "reply_prog_mismatch",
            12,
            AcceptStat::ProgMismatch { low: 2, high: 3 },
        ),
        ("reply_proc_unavail", 13, AcceptStat::ProcUnavail),
        ("reply_garbage_args", 14, AcceptStat::GarbageArgs),
        ("reply_system_err", 15, AcceptStat::SystemErr),
    ];
    for (name, xid, stat) in accepted {
        check_reply(name, &ReplyHeader::accepted(xid, stat), &());
    }
    check_reply(
        "reply_rpc_mismatch",
        &ReplyHeader::denied(16, RejectedReply::RpcMismatch { low: 2, high: 2 }),
        &(),
    );
    check_reply(
        "reply_auth_error",
        &ReplyHeader::denied(17, RejectedReply::AuthError(AuthStat::BadCred)),
        &(),
    );
    let (msg, _) = RpcMessage::decode(&record("reply_dump")).unwrap();
    assert!(matches!(msg, RpcMessage::Reply(ref r) if r.is_success()));
    assert_eq!(
        msg,
        RpcMessage::Reply(ReplyHeader {
            xid: 7,
            body: gd_sunrpc::rpc::ReplyBody::Accepted {
                verf: OpaqueAuth::null(),
                stat: AcceptStat::Success
            }
        })
    );
}

/// All fixtures back to back, fed in odd-sized chunks, come out as the same records.
#[test]
fn records_survive_arbitrary_chunking() {
    let names = [
        "call_dump",
        "call_getspec",
        "call_portbybrick_v3",
        "call_signin_unix",
        "call_fetchspec",
        "reply_dump",
        "reply_auth_error",
    ];
    let wire: Vec<u8> = names.iter().flat_map(|n| fixture(n)).collect();
    let expected: Vec<Vec<u8>> = names.iter().map(|n| record(n)).collect();
    for chunk in [1, 3, 7, 64, 1000] {
        let mut dec = RecordDecoder::default();
        let got: Vec<Vec<u8>> = wire
            .chunks(chunk)
            .flat_map(|c| dec.push(c).unwrap())
            .collect();
        assert_eq!(got, expected, "chunk size {chunk}");
        assert!(dec.finish().is_ok());
    }
}
