//! Where GETSPEC gets its volfiles: the seam between the RPC server and the volume layer.
//!
//! The server knows the protocol (the key as the client sent it, `op_ret` = length, the error
//! shapes); the volume layer knows the volumes and generates their volfiles from the store
//! (DESIGN §3.8, §3.9). A trait object keeps the two apart, so the server runs, and answers
//! ENOENT, before any volume code is wired in ([`NoVolfiles`]).
//!
//! A source implements [`VolfileSource::volfile`] (key → text) and may override
//! [`VolfileSource::getspec`] when it needs the whole request: the peer (GD1 serves the
//! `trusted-` client volfile to local peers), the client's op-version range in `xdata` (GD1
//! answers ENOTSUP outside it) or reply `xdata` (the `pidfile` a self-heal daemon requires).

use async_trait::async_trait;
use gd_sunrpc::Dict;

use super::Peer;

/// One GETSPEC request, as a [`VolfileSource`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct GetspecRequest<'a> {
    /// The key with any leading `/` removed (`/vol1` and `vol1` are the same volfile).
    pub key: &'a str,
    /// The key as sent.
    pub raw_key: &'a str,
    /// The request's flags ([`gd_sunrpc::programs::handshake::GETSPEC_FLAG_SERVERS_LIST`]
    /// from client processes, 0 from bricks).
    pub flags: u32,
    /// The request's dict (`min-op-version`, `max-op-version`, `brick_name`).
    pub xdata: &'a Dict,
    /// Who asks.
    pub peer: Peer,
}

/// A volfile to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Volfile {
    /// The volfile text.
    pub spec: String,
    /// The reply's dict (`pidfile` for `shd/<vol>`, `servers-list`); empty: none.
    pub xdata: Dict,
}

/// Finds the volfile a GETSPEC key names.
#[async_trait]
pub trait VolfileSource: Send + Sync + 'static {
    /// The volfile named `key` (leading `/` already removed), or `None` if there is none.
    async fn volfile(&self, key: &str) -> Option<String>;

    /// Answers a whole request: the volfile, or the errno to reply with (ENOENT when the key
    /// names nothing, ENOTSUP for an op-version the client does not support, EINVAL for a bad
    /// request). The default asks [`VolfileSource::volfile`] and sends no `xdata`.
    async fn getspec(&self, req: &GetspecRequest<'_>) -> Result<Volfile, i32> {
        match self.volfile(req.key).await {
            Some(spec) => Ok(Volfile {
                spec,
                xdata: Dict::new(),
            }),
            None => Err(nix::errno::Errno::ENOENT as i32),
        }
    }
}

/// The source used until the volume layer plugs in its own: knows no volfile.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVolfiles;

#[async_trait]
impl VolfileSource for NoVolfiles {
    async fn volfile(&self, _key: &str) -> Option<String> {
        None
    }
}
