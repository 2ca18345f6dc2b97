//! Reading options back: one key (`GET …/options/{key}`) or every option of every installed
//! translator (`GET …/options`), each with its value, default, level and type.

use std::collections::{BTreeMap, BTreeSet};

use gd_api::{ErrorCode, VolumeOptionGetResp};
use gd_core::OpError;
use gd_xlator::{Level, is_user_key};

use super::catalog::{Catalog, TargetSet, resolve_err};

impl Catalog {
    /// `GET …/options/{key}`.
    pub fn describe(
        &self,
        options: &BTreeMap<String, String>,
        key: &str,
    ) -> Result<VolumeOptionGetResp, OpError> {
        if is_user_key(key) {
            return match options.get(key) {
                Some(v) => Ok(VolumeOptionGetResp {
                    key: key.to_string(),
                    value: v.clone(),
                    modified: true,
                    default_value: String::new(),
                    option_level: "user".into(),
                    kind: "str".into(),
                    description: "stored for hook scripts".into(),
                }),
                None => Err(OpError::new(
                    ErrorCode::NotFound,
                    format!("{key} is not set on this volume"),
                )
                .field("key", key)),
            };
        }
        self.available()?;
        if let Some(toggle) = self.volgen_only(key) {
            let default = self
                .builtin_key(key)
                .and_then(|b| b.default.clone())
                .unwrap_or_default();
            let set = options.get(key).cloned();
            return Ok(VolumeOptionGetResp {
                key: key.to_string(),
                modified: set.is_some(),
                value: set.unwrap_or_else(|| default.clone()),
                default_value: default,
                option_level: "basic".into(),
                kind: if toggle { "bool" } else { "str" }.into(),
                description: if toggle {
                    "puts the xlator into the graph (on) or leaves it out (off)".into()
                } else {
                    String::new()
                },
            });
        }
        let r = self.xlators.resolve(key).map_err(resolve_err)?;
        let targets: TargetSet = r
            .targets
            .iter()
            .map(|t| (t.xlator.name.clone(), t.option.key().to_string()))
            .collect();
        let stored = self.stored_key(key, &targets);
        let set = options.get(&stored).cloned().or_else(|| {
            options
                .iter()
                .find(|(k, _)| self.stored_targets(k).is_some_and(|t| t == targets))
                .map(|(_, v)| v.clone())
        });
        let first = r.targets.first().map(|t| t.option);
        let default = self
            .builtin_key(&stored)
            .and_then(|b| b.default.clone())
            .or_else(|| first.and_then(|o| o.default.clone()))
            .unwrap_or_default();
        Ok(VolumeOptionGetResp {
            key: key.to_string(),
            modified: set.is_some(),
            value: set.unwrap_or_else(|| default.clone()),
            default_value: default,
            option_level: first.map(|o| level_name(o.level)).unwrap_or_default(),
            kind: first.map(|o| o.kind.name().to_string()).unwrap_or_default(),
            description: first
                .and_then(|o| o.description.clone())
                .unwrap_or_default(),
        })
    }

    /// `GET …/options`: every option of every installed translator, as
    /// `<category>/<xlator>.<option>`, then the volume's keys that name none of them.
    pub fn list(
        &self,
        options: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeOptionGetResp>, OpError> {
        self.available()?;
        let stored: Vec<(&String, &String, TargetSet)> = options
            .iter()
            .map(|(k, v)| (k, v, self.stored_targets(k).unwrap_or_default()))
            .collect();
        let mut listed: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::with_capacity(self.xlators.option_count() + options.len());
        for x in self.xlators.translators() {
            for o in &x.options {
                let pair = (x.name.clone(), o.key().to_string());
                let set = stored.iter().find(|(_, _, t)| t.contains(&pair));
                if let Some((k, _, _)) = set {
                    listed.insert(k.as_str());
                }
                let single: TargetSet = [pair].into_iter().collect();
                let mut builtin = self.builtin.iter().filter(|b| b.targets == single);
                let builtin_default = match (builtin.next(), builtin.next()) {
                    (Some(b), None) => b.default.clone(),
                    _ => None,
                };
                let default = builtin_default
                    .or_else(|| o.default.clone())
                    .unwrap_or_default();
                out.push(VolumeOptionGetResp {
                    key: format!("{}.{}", x.name, o.key()),
                    modified: set.is_some(),
                    value: set.map(|(_, v, _)| (*v).clone()).unwrap_or(default.clone()),
                    default_value: default,
                    option_level: level_name(o.level),
                    kind: o.kind.name().to_string(),
                    description: o.description.clone().unwrap_or_default(),
                });
            }
        }
        for (k, v, _) in &stored {
            if !listed.contains(k.as_str()) {
                out.push(VolumeOptionGetResp {
                    key: (*k).clone(),
                    value: (*v).clone(),
                    modified: true,
                    default_value: String::new(),
                    option_level: if is_user_key(k) { "user" } else { "" }.into(),
                    kind: String::new(),
                    description: String::new(),
                });
            }
        }
        Ok(out)
    }
}

fn level_name(l: Level) -> String {
    match l {
        Level::Advanced => "advanced".into(),
        Level::Basic => "basic".into(),
        Level::Experimental => "experimental".into(),
        Level::Deprecated => "deprecated".into(),
        Level::Unknown(n) => format!("level-{n}"),
    }
}
