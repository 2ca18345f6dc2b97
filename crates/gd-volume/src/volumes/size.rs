//! A started volume's space as its clients see it, from its bricks' file systems as their
//! nodes measured and published them (no temporary mount, no call to any node).
//!
//! GlusterFS's own arithmetic: DHT adds its sets; a replica set holds what its smallest data
//! brick holds (an arbiter holds only metadata); a disperse set its smallest brick times its
//! data bricks; a distribute "set" is one brick.

use std::collections::BTreeMap;

use super::*;

/// A started volume's space from its bricks' published statuses; `None` when it is not
/// started or a set has no brick measured (every brick of it offline).
pub fn volume_size_of(
    vol: &VolumeRecord,
    statuses: &[gd_api::BrickStatus],
) -> Option<gd_api::SizeInfo> {
    if vol.state != VolumeState::Started {
        return None;
    }
    let measured: BTreeMap<Uuid, gd_api::SizeInfo> = statuses
        .iter()
        .filter(|s| s.online)
        .filter_map(|s| Some((s.info.id, s.size?)))
        .collect();
    add_up(&vol.serving(), &measured)
}

/// The volume's space from its bricks' measures (see the module's documentation).
pub fn add_up(
    vol: &VolumeRecord,
    measured: &BTreeMap<Uuid, gd_api::SizeInfo>,
) -> Option<gd_api::SizeInfo> {
    let mut total = gd_api::SizeInfo {
        capacity: 0,
        used: 0,
        free: 0,
    };
    for set in &vol.subvols {
        let data = |b: &&BrickRecord| b.kind != gd_api::BrickKind::Arbiter;
        let sizes: Vec<(u64, gd_api::SizeInfo)> = match set.kind {
            SubvolType::Distribute => set
                .bricks
                .iter()
                .map(|b| Some((1, *measured.get(&b.id)?)))
                .collect::<Option<_>>()?,
            SubvolType::Replicate | SubvolType::Disperse => {
                let of_set: Vec<gd_api::SizeInfo> = set
                    .bricks
                    .iter()
                    .filter(data)
                    .filter_map(|b| measured.get(&b.id).copied())
                    .collect();
                let smallest = gd_api::SizeInfo {
                    capacity: of_set.iter().map(|s| s.capacity).min()?,
                    used: of_set.iter().map(|s| s.used).max()?,
                    free: of_set.iter().map(|s| s.free).min()?,
                };
                let times = match set.kind {
                    SubvolType::Disperse => u64::from(set.disperse.saturating_sub(set.redundancy)),
                    _ => 1,
                };
                vec![(times.max(1), smallest)]
            }
        };
        for (times, s) in sizes {
            total.capacity += s.capacity * times;
            total.used += s.used * times;
            total.free += s.free * times;
        }
    }
    Some(total)
}
