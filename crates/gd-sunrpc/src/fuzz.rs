//! Fuzz targets: one function per decoder of outside bytes, each taking arbitrary bytes.
//!
//! Every byte this crate decodes comes from a peer nobody vouched for (any process that
//! reaches port 24007 or the unix socket), so "no panics on input" must hold for all of them.
//! The targets are plain functions so that two harnesses run the *same* code:
//!
//! - `fuzz/` at the repository root (cargo-fuzz, libFuzzer, coverage-guided; run by hand with
//!   `RUSTC_BOOTSTRAP=1 cargo fuzz run sunrpc_<name>`), whose committed seed corpus
//!   (`fuzz/corpus/sunrpc_<name>/`) comes from the libgfxdr fixtures;
//! - `tests/fuzz_harness.rs`, in the normal test suite on stable: every target over that
//!   corpus and over proptest's random and damaged inputs, for a bounded number of cases.
//!
//! Besides "no panic", each target checks what must hold for any input it decodes: a decoded
//! message encodes again and decodes to the same value (so a value that came from the wire can
//! always be sent, logged or compared), records never exceed their bound, and an error that
//! prescribes a reply yields one that encodes. A failed check is a panic, which both
//! harnesses report with the input.
//!
//! Not a stable API: hidden from the docs, used by the harnesses only.

use std::fmt::Debug;

use crate::dict::Dict;
use crate::programs::{brick, callback, dump, handshake, portmap};
use crate::record::{RecordDecoder, encode_record};
use crate::rpc::{
    AUTH_GLUSTERFS, AUTH_GLUSTERFS_V2, AUTH_GLUSTERFS_V3, AUTH_NULL, AUTH_UNIX, AcceptStat,
    AuthGlusterFsV1, AuthGlusterFsV2, AuthGlusterFsV3, AuthUnix, CallHeader, Credential,
    OpaqueAuth, RejectedReply, ReplyBody, RpcMessage,
};
use crate::xdr::{Decode, Encode, XdrReader, XdrWriter};

/// A target: the name of its cargo-fuzz binary and corpus directory, and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target of this crate, by the name of its cargo-fuzz binary (`fuzz/fuzz_targets/`)
/// and seed corpus directory (`fuzz/corpus/`).
pub const TARGETS: &[Target] = &[
    ("sunrpc_record", record),
    ("sunrpc_rpc", rpc),
    ("sunrpc_auth", auth),
    ("sunrpc_dict", dict),
    ("sunrpc_dump", dump),
    ("sunrpc_handshake", handshake),
    ("sunrpc_portmap", portmap),
    ("sunrpc_callback", callback),
    ("sunrpc_brick", brick),
    ("sunrpc_stream", stream),
];

/// Record bounds the record target picks from (its first byte), from degenerate to default.
const RECORD_BOUNDS: [usize; 8] = [
    0,
    1,
    4,
    40,
    400,
    4096,
    64 * 1024,
    crate::record::DEFAULT_MAX_RECORD_LEN,
];

/// Record marking: `data[0]` picks the record bound, `data[1]` how the rest is cut into
/// pushes (the way a socket cuts a stream), the rest is the stream. Checks that every record
/// fits the bound, that no more bytes come out than went in, that an error poisons the
/// decoder, that `finish` agrees with `is_idle`, and that the records, framed again, decode
/// to themselves.
pub fn record(data: &[u8]) {
    let [bound, cut, stream @ ..] = data else {
        return;
    };
    let max = RECORD_BOUNDS[usize::from(*bound) % RECORD_BOUNDS.len()];
    let chunk = usize::from(*cut).max(1);
    let mut dec = RecordDecoder::new(max);
    let mut records = Vec::new();
    let mut failed = None;
    for piece in stream.chunks(chunk) {
        match dec.push(piece) {
            Ok(done) => records.extend(done),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let out: usize = records.iter().map(Vec::len).sum();
    assert!(out <= stream.len(), "{out} bytes out of {}", stream.len());
    assert!(
        records.iter().all(|r| r.len() <= max),
        "a record over {max}"
    );
    if let Some(e) = failed {
        assert_eq!(
            dec.push(b"more"),
            Err(e.clone()),
            "the decoder stays failed"
        );
        assert_eq!(dec.finish(), Err(e));
        return;
    }
    assert_eq!(dec.finish().is_ok(), dec.is_idle());
    let mut wire = Vec::with_capacity(out + 4 * records.len());
    for r in &records {
        wire.extend(encode_record(r).expect("a record under the bound frames"));
    }
    let mut again = RecordDecoder::new(max);
    assert_eq!(
        again.push(&wire).expect("framed records decode"),
        records,
        "records framed again decode to themselves"
    );
    assert!(again.is_idle());
}

/// RPC message headers (one record's payload): a decoded CALL or REPLY encodes again and
/// decodes to the same header, the rest is the record's tail, and an error's prescribed
/// reply encodes and names the call's xid.
pub fn rpc(data: &[u8]) {
    match RpcMessage::decode(data) {
        Ok((msg, rest)) => {
            assert!(data.ends_with(rest));
            let mut w = XdrWriter::new();
            match &msg {
                RpcMessage::Call(call) => call.encode(&mut w),
                RpcMessage::Reply(reply) => reply.encode(&mut w),
            }
            .expect("a decoded header encodes");
            let bytes = w.into_inner();
            let (again, tail) = RpcMessage::decode(&bytes).expect("an encoded header decodes");
            assert_eq!(again, msg);
            assert!(tail.is_empty());
        }
        Err(e) => {
            if let Some(header) = e.reply() {
                assert_eq!(Some(header.xid), e.xid());
                let record = header.to_record(&()).expect("an error reply encodes");
                let (msg, _) = RpcMessage::decode(&record[4..]).expect("an error reply decodes");
                assert_eq!(msg, RpcMessage::Reply(header));
            }
            let _ = e.to_string();
        }
    }
}

/// Auth flavours: `data` as the body of every flavour GlusterFS sends (and of an unknown
/// one), as an `opaque_auth` on the wire, and as each flavour's body struct.
pub fn auth(data: &[u8]) {
    for flavor in [
        AUTH_NULL,
        AUTH_UNIX,
        AUTH_GLUSTERFS,
        AUTH_GLUSTERFS_V2,
        AUTH_GLUSTERFS_V3,
        7,
    ] {
        let opaque = OpaqueAuth {
            flavor,
            body: data.to_vec(),
        };
        if let Ok(cred) = Credential::from_opaque(&opaque) {
            assert_eq!(cred.flavor(), flavor);
            let wire = cred.to_opaque().expect("a decoded credential encodes");
            assert_eq!(
                Credential::from_opaque(&wire).expect("an encoded credential decodes"),
                cred
            );
        }
    }
    round_trip::<OpaqueAuth>(data);
    round_trip::<Credential>(data);
    round_trip::<AuthUnix>(data);
    round_trip::<AuthGlusterFsV1>(data);
    round_trip::<AuthGlusterFsV2>(data);
    round_trip::<AuthGlusterFsV3>(data);
}

/// GlusterFS's dict: as a blob and as an `xdata` field; a decoded dict encodes to a blob that
/// decodes to it, and every typed getter answers (a value or an error) for every key.
pub fn dict(data: &[u8]) {
    for decoded in [Dict::from_bytes(data), Dict::from_xdata(data)] {
        let Ok(d) = decoded else { continue };
        let blob = d.to_bytes().expect("a decoded dict encodes");
        assert_eq!(Dict::from_bytes(&blob).expect("an encoded dict decodes"), d);
        let xdata = d.to_xdata().expect("a decoded dict encodes as xdata");
        assert_eq!(Dict::from_xdata(&xdata).expect("xdata decodes"), d);
        for (key, _) in d.iter() {
            assert!(d.get(key).is_some());
            let _ = d.get_str(key);
            let _ = d.get_i32(key);
            let _ = d.get_i64(key);
            let _ = d.get_u32(key);
            let _ = d.get_u64(key);
        }
    }
}

/// GF-DUMP messages (DUMP request and reply, PING's reply), strict and as arguments.
pub fn dump(data: &[u8]) {
    round_trip::<dump::DumpReq>(data);
    round_trip::<dump::DumpRsp>(data);
    if let Some(rsp) = round_trip::<dump::CommonRsp>(data) {
        dict(&rsp.xdata);
    }
}

/// Gluster Handshake messages: GETSPEC (and the dict in its `xdata`), EVENT_NOTIFY,
/// GET_VOLUME_INFO, GET_SNAPSHOT_INFO, requests and replies.
pub fn handshake(data: &[u8]) {
    if let Some(req) = round_trip::<handshake::GetspecReq>(data) {
        let _ = req.decode_xdata();
    }
    if let Some(rsp) = round_trip::<handshake::GetspecRsp>(data) {
        let _ = rsp.decode_xdata();
    }
    if let Some(m) = round_trip::<handshake::EventNotifyReq>(data) {
        let _ = m.decode_dict();
    }
    if let Some(m) = round_trip::<handshake::EventNotifyRsp>(data) {
        let _ = m.decode_dict();
    }
    if let Some(m) = round_trip::<handshake::GetVolumeInfoReq>(data) {
        let _ = m.decode_dict();
    }
    if let Some(m) = round_trip::<handshake::GetVolumeInfoRsp>(data) {
        let _ = m.decode_dict();
    }
    if let Some(m) = round_trip::<handshake::GetSnapNameUuidReq>(data) {
        let _ = m.decode_dict();
    }
    if let Some(m) = round_trip::<handshake::GetSnapNameUuidRsp>(data) {
        let _ = m.decode_dict();
    }
}

/// Gluster Portmap messages: PORTBYBRICK, BRICKBYPORT, SIGNIN, SIGNOUT, requests and replies.
pub fn portmap(data: &[u8]) {
    round_trip::<portmap::PortByBrickReq>(data);
    round_trip::<portmap::PortByBrickRsp>(data);
    round_trip::<portmap::BrickByPortReq>(data);
    round_trip::<portmap::BrickByPortRsp>(data);
    round_trip::<portmap::SigninReq>(data);
    round_trip::<portmap::SigninRsp>(data);
    round_trip::<portmap::SignoutReq>(data);
    round_trip::<portmap::SignoutRsp>(data);
}

/// GD_BRICK_PROGRAM messages: what glusterd asks a daemon on its socket, and what a daemon
/// answers (with the dicts inside).
pub fn brick(data: &[u8]) {
    if let Some(req) = round_trip::<brick::BrickOpReq>(data) {
        let _ = req.decode_input();
    }
    if let Some(rsp) = round_trip::<brick::BrickOpRsp>(data) {
        let _ = rsp.decode_output();
    }
}

/// Gluster Callback: what a client sends back on our callback calls (a REPLY header, which
/// the server decodes and ignores) and STATEDUMP's argument.
pub fn callback(data: &[u8]) {
    if let Ok((RpcMessage::Reply(reply), _)) = RpcMessage::decode(data) {
        let bytes = reply.to_xdr().expect("a decoded reply encodes");
        assert_eq!(
            RpcMessage::decode(&bytes)
                .expect("an encoded reply decodes")
                .0,
            RpcMessage::Reply(reply)
        );
    }
    round_trip::<callback::Statedump>(data);
    round_trip::<ReplyBody>(data);
    round_trip::<AcceptStat>(data);
    round_trip::<RejectedReply>(data);
}

/// The server's whole path over a byte stream, as the daemon's connection loop takes it:
/// records, each record's header, then the arguments of the procedure it names, decoded as
/// the daemon does (`from_xdr_prefix`, lenient like libtirpc).
pub fn stream(data: &[u8]) {
    let mut dec = RecordDecoder::default();
    let Ok(records) = dec.push(data) else { return };
    for record in records {
        let Ok((RpcMessage::Call(call), args)) = RpcMessage::decode(&record) else {
            continue;
        };
        arguments(&call, args);
    }
}

/// Decodes `args` as the arguments of `call`'s procedure, for the procedures glusterd serves.
fn arguments(call: &CallHeader, args: &[u8]) {
    match (call.prog, call.procedure) {
        (dump::PROGRAM, dump::DUMP) => prefix::<dump::DumpReq>(args),
        (handshake::PROGRAM, handshake::GETSPEC) => {
            if let Ok(req) = handshake::GetspecReq::from_xdr_prefix(args) {
                let _ = req.decode_xdata();
            }
        }
        (handshake::PROGRAM, handshake::EVENT_NOTIFY) => prefix::<handshake::EventNotifyReq>(args),
        (handshake::PROGRAM, handshake::GET_VOLUME_INFO) => {
            prefix::<handshake::GetVolumeInfoReq>(args)
        }
        (handshake::PROGRAM, handshake::GET_SNAPSHOT_INFO) => {
            prefix::<handshake::GetSnapNameUuidReq>(args)
        }
        (portmap::PROGRAM, portmap::PORTBYBRICK) => prefix::<portmap::PortByBrickReq>(args),
        (portmap::PROGRAM, portmap::BRICKBYPORT) => prefix::<portmap::BrickByPortReq>(args),
        (portmap::PROGRAM, portmap::SIGNIN) => prefix::<portmap::SigninReq>(args),
        (portmap::PROGRAM, portmap::SIGNOUT) => prefix::<portmap::SignoutReq>(args),
        (callback::PROGRAM, callback::STATEDUMP) => prefix::<callback::Statedump>(args),
        _ => {}
    }
}

fn prefix<T: Decode>(args: &[u8]) {
    let _ = T::from_xdr_prefix(args);
}

/// Decodes `data` as a `T`, strictly and as a prefix; whatever decodes must encode and decode
/// back to itself. Returns the strictly decoded value.
fn round_trip<T: Encode + Decode + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let strict = T::from_xdr(data).ok();
    let mut r = XdrReader::new(data);
    let lenient = T::decode(&mut r).ok();
    for value in strict.iter().chain(lenient.iter()) {
        let bytes = value.to_xdr().expect("a decoded value encodes");
        assert_eq!(
            &T::from_xdr(&bytes).expect("an encoded value decodes"),
            value
        );
    }
    if let (Some(s), Some(l)) = (&strict, &lenient) {
        assert_eq!(s, l, "strict and prefix decoding agree");
    }
    strict
}
