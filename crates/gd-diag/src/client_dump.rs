//! A client's statedump (GD1's `volume statedump <v> client <host>:<pid>`), done as GD1 does
//! it: a client of a volume stays connected to the node it fetched its volfile from, and that
//! node sends it GlusterFS's STATEDUMP callback with the pid; the process with that pid dumps
//! its state on its own host. The initiator does not know which node a client chose, so it
//! asks every online node (`POST /v1/internal/statedump/{volname}/client`) to tell its
//! connections from the client's host, and answers with the nodes that told one.
//!
//! gfapi applications answer the callback; a FUSE mount ignores it, as with GD1.

use std::{net::IpAddr, time::Duration};

use gd_api::{ClientTold, ErrorCode, StatedumpReq, StatedumpResp};
use gd_core::OpError;
use gd_feature::Cluster;
use serde::{Deserialize, Serialize};

/// The internal route a node is asked to tell its connections on.
pub const INTERNAL_PATH: &str = "/v1/internal/statedump/{volname}/client";
/// How long the client's host name may take to resolve.
const RESOLVE_WAIT: Duration = Duration::from_secs(5);

/// What a node is asked: tell the connections from these addresses, for this pid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPart {
    pub ips: Vec<IpAddr>,
    pub pid: u32,
}

/// `host:pid` read, or why not.
pub fn parse_client(word: &str) -> Result<(String, u32), OpError> {
    let bad = || {
        OpError::invalid(format!(
            "client {word:?} is not <host>:<pid> (the client's host name or address, and its process id)"
        ))
        .field("client", word)
    };
    let (host, pid) = word.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_matches(['[', ']']);
    let pid: u32 = pid.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    if host.is_empty() || host.len() > 253 || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok((host.to_owned(), pid))
}

/// Tells the client named in `req` to dump its state, through every online node.
pub async fn client_statedump(
    cx: &Cluster,
    name: &str,
    req: &StatedumpReq,
) -> Result<StatedumpResp, OpError> {
    if req.shd || !req.options.is_empty() {
        return Err(OpError::invalid(
            "a client statedump takes no sections and no shd: the client dumps everything",
        ));
    }
    let (host, pid) = parse_client(&req.client)?;
    let vol = crate::started(cx, name).await?;
    let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::time::timeout(RESOLVE_WAIT, tokio::net::lookup_host((host.as_str(), 0)))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|a| a.map(|a| a.ip()).collect())
            .unwrap_or_default(),
    };
    if ips.is_empty() {
        return Err(
            OpError::invalid(format!("client host {host} does not resolve to an address"))
                .field("client", req.client.clone()),
        );
    }
    let part = ClientPart { ips, pid };
    let nodes: Vec<uuid::Uuid> = gd_node::peers::list_peers(cx.node.store.as_ref())
        .await?
        .into_iter()
        .filter(|p| p.online)
        .map(|p| p.id)
        .collect();
    let told = crate::each_node(
        cx,
        &vol,
        nodes,
        INTERNAL_PATH,
        &part,
        || async { Ok(tell_here(cx, &vol.name, &part)) },
        |_: &ClientTold| "",
    )
    .await?;
    if told.is_empty() {
        return Err(OpError::new(
            ErrorCode::NotFound,
            format!(
                "no client of volume {name} on {host} is connected to an online node (a client stays connected to the node it fetched its volfile from)"
            ),
        ));
    }
    Ok(StatedumpResp {
        files: vec![],
        told,
    })
}

/// This node's part: its connections of volume `volume` from the client's addresses told.
pub fn tell_here(cx: &Cluster, volume: &str, part: &ClientPart) -> Vec<ClientTold> {
    let connections: usize = part
        .ips
        .iter()
        .map(|ip| cx.rpc.send_statedump(volume, *ip, part.pid))
        .sum();
    if connections == 0 {
        return vec![];
    }
    vec![ClientTold {
        node: cx.node.identity().peer_id,
        connections: connections as u32,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_host_colon_pid() {
        assert_eq!(
            parse_client("client1:4242").unwrap(),
            ("client1".into(), 4242)
        );
        assert_eq!(
            parse_client("[2001:db8::1]:7").unwrap(),
            ("2001:db8::1".into(), 7)
        );
        for bad in [
            "client1", "client1:", ":12", "h:0", "h:-1", "h:12x", "a b:1",
        ] {
            assert!(parse_client(bad).is_err(), "{bad}");
        }
    }
}
