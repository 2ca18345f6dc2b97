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

/// GD1's `volume status <v> detail`: a block per brick, its file system as its node measured
/// it (`N/A` where it has none: an offline brick).
pub fn detail_text(name: &str, bricks: &[BrickStatus]) -> String {
    const RULE: &str =
        "------------------------------------------------------------------------------";
    let na = |s: &str| {
        if s.is_empty() {
            "N/A".to_owned()
        } else {
            s.to_owned()
        }
    };
    let mut out = format!("Status of volume: {name}\n{RULE}");
    for b in bricks {
        let row = |k: &str, v: String| format!("\n{k:<21}: {v}");
        out.push_str(&row(
            "Brick",
            format!("Brick {}", brick_address(&b.info.host, &b.info.path)),
        ));
        out.push_str(&row(
            "TCP Port",
            if b.port == 0 {
                "N/A".into()
            } else {
                b.port.to_string()
            },
        ));
        out.push_str(&row("RDMA Port", "0".into()));
        out.push_str(&row("Online", output::yes_no(b.online).into()));
        out.push_str(&row(
            "Pid",
            if b.pid == 0 {
                "N/A".into()
            } else {
                b.pid.to_string()
            },
        ));
        out.push_str(&row("File System", na(&b.fs_type)));
        out.push_str(&row("Device", na(&b.device)));
        out.push_str(&row("Mount Options", na(&b.mount_opts)));
        out.push_str(&row(
            "Block Size",
            if b.block_size == 0 {
                "N/A".into()
            } else {
                b.block_size.to_string()
            },
        ));
        let (free, total) = b.size.map_or(("N/A".into(), "N/A".into()), |s| {
            (human_size(s.free), human_size(s.capacity))
        });
        out.push_str(&row("Disk Space Free", free));
        out.push_str(&row("Total Disk Space", total));
        let (count, free) = b.inodes.map_or(("N/A".into(), "N/A".into()), |i| {
            (i.total.to_string(), i.free.to_string())
        });
        out.push_str(&row("Inode Count", count));
        out.push_str(&row("Free Inodes", free));
        out.push_str(&format!("\n{RULE}"));
    }
    out
}

/// Bytes as GD1 prints them (1024-based, one decimal: `9.8GB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["Bytes", "KB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}{}", UNITS[0])
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}
