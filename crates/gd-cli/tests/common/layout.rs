//! How the fake lays out a volume from a create request, for its fixture volumes and for
//! `POST /v1/volumes` alike (no validation: that is the CLI's and the daemon's job).

use gd_api::{BrickInfo, BrickKind, Peer, SubvolInfo, SubvolType, VolCreateReq, VolumeInfo};
use uuid::Uuid;

use super::peers::host_of;

/// The volume a create request describes, laid out as the request says (no validation):
/// a distribute subvolume becomes one subvolume per brick, as the daemon stores them. Bricks
/// named by peer id get the peer's host; an unknown peer id is an error.
pub fn build_volume(req: &VolCreateReq, id: Uuid, peers: &[Peer]) -> Result<VolumeInfo, String> {
    let mut subvols = Vec::new();
    let mut index = 0u128;
    for s in &req.subvols {
        let mut bricks = Vec::new();
        for b in &s.bricks {
            index += 1;
            let (peer_id, host) = match (&b.peerid, &b.host) {
                (Some(pid), _) => {
                    let p = peers
                        .iter()
                        .find(|p| p.id == *pid)
                        .ok_or_else(|| format!("brick {}: no such peer ({pid})", b.path))?;
                    let host = p
                        .peer_addresses
                        .first()
                        .map_or(p.name.as_str(), |a| host_of(a));
                    (p.id, host.to_owned())
                }
                (None, Some(h)) => {
                    let peer = peers.iter().find(|p| {
                        p.name == *h
                            || p.peer_addresses
                                .iter()
                                .chain(&p.client_addresses)
                                .any(|a| host_of(a) == h)
                    });
                    (peer.map_or(Uuid::nil(), |p| p.id), h.clone())
                }
                (None, None) => return Err(format!("brick {}: no peer or host", b.path)),
            };
            bricks.push(BrickInfo {
                id: Uuid::from_u128(id.as_u128() ^ (index << 64)),
                path: b.path.clone(),
                volume_id: id,
                volume_name: req.name.clone(),
                peer_id,
                host,
                kind: match b.kind {
                    BrickKind::Brick => "Brick",
                    BrickKind::Arbiter => "Arbiter",
                }
                .to_owned(),
            });
        }
        let subvol = |kind: &str, bricks: Vec<BrickInfo>| SubvolInfo {
            name: String::new(),
            kind: kind.to_owned(),
            replica_count: s.replica.max(1),
            arbiter_count: s.arbiter,
            disperse_count: s.disperse_count,
            bricks,
        };
        match s.kind {
            SubvolType::Distribute => {
                subvols.extend(bricks.into_iter().map(|b| subvol("Distribute", vec![b])))
            }
            SubvolType::Replicate => subvols.push(subvol("Replicate", bricks)),
            SubvolType::Disperse => subvols.push(subvol("Disperse", bricks)),
        }
    }
    for (i, s) in subvols.iter_mut().enumerate() {
        s.name = format!("{}-{}-{i}", req.name, s.kind.to_ascii_lowercase());
    }
    let first = req.subvols.first();
    let many = subvols.len() > 1;
    let kind = match (first.map(|s| s.kind), many) {
        (Some(SubvolType::Replicate), false) => "Replicate",
        (Some(SubvolType::Replicate), true) => "Distributed-Replicate",
        (Some(SubvolType::Disperse), false) => "Disperse",
        (Some(SubvolType::Disperse), true) => "Distributed-Disperse",
        _ => "Distribute",
    };
    let disperse_count = first.map_or(0, |s| {
        if s.kind == SubvolType::Disperse && s.disperse_count == 0 {
            s.bricks.len() as u32
        } else {
            s.disperse_count
        }
    });
    let redundancy = first.map_or(0, |s| match (s.disperse_redundancy, s.disperse_data) {
        (r, _) if r > 0 => r,
        (0, d) if d > 0 => disperse_count.saturating_sub(d),
        _ if s.kind == SubvolType::Disperse => 1,
        _ => 0,
    });
    Ok(VolumeInfo {
        id,
        name: req.name.clone(),
        kind: kind.to_owned(),
        transport: req.transport.clone().unwrap_or_else(|| "tcp".to_owned()),
        distribute_count: subvols.len() as u32,
        replica_count: first.map_or(1, |s| s.replica.max(1)),
        arbiter_count: first.map_or(0, |s| s.arbiter),
        disperse_count,
        disperse_redundancy_count: redundancy,
        options: req.options.clone(),
        state: "Created".to_owned(),
        metadata: req.metadata.clone(),
        subvols,
    })
}
