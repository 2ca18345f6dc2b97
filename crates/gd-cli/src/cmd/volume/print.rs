//! How volumes are shown: the `info` block, the `list` and `status` tables, and the brick and
//! layout summaries they are made of.

use comfy_table::Table;
use gd_api::{BrickStatus, VolumeInfo};

use crate::output;

/// The number of bricks of a volume.
pub fn brick_count(vol: &VolumeInfo) -> usize {
    vol.subvols.iter().map(|s| s.bricks.len()).sum()
}

/// `volume create`'s confirmation: `Volume <name> created (<type>, <n> bricks)`.
pub fn created_line(vol: &VolumeInfo) -> String {
    let n = brick_count(vol);
    let bricks = if n == 1 { "brick" } else { "bricks" };
    format!("Volume {} created ({}, {n} {bricks})", vol.name, vol.kind)
}

/// A brick as people write it: `host:path`, `[v6]:path`.
pub fn brick_address(host: &str, path: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{path}")
    } else {
        format!("{host}:{path}")
    }
}

/// GD1's `Number of Bricks` value: `N` (distribute), `D x R = N` (replicate), `D x (2 + 1) =
/// N` (arbiter), `D x (data + redundancy) = N` (disperse).
pub fn bricks_summary(vol: &VolumeInfo) -> String {
    let n = brick_count(vol);
    let d = vol.subvols.len();
    if vol.disperse_count > 0 {
        let r = vol.disperse_redundancy_count;
        if r > 0 && r < vol.disperse_count {
            format!("{d} x ({} + {r}) = {n}", vol.disperse_count - r)
        } else {
            format!("{d} x {} = {n}", vol.disperse_count)
        }
    } else if vol.arbiter_count > 0 {
        format!(
            "{d} x ({} + {}) = {n}",
            vol.replica_count, vol.arbiter_count
        )
    } else if vol.replica_count > 1 {
        format!("{d} x {} = {n}", vol.replica_count)
    } else {
        n.to_string()
    }
}

/// `volume info`'s text for one volume, GD1's layout (no final newline).
pub fn info_text(vol: &VolumeInfo) -> String {
    let mut lines = vec![
        format!("Volume Name: {}", vol.name),
        format!("Type: {}", vol.kind),
        format!("Volume ID: {}", vol.id),
        format!("State: {}", vol.state),
        format!("Transport-type: {}", vol.transport),
        format!("Number of Bricks: {}", bricks_summary(vol)),
        "Bricks:".to_owned(),
    ];
    let bricks = vol.subvols.iter().flat_map(|s| &s.bricks);
    for (i, b) in bricks.enumerate() {
        let arbiter = if b.kind.eq_ignore_ascii_case("arbiter") {
            " (arbiter)"
        } else {
            ""
        };
        lines.push(format!(
            "Brick{}: {}{arbiter}",
            i + 1,
            brick_address(&b.host, &b.path)
        ));
    }
    if !vol.options.is_empty() {
        lines.push("Options:".to_owned());
        lines.extend(vol.options.iter().map(|(k, v)| format!("{k}: {v}")));
    }
    lines.join("\n")
}

/// The table of `volume list`: Name, ID, Type, State, Bricks.
pub fn list_table(vols: &[VolumeInfo]) -> Table {
    let mut t = output::table(["Name", "ID", "Type", "State", "Bricks"]);
    for v in vols {
        t.add_row(vec![
            v.name.clone(),
            v.id.to_string(),
            v.kind.clone(),
            v.state.clone(),
            brick_count(v).to_string(),
        ]);
    }
    t
}

/// The table of `volume status` for one volume: Brick, Online, Port, Pid (`N/A` when the
/// brick has none, as GD1 prints).
pub fn status_table(bricks: &[BrickStatus]) -> Table {
    let na = |n: u32| {
        if n == 0 {
            "N/A".to_owned()
        } else {
            n.to_string()
        }
    };
    let mut t = output::table(["Brick", "Online", "Port", "Pid"]);
    for b in bricks {
        t.add_row(vec![
            brick_address(&b.info.host, &b.info.path),
            output::yes_no(b.online).to_owned(),
            na(u32::from(b.port)),
            na(b.pid),
        ]);
    }
    t
}

/// `Status of volume: <name>` and its table.
pub fn status_text(name: &str, bricks: &[BrickStatus]) -> String {
    format!("Status of volume: {name}\n{}", status_table(bricks))
}
