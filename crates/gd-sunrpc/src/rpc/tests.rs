//! Header round trips against the research notes and the libgfxdr fixtures, and the denied
//! replies malformed calls get.

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
