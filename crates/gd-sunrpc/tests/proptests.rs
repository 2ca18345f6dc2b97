//! Property tests: no decoder panics on any input (random bytes, and valid encodings with
//! random damage), and every message survives encode → decode unchanged.
//!
//! For a longer run: `PROPTEST_CASES=100000 cargo test -p gd-sunrpc --release --test proptests`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::OnceLock;

use gd_sunrpc::dict::Dict;
use gd_sunrpc::programs::callback::Statedump;
use gd_sunrpc::programs::dump::{CommonRsp, DumpReq, DumpRsp, ProgDetail};
use gd_sunrpc::programs::handshake::{
    EventNotifyReq, EventNotifyRsp, GetSnapNameUuidReq, GetSnapNameUuidRsp, GetVolumeInfoReq,
    GetVolumeInfoRsp, GetspecReq, GetspecRsp,
};
use gd_sunrpc::programs::portmap::{
    BrickByPortReq, BrickByPortRsp, PortByBrickReq, PortByBrickRsp, SigninReq, SigninRsp,
    SignoutReq, SignoutRsp,
};
use gd_sunrpc::record::{LAST_FRAGMENT, RecordDecoder, encode_record};
use gd_sunrpc::rpc::{
    AcceptStat, AuthGlusterFsV1, AuthGlusterFsV2, AuthGlusterFsV3, AuthStat, AuthUnix, CallHeader,
    Credential, OpaqueAuth, RejectedReply, ReplyBody, ReplyHeader, RpcMessage,
};
use gd_sunrpc::xdr::{Decode, Encode, XdrReader};
use proptest::prelude::*;

/// Runs every decoder of the crate on `bytes`; none may panic (errors are fine).
fn decode_everything(bytes: &[u8]) {
    fn try_decode<T: Decode>(bytes: &[u8]) {
        let _ = T::from_xdr(bytes);
        let _ = T::decode(&mut XdrReader::new(bytes));
    }
    let _ = RpcMessage::decode(bytes);
    let _ = Dict::from_bytes(bytes);
    let _ = Dict::from_xdata(bytes);
    for flavor in [0, 1, 5, 390_039, 390_040, 7] {
        let _ = Credential::from_opaque(&OpaqueAuth {
            flavor,
            body: bytes.to_vec(),
        });
    }
    try_decode::<OpaqueAuth>(bytes);
    try_decode::<Credential>(bytes);
    try_decode::<AuthUnix>(bytes);
    try_decode::<AuthGlusterFsV1>(bytes);
    try_decode::<AuthGlusterFsV2>(bytes);
    try_decode::<AuthGlusterFsV3>(bytes);
    try_decode::<ReplyBody>(bytes);
    try_decode::<AcceptStat>(bytes);
    try_decode::<RejectedReply>(bytes);
    try_decode::<DumpReq>(bytes);
    try_decode::<DumpRsp>(bytes);
    try_decode::<CommonRsp>(bytes);
    try_decode::<GetspecReq>(bytes);
    try_decode::<GetspecRsp>(bytes);
    try_decode::<EventNotifyReq>(bytes);
    try_decode::<EventNotifyRsp>(bytes);
    try_decode::<GetVolumeInfoReq>(bytes);
    try_decode::<GetVolumeInfoRsp>(bytes);
    try_decode::<GetSnapNameUuidReq>(bytes);
    try_decode::<GetSnapNameUuidRsp>(bytes);
    try_decode::<PortByBrickReq>(bytes);
    try_decode::<PortByBrickRsp>(bytes);
    try_decode::<BrickByPortReq>(bytes);
    try_decode::<BrickByPortRsp>(bytes);
    try_decode::<SigninReq>(bytes);
    try_decode::<SigninRsp>(bytes);
    try_decode::<SignoutReq>(bytes);
    try_decode::<SignoutRsp>(bytes);
    try_decode::<Statedump>(bytes);
    if let Ok(getspec) = GetspecReq::from_xdr(bytes) {
        let _ = getspec.decode_xdata();
    }
}

/// Valid encodings to damage: the fixtures (records, their payloads, and message bodies).
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(load_seeds)
}

fn load_seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut seeds = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return seeds;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "hex") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let digits: Vec<u8> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .flat_map(|l| l.bytes())
                .filter_map(|b| (b as char).to_digit(16).map(|d| d as u8))
                .collect();
            let bytes: Vec<u8> = digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
            if path.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("call_") || n.starts_with("reply_")
            }) {
                seeds.push(bytes[4..].to_vec());
            }
            seeds.push(bytes);
        }
    }
    seeds.sort();
    seeds
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\x00]{{0,{max}}}")).expect("valid regex")
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

fn dict() -> impl Strategy<Value = Dict> {
    proptest::collection::btree_map(text(20), bytes(40), 0..8).prop_map(|pairs: BTreeMap<_, _>| {
        let mut d = Dict::new();
        for (k, v) in pairs {
            d.set_bin(&k, v);
        }
        d
    })
}

fn xdata() -> impl Strategy<Value = Vec<u8>> {
    dict().prop_map(|d| d.to_xdata().unwrap_or_default())
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        Just(Credential::Null),
        (
            any::<u32>(),
            text(40),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 0..=16)
        )
            .prop_map(
                |(stamp, machine_name, uid, gid, gids)| Credential::Unix(AuthUnix {
                    stamp,
                    machine_name,
                    uid,
                    gid,
                    gids
                })
            ),
        (
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 0..=16)
        )
            .prop_map(|(lk_owner, pid, uid, gid, groups)| Credential::GlusterFsV1(
                AuthGlusterFsV1 {
                    lk_owner,
                    pid,
                    uid,
                    gid,
                    groups
                }
            )),
        (
            any::<i32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 0..40),
            bytes(64)
        )
            .prop_map(|(pid, uid, gid, groups, lk_owner)| Credential::GlusterFsV2(
                AuthGlusterFsV2 {
                    pid,
                    uid,
                    gid,
                    groups,
                    lk_owner
                }
            )),
        (
            (any::<i32>(), any::<u32>(), any::<u32>(), any::<u32>()),
            (
                any::<u32>(),
                any::<u64>(),
                proptest::collection::vec(any::<u32>(), 0..40),
                bytes(64)
            )
        )
            .prop_map(
                |((pid, uid, gid, flags), (ctime_nsec, ctime_sec, groups, lk_owner))| {
                    Credential::GlusterFsV3(AuthGlusterFsV3 {
                        pid,
                        uid,
                        gid,
                        flags,
                        ctime_nsec,
                        ctime_sec,
                        groups,
                        lk_owner,
                    })
                }
            ),
        (
            any::<u32>().prop_filter("unknown flavor", |f| ![0, 1, 5, 390_039, 390_040]
                .contains(f)),
            bytes(400)
        )
            .prop_map(|(flavor, body)| Credential::Other(OpaqueAuth { flavor, body })),
    ]
}

fn accept_stat() -> impl Strategy<Value = AcceptStat> {
    prop_oneof![
        Just(AcceptStat::Success),
        Just(AcceptStat::ProgUnavail),
        (any::<u32>(), any::<u32>()).prop_map(|(low, high)| AcceptStat::ProgMismatch { low, high }),
        Just(AcceptStat::ProcUnavail),
        Just(AcceptStat::GarbageArgs),
        Just(AcceptStat::SystemErr),
    ]
}

fn reply_body() -> impl Strategy<Value = ReplyBody> {
    prop_oneof![
        (any::<u32>(), bytes(400), accept_stat()).prop_map(|(flavor, body, stat)| {
            ReplyBody::Accepted {
                verf: OpaqueAuth { flavor, body },
                stat,
            }
        }),
        (any::<u32>(), any::<u32>())
            .prop_map(|(low, high)| ReplyBody::Denied(RejectedReply::RpcMismatch { low, high })),
        (0i32..=14).prop_map(|v| ReplyBody::Denied(RejectedReply::AuthError(
            AuthStat::from_value(v).unwrap_or(AuthStat::Failed)
        ))),
    ]
}

fn round_trip<T: Encode + Decode + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value
        .to_xdr()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        &T::from_xdr(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?,
        value
    );
    Ok(())
}

// Case count: proptest's default (256), or PROPTEST_CASES for a longer run.
proptest! {
    #[test]
    fn random_bytes_never_panic(input in bytes(600)) {
        decode_everything(&input);
    }

    #[test]
    fn damaged_encodings_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let seeds = seeds();
        prop_assume!(!seeds.is_empty());
        let mut input = seeds[seed.index(seeds.len())].clone();
        prop_assume!(!input.is_empty());
        for (at, byte) in edits {
            let i = at.index(input.len());
            input[i] = byte;
        }
        decode_everything(&input);
        decode_everything(&input[..cut.index(input.len() + 1)]);
    }

    #[test]
    fn record_decoder_never_panics(
        input in bytes(600),
        max in 0usize..256,
        chunks in proptest::collection::vec(1usize..50, 1..20),
    ) {
        let mut dec = RecordDecoder::new(max);
        let mut rest = &input[..];
        for c in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*c).min(rest.len()));
            rest = later;
            match dec.push(now) {
                Ok(records) => {
                    for r in records {
                        prop_assert!(r.len() <= max);
                    }
                }
                Err(_) => break,
            }
        }
        let _ = dec.finish();
    }

    #[test]
    fn records_round_trip_in_any_fragmentation(
        payloads in proptest::collection::vec(
            (bytes(100), proptest::collection::vec(0usize..100, 0..4)),
            0..6,
        ),
        chunk in 1usize..64,
    ) {
        // Each payload split into fragments at the given points (empty fragments included).
        let mut wire = Vec::new();
        for (payload, cuts) in &payloads {
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (payload.len() + 1)).collect();
            bounds.push(0);
            bounds.push(payload.len());
            bounds.sort_unstable();
            let n = bounds.len() - 1;
            for (i, w) in bounds.windows(2).enumerate() {
                let frag = &payload[w[0]..w[1]];
                let word = frag.len() as u32 | if i + 1 == n { LAST_FRAGMENT } else { 0 };
                wire.extend_from_slice(&word.to_be_bytes());
                wire.extend_from_slice(frag);
            }
        }
        let mut dec = RecordDecoder::default();
        let mut got = Vec::new();
        for c in wire.chunks(chunk) {
            got.extend(dec.push(c).map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
        let want: Vec<Vec<u8>> = payloads.into_iter().map(|(p, _)| p).collect();
        prop_assert_eq!(got, want);
        prop_assert!(dec.finish().is_ok());
    }

    #[test]
    fn single_fragment_records_round_trip(payload in bytes(300)) {
        let wire = encode_record(&payload).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut dec = RecordDecoder::default();
        prop_assert_eq!(dec.push(&wire).map_err(|e| TestCaseError::fail(e.to_string()))?, vec![payload]);
    }

    #[test]
    fn dicts_round_trip(d in dict()) {
        let blob = d.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&Dict::from_bytes(&blob).map_err(|e| TestCaseError::fail(e.to_string()))?, &d);
        let xdata = d.to_xdata().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(Dict::from_xdata(&xdata).map_err(|e| TestCaseError::fail(e.to_string()))?, d);
    }

    #[test]
    fn dict_numbers_round_trip(a in any::<i32>(), b in any::<i64>(), c in any::<u32>(), e in any::<u64>()) {
        let mut d = Dict::new();
        d.set_i32("a", a);
        d.set_i64("b", b);
        d.set_u32("c", c);
        d.set_u64("e", e);
        let d = Dict::from_bytes(&d.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(d.get_i32("a").ok().flatten(), Some(a));
        prop_assert_eq!(d.get_i64("b").ok().flatten(), Some(b));
        prop_assert_eq!(d.get_u32("c").ok().flatten(), Some(c));
        prop_assert_eq!(d.get_u64("e").ok().flatten(), Some(e));
    }

    #[test]
    fn calls_round_trip(
        (xid, prog, vers, procedure) in (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        cred in credential(),
        verf in (any::<u32>(), bytes(400)),
        args in bytes(100),
    ) {
        let call = CallHeader { xid, prog, vers, procedure, cred, verf: OpaqueAuth { flavor: verf.0, body: verf.1 } };
        let mut payload = call.to_xdr().map_err(|e| TestCaseError::fail(e.to_string()))?;
        payload.extend_from_slice(&args);
        let (msg, rest) = RpcMessage::decode(&payload).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(msg, RpcMessage::Call(call));
        prop_assert_eq!(rest, &args[..]);
    }

    #[test]
    fn replies_round_trip(xid in any::<u32>(), body in reply_body()) {
        let reply = ReplyHeader { xid, body };
        let record = reply.to_record(&()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (msg, rest) = RpcMessage::decode(&record[4..]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(msg, RpcMessage::Reply(reply));
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn dump_messages_round_trip(
        gfs_id in any::<u64>(), op_ret in any::<i32>(), op_errno in any::<i32>(),
        progs in proptest::collection::vec((text(30), any::<u64>(), any::<u64>()), 0..10),
        xdata in xdata(),
    ) {
        round_trip(&DumpReq { gfs_id })?;
        let progs = progs.into_iter().map(|(progname, prognum, progver)| ProgDetail { progname, prognum, progver }).collect();
        round_trip(&DumpRsp { gfs_id, op_ret, op_errno, progs })?;
        round_trip(&CommonRsp { op_ret, op_errno, xdata })?;
    }

    #[test]
    fn handshake_messages_round_trip(
        flags in any::<u32>(), op in any::<i32>(), op_ret in any::<i32>(), op_errno in any::<i32>(),
        key in text(100), spec in text(300), errstr in text(50), xdata in xdata(),
    ) {
        round_trip(&GetspecReq { flags, key: key.clone(), xdata: xdata.clone() })?;
        round_trip(&GetspecRsp { op_ret, op_errno, spec: spec.clone(), xdata: xdata.clone() })?;
        round_trip(&GetspecRsp::volfile(spec, xdata.clone()))?;
        round_trip(&EventNotifyReq { op, dict: xdata.clone() })?;
        round_trip(&EventNotifyRsp { op_ret, op_errno, dict: xdata.clone() })?;
        round_trip(&GetVolumeInfoReq { dict: xdata.clone() })?;
        round_trip(&GetVolumeInfoRsp { op_ret, op_errno, op_errstr: errstr.clone(), dict: xdata.clone() })?;
        round_trip(&GetSnapNameUuidReq { dict: xdata.clone() })?;
        round_trip(&GetSnapNameUuidRsp { op_ret, op_errno, op_errstr: errstr, dict: xdata })?;
    }

    #[test]
    fn portmap_and_callback_messages_round_trip(
        brick in text(200), port in any::<i32>(), pid in any::<i32>(), rdma_port in any::<i32>(),
        op_ret in any::<i32>(), op_errno in any::<i32>(), status in any::<i32>(), upid in any::<u32>(),
    ) {
        round_trip(&PortByBrickReq { brick: brick.clone() })?;
        round_trip(&PortByBrickRsp { op_ret, op_errno, status, port })?;
        round_trip(&BrickByPortReq { port })?;
        round_trip(&BrickByPortRsp { op_ret, op_errno, status, brick: brick.clone() })?;
        round_trip(&SigninReq { brick: brick.clone(), port, pid })?;
        round_trip(&SigninRsp { op_ret, op_errno })?;
        round_trip(&SignoutReq { brick, port, rdma_port })?;
        round_trip(&SignoutRsp { op_ret, op_errno })?;
        round_trip(&Statedump { pid: upid })?;
    }
}
