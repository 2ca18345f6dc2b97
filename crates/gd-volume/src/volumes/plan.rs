//! Checking a create request and laying the volume out: names, layouts, which node each brick names (by any of its addresses or names), brick paths.

use super::*;

/// Checks a create request and lays the volume out, without changing anything.
pub(super) async fn plan_volume(node: &Node, req: &VolCreateReq) -> Result<VolumeRecord, OpError> {
    check_name(&req.name)?;
    if let Some(t) = &req.transport
        && t != "tcp"
    {
        return Err(
            invalid(format!("transport {t:?} is not supported (only tcp)"))
                .field("transport", t.as_str()),
        );
    }
    for k in req.metadata.keys() {
        if k.starts_with('_') || k.trim().is_empty() {
            return Err(invalid(format!("metadata key {k:?} is reserved or empty"))
                .field("key", k.as_str()));
        }
    }
    if req.subvols.is_empty() {
        return Err(invalid("a volume needs at least one subvolume with bricks"));
    }
    let total: usize = req.subvols.iter().map(|s| s.bricks.len()).sum();
    if total == 0 || total > BRICKS_MAX {
        return Err(invalid(format!("a volume has 1 to {BRICKS_MAX} bricks")));
    }
    let first = &req.subvols[0];
    if req.subvols.iter().any(|s| s.kind != first.kind) {
        return Err(invalid("all subvolumes of a volume have the same type"));
    }
    if first.kind != SubvolType::Distribute
        && req
            .subvols
            .iter()
            .any(|s| s.bricks.len() != first.bricks.len())
    {
        return Err(invalid(
            "all subvolumes of a volume have the same number of bricks",
        ));
    }

    let subvols = plan_subvols(node, &req.subvols).await?;
    let mut vol = VolumeRecord {
        id: Uuid::new_v4(),
        name: req.name.clone(),
        transport: "tcp".into(),
        state: VolumeState::Created,
        subvols,
        options: BTreeMap::new(),
        metadata: req.metadata.clone(),
        auth: VolumeAuth {
            username: Uuid::new_v4(),
            password: Uuid::new_v4(),
        },
    };
    // Client numbers by place, fixed now: later changes of the sets keep them.
    vol.fix_client_indexes();
    // The options GD1 sets at create; kept in the record, as GD1 keeps them in its info file.
    vol.options = create_defaults(&vol);
    if !req.options.is_empty() {
        let groups = crate::option_groups::list_groups(node.store.as_ref()).await?;
        let group = |name: &str| groups.iter().find(|g| g.name == name).cloned();
        vol.options = crate::options::catalog()
            .set(&vol, &req.options, &group)?
            .options;
    }
    Ok(vol)
}

/// Lays out the sets of a request: each brick resolved to its node (by any of its addresses or
/// names; online), its path cleaned, no brick twice, each set checked for its type; distribute
/// bricks one subvolume each. Used by create and by add-brick.
pub(super) async fn plan_subvols(
    node: &Node,
    reqs: &[gd_api::SubvolReq],
) -> Result<Vec<SubvolRecord>, OpError> {
    let peers = peers::list_peers(node.store.as_ref()).await?;
    // Names no peer is recorded under are looked up (forward only, bounded) and matched by
    // address, as GD1 accepts a node's hostname, FQDN or any of its IPs.
    let mut resolved: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for b in reqs.iter().flat_map(|s| s.bricks.iter()) {
        if let (None, Some(h)) = (&b.peerid, &b.host) {
            let h = h.trim_matches(['[', ']']);
            if !resolved.contains_key(h) && !peers.iter().any(|p| known_as(p, h)) {
                resolved.insert(h.to_owned(), lookup_host(h).await);
            }
        }
    }
    let resolve = |b: &BrickReq| -> Result<(Uuid, String), OpError> {
        let given = b.host.as_deref().map(|h| h.trim_matches(['[', ']']));
        let found = match (&b.peerid, given) {
            (Some(id), _) => peers.iter().find(|p| p.id == *id),
            (None, Some(h)) => peers.iter().find(|p| known_as(p, h)).or_else(|| {
                let ips = resolved.get(h)?;
                peers
                    .iter()
                    .find(|p| peer_ips(p).any(|ip| ips.contains(&ip)))
            }),
            (None, None) => return Err(invalid("every brick names its peer (peerid) or host")),
        };
        let loopback = given.is_some_and(|h| {
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        });
        if found.is_none() && loopback {
            return Err(invalid(format!(
                "brick {}: name its node by an address or name other hosts reach, not {}",
                b.path,
                given.unwrap_or_default()
            ))
            .field("path", b.path.as_str()));
        }
        let p = found.ok_or_else(|| {
            invalid(format!(
                "brick {}: no such peer ({})",
                b.path,
                b.peerid
                    .map(|i| i.to_string())
                    .or(b.host.clone())
                    .unwrap_or_default()
            ))
            .field("path", b.path.as_str())
        })?;
        if !p.online {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!("brick {}: peer {} is offline", b.path, p.id),
            )
            .field("peer-id", p.id.to_string()));
        }
        // The volfiles name the brick's node as the user did; by id, by its first address.
        let host = match given {
            Some(h) => h.to_owned(),
            None => p
                .peer_addresses
                .first()
                .or(p.client_addresses.first())
                .map(|a| host_of(a).to_owned())
                .unwrap_or_default(),
        };
        Ok((p.id, host))
    };

    let mut seen = BTreeSet::new();
    let mut subvols = vec![];
    // GD2's CLI sends one distribute subvolume per brick; several bricks in one distribute
    // subvolume mean the same.
    let groups: Vec<&gd_api::SubvolReq> = reqs.iter().collect();
    for s in groups {
        let (replica, arbiter, disperse, redundancy) = match s.kind {
            SubvolType::Distribute => (1, 0, 0, 0),
            SubvolType::Replicate => {
                let n = s.bricks.len() as u32;
                match (s.replica, s.arbiter) {
                    (r, 0) if r >= 2 && r == n => (r, 0, 0, 0),
                    (2, 1) if n == 3 => (2, 1, 0, 0),
                    (r, a) => {
                        return Err(invalid(format!(
                            "a replicate subvolume has replica >= 2 bricks (or replica 2 + arbiter 1 = 3 bricks); got replica {r}, arbiter {a}, {n} bricks"
                        )));
                    }
                }
            }
            SubvolType::Disperse => {
                let n = s.bricks.len() as u32;
                let count = if s.disperse_count > 0 {
                    s.disperse_count
                } else {
                    n
                };
                let redundancy = match (s.disperse_redundancy, s.disperse_data) {
                    (r, _) if r > 0 => r,
                    (0, d) if d > 0 && d < count => count - d,
                    _ => default_redundancy(count),
                };
                if count != n || count < 3 || 2 * redundancy >= count || redundancy == 0 {
                    return Err(invalid(format!(
                        "a disperse subvolume has at least 3 bricks and 0 < 2 x redundancy < bricks; got {n} bricks, count {count}, redundancy {redundancy}"
                    )));
                }
                if s.disperse_data > 0 && s.disperse_data + redundancy != count {
                    return Err(invalid(
                        "disperse-data + disperse-redundancy must equal the disperse count",
                    ));
                }
                (1, 0, count, redundancy)
            }
        };
        let mut bricks = vec![];
        for (i, b) in s.bricks.iter().enumerate() {
            let path = clean_path(&b.path)?;
            let (peer_id, host) = resolve(b)?;
            if !seen.insert((peer_id, path.clone())) {
                return Err(
                    invalid(format!("duplicate brick {host}:{path}")).field("path", path.as_str())
                );
            }
            let kind = if arbiter == 1 && i == 2 {
                BrickKind::Arbiter
            } else {
                b.kind
            };
            if kind == BrickKind::Arbiter && !(arbiter == 1 && i == 2) {
                return Err(invalid(
                    "only the last brick of a replica 2 + arbiter 1 subvolume is an arbiter",
                ));
            }
            bricks.push(BrickRecord {
                id: Uuid::new_v4(),
                peer_id,
                host,
                path,
                kind,
                index: None,
                reset: false,
            });
        }
        if s.kind == SubvolType::Distribute {
            // One subvolume per brick, as GD2 stores distribute volumes.
            for b in bricks {
                subvols.push(SubvolRecord {
                    kind: SubvolType::Distribute,
                    replica: 1,
                    arbiter: 0,
                    disperse: 0,
                    redundancy: 0,
                    bricks: vec![b],
                    pending: false,
                    decommissioned: false,
                });
            }
        } else {
            subvols.push(SubvolRecord {
                kind: s.kind,
                replica,
                arbiter,
                disperse,
                redundancy,
                bricks,
                pending: false,
                decommissioned: false,
            });
        }
    }
    Ok(subvols)
}

/// GlusterFS's default redundancy for a disperse count: the count without its highest power
/// of two (1 when that leaves nothing).
pub(super) fn default_redundancy(count: u32) -> u32 {
    if count < 3 {
        return 0;
    }
    let high = 1u32 << (31 - count.leading_zeros());
    let r = count & !high;
    if r == 0 || 2 * r >= count { 1 } else { r }
}

/// Whether peer `p` is known as `host`: one of its addresses' hosts, its hostname, or an
/// FQDN whose first label is its hostname (or the other way round).
pub(super) fn known_as(p: &gd_api::Peer, host: &str) -> bool {
    let first_label = |h: &str| h.split('.').next().unwrap_or(h).to_ascii_lowercase();
    let name = p.name.to_ascii_lowercase();
    let host_lc = host.to_ascii_lowercase();
    let is_name = !peers::is_ip_address(host);
    p.peer_addresses
        .iter()
        .chain(p.client_addresses.iter())
        .any(|a| host_of(a).eq_ignore_ascii_case(host))
        || (is_name
            && !name.is_empty()
            && (name == host_lc
                || (!name.contains('.') && first_label(&host_lc) == name)
                || (!host_lc.contains('.') && first_label(&name) == host_lc)))
}

/// The IPs peer `p`'s addresses name.
pub(super) fn peer_ips(p: &gd_api::Peer) -> impl Iterator<Item = IpAddr> + '_ {
    p.peer_addresses
        .iter()
        .chain(p.client_addresses.iter())
        .filter_map(|a| host_of(a).parse::<IpAddr>().ok())
}

/// Bound on looking up a brick's host name.
pub(super) const HOST_LOOKUP_MAX: Duration = Duration::from_secs(5);

/// The addresses `host` resolves to (forward lookup, bounded); none when it does not.
pub(super) async fn lookup_host(host: &str) -> Vec<IpAddr> {
    let target = format!("{host}:0");
    match tokio::time::timeout(HOST_LOOKUP_MAX, tokio::net::lookup_host(target)).await {
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).take(16).collect(),
        _ => vec![],
    }
}

pub(super) fn host_of(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.trim_matches(['[', ']']),
        _ => addr,
    }
}

/// An absolute, normalised path without `.`/`..` parts, that volgen can put in a volfile
/// (`gd_volgen::check_brick_path`, the rule the volume's bricks will be started under).
pub(super) fn clean_path(p: &str) -> Result<String, OpError> {
    gd_volgen::check_brick_path(p).map_err(|e| invalid(e.to_string()).field("path", p))?;
    let bad = |why: &str| invalid(format!("brick path {p:?}: {why}")).field("path", p);
    let mut parts = vec![];
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(bad("'..' is not allowed")),
            x if x.len() > 255 => return Err(bad("a component is longer than 255 bytes")),
            x => parts.push(x),
        }
    }
    if parts.is_empty() {
        return Err(bad("the root directory cannot be a brick"));
    }
    Ok(format!("/{}", parts.join("/")))
}
