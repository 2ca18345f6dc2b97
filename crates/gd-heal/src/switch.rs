//! `volume heal <v> enable|disable` and `granular-entry-heal enable|disable`, as GD1 does
//! them: a volume option set (`cluster.self-heal-daemon`, or
//! `cluster.disperse-self-heal-daemon` for a dispersed volume; `cluster.granular-entry-heal`),
//! through the volume feature's option transaction, whose reconciler then starts or stops the
//! self-heal daemons. Turning granular entry heal on first asks GlusterFS's `glfsheal` whether
//! any entry still needs heal: the entry indices change format, and GD1 refuses it then.

use std::collections::BTreeMap;

use gd_api::{SubvolType, VolOptionReq, VolumeInfo};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_volume::model::{self as volumes, VolumeState};

use crate::info;

/// Turns the self-heal daemon of volume `name` on or off.
pub async fn self_heal_daemon(cx: &Cluster, name: &str, on: bool) -> Result<VolumeInfo, OpError> {
    let vol = volume(cx, name).await?;
    let key = match vol.subvols.first().map(|s| s.kind) {
        Some(SubvolType::Replicate) => "cluster.self-heal-daemon",
        Some(SubvolType::Disperse) => "cluster.disperse-self-heal-daemon",
        _ => {
            return Err(OpError::invalid(format!(
                "volume {name} is not of type replicate or disperse: it has no self-heal daemon"
            )));
        }
    };
    set(cx, name, key, on).await
}

/// Turns granular entry heal of volume `name` on or off.
pub async fn granular_entry_heal(
    cx: &Cluster,
    name: &str,
    on: bool,
) -> Result<VolumeInfo, OpError> {
    let vol = volume(cx, name).await?;
    if vol.subvols.first().map(|s| s.kind) != Some(SubvolType::Replicate) {
        return Err(OpError::invalid(format!(
            "volume {name} is not of type replicate: granular entry heal is a replicate option"
        )));
    }
    if on && vol.state == VolumeState::Started {
        info::granular_entry_heal_check(cx, name).await?;
    }
    set(cx, name, "cluster.granular-entry-heal", on).await
}

async fn volume(cx: &Cluster, name: &str) -> Result<volumes::VolumeRecord, OpError> {
    volumes::check_name(name)?;
    volumes::get_volume(cx.node.store.as_ref(), name)
        .await?
        .ok_or_else(|| volumes::not_found(name))
}

async fn set(cx: &Cluster, name: &str, key: &str, on: bool) -> Result<VolumeInfo, OpError> {
    let value = if on { "enable" } else { "disable" };
    let req = VolOptionReq {
        options: BTreeMap::from([(key.to_owned(), value.to_owned())]),
        ..Default::default()
    };
    gd_volume::volume_options::set(cx, name, req).await
}
