//! The only unsafe code of the crate: `dlopen` an xlator and copy its option table out.
//!
//! GlusterFS describes each xlator's options in a static C array of `volume_option_t`,
//! reached through the exported data symbol `xlator_api` (an `xlator_api_t`, whose `options`
//! field points at the array); transports and auth modules export the array itself as
//! `options`. The layouts below mirror `libglusterfs/src/glusterfs/{options,xlator}.h` of
//! GlusterFS 10 on 64-bit Linux (1152 and 128 bytes, as measured against the installed 10.3
//! libraries; the tests read well-known options back field by field); `xlator.h` marks
//! `xlator_api_t` as used by GD2 and not to be changed. The compile-time assertions below pin
//! every offset this module reads.
//!
//! Where: the daemon runs this in its helper process (`glusterd2-xlators`, see
//! [`crate::helper`]), so that the libraries it maps never stay in the daemon; GD2 loaded them
//! in its own process, and so does a program without the helper. What loading costs: the
//! libraries' constructors run. With GlusterFS 10.3 that loads `libglusterfs` and its own
//! dependencies and starts no thread and installs no signal handler (checked by loading every
//! installed `.so` and comparing `/proc/self/status` before and after). Libraries are opened with
//! `RTLD_LAZY | RTLD_LOCAL`, so no function of theirs is resolved or called and none of their
//! symbols can interpose on ours.
//!
//! Libraries are never unloaded: `libglusterfs` registers process-wide state (thread-specific
//! keys with destructors, `atexit` handlers) whose code must stay mapped for the life of the
//! process. They take a few megabytes of address space; loading twice reuses the handle.
//!
//! Every walk is bounded: at most [`MAX_OPTIONS`] entries per table, [`MAX_STRING`] bytes per
//! string, and the fixed array sizes of the C structs. Everything is copied into owned Rust
//! values before this module returns.

use std::ffi::{c_char, c_void};
use std::mem::{offset_of, size_of};
use std::path::Path;

use libloading::os::unix::{Library, RTLD_LAZY, RTLD_LOCAL};

use crate::model::{Category, Level, OptionDef, OptionFlags, OptionType, RangeCheck};

/// The most entries read from one option table (GlusterFS's largest has about 50).
pub const MAX_OPTIONS: usize = 1000;
/// The most bytes read from one C string (the longest description is a few hundred).
pub const MAX_STRING: usize = 4096;

/// `ZR_VOLUME_MAX_NUM_KEY`.
const NUM_KEYS: usize = 4;
/// `ZR_OPTION_MAX_ARRAY_SIZE`.
const MAX_ARRAY: usize = 64;
/// `GF_MAX_RELEASES`.
const MAX_RELEASES: usize = 4;

/// `volume_option_t`.
#[repr(C)]
struct RawVolumeOption {
    key: [*const c_char; NUM_KEYS],
    kind: u32,
    min: f64,
    max: f64,
    value: [*const c_char; MAX_ARRAY],
    default_value: *const c_char,
    description: *const c_char,
    validate: u32,
    op_version: [u32; MAX_RELEASES],
    deprecated: [u32; MAX_RELEASES],
    flags: u32,
    tags: [*const c_char; MAX_ARRAY],
    setkey: *const c_char,
    level: u32,
    category: u32,
}

/// `xlator_api_t`. Only the first fields are read; the function pointers are never called.
#[repr(C)]
struct RawXlatorApi {
    op_version: [u32; MAX_RELEASES],
    flags: u32,
    xlator_id: u32,
    identifier: *const c_char,
    options: *const RawVolumeOption,
    category: u32,
    functions: [*const c_void; 10],
}

const _: () = {
    assert!(size_of::<RawVolumeOption>() == 1152);
    assert!(offset_of!(RawVolumeOption, kind) == 32);
    assert!(offset_of!(RawVolumeOption, min) == 40);
    assert!(offset_of!(RawVolumeOption, max) == 48);
    assert!(offset_of!(RawVolumeOption, value) == 56);
    assert!(offset_of!(RawVolumeOption, default_value) == 568);
    assert!(offset_of!(RawVolumeOption, description) == 576);
    assert!(offset_of!(RawVolumeOption, validate) == 584);
    assert!(offset_of!(RawVolumeOption, op_version) == 588);
    assert!(offset_of!(RawVolumeOption, deprecated) == 604);
    assert!(offset_of!(RawVolumeOption, flags) == 620);
    assert!(offset_of!(RawVolumeOption, tags) == 624);
    assert!(offset_of!(RawVolumeOption, setkey) == 1136);
    assert!(offset_of!(RawVolumeOption, level) == 1144);
    assert!(offset_of!(RawVolumeOption, category) == 1148);
    assert!(size_of::<RawXlatorApi>() == 128);
    assert!(offset_of!(RawXlatorApi, identifier) == 24);
    assert!(offset_of!(RawXlatorApi, options) == 32);
    assert!(offset_of!(RawXlatorApi, category) == 40);
};

/// Which exported symbol holds the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Symbol {
    /// `xlator_api` (translators).
    XlatorApi,
    /// `options`, the bare array (transports and auth modules).
    Options,
}

/// What one library declares, copied out.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct RawTable {
    /// `xlator_api.identifier` (None for `options` tables).
    pub identifier: Option<String>,
    /// `xlator_api.op_version`, zeros dropped.
    pub op_version: Vec<u32>,
    /// `xlator_api.category`.
    pub category: Category,
    /// The options (their `xlator` field left empty for the caller to fill).
    pub options: Vec<OptionDef>,
    /// Problems that did not stop the read (a table without terminator, a long string).
    pub notes: Vec<String>,
}

/// Opens `path` and copies the table behind `symbol` out. Errors are messages for a warning.
pub(crate) fn read_table(path: &Path, symbol: Symbol) -> Result<RawTable, String> {
    // SAFETY: opening a library runs its constructors. The libraries read here are the
    // installed GlusterFS's own xlators, whose constructors only set up libglusterfs's
    // globals (no threads, no signal handlers; see the module documentation). RTLD_LAZY binds
    // no function until called and RTLD_LOCAL keeps their symbols out of the global scope.
    let lib = unsafe { Library::open(Some(path), RTLD_LAZY | RTLD_LOCAL) }
        .map_err(|e| format!("cannot load: {e}"))?;
    let mut notes = Vec::new();
    let table = match symbol {
        Symbol::XlatorApi => {
            // SAFETY: `xlator_api` is a data symbol; `Symbol::into_raw` gives its address and
            // nothing is dereferenced here.
            let addr = unsafe { lib.get::<*const c_void>(b"xlator_api\0") }
                .map_err(|_| "exports no `xlator_api` symbol: not an xlator".to_string())?
                .into_raw();
            if addr.is_null() {
                return Err("its `xlator_api` symbol is null".to_string());
            }
            // SAFETY: every GlusterFS 10 xlator defines `xlator_api_t xlator_api` (128 bytes,
            // layout pinned above) in its data segment, which stays mapped because the library
            // is never closed. `read_unaligned` makes no assumption on the alignment of the
            // address.
            let api = unsafe { std::ptr::read_unaligned(addr.cast::<RawXlatorApi>()) };
            // SAFETY: `identifier` is null or a NUL-terminated string constant of the library.
            let identifier = unsafe { read_str(api.identifier, &mut notes) };
            // SAFETY: `options` is null or points at the xlator's `volume_option_t` array,
            // terminated by an entry whose key[0] is null.
            let options = unsafe { read_options(api.options, &mut notes) };
            RawTable {
                identifier,
                op_version: nonzero(&api.op_version),
                category: Category::from_raw(api.category),
                options,
                notes,
            }
        }
        Symbol::Options => {
            // SAFETY: as above, only the address of the data symbol is taken.
            let addr = unsafe { lib.get::<*const c_void>(b"options\0") }
                .map_err(|_| "exports no `options` symbol".to_string())?
                .into_raw();
            // SAFETY: transports and auth modules define `volume_option_t options[]`, terminated
            // by an entry whose key[0] is null; the symbol's address is the array's.
            let options = unsafe { read_options(addr.cast::<RawVolumeOption>(), &mut notes) };
            RawTable {
                identifier: None,
                op_version: Vec::new(),
                category: Category::Unclassified,
                options,
                notes,
            }
        }
    };
    // The library stays loaded for the life of the process (see the module documentation).
    let _ = lib.into_raw();
    Ok(table)
}

/// Copies a `volume_option_t` array out, up to its terminator or [`MAX_OPTIONS`] entries.
///
/// # Safety
/// `first` is null or points at an array of `RawVolumeOption` that ends with an entry whose
/// `key[0]` is null, within [`MAX_OPTIONS`] entries or beyond; every non-null string pointer
/// in it is NUL-terminated.
unsafe fn read_options(first: *const RawVolumeOption, notes: &mut Vec<String>) -> Vec<OptionDef> {
    let mut out = Vec::new();
    if first.is_null() {
        return out;
    }
    for i in 0..MAX_OPTIONS {
        // SAFETY: entry `i` exists: the entries before it had a non-null key[0], so the
        // terminator has not been passed (caller's contract).
        let raw = unsafe { std::ptr::read_unaligned(first.add(i)) };
        if raw.key[0].is_null() {
            return out;
        }
        // SAFETY: the pointers of a live entry are null or NUL-terminated (caller's contract).
        out.push(unsafe { copy_option(&raw, notes) });
    }
    notes.push(format!(
        "option table has no terminator within {MAX_OPTIONS} entries; read the first {MAX_OPTIONS}"
    ));
    out
}

/// Copies one entry.
///
/// # Safety
/// Every non-null string pointer of `raw` is NUL-terminated.
unsafe fn copy_option(raw: &RawVolumeOption, notes: &mut Vec<String>) -> OptionDef {
    // SAFETY (all calls below): the pointers come from `raw` (caller's contract); the arrays
    // are walked up to their first null pointer or their C size.
    let keys = unsafe { read_str_array(&raw.key, notes) };
    let allowed = unsafe { read_str_array(&raw.value, notes) };
    let tags = unsafe { read_str_array(&raw.tags, notes) };
    let default = unsafe { read_str(raw.default_value, notes) };
    let description = unsafe { read_str(raw.description, notes) };
    let setkey = unsafe { read_str(raw.setkey, notes) };
    let range_check = RangeCheck::from_raw(raw.validate);
    let no_range = raw.min == 0.0 && raw.max == 0.0 && range_check == RangeCheck::Both;
    let bound = |v: f64| {
        if no_range || v.is_nan() {
            None
        } else {
            Some(v)
        }
    };
    OptionDef {
        xlator: String::new(),
        keys,
        kind: OptionType::from_raw(raw.kind),
        default,
        min: bound(raw.min),
        max: bound(raw.max),
        range_check,
        allowed,
        description,
        op_version: nonzero(&raw.op_version),
        deprecated: nonzero(&raw.deprecated),
        flags: OptionFlags(raw.flags),
        level: Level::from_raw(raw.level),
        category: Category::from_raw(raw.category),
        tags,
        setkey,
    }
}

/// Copies a NULL-terminated (or full) array of strings.
///
/// # Safety
/// Every non-null pointer of `array` before the first null one is NUL-terminated.
unsafe fn read_str_array(array: &[*const c_char], notes: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for &p in array {
        // SAFETY: caller's contract.
        match unsafe { read_str(p, notes) } {
            Some(s) => out.push(s),
            None => break,
        }
    }
    out
}

/// Copies a C string of at most [`MAX_STRING`] bytes (longer ones are cut, with a note).
/// Invalid UTF-8 is replaced, never trusted.
///
/// # Safety
/// `p` is null or points at a NUL-terminated string.
unsafe fn read_str(p: *const c_char, notes: &mut Vec<String>) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let mut bytes = Vec::new();
    for i in 0..MAX_STRING {
        // SAFETY: the bytes before index `i` were not NUL, so index `i` is still inside the
        // string or is its terminator.
        let b = unsafe { p.add(i).cast::<u8>().read() };
        if b == 0 {
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        bytes.push(b);
    }
    notes.push(format!(
        "a string longer than {MAX_STRING} bytes was cut: {:?}…",
        String::from_utf8_lossy(&bytes[..40.min(bytes.len())])
    ));
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn nonzero(versions: &[u32]) -> Vec<u32> {
    versions.iter().copied().filter(|&v| v != 0).collect()
}
