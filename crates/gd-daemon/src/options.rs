//! Volume options: what a key means, whether a value is acceptable, where it lands in volgen.
//!
//! The meaning of every option comes from the installed GlusterFS: the option tables of its
//! xlators, read once at start-up ([`gd_xlator::XlatorTable`]). Nothing here lists options.
//! What this module adds is the policy of glusterd2 on top of them:
//!
//! - **Keys.** Users type GD1 names (`performance.cache-size`), GD2 names
//!   (`replicate.eager-lock`, `cluster/replicate.eager-lock`) or bare xlators (`write-behind`).
//!   A key is stored under the name volgen knows when one names the same xlator options
//!   (`write-behind` → `performance.write-behind`), else as typed; setting one spelling
//!   replaces any other spelling of the same options, so a volume never holds two values for
//!   one option.
//! - **Values** are checked by the xlators' own types, ranges and allowed values, then the
//!   volume's volfiles are generated in memory with the new options: what volgen cannot
//!   write is refused before anything is stored (GD1 validates the same way).
//! - **Reserved options.** What the graph builders derive from the volume's layout
//!   (`remote-host`, `volume-id`, `directory`, …) cannot be set: it is found by generating the
//!   volume's graphs with no option table at all, so the list never drifts from volgen.
//! - **Volgen placement.** Keys volgen's own table ([`gd_volgen::OptionTable::builtin`],
//!   GD1's map order and special handlers) knows go there; any other key becomes a plain
//!   "set this option on every xlator of that type" entry, after the built-in ones, as GD1's
//!   generic handler does.
//! - **Groups** (profiles): GD1's shipped groups, plus groups users add to the store.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::{Arc, OnceLock},
};

use gd_api::{ErrorCode, GroupOption, OptionGroup, VolumeOptionGetResp};
use gd_volgen::{Action, ClientKind, OptionEntry, OptionTable, Volgen};
use gd_xlator::{
    Level, ResolveError, ValidationError, XlatorTable, is_user_key, validate::check_text,
};

use gd_core::OpError;

/// The xlator options a key sets: (xlator name, canonical option key).
type TargetSet = BTreeSet<(String, String)>;

/// The most options one request may set or reset, and the most options one group may hold.
pub const OPTIONS_PER_REQUEST_MAX: usize = 256;

static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();

/// Loads the option tables once for this process (from `dir`, or the installed GlusterFS's
/// directory) and logs what was found. Later calls return the first catalog.
pub fn init(dir: Option<&Path>) -> Arc<Catalog> {
    CATALOG
        .get_or_init(|| {
            let catalog = Arc::new(Catalog::load(dir));
            match &catalog.missing {
                None => tracing::info!(
                    dir = %catalog.xlators.dir().map(|d| d.display().to_string()).unwrap_or_default(),
                    xlators = catalog.xlators.xlators().len(),
                    options = catalog.xlators.option_count(),
                    "read the option tables of the installed xlators"
                ),
                Some(why) => tracing::warn!(
                    "{why}; volume options cannot be set, read or checked until GlusterFS is installed \
                     and glusterd2 restarted"
                ),
            }
            for w in catalog.xlators.warnings() {
                tracing::warn!(warning = %w, "an xlator library was skipped");
            }
            catalog
        })
        .clone()
}

/// The process's catalog ([`init`] with the default directory if nobody called it yet).
pub fn catalog() -> Arc<Catalog> {
    match CATALOG.get() {
        Some(c) => c.clone(),
        None => init(None),
    }
}

/// The installed xlators' options and glusterd2's rules for them (see the module docs).
pub struct Catalog {
    xlators: XlatorTable,
    /// Why no tables are loaded, when none are.
    missing: Option<String>,
    /// Every key of volgen's built-in table, with the options it resolves to.
    builtin: Vec<BuiltinKey>,
}

struct BuiltinKey {
    key: String,
    targets: TargetSet,
    default: Option<String>,
}

/// The outcome of a set request: the volume's new options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub options: BTreeMap<String, String>,
    /// The keys as stored, in request order (after group expansion).
    pub keys: Vec<String>,
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
    fn targets(&self, key: &str) -> Result<TargetSet, OpError> {
        self.available()?;
        let r = self.xlators.resolve(key).map_err(resolve_err)?;
        Ok(r.targets
            .iter()
            .map(|t| (t.xlator.name.clone(), t.option.key().to_string()))
            .collect())
    }

    /// The targets of a stored key, if it still resolves.
    fn stored_targets(&self, key: &str) -> Option<TargetSet> {
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

    fn builtin_key(&self, key: &str) -> Option<&BuiltinKey> {
        self.builtin.iter().find(|b| b.key == key)
    }

    /// A key of volgen's table that no xlator option stands for (GD1's `!perf`-style
    /// switches whose xlator declares no on/off option, such as
    /// `performance.client-io-threads`): `Some(true)` when it switches an xlator on or off.
    fn volgen_only(&self, key: &str) -> Option<bool> {
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
    fn stored_key(&self, key: &str, targets: &TargetSet) -> String {
        if self.builtin_key(key).is_some() {
            return key.to_string();
        }
        let mut same = self.builtin.iter().filter(|b| &b.targets == targets);
        match (same.next(), same.next()) {
            (Some(b), None) => b.key.clone(),
            _ => key.to_string(),
        }
    }

    /// Checks `key = value` for `vol` and returns the key to store it under.
    fn accept(&self, key: &str, value: &str, reserved: &TargetSet) -> Result<String, OpError> {
        if is_user_key(key) {
            check_key_text(key)?;
            check_text(value).map_err(|reason| {
                OpError::new(
                    ErrorCode::InvalidRequest,
                    format!("invalid value for {key}: {reason}"),
                )
                .field("key", key)
            })?;
            return Ok(key.to_string());
        }
        self.available()?;
        if let Some(toggle) = self.volgen_only(key) {
            return check_volgen_only(key, value, toggle).map(|()| key.to_string());
        }
        let targets = self.targets(key)?;
        let stored = self.stored_key(key, &targets);
        let known_to_volgen = self.builtin_key(&stored).is_some();
        if !known_to_volgen {
            if let Some((x, o)) = targets.iter().find(|t| reserved.contains(*t)) {
                return Err(OpError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "{key} ({x} option {o}) is derived by glusterd2 from the volume's layout and cannot be set"
                    ),
                )
                .field("key", key));
            }
            if let Ok(r) = self.xlators.resolve(key)
                && let Some(t) = r.targets.iter().find(|t| t.option.is_pattern())
            {
                return Err(OpError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "{key} is the pattern option {} of {}; set it through a key that names one option (auth.allow, auth.reject)",
                        t.option.key(),
                        t.xlator.name
                    ),
                )
                .field("key", key));
            }
        }
        self.xlators.validate(key, value).map_err(|e| match e {
            ValidationError::Key(k) => resolve_err(k),
            ValidationError::Value(v) => OpError::new(ErrorCode::InvalidRequest, v.to_string())
                .field("key", key)
                .field("option", format!("{}.{}", v.xlator, v.option))
                .field("type", v.kind.as_str()),
        })?;
        Ok(stored)
    }

    /// The options of `vol` after setting `req` (groups expanded through `group`), checked
    /// key by key and then as a whole by generating every volfile of the volume.
    pub fn set(
        &self,
        vol: &crate::volumes::VolumeRecord,
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
        vol: &crate::volumes::VolumeRecord,
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
            let defaults = crate::volumes::create_defaults(vol);
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

    /// Whether `key` can only be a group's name: no dot, and no option answers to it.
    fn names_group(&self, key: &str) -> bool {
        !key.contains('.') && self.xlators.resolve(key).is_err()
    }

    fn never_reset(&self, key: &str) -> bool {
        self.xlators
            .resolve(key)
            .is_ok_and(|r| r.targets.iter().any(|t| t.option.flags.never_reset()))
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

    /// Generates every volfile of `vol` with `options`, in memory: what volgen refuses is a
    /// 4xx naming the option.
    fn check_volgen(
        &self,
        vol: &crate::volumes::VolumeRecord,
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

    /// Checks a group's options (each key resolves, each value fits).
    pub fn check_group(&self, options: &[GroupOption]) -> Result<(), OpError> {
        if options.is_empty() || options.len() > OPTIONS_PER_REQUEST_MAX {
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                format!("a group holds 1 to {OPTIONS_PER_REQUEST_MAX} options"),
            ));
        }
        for o in options {
            if is_user_key(&o.name) {
                check_text(&o.on_value).map_err(|reason| {
                    OpError::new(
                        ErrorCode::InvalidRequest,
                        format!("invalid value for {}: {reason}", o.name),
                    )
                })?;
                continue;
            }
            self.available()?;
            if let Some(toggle) = self.volgen_only(&o.name) {
                check_volgen_only(&o.name, &o.on_value, toggle)?;
                continue;
            }
            self.xlators
                .validate(&o.name, &o.on_value)
                .map_err(|e| match e {
                    ValidationError::Key(k) => resolve_err(k),
                    ValidationError::Value(v) => {
                        OpError::new(ErrorCode::InvalidRequest, v.to_string())
                            .field("key", o.name.as_str())
                    }
                })?;
        }
        Ok(())
    }

    /// Whether `name` could be taken for an option key (then it cannot name a group).
    pub fn is_option_key(&self, name: &str) -> bool {
        self.xlators.resolve(name).is_ok()
    }
}

/// The xlator options the graph builders set from the volume's layout: generated with an
/// empty option table, so only the builders' own options are in the graphs.
fn reserved_options(vol: &crate::volumes::VolumeRecord) -> TargetSet {
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

/// Checks a value for a key only volgen reads (see [`Catalog::volgen_only`]).
fn check_volgen_only(key: &str, value: &str, toggle: bool) -> Result<(), OpError> {
    let bad = |why: String| {
        OpError::new(
            ErrorCode::InvalidRequest,
            format!("invalid value {value:?} for {key}: {why}"),
        )
        .field("key", key)
    };
    check_text(value).map_err(bad)?;
    if toggle && gd_volgen::options::parse_bool(value).is_none() {
        return Err(bad(format!(
            "expected one of {}",
            gd_xlator::validate::BOOL_WORDS
        )));
    }
    Ok(())
}

fn check_key_text(key: &str) -> Result<(), OpError> {
    let ok = key.len() <= gd_xlator::KEY_MAX_BYTES
        && key
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`'));
    if ok {
        Ok(())
    } else {
        Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!(
                "invalid key {:?}: printable characters without quotes or backslashes, at most {} bytes",
                key.chars().take(64).collect::<String>(),
                gd_xlator::KEY_MAX_BYTES
            ),
        ))
    }
}

fn resolve_err(e: ResolveError) -> OpError {
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

fn level_name(l: Level) -> String {
    match l {
        Level::Advanced => "advanced".into(),
        Level::Basic => "basic".into(),
        Level::Experimental => "experimental".into(),
        Level::Deprecated => "deprecated".into(),
        Level::Unknown(n) => format!("level-{n}"),
    }
}

// ---- option groups ----

/// GD1 10.3's shipped groups (`/var/lib/glusterd/groups/*` of the Debian package).
/// A shipped group: name, description, (key, value) pairs.
type GroupDef = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const BUILTIN_GROUPS: &[GroupDef] = &[
    (
        "virt",
        "VM images on a replicated volume",
        &[
            ("performance.quick-read", "off"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.low-prio-threads", "32"),
            ("network.remote-dio", "disable"),
            ("performance.strict-o-direct", "on"),
            ("cluster.eager-lock", "enable"),
            ("cluster.quorum-type", "auto"),
            ("cluster.server-quorum-type", "server"),
            ("cluster.data-self-heal-algorithm", "full"),
            ("cluster.locking-scheme", "granular"),
            ("cluster.shd-max-threads", "8"),
            ("cluster.shd-wait-qlength", "10000"),
            ("features.shard", "on"),
            ("user.cifs", "off"),
            ("cluster.choose-local", "off"),
            ("client.event-threads", "4"),
            ("server.event-threads", "4"),
            ("performance.client-io-threads", "on"),
            ("network.ping-timeout", "20"),
            ("server.tcp-user-timeout", "20"),
            ("server.keepalive-time", "10"),
            ("server.keepalive-interval", "2"),
            ("server.keepalive-count", "5"),
            ("cluster.lookup-optimize", "off"),
        ],
    ),
    (
        "distributed-virt",
        "VM images on a distributed volume",
        &[
            ("performance.quick-read", "off"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.low-prio-threads", "32"),
            ("network.remote-dio", "enable"),
            ("features.shard", "on"),
            ("user.cifs", "off"),
            ("client.event-threads", "4"),
            ("server.event-threads", "4"),
            ("performance.client-io-threads", "on"),
            ("cluster.lookup-optimize", "off"),
        ],
    ),
    (
        "gluster-block",
        "block devices (gluster-block)",
        &[
            ("performance.quick-read", "off"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.stat-prefetch", "off"),
            ("performance.open-behind", "off"),
            ("performance.readdir-ahead", "off"),
            ("performance.strict-o-direct", "on"),
            ("performance.client-io-threads", "on"),
            ("performance.io-thread-count", "32"),
            ("performance.high-prio-threads", "32"),
            ("performance.normal-prio-threads", "32"),
            ("performance.low-prio-threads", "32"),
            ("performance.least-prio-threads", "4"),
            ("client.event-threads", "8"),
            ("server.event-threads", "8"),
            ("network.remote-dio", "disable"),
            ("cluster.eager-lock", "enable"),
            ("cluster.quorum-type", "auto"),
            ("cluster.data-self-heal-algorithm", "full"),
            ("cluster.locking-scheme", "granular"),
            ("cluster.shd-max-threads", "8"),
            ("cluster.shd-wait-qlength", "10000"),
            ("features.shard", "on"),
            ("features.shard-block-size", "64MB"),
            ("user.cifs", "off"),
            ("server.allow-insecure", "on"),
            ("cluster.choose-local", "off"),
            ("cluster.lookup-optimize", "off"),
        ],
    ),
    (
        "db-workload",
        "databases",
        &[
            ("performance.open-behind", "on"),
            ("performance.write-behind", "off"),
            ("performance.stat-prefetch", "off"),
            ("performance.quick-read", "off"),
            ("performance.strict-o-direct", "on"),
            ("performance.read-ahead", "off"),
            ("performance.io-cache", "off"),
            ("performance.readdir-ahead", "off"),
            ("performance.client-io-threads", "on"),
            ("server.event-threads", "4"),
            ("client.event-threads", "4"),
            ("performance.read-after-open", "yes"),
        ],
    ),
    (
        "metadata-cache",
        "client-side metadata caching with upcall invalidation",
        &[
            ("features.cache-invalidation", "on"),
            ("features.cache-invalidation-timeout", "600"),
            ("performance.stat-prefetch", "on"),
            ("performance.cache-invalidation", "on"),
            ("performance.md-cache-timeout", "600"),
            ("network.inode-lru-limit", "200000"),
        ],
    ),
    (
        "nl-cache",
        "negative lookup caching",
        &[
            ("features.cache-invalidation", "on"),
            ("features.cache-invalidation-timeout", "600"),
            ("performance.nl-cache", "on"),
            ("performance.nl-cache-timeout", "600"),
            ("network.inode-lru-limit", "200000"),
        ],
    ),
    (
        "samba",
        "Samba shares",
        &[
            ("features.cache-invalidation", "on"),
            ("features.cache-invalidation-timeout", "600"),
            ("performance.cache-samba-metadata", "on"),
            ("performance.stat-prefetch", "on"),
            ("performance.cache-invalidation", "on"),
            ("performance.md-cache-timeout", "600"),
            ("network.inode-lru-limit", "200000"),
            ("performance.nl-cache", "on"),
            ("performance.nl-cache-timeout", "600"),
            ("performance.readdir-ahead", "on"),
            ("performance.parallel-readdir", "on"),
            ("performance.write-behind", "off"),
        ],
    ),
];

/// The shipped groups.
pub fn builtin_groups() -> Vec<OptionGroup> {
    BUILTIN_GROUPS
        .iter()
        .map(|(name, description, options)| OptionGroup {
            name: (*name).into(),
            description: (*description).into(),
            built_in: true,
            options: options
                .iter()
                .map(|(k, v)| GroupOption {
                    name: (*k).into(),
                    on_value: (*v).into(),
                })
                .collect(),
        })
        .collect()
}

/// The shipped group of that name.
pub fn builtin_group(name: &str) -> Option<OptionGroup> {
    builtin_groups().into_iter().find(|g| g.name == name)
}

#[cfg(test)]
mod tests;
