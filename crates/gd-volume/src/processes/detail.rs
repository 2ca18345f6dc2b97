//! A brick's file system as its node measures it (GD1's `volume status <v> detail`): its size,
//! free space and inodes (`statvfs`, as GD1's `glusterd_add_brick_detail_to_dict`), and the
//! mount it lives on (device, file system type, mount options: the longest mount point of
//! `/proc/self/mountinfo` above the brick's path, as GD1 finds it in the mount table).
//!
//! The node publishes it with the brick's status, so reading it needs no call to any node.
//! Free space moves with every write: a measure is published again only when it moved by
//! more than [`close_enough`] allows, so a busy brick does not rewrite its record every pass.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a brick's node measured of its file system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BrickDetail {
    pub fs_type: String,
    pub device: String,
    pub mount_options: String,
    /// `f_bsize`.
    pub block_size: u64,
    /// Bytes: `f_blocks * f_bsize`, `f_bfree * f_bsize`, `f_bavail * f_bsize`.
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
    /// Files and directories the brick's index marks as needing heal (the entries of its
    /// `.glusterfs/indices/xattrop`, which the self-heal daemons crawl and heal info lists),
    /// counted up to [`HEAL_PENDING_MAX`].
    #[serde(default)]
    pub heal_pending: u64,
}

/// The most index entries counted per brick and pass: a brick with more shows this many (the
/// count costs a directory read per pass).
pub const HEAL_PENDING_MAX: u64 = 100_000;

/// The entries the brick at `path` has in its xattrop index, but the index's own base file
/// (`xattrop-<uuid>`, which every entry is a hard link of); 0 when it has no index yet.
pub fn heal_pending(path: &Path) -> u64 {
    let Ok(dir) = std::fs::read_dir(path.join(".glusterfs/indices/xattrop")) else {
        return 0;
    };
    let mut n = 0;
    for e in dir.flatten() {
        if !e.file_name().as_encoded_bytes().starts_with(b"xattrop-") {
            n += 1;
            if n >= HEAL_PENDING_MAX {
                break;
            }
        }
    }
    n
}

/// Measures the file system of the brick at `path`; `None` when it cannot be read (the
/// brick's directory is gone).
pub fn measure(path: &Path, mountinfo: &str) -> Option<BrickDetail> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    let bsize = st.block_size();
    let (device, fs_type, mount_options) = mount_of(mountinfo, path).unwrap_or_default();
    Some(BrickDetail {
        fs_type,
        device,
        mount_options,
        block_size: bsize,
        total: st.blocks().saturating_mul(bsize),
        free: st.blocks_free().saturating_mul(bsize),
        available: st.blocks_available().saturating_mul(bsize),
        inodes_total: st.files(),
        inodes_free: st.files_free(),
        heal_pending: heal_pending(path),
    })
}

/// Whether `new` differs from the published `old` by too little to publish again: the same
/// file system and count of entries to heal, and free space and inodes within a thousandth of the total (at least 1 MiB
/// and 16 inodes).
pub fn close_enough(old: &BrickDetail, new: &BrickDetail) -> bool {
    let near = |a: u64, b: u64, slack: u64| a.abs_diff(b) <= slack;
    let bytes = (new.total / 1000).max(1 << 20);
    let inodes = (new.inodes_total / 1000).max(16);
    old.fs_type == new.fs_type
        && old.device == new.device
        && old.mount_options == new.mount_options
        && old.block_size == new.block_size
        && old.heal_pending == new.heal_pending
        && old.total == new.total
        && old.inodes_total == new.inodes_total
        && near(old.free, new.free, bytes)
        && near(old.available, new.available, bytes)
        && near(old.inodes_free, new.inodes_free, inodes)
}

/// The device, type and options of the mount `path` lives on, from `/proc/self/mountinfo`'s
/// text: the mount whose point is the longest prefix of `path` (later mounts over the same
/// point win, as the kernel resolves them).
pub fn mount_of(mountinfo: &str, path: &Path) -> Option<(String, String, String)> {
    let mut best: Option<(usize, (String, String, String))> = None;
    for line in mountinfo.lines() {
        // id parent major:minor root point options [optional...] - type source super-options
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        let (Some(point), Some(options), Some(fs), Some(source)) =
            (f.get(4), f.get(5), r.first(), r.get(1))
        else {
            continue;
        };
        let point = unescape(point);
        if !path.starts_with(&point) {
            continue;
        }
        let len = point.len();
        if best.as_ref().is_none_or(|(l, _)| len >= *l) {
            best = Some((
                len,
                (unescape(source), (*fs).to_owned(), (*options).to_owned()),
            ));
        }
    }
    best.map(|(_, m)| m)
}

/// mountinfo's octal escapes (`\040` for a blank...).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
30 22 0:25 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=1024k
41 22 253:2 / /bricks/my\\040disk rw,noatime shared:9 - xfs /dev/mapper/vg-b1 rw,inode64
";

    #[test]
    fn the_longest_mount_point_above_the_brick_wins() {
        assert_eq!(
            mount_of(MOUNTINFO, Path::new("/bricks/my disk/b1")),
            Some((
                "/dev/mapper/vg-b1".into(),
                "xfs".into(),
                "rw,noatime".into()
            ))
        );
        assert_eq!(mount_of(MOUNTINFO, Path::new("/tmp/b")).unwrap().1, "tmpfs");
        assert_eq!(
            mount_of(MOUNTINFO, Path::new("/srv/b")).unwrap().0,
            "/dev/sda1"
        );
        // A sibling whose name starts the same is not above it.
        assert_eq!(mount_of(MOUNTINFO, Path::new("/tmpx/b")).unwrap().1, "ext4");
        assert_eq!(mount_of("garbage", Path::new("/b")), None);
    }

    #[test]
    fn a_measure_of_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let d = measure(dir.path(), &mountinfo).unwrap();
        assert!(
            d.total > 0 && d.free <= d.total && d.available <= d.free,
            "{d:?}"
        );
        assert!(d.block_size > 0 && !d.fs_type.is_empty(), "{d:?}");
        assert!(measure(&dir.path().join("gone"), &mountinfo).is_none());
    }

    #[test]
    fn entries_to_heal_are_the_index_entries_but_its_base_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(heal_pending(dir.path()), 0, "no index yet");
        let index = dir.path().join(".glusterfs/indices/xattrop");
        std::fs::create_dir_all(&index).unwrap();
        let base = index.join("xattrop-0b6e8f4c-3f7e-4c55-8d0f-5a2b9f1c2d3e");
        std::fs::write(&base, b"").unwrap();
        assert_eq!(heal_pending(dir.path()), 0, "the base file alone");
        for gfid in [
            "6f1e4a1b-0000-4000-8000-000000000001",
            "6f1e4a1b-0000-4000-8000-000000000002",
        ] {
            std::fs::hard_link(&base, index.join(gfid)).unwrap();
        }
        assert_eq!(heal_pending(dir.path()), 2);
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(measure(dir.path(), &mountinfo).unwrap().heal_pending, 2);
    }

    #[test]
    fn small_moves_of_free_space_are_not_published_again() {
        let a = BrickDetail {
            total: 10 << 30,
            free: 5 << 30,
            available: 5 << 30,
            inodes_total: 1_000_000,
            inodes_free: 500_000,
            ..Default::default()
        };
        let mut h = a.clone();
        h.heal_pending = 1;
        assert!(!close_enough(&a, &h), "a new entry to heal is published");
        let mut b = a.clone();
        b.free -= 4 << 20;
        b.inodes_free -= 500;
        assert!(close_enough(&a, &b));
        b.free -= 20 << 20;
        assert!(!close_enough(&a, &b), "more than a thousandth of 10 GiB");
        let mut c = a.clone();
        c.mount_options = "ro".into();
        assert!(!close_enough(&a, &c));
    }
}
