//! The option tables of the installed GlusterFS xlators, read at start-up.
//!
//! Every GlusterFS translator declares its options in its own shared library: name and
//! aliases, type, default, range or allowed values, description, flags. glusterd2 reads those
//! tables from the installed `.so` files when it starts, as GD1 and GD2 did, instead of
//! keeping its own copy that would drift from the installed GlusterFS. Any option of any
//! installed xlator can then be set, checked the way the xlator itself will check it, and
//! reset to its default.
//!
//! - [`XlatorTable`]: loading ([`XlatorTable::load_default`], [`XlatorTable::load`],
//!   [`XlatorTable::empty`] for a node without GlusterFS), lookup, [`XlatorTable::resolve`] and
//!   [`XlatorTable::validate`].
//! - [`model`]: the owned Rust form of a table ([`Xlator`], [`OptionDef`]).
//! - [`ffi`]: the only unsafe code: `dlopen` and the copy out of the C structs.
//! - [`mod@resolve`]: user keys (`cluster.quorum-type`, `replicate.eager-lock`,
//!   `cluster/replicate.eager-lock`) to xlator options; [`gd1`]: GD1's naming.
//! - [`validate`] and [`parse`]: values by type, as GlusterFS parses them.
//!
//! Nothing here panics on input: keys, values and the contents of the libraries are bounded
//! and checked.

pub mod error;
pub mod ffi;
pub mod gd1;
pub mod glob;
pub mod helper;
mod load;
pub mod model;
pub mod parse;
pub mod resolve;
mod table;
pub mod validate;

pub use error::{InvalidValue, LoadError, LoadWarning, ResolveError, ValidationError};
pub use load::{MAX_FILES, SEARCH_ROOTS, find_xlator_dir, find_xlator_dir_in};
pub use model::{
    Category, Level, OptionDef, OptionFlags, OptionType, RangeCheck, Xlator, XlatorKind,
};
pub use resolve::{KEY_MAX_BYTES, Resolved, Rule, Target, is_user_key};
pub use table::{Normalized, SetTarget, XlatorTable};
pub use validate::{VALUE_MAX_BYTES, Value};
