//! The volumes and bricks as figures of a metrics scrape, read from the store (the volume
//! records and the status each node publishes of its bricks, with their file systems), so
//! any node answers for the whole cluster and none is asked.
//!
//! Names and labels are gluster-prometheus's where it has the figure (its `gluster_volume_*`
//! counts, `gluster_brick_up`, the `gluster_brick_capacity_*` and `gluster_brick_inodes_*`
//! of its brick collector, `gluster_subvol_capacity_*`, `gluster_volume_heal_count`), so its
//! dashboards and rules read ours; `docs/metrics.md` maps them.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use gd_api::{BrickKind, SubvolType};
use gd_core::{
    keys::BRICK_STATUS,
    metrics::{Gauges, as_gauge, labels},
};
use gd_feature::Figures;
use gd_node::node::Node;
use gd_store::{Store, StoreError, record};
use uuid::Uuid;

use crate::{
    model::{SubvolRecord, VolumeRecord, VolumeState, list_volumes},
    processes::BrickStatusRecord,
};

/// The volume feature's figures.
pub struct VolumeFigures {
    pub node: Arc<Node>,
}

#[async_trait]
impl Figures for VolumeFigures {
    async fn collect(&self, out: &mut Gauges) -> Result<(), StoreError> {
        let store: &dyn Store = self.node.store.as_ref();
        let (volumes, published) = tokio::join!(
            list_volumes(store),
            gd_store::range_all(store, BRICK_STATUS, 1000)
        );
        let volumes = volumes?;
        let mut statuses = BTreeMap::new();
        for kv in published? {
            // `brick-status/<peer>/<brick>`: a record that cannot be read counts as no status.
            let Some(brick) = kv
                .key
                .rsplit('/')
                .next()
                .and_then(|b| Uuid::parse_str(b).ok())
            else {
                continue;
            };
            if let Ok(st) = record::decode::<BrickStatusRecord>(&kv.key, &kv.value) {
                statuses.insert(brick, st);
            }
        }
        let cluster = self.node.identity().cluster_id.to_string();
        figures(&cluster, &volumes, &statuses, out);
        Ok(())
    }
}

/// Every figure of `volumes`, their bricks' published `statuses` by brick id.
pub fn figures(
    cluster: &str,
    volumes: &[VolumeRecord],
    statuses: &BTreeMap<Uuid, BrickStatusRecord>,
    out: &mut Gauges,
) {
    let cl = labels([("cluster_id", cluster.to_owned())]);
    let count = |state: Option<VolumeState>| {
        volumes
            .iter()
            .filter(|v| state.is_none_or(|s| v.state == s))
            .count() as i64
    };
    out.set(
        "gluster_volume_total_count",
        "Volumes in the cluster",
        cl.clone(),
        count(None),
    );
    out.set(
        "gluster_volume_created_count",
        "Volumes created and never started",
        cl.clone(),
        count(Some(VolumeState::Created)),
    );
    out.set(
        "gluster_volume_started_count",
        "Volumes started",
        cl.clone(),
        count(Some(VolumeState::Started)),
    );
    let mut by_kind: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for v in volumes {
        *by_kind
            .entry((v.type_name(), state_word(v.state)))
            .or_default() += 1;
    }
    for ((kind, state), n) in by_kind {
        out.set(
            "gd2_volumes",
            "Volumes by type and state",
            labels([("type", kind.to_owned()), ("state", state.to_owned())]),
            n,
        );
    }
    for v in volumes {
        volume(cluster, v, statuses, out);
    }
}

fn state_word(s: VolumeState) -> &'static str {
    match s {
        VolumeState::Created => "Created",
        VolumeState::Started => "Started",
        VolumeState::Stopped => "Stopped",
    }
}

fn volume(
    cluster: &str,
    v: &VolumeRecord,
    statuses: &BTreeMap<Uuid, BrickStatusRecord>,
    out: &mut Gauges,
) {
    let vl = labels([
        ("cluster_id", cluster.to_owned()),
        ("volume", v.name.clone()),
    ]);
    let started = v.state == VolumeState::Started;
    out.set(
        "gluster_volume_up",
        "1 when the volume is started",
        vl.clone(),
        i64::from(started),
    );
    out.set(
        "gluster_volume_brick_count",
        "Bricks of the volume",
        vl.clone(),
        v.bricks().count() as i64,
    );
    let mut online = 0;
    for (index, set) in v.subvols.iter().enumerate() {
        let subvolume = format!("{}-{}-{index}", v.name, kind_word(set.kind));
        for b in &set.bricks {
            let st = statuses.get(&b.id).filter(|_| started);
            let up = st.is_some_and(|s| s.online);
            online += i64::from(up);
            let pid = st.filter(|s| s.online).map_or(0, |s| s.pid);
            out.set(
                "gluster_brick_up",
                "1 when the brick's process runs (0 for a volume not started)",
                labels([
                    ("cluster_id", cluster.to_owned()),
                    ("volume", v.name.clone()),
                    ("hostname", b.host.clone()),
                    ("brick_path", b.path.clone()),
                    ("peer_id", b.peer_id.to_string()),
                    ("pid", pid.to_string()),
                ]),
                i64::from(up),
            );
            let Some(d) = st.filter(|s| s.online).and_then(|s| s.detail.as_ref()) else {
                continue;
            };
            let brick_labels = labels([
                ("cluster_id", cluster.to_owned()),
                ("host", b.host.clone()),
                ("id", b.id.to_string()),
                ("brick_path", b.path.clone()),
                ("volume", v.name.clone()),
                ("subvolume", subvolume.clone()),
            ]);
            let brick_figures: [(&'static str, &'static str, u64); 6] = [
                (
                    "gluster_brick_capacity_used_bytes",
                    "Bytes used on the brick's file system",
                    d.total.saturating_sub(d.free),
                ),
                (
                    "gluster_brick_capacity_free_bytes",
                    "Bytes free on the brick's file system",
                    d.free,
                ),
                (
                    "gluster_brick_capacity_bytes_total",
                    "Size of the brick's file system",
                    d.total,
                ),
                (
                    "gluster_brick_inodes_total",
                    "Inodes of the brick's file system",
                    d.inodes_total,
                ),
                (
                    "gluster_brick_inodes_free",
                    "Inodes free on the brick's file system",
                    d.inodes_free,
                ),
                (
                    "gluster_brick_inodes_used",
                    "Inodes used on the brick's file system",
                    d.inodes_total.saturating_sub(d.inodes_free),
                ),
            ];
            for (name, help, value) in brick_figures {
                out.set(name, help, brick_labels.clone(), as_gauge(value));
            }
            if set.kind != SubvolType::Distribute {
                out.set(
                    "gluster_volume_heal_count",
                    "Entries the brick's index marks as needing heal",
                    labels([
                        ("cluster_id", cluster.to_owned()),
                        ("volume", v.name.clone()),
                        ("brick_path", b.path.clone()),
                        ("host", b.host.clone()),
                    ]),
                    as_gauge(d.heal_pending),
                );
            }
        }
        subvolume_capacity(cluster, v, set, &subvolume, statuses, out);
    }
    out.set(
        "gd2_volume_bricks_online",
        "Bricks of the volume whose process runs",
        vl.clone(),
        online,
    );
}

fn kind_word(k: SubvolType) -> &'static str {
    match k {
        SubvolType::Distribute => "distribute",
        SubvolType::Replicate => "replicate",
        SubvolType::Disperse => "disperse",
    }
}

/// A set's usable capacity as gluster-prometheus reckons it: the fullest data brick's use and
/// the smallest data brick's size (times the data bricks of a dispersed set).
fn subvolume_capacity(
    cluster: &str,
    v: &VolumeRecord,
    set: &SubvolRecord,
    subvolume: &str,
    statuses: &BTreeMap<Uuid, BrickStatusRecord>,
    out: &mut Gauges,
) {
    let measured: Vec<_> = set
        .bricks
        .iter()
        .filter(|b| b.kind == BrickKind::Brick)
        .filter_map(|b| statuses.get(&b.id))
        .filter(|s| s.online)
        .filter_map(|s| s.detail.as_ref())
        .collect();
    let (Some(used), Some(total)) = (
        measured
            .iter()
            .map(|d| d.total.saturating_sub(d.free))
            .max(),
        measured.iter().map(|d| d.total).min(),
    ) else {
        return;
    };
    let data = match set.kind {
        SubvolType::Disperse => u64::from(set.disperse.saturating_sub(set.redundancy)).max(1),
        _ => 1,
    };
    let set_labels = labels([
        ("cluster_id", cluster.to_owned()),
        ("volume", v.name.clone()),
        ("subvolume", subvolume.to_owned()),
    ]);
    out.set(
        "gluster_subvol_capacity_used_bytes",
        "Bytes used in the set: its fullest data brick's",
        set_labels.clone(),
        as_gauge(used.saturating_mul(data)),
    );
    out.set(
        "gluster_subvol_capacity_total_bytes",
        "Size of the set: its smallest data brick's",
        set_labels,
        as_gauge(total.saturating_mul(data)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::{BrickRecord, VolumeAuth},
        processes::detail::BrickDetail,
    };

    fn volume(state: VolumeState) -> VolumeRecord {
        let brick = |i: u8| BrickRecord {
            id: Uuid::from_u128(u128::from(i) + 1),
            peer_id: Uuid::from_u128(100 + u128::from(i)),
            host: format!("h{i}"),
            path: format!("/b/{i}"),
            kind: BrickKind::Brick,
            index: Some(u32::from(i)),
            reset: false,
        };
        VolumeRecord {
            id: Uuid::nil(),
            name: "v".into(),
            transport: "tcp".into(),
            state,
            subvols: vec![SubvolRecord {
                kind: SubvolType::Replicate,
                replica: 3,
                arbiter: 0,
                disperse: 0,
                redundancy: 0,
                bricks: (0..3).map(brick).collect(),
                pending: false,
                decommissioned: false,
            }],
            options: Default::default(),
            metadata: Default::default(),
            auth: VolumeAuth {
                username: Uuid::nil(),
                password: Uuid::nil(),
            },
        }
    }

    fn running(total: u64, free: u64, pending: u64) -> BrickStatusRecord {
        BrickStatusRecord {
            online: true,
            pid: 42,
            port: 49152,
            error: String::new(),
            detail: Some(BrickDetail {
                total,
                free,
                inodes_total: 100,
                inodes_free: 60,
                heal_pending: pending,
                ..Default::default()
            }),
        }
    }

    fn text(vols: &[VolumeRecord], st: &BTreeMap<Uuid, BrickStatusRecord>) -> String {
        let mut g = Gauges::default();
        figures("c", vols, st, &mut g);
        let mut t = String::new();
        g.write(&mut t);
        t
    }

    #[test]
    fn a_started_volume_with_a_brick_down() {
        let statuses: BTreeMap<Uuid, BrickStatusRecord> = [
            (Uuid::from_u128(1), running(1000, 400, 0)),
            (Uuid::from_u128(2), running(800, 500, 7)),
        ]
        .into();
        let t = text(&[volume(VolumeState::Started)], &statuses);
        for want in [
            r#"gluster_volume_total_count{cluster_id="c"} 1"#,
            r#"gluster_volume_started_count{cluster_id="c"} 1"#,
            r#"gluster_volume_up{cluster_id="c",volume="v"} 1"#,
            r#"gd2_volume_bricks_online{cluster_id="c",volume="v"} 2"#,
            r#"gd2_volumes{type="Replicate",state="Started"} 1"#,
            r#"brick_path="/b/0",peer_id="00000000-0000-0000-0000-000000000064",pid="42"} 1"#,
            r#"brick_path="/b/2",peer_id="00000000-0000-0000-0000-000000000066",pid="0"} 0"#,
            r#"gluster_brick_capacity_used_bytes{cluster_id="c",host="h0",id="00000000-0000-0000-0000-000000000001",brick_path="/b/0",volume="v",subvolume="v-replicate-0"} 600"#,
            r#"gluster_brick_inodes_used{cluster_id="c",host="h1",id="00000000-0000-0000-0000-000000000002",brick_path="/b/1",volume="v",subvolume="v-replicate-0"} 40"#,
            r#"gluster_volume_heal_count{cluster_id="c",volume="v",brick_path="/b/1",host="h1"} 7"#,
            // The fullest data brick's use, the smallest one's size.
            r#"gluster_subvol_capacity_used_bytes{cluster_id="c",volume="v",subvolume="v-replicate-0"} 600"#,
            r#"gluster_subvol_capacity_total_bytes{cluster_id="c",volume="v",subvolume="v-replicate-0"} 800"#,
        ] {
            assert!(
                t.lines().any(|l| l.ends_with(want)),
                "{want} missing from:\n{t}"
            );
        }
        assert!(
            !t.contains(r#"brick_path="/b/2",volume"#),
            "no capacity for a brick down"
        );
    }

    #[test]
    fn a_stopped_volume_has_no_brick_up() {
        let statuses: BTreeMap<Uuid, BrickStatusRecord> =
            [(Uuid::from_u128(1), running(1000, 400, 0))].into();
        let t = text(&[volume(VolumeState::Stopped)], &statuses);
        assert!(
            t.contains(r#"gluster_volume_up{cluster_id="c",volume="v"} 0"#),
            "{t}"
        );
        assert!(
            t.contains(r#"gluster_volume_started_count{cluster_id="c"} 0"#),
            "{t}"
        );
        assert!(!t.contains("gluster_brick_capacity"), "{t}");
        assert_eq!(t.matches("gluster_brick_up{").count(), 3, "{t}");
        assert!(
            t.lines()
                .filter(|l| l.starts_with("gluster_brick_up{"))
                .all(|l| l.ends_with(" 0"))
        );
    }
}
