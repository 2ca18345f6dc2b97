//! A blocking SunRPC client that talks to glusterd2 as a GlusterFS process would.

use std::io::{Read, Write};

use gd_sunrpc::{
    Decode, Encode, RecordDecoder, RpcMessage,
    programs::{dump, handshake, portmap},
    rpc::{AuthGlusterFsV2, CallHeader, Credential},
};

/// A blocking SunRPC client, as a GlusterFS process would talk.
pub struct Rpc<S: Read + Write> {
    /// The connection, for tests that write raw bytes on it.
    pub s: S,
    decoder: RecordDecoder,
    xid: u32,
}

impl<S: Read + Write> Rpc<S> {
    pub fn new(s: S) -> Self {
        Rpc {
            s,
            decoder: RecordDecoder::default(),
            xid: 0,
        }
    }

    /// The next whole record, or `None` when the server closed the connection.
    pub fn next_record(&mut self) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4096];
        loop {
            let n = self.s.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            if let Some(r) = self
                .decoder
                .push(&buf[..n])
                .expect("records")
                .into_iter()
                .next()
            {
                return Some(r);
            }
        }
    }

    pub fn call<T: Decode>(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        args: &dyn Encode,
    ) -> T {
        self.xid += 1;
        let call = CallHeader {
            cred: Credential::GlusterFsV2(AuthGlusterFsV2 {
                pid: std::process::id() as i32,
                lk_owner: std::process::id().to_le_bytes().to_vec(),
                ..Default::default()
            }),
            ..CallHeader::new(self.xid, prog, vers, procedure)
        };
        self.s.write_all(&call.to_record(args).unwrap()).unwrap();
        // A connection that was served a volfile is a client the server calls back (FETCHSPEC
        // when the graph changes): such a call may come before the reply, as to any client.
        let (reply, rest) = loop {
            let record = self.next_record().expect("a reply");
            let (msg, rest) = RpcMessage::decode(&record).unwrap();
            match msg {
                RpcMessage::Reply(reply) => break (reply, rest.to_vec()),
                RpcMessage::Call(_) => continue,
            }
        };
        let rest = rest.as_slice();
        assert_eq!(reply.xid, self.xid);
        assert!(reply.is_success(), "{reply:?}");
        T::from_xdr(rest).unwrap()
    }

    pub fn dump(&mut self) -> dump::DumpRsp {
        self.call(
            dump::PROGRAM,
            dump::VERSION,
            dump::DUMP,
            &dump::DumpReq {
                gfs_id: dump::CLIENT_GFS_ID,
            },
        )
    }

    pub fn getspec(&mut self, key: &str) -> handshake::GetspecRsp {
        let mut xdata = gd_sunrpc::Dict::new();
        xdata.set_str(handshake::KEY_MIN_OP_VERSION, "1");
        xdata.set_str(handshake::KEY_MAX_OP_VERSION, "100000");
        let req = handshake::GetspecReq {
            flags: handshake::GETSPEC_FLAG_SERVERS_LIST,
            key: key.into(),
            xdata: xdata.to_xdata().unwrap(),
        };
        self.call(
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::GETSPEC,
            &req,
        )
    }

    pub fn port_by_brick(&mut self, brick: &str) -> portmap::PortByBrickRsp {
        let req = portmap::PortByBrickReq {
            brick: brick.into(),
        };
        self.call(
            portmap::PROGRAM,
            portmap::VERSION,
            portmap::PORTBYBRICK,
            &req,
        )
    }
}
