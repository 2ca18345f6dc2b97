//! Setting and resetting a volume's options: groups expanded, every spelling of a key replaced
//! or removed, and the result checked as a whole before anything is stored.

use std::collections::BTreeMap;

use gd_api::{ErrorCode, OptionGroup};
use gd_core::OpError;
use gd_xlator::is_user_key;

use super::{OPTIONS_PER_REQUEST_MAX, catalog::Catalog, volgen::reserved_options};

/// The outcome of a set request: the volume's new options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub options: BTreeMap<String, String>,
    /// The keys as stored, in request order (after group expansion).
    pub keys: Vec<String>,
}

impl Catalog {
    /// The options of `vol` after setting `req` (groups expanded through `group`), checked
    /// key by key and then as a whole by generating every volfile of the volume.
    pub fn set(
        &self,
        vol: &crate::model::VolumeRecord,
        req: &BTreeMap<String, String>,
        group: &dyn Fn(&str) -> Option<OptionGroup>,
    ) -> Result<Change, OpError> {
        if req.is_empty() {
            return Err(OpError::new(ErrorCode::InvalidRequest, "no options given"));
        }
        if req.len() > OPTIONS_PER_REQUEST_MAX {
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                format!("at most {OPTIONS_PER_REQUEST_MAX} options per request"),
            ));
        }
        let mut options = vol.options.clone();
        let mut keys = Vec::new();
        let reserved = reserved_options(vol);
        let mut resets = Vec::new();
        for (key, value) in self.expand(req, group, &mut resets)? {
            let stored = self.accept(&key, &value, &reserved)?;
            if let Some(targets) = self.stored_targets(&stored) {
                options.retain(|k, _| {
                    *k == stored || self.stored_targets(k).is_none_or(|t| t != targets)
                });
            }
            options.insert(stored.clone(), value);
            keys.push(stored);
        }
        for key in resets {
            self.remove(&mut options, &key, false)?;
        }
        self.check_volgen(vol, &options)?;
        Ok(Change { options, keys })
    }

    /// Expands `group <name>` and `<group> on|off` into options (and keys to reset).
    fn expand(
        &self,
        req: &BTreeMap<String, String>,
        group: &dyn Fn(&str) -> Option<OptionGroup>,
        resets: &mut Vec<String>,
    ) -> Result<Vec<(String, String)>, OpError> {
        let mut out = Vec::new();
        for (key, value) in req {
            let named_group = if key == "group" {
                Some((value.as_str(), true))
            } else if self.names_group(key) {
                let on = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => {
                        return Err(OpError::new(
                            ErrorCode::InvalidRequest,
                            format!(
                                "{key:?} is not an option; an option group is set with the value on or off"
                            ),
                        )
                        .field("key", key.as_str()));
                    }
                };
                Some((key.as_str(), on))
            } else {
                None
            };
            match named_group {
                None => out.push((key.clone(), value.clone())),
                Some((name, on)) => {
                    let g = group(name).ok_or_else(|| {
                        OpError::new(
                            ErrorCode::InvalidRequest,
                            format!("{name:?} is neither an option nor an option group"),
                        )
                        .field("key", key.as_str())
                    })?;
                    for o in g.options {
                        if on {
                            out.push((o.name, o.on_value));
                        } else {
                            resets.push(o.name);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The options of `vol` after resetting `keys` (or everything, back to what a new volume
    /// has). Resetting a key that is not set changes nothing; an unknown key is an error.
    pub fn reset(
        &self,
        vol: &crate::model::VolumeRecord,
        keys: &[String],
        all: bool,
        group: &dyn Fn(&str) -> Option<OptionGroup>,
    ) -> Result<BTreeMap<String, String>, OpError> {
        self.available()?;
        if all != keys.is_empty() {
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                "give either the options to reset or all, not both",
            ));
        }
        if keys.len() > OPTIONS_PER_REQUEST_MAX {
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                format!("at most {OPTIONS_PER_REQUEST_MAX} options per request"),
            ));
        }
        let mut options = vol.options.clone();
        if all {
            let defaults = crate::model::create_defaults(vol);
            // Options an xlator marks never-reset survive (GD1 keeps quota's so).
            options.retain(|k, _| self.never_reset(k));
            for (k, v) in defaults {
                options.entry(k).or_insert(v);
            }
        } else {
            for key in keys {
                match group(key).filter(|_| self.names_group(key)) {
                    Some(g) => {
                        for o in g.options {
                            self.remove(&mut options, &o.name, true)?;
                        }
                    }
                    None => self.remove(&mut options, key, true)?,
                }
            }
        }
        self.check_volgen(vol, &options)?;
        Ok(options)
    }

    /// Removes every spelling of `key` from `options`.
    fn remove(
        &self,
        options: &mut BTreeMap<String, String>,
        key: &str,
        strict: bool,
    ) -> Result<(), OpError> {
        options.remove(key);
        if is_user_key(key) || self.volgen_only(key).is_some() {
            return Ok(());
        }
        let targets = match self.targets(key) {
            Ok(t) => t,
            Err(e) if strict => return Err(e),
            Err(_) => return Ok(()),
        };
        if strict && self.never_reset(key) {
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                format!("{key} is managed by its own commands and cannot be reset"),
            )
            .field("key", key));
        }
        options.retain(|k, _| self.stored_targets(k).is_none_or(|t| t != targets));
        Ok(())
    }
}
