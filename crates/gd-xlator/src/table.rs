//! [`XlatorTable`]: every installed xlator and its options, loaded once.
//!
//! The table's loading ([`XlatorTable::load`], in `load.rs`) and its key resolution and value
//! checks ([`XlatorTable::resolve`], [`XlatorTable::validate`], in `resolve.rs`) are written
//! beside the code they call, so this module needs neither and imports only run downwards.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::LoadWarning;
use crate::model::{Xlator, XlatorKind};
use crate::validate::Value;

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
    /// How the tables were read (in this process, or by the helper).
    pub(crate) read_by: crate::helper::ReadBy,
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
            read_by: Default::default(),
        }
    }

    /// How the tables were read: in this process, or by the helper process (and if that
    /// failed, why).
    pub fn read_by(&self) -> &crate::helper::ReadBy {
        &self.read_by
    }

    /// A table without xlators, for a node without GlusterFS: every key is refused with
    /// [`crate::ResolveError::NoTables`]. The daemon starts with it and says why.
    pub fn empty() -> Self {
        XlatorTable::default()
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
}
