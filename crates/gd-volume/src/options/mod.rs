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
//!
//! Where each part lives: [`Catalog`], its loading and what a key resolves to, in `catalog`;
//! whether one `key = value` may be stored in `check`; set and reset ([`Catalog::set`],
//! [`Catalog::reset`]) in `set`; reading options back ([`Catalog::describe`],
//! [`Catalog::list`]) in `read`; where options land in volgen, and the volfile check of a whole
//! volume, in `volgen`; the groups in `groups`. The process's one catalog ([`init`],
//! [`catalog`]) is here.

mod catalog;
mod check;
mod groups;
mod read;
mod set;
#[cfg(test)]
mod tests;
mod volgen;

use std::{
    path::Path,
    sync::{Arc, OnceLock},
};

pub use catalog::Catalog;
pub use groups::{builtin_group, builtin_groups};
pub use set::Change;

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
                    read_by = ?catalog.xlators.read_by(),
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
