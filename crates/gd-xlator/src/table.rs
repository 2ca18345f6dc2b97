//! [`XlatorTable`]: every installed xlator and its options, loaded once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{InvalidValue, LoadError, LoadWarning, ResolveError, ValidationError};
use crate::model::{Xlator, XlatorKind};
use crate::resolve::{self, Resolved};
use crate::validate::{self, Value};

/// The option tables of the installed xlators.
///
/// Built once at start-up ([`XlatorTable::load_default`] or [`XlatorTable::load`]) and then
/// only read; it owns everything (nothing points into the loaded libraries), so it can be
/// shared freely (`Arc<XlatorTable>`).
#[derive(Debug, Clone, Default)]
pub struct XlatorTable {
    dir: Option<PathBuf>,
    xlators: Vec<Xlator>,
    warnings: Vec<LoadWarning>,
    /// Name and every alias → index in `xlators`.
    index: HashMap<String, usize>,
}

/// A value accepted for a key: what to store and what it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The key as given.
    pub key: String,
    /// The value as given (GD1 writes it verbatim into volfiles).
    pub value: String,
    /// Every xlator option the key sets, with the meaning of the value for it.
    pub targets: Vec<SetTarget>,
}

/// One xlator option a key sets.
#[derive(Debug, Clone, PartialEq)]
pub struct SetTarget {
    /// The xlator's name (`performance/write-behind`).
    pub xlator: String,
    /// The option's canonical name (`cache-size`); for a pattern option (`auth.addr.*.allow`)
    /// the pattern, which the volfile writer fills in.
    pub option: String,
    /// What the value means for this option.
    pub value: Value,
}

impl XlatorTable {
    pub(crate) fn new(
        dir: Option<PathBuf>,
        xlators: Vec<Xlator>,
        warnings: Vec<LoadWarning>,
        index: HashMap<String, usize>,
    ) -> Self {
        XlatorTable {
            dir,
            xlators,
            warnings,
            index,
        }
    }

    /// A table without xlators, for a node without GlusterFS: every key is refused with
    /// [`ResolveError::NoTables`]. The daemon starts with it and says why.
    pub fn empty() -> Self {
        XlatorTable::default()
    }

    /// Loads every xlator under `dir` (the `…/glusterfs/<version>/xlator` directory, or the
    /// version directory above it), and the transports and auth modules beside it. A library that cannot be loaded or has no table
    /// is skipped and reported in [`Self::warnings`]; only a missing or unreadable directory is
    /// an error. Loading runs the libraries' constructors in this process (see [`crate::ffi`]).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        crate::load::load(dir.as_ref())
    }

    /// Loads from [`crate::find_xlator_dir`]; [`LoadError::NotInstalled`] when there is none.
    pub fn load_default() -> Result<Self, LoadError> {
        match crate::load::find_xlator_dir() {
            Some(dir) => Self::load(dir),
            None => Err(LoadError::NotInstalled {
                searched: crate::load::SEARCH_ROOTS
                    .iter()
                    .map(|r| Path::new(r).join("[*/]glusterfs/*/xlator"))
                    .collect(),
            }),
        }
    }

    /// The directory loaded, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Every loaded xlator, transport and auth module, sorted by name.
    pub fn xlators(&self) -> &[Xlator] {
        &self.xlators
    }

    /// The loaded translators only (no transports or auth modules).
    pub fn translators(&self) -> impl Iterator<Item = &Xlator> {
        self.xlators.iter().filter(|x| x.kind == XlatorKind::Xlator)
    }

    /// The xlator with this name or alias (`cluster/replicate`, `replicate`, `afr`).
    pub fn xlator(&self, name: &str) -> Option<&Xlator> {
        self.index.get(name).and_then(|&i| self.xlators.get(i))
    }

    /// What went wrong with single libraries while loading.
    pub fn warnings(&self) -> &[LoadWarning] {
        &self.warnings
    }

    /// Whether no xlator is loaded.
    pub fn is_empty(&self) -> bool {
        self.xlators.is_empty()
    }

    /// The number of options over all loaded tables.
    pub fn option_count(&self) -> usize {
        self.xlators.iter().map(|x| x.options.len()).sum()
    }

    /// The transports whose options the protocol xlators pass on (`rpc-transport/socket`).
    pub(crate) fn transports(&self) -> impl Iterator<Item = &Xlator> {
        self.xlators
            .iter()
            .filter(|x| x.kind == XlatorKind::Transport)
    }

    /// Maps a user's key to the xlator options it sets. Accepted forms:
    /// `<category>/<xlator>.<option>` (`cluster/replicate.eager-lock`),
    /// `<xlator>.<option>` (`replicate.eager-lock`, `afr.eager-lock`), GD1's names
    /// (`cluster.eager-lock`, `performance.cache-size`), and a bare `<xlator>` or
    /// `<category>/<xlator>` for the option that turns the xlator on (`write-behind`).
    /// See [`crate::resolve`].
    pub fn resolve(&self, key: &str) -> Result<Resolved<'_>, ResolveError> {
        resolve::resolve(self, key)
    }

    /// Resolves `key` and checks `value` for every option it sets, by type, range and
    /// allowed values (see [`crate::validate`]).
    pub fn validate(&self, key: &str, value: &str) -> Result<Normalized, ValidationError> {
        let resolved = self.resolve(key)?;
        let mut targets = Vec::with_capacity(resolved.targets.len());
        for t in &resolved.targets {
            match validate::check_value(t.option, value) {
                Ok(v) => targets.push(SetTarget {
                    xlator: t.xlator.name.clone(),
                    option: t.option.key().to_string(),
                    value: v,
                }),
                Err(reason) => {
                    return Err(ValidationError::Value(Box::new(InvalidValue {
                        key: key.to_string(),
                        xlator: t.xlator.name.clone(),
                        option: t.option.key().to_string(),
                        kind: t.option.kind.to_string(),
                        value: value.chars().take(200).collect(),
                        reason,
                    })));
                }
            }
        }
        Ok(Normalized {
            key: key.to_string(),
            value: value.to_string(),
            targets,
        })
    }
}
