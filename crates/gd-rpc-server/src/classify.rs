//! Telling SunRPC, TLS and HTTP apart by a connection's first bytes.
//!
//! Port 24007 carries both the REST API and SunRPC (GD2 did the same with cmux), and neither
//! kind of client announces itself beyond its first message, so the listener reads the first
//! few bytes and decides:
//!
//! - a TLS record starts with the handshake content type `0x16`;
//! - a SunRPC CALL starts with a record mark (big-endian word: top bit set on a last fragment,
//!   then the length; GlusterFS always sends one last fragment, so the first byte is `0x80` or
//!   more, or `0x00` for a short non-last fragment), the xid, `msg_type` 0 (CALL) and `rpcvers`
//!   2 — 16 bytes in all, which no HTTP request line can contain (it is text, and has no NUL);
//! - anything else goes to HTTP, whose parser answers garbage with 400.
//!
//! The decision needs at most [`PREFIX_LEN`] bytes and is made as early as the bytes allow, so
//! an HTTP client is never kept waiting for bytes it will not send.

/// The most bytes [`classify`] needs.
pub const PREFIX_LEN: usize = 16;

/// The TLS record content type of a handshake message (the ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// What a connection is, judging by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not enough bytes yet to decide.
    NeedMore,
    /// A SunRPC CALL.
    SunRpc,
    /// A TLS ClientHello.
    Tls,
    /// Anything else: HTTP (or garbage, which the HTTP parser refuses).
    Other,
}

/// Classifies the first bytes of a connection.
pub fn classify(prefix: &[u8]) -> Kind {
    let Some(&first) = prefix.first() else {
        return Kind::NeedMore;
    };
    if first == TLS_HANDSHAKE {
        return Kind::Tls;
    }
    // A record mark: the last-fragment bit, or a non-last fragment shorter than 16 MiB.
    if first & 0x80 == 0 && first != 0 {
        return Kind::Other;
    }
    let Some(header) = prefix.get(..PREFIX_LEN) else {
        return Kind::NeedMore;
    };
    let word =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let fragment_len = word(0) & 0x7fff_ffff;
    // The smallest CALL: xid, msg_type, rpcvers, prog, vers, proc, two empty auths = 40 bytes
    // (a non-last first fragment may be shorter, but then it still holds these 12 bytes).
    let call = word(8) == 0 && word(12) == gd_sunrpc::rpc::RPC_VERSION;
    if call && (fragment_len >= 12 || word(0) & 0x8000_0000 == 0) {
        Kind::SunRpc
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gd_sunrpc::programs::{callback, dump};
    use gd_sunrpc::rpc::CallHeader;

    fn dump_call() -> Vec<u8> {
        CallHeader::new(5, dump::PROGRAM, dump::VERSION, dump::DUMP)
            .to_record(&dump::DumpReq {
                gfs_id: dump::CLIENT_GFS_ID,
            })
            .unwrap()
    }

    #[test]
    fn sunrpc_calls_are_recognised_from_16_bytes() {
        let call = dump_call();
        for n in 0..PREFIX_LEN {
            assert_eq!(classify(&call[..n]), Kind::NeedMore, "{n} bytes");
        }
        assert_eq!(classify(&call[..PREFIX_LEN]), Kind::SunRpc);
        assert_eq!(classify(&call), Kind::SunRpc);
        // A first fragment that is not the last one.
        let mut frag = call.clone();
        frag[0] &= 0x7f;
        assert_eq!(classify(&frag), Kind::SunRpc);
    }

    #[test]
    fn replies_and_other_rpc_versions_are_not_calls() {
        // A REPLY (msg_type 1) is not how a client starts.
        let mut reply = callback::fetchspec_record(1).unwrap();
        reply[8..12].copy_from_slice(&1u32.to_be_bytes());
        assert_eq!(classify(&reply), Kind::Other);
        let mut v3 = dump_call();
        v3[12..16].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(classify(&v3), Kind::Other);
        // A record mark announcing a last fragment too short for a call header.
        let mut short = dump_call();
        short[..4].copy_from_slice(&0x8000_0004u32.to_be_bytes());
        assert_eq!(classify(&short), Kind::Other);
    }

    #[test]
    fn http_is_decided_on_the_first_byte() {
        for req in [
            &b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"POST /v1/peers HTTP/1.1\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"G",
            b"\r\n",
        ] {
            assert_eq!(classify(req), Kind::Other, "{req:?}");
        }
    }

    #[test]
    fn tls_client_hello() {
        assert_eq!(classify(&[0x16]), Kind::Tls);
        assert_eq!(classify(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), Kind::Tls);
    }

    #[test]
    fn garbage_with_a_high_first_byte() {
        assert_eq!(classify(&[0xff; 8]), Kind::NeedMore);
        assert_eq!(classify(&[0xff; 16]), Kind::Other);
        assert_eq!(classify(&[0u8; 16]), Kind::Other);
        assert_eq!(
            classify(&[0x80, 0, 0, 0x28, 0, 0, 0, 1, 0, 0, 0, 0]),
            Kind::NeedMore
        );
    }
}
