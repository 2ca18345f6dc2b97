//! The [`Catalog`]: the installed xlators' option tables (or why there are none), and what a
//! key the user types resolves to: its xlator options, the key it is stored under, whether
//! only volgen reads it.

use std::{collections::BTreeSet, path::Path};

use gd_api::ErrorCode;
use gd_core::OpError;
use gd_volgen::{Action, OptionTable};
use gd_xlator::{ResolveError, XlatorTable, is_user_key};

/// The xlator options a key sets: (xlator name, canonical option key).
pub(super) type TargetSet = BTreeSet<(String, String)>;

/// The installed xlators' options and glusterd2's rules for them (see the module docs).
pub struct Catalog {
    pub(super) xlators: XlatorTable,
    /// Why no tables are loaded, when none are.
    pub(super) missing: Option<String>,
    /// Every key of volgen's built-in table, with the options it resolves to.
    pub(super) builtin: Vec<BuiltinKey>,
}

pub(super) struct BuiltinKey {
    pub(super) key: String,
    pub(super) targets: TargetSet,
    pub(super) default: Option<String>,
}

impl Catalog {
    /// Loads from `dir` or the installed GlusterFS; an empty catalog, with the reason, when
    /// there is none.
    pub fn load(dir: Option<&Path>) -> Catalog {
        let loaded = match dir {
            Some(d) => XlatorTable::load(d),
            None => XlatorTable::load_default(),
        };
        match loaded {
            Ok(t) if !t.is_empty() => Catalog::from_table(t),
            Ok(_) => Catalog::without_tables(format!(
                "no xlator option tables found under {}",
                dir.map(|d| d.display().to_string()).unwrap_or_default()
            )),
            Err(e) => Catalog::without_tables(format!("cannot read the xlator option tables: {e}")),
        }
    }

    /// A catalog over `xlators`.
    pub fn from_table(xlators: XlatorTable) -> Catalog {
        let mut builtin: Vec<BuiltinKey> = Vec::new();
        for e in OptionTable::builtin().entries() {
            if builtin.iter().any(|b| b.key == e.key) {
                continue;
            }
            let targets = match xlators.resolve(&e.key) {
                Ok(r) => r
                    .targets
                    .iter()
                    .map(|t| (t.xlator.name.clone(), t.option.key().to_string()))
                    .collect(),
                Err(_) => TargetSet::new(),
            };
            builtin.push(BuiltinKey {
                key: e.key.to_string(),
                targets,
                default: OptionTable::builtin().default_of(&e.key).map(str::to_owned),
            });
        }
        Catalog {
            xlators,
            missing: None,
            builtin,
        }
    }

    fn without_tables(why: String) -> Catalog {
        Catalog {
            xlators: XlatorTable::empty(),
            missing: Some(why),
            builtin: Vec::new(),
        }
    }

    /// The loaded tables.
    pub fn xlators(&self) -> &XlatorTable {
        &self.xlators
    }

    /// Fails with a clear error when no option tables are loaded.
    pub fn available(&self) -> Result<(), OpError> {
        match &self.missing {
            None => Ok(()),
            Some(why) => Err(OpError::new(
                ErrorCode::NotAvailable,
                format!(
                    "volume options are not available on this node: {why} (install glusterfs-server and restart glusterd2)"
                ),
            )),
        }
    }

    /// The options `key` sets, or a 4xx naming the key.
    pub(super) fn targets(&self, key: &str) -> Result<TargetSet, OpError> {
        self.available()?;
        let r = self.xlators.resolve(key).map_err(resolve_err)?;
        Ok(r.targets
            .iter()
            .map(|t| (t.xlator.name.clone(), t.option.key().to_string()))
            .collect())
    }

    /// The targets of a stored key, if it still resolves.
    pub(super) fn stored_targets(&self, key: &str) -> Option<TargetSet> {
        if is_user_key(key) {
            return None;
        }
        self.xlators.resolve(key).ok().map(|r| {
            r.targets
                .iter()
                .map(|t| (t.xlator.name.clone(), t.option.key().to_string()))
                .collect()
        })
    }

    pub(super) fn builtin_key(&self, key: &str) -> Option<&BuiltinKey> {
        self.builtin.iter().find(|b| b.key == key)
    }

    /// A key of volgen's table that no xlator option stands for (GD1's `!perf`-style
    /// switches whose xlator declares no on/off option, such as
    /// `performance.client-io-threads`): `Some(true)` when it switches an xlator on or off.
    pub(super) fn volgen_only(&self, key: &str) -> Option<bool> {
        let b = self.builtin_key(key)?;
        if !b.targets.is_empty() {
            return None;
        }
        let toggle = OptionTable::builtin()
            .entries()
            .iter()
            .any(|e| e.key == key && e.action == Action::Toggle);
        Some(toggle)
    }

    /// The key a value is stored under (see the module docs).
    pub(super) fn stored_key(&self, key: &str, targets: &TargetSet) -> String {
        if self.builtin_key(key).is_some() {
            return key.to_string();
        }
        let mut same = self.builtin.iter().filter(|b| &b.targets == targets);
        match (same.next(), same.next()) {
            (Some(b), None) => b.key.clone(),
            _ => key.to_string(),
        }
    }

    /// Whether `key` can only be a group's name: no dot, and no option answers to it.
    pub(super) fn names_group(&self, key: &str) -> bool {
        !key.contains('.') && self.xlators.resolve(key).is_err()
    }

    pub(super) fn never_reset(&self, key: &str) -> bool {
        self.xlators
            .resolve(key)
            .is_ok_and(|r| r.targets.iter().any(|t| t.option.flags.never_reset()))
    }

    /// Whether `name` could be taken for an option key (then it cannot name a group).
    pub fn is_option_key(&self, name: &str) -> bool {
        self.xlators.resolve(name).is_ok()
    }
}

pub(super) fn resolve_err(e: ResolveError) -> OpError {
    match e {
        ResolveError::NoTables { .. } => OpError::new(ErrorCode::NotAvailable, e.to_string()),
        ResolveError::UnknownKey { ref key, ref hints } => {
            let mut err = OpError::new(ErrorCode::InvalidRequest, e.to_string()).field("key", key);
            if !hints.is_empty() {
                err = err.field("did-you-mean", hints.join(", "));
            }
            err
        }
        ResolveError::InvalidKey { ref key, .. }
        | ResolveError::UnknownXlator { ref key, .. }
        | ResolveError::UnknownOption { ref key, .. } => {
            OpError::new(ErrorCode::InvalidRequest, e.to_string()).field("key", key)
        }
    }
}
