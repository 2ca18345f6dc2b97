//! The volume as GD1's hook scripts read it: `<workdir>/vols/<volume>/info`, GD1's
//! `key=value` file (`glusterd_store_volinfo_write`), written fresh before a volume's scripts
//! run. The packaged scripts read it for the volume's state (`status`), its options
//! (`user.smb`, `auth.allow`, `features.quota`, `ganesha.enable`) and its bricks. It is a view
//! of the store's record, nothing reads it back; the trusted login is left out.

use std::{fmt::Write, path::Path};

use gd_api::SubvolType;
use gd_volume::model::{VolumeRecord, VolumeState};

/// GD1's `info` text for `vol`.
pub fn info(vol: &VolumeRecord) -> String {
    let bricks: Vec<_> = vol.bricks().collect();
    let first = vol.subvols.first();
    let kind = first.map(|s| s.kind);
    // GF_CLUSTER_TYPE_NONE 0, REPLICATE 2, DISPERSE 4; GLUSTERD_STATUS_NONE 0, STARTED 1,
    // STOPPED 2.
    let kind_no = match kind {
        Some(SubvolType::Replicate) => 2,
        Some(SubvolType::Disperse) => 4,
        _ => 0,
    };
    let status = match vol.state {
        VolumeState::Created => 0,
        VolumeState::Started => 1,
        VolumeState::Stopped => 2,
    };
    let replica = first
        .filter(|s| s.kind == SubvolType::Replicate)
        .map_or(1, |s| s.replica.max(1));
    let (disperse, redundancy) = first
        .filter(|s| s.kind == SubvolType::Disperse)
        .map_or((0, 0), |s| (s.disperse, s.redundancy));
    let sub_count = match kind {
        Some(SubvolType::Replicate) => replica,
        Some(SubvolType::Disperse) => disperse,
        _ => 0,
    };
    let mut s = String::new();
    let _ = writeln!(s, "type={kind_no}");
    let _ = writeln!(s, "count={}", bricks.len());
    let _ = writeln!(s, "status={status}");
    let _ = writeln!(s, "sub_count={sub_count}");
    let _ = writeln!(s, "stripe_count=1");
    let _ = writeln!(s, "replica_count={replica}");
    let _ = writeln!(s, "arbiter_count={}", first.map_or(0, |s| s.arbiter));
    let _ = writeln!(s, "disperse_count={disperse}");
    let _ = writeln!(s, "redundancy_count={redundancy}");
    let _ = writeln!(s, "version=1");
    let _ = writeln!(s, "transport-type=0");
    let _ = writeln!(s, "volume-id={}", vol.id);
    for (k, v) in &vol.options {
        let _ = writeln!(s, "{k}={v}");
    }
    for (i, b) in bricks.iter().enumerate() {
        // GD1 names a brick's file `<host>:<path with / as ->`.
        let _ = writeln!(s, "brick-{i}={}:{}", b.host, b.path.replace('/', "-"));
    }
    s
}

/// Writes `vol`'s `info` under `workdir` (0600, replaced atomically).
pub fn write(workdir: &Path, vol: &VolumeRecord) -> std::io::Result<()> {
    let dir = workdir.join("vols").join(&vol.name);
    std::fs::create_dir_all(&dir)?;
    gd_auth::write_private_atomic(&dir.join("info"), info(vol).as_bytes())
}

/// Removes a deleted volume's directory.
pub fn remove(workdir: &Path, volume: &str) {
    let _ = std::fs::remove_dir_all(workdir.join("vols").join(volume));
}

#[cfg(test)]
mod tests {
    use super::*;
    use gd_api::BrickKind;
    use gd_volume::model::{BrickRecord, SubvolRecord, VolumeAuth};
    use uuid::Uuid;

    #[test]
    fn a_started_replica_volume_as_gd1_writes_it() {
        let brick = |h: &str| BrickRecord {
            id: Uuid::nil(),
            peer_id: Uuid::nil(),
            host: h.into(),
            path: "/bricks/b1".into(),
            kind: BrickKind::Brick,
            index: None,
            reset: false,
        };
        let vol = VolumeRecord {
            id: Uuid::nil(),
            name: "v".into(),
            transport: "tcp".into(),
            state: VolumeState::Started,
            subvols: vec![SubvolRecord {
                kind: SubvolType::Replicate,
                replica: 2,
                arbiter: 0,
                disperse: 0,
                redundancy: 0,
                bricks: vec![brick("h1"), brick("h2")],
                pending: false,
                decommissioned: false,
            }],
            options: [("user.smb".to_owned(), "enable".to_owned())].into(),
            metadata: Default::default(),
            auth: VolumeAuth {
                username: Uuid::nil(),
                password: Uuid::nil(),
            },
        };
        let text = info(&vol);
        for line in [
            "type=2",
            "count=2",
            "status=1",
            "sub_count=2",
            "replica_count=2",
            "user.smb=enable",
            "brick-0=h1:-bricks-b1",
            "brick-1=h2:-bricks-b1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(!text.contains("password"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &vol).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("vols/v/info")).unwrap(),
            text
        );
        remove(dir.path(), "v");
        assert!(!dir.path().join("vols/v").exists());
    }
}
