//! Where options land in volgen: the option table a volume's volfiles are generated with, the
//! check that they can be generated at all, and the options volgen derives from the layout.

use std::collections::BTreeMap;

use gd_api::ErrorCode;
use gd_core::OpError;
use gd_volgen::{Action, ClientKind, OptionEntry, OptionTable, Volgen};
use gd_xlator::is_user_key;

use super::catalog::{Catalog, TargetSet};

impl Catalog {
    /// Generates every volfile of `vol` with `options`, in memory: what volgen refuses is a
    /// 4xx naming the option.
    pub(super) fn check_volgen(
        &self,
        vol: &crate::model::VolumeRecord,
        options: &BTreeMap<String, String>,
    ) -> Result<(), OpError> {
        let mut record = vol.clone();
        record.options = options.clone();
        let table = self.volgen_table(options);
        let gv = record.to_volgen();
        let vg = Volgen::new(&table);
        let env = gd_volgen::BrickEnv {
            bind_address: None,
            workdir: "/var/lib/glusterd2".into(),
        };
        let refused = |e: gd_volgen::Error| {
            OpError::new(
                ErrorCode::InvalidRequest,
                format!("the volume's volfiles cannot be generated with these options: {e}"),
            )
        };
        vg.client_volfile(&gv, ClientKind::Fuse).map_err(refused)?;
        vg.client_volfile(&gv, ClientKind::TrustedFuse)
            .map_err(refused)?;
        for pos in 0..gv.bricks.len() {
            vg.brick_volfile(&gv, pos, &env).map_err(refused)?;
        }
        if gv.volume_type.heals() {
            vg.shd_volfile(std::slice::from_ref(&gv)).map_err(refused)?;
        }
        Ok(())
    }

    /// Volgen's table for a volume with `options`: the built-in entries, then one plain entry
    /// per xlator option of every other key the volume sets.
    pub fn volgen_table(&self, options: &BTreeMap<String, String>) -> OptionTable {
        let builtin = OptionTable::builtin();
        let mut entries = builtin.entries().to_vec();
        for key in options.keys() {
            if is_user_key(key) || builtin.entries().iter().any(|e| e.key == *key) {
                continue;
            }
            let Ok(r) = self.xlators.resolve(key) else {
                continue;
            };
            for t in &r.targets {
                if t.option.is_pattern() {
                    continue;
                }
                entries.push(OptionEntry {
                    key: key.clone().into(),
                    xlator_type: t.xlator.name.clone().into(),
                    action: Action::Set(t.option.key().to_string().into()),
                    default: None,
                    graphs: gd_volgen::Graphs::ALL,
                });
            }
        }
        OptionTable::new(entries)
    }
}

/// The xlator options the graph builders set from the volume's layout: generated with an
/// empty option table, so only the builders' own options are in the graphs.
pub(super) fn reserved_options(vol: &crate::model::VolumeRecord) -> TargetSet {
    let mut record = vol.clone();
    record.options.clear();
    let gv = record.to_volgen();
    let empty = OptionTable::default();
    let vg = Volgen::new(&empty);
    let env = gd_volgen::BrickEnv {
        bind_address: Some("0.0.0.0".into()),
        workdir: "/var/lib/glusterd2".into(),
    };
    let mut graphs = Vec::new();
    graphs.extend(vg.client_volfile(&gv, ClientKind::TrustedFuse).ok());
    if !gv.bricks.is_empty() {
        graphs.extend(vg.brick_volfile(&gv, 0, &env).ok());
    }
    if gv.volume_type.heals() {
        graphs.extend(vg.shd_volfile(std::slice::from_ref(&gv)).ok());
    }
    let mut out = TargetSet::new();
    for g in graphs {
        for x in g.xlators {
            for (k, _) in x.options {
                out.insert((x.xl_type.clone(), k));
            }
        }
    }
    out
}
