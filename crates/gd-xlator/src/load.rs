//! Finding the xlator directory and loading every library in it.
//!
//! The layout is GlusterFS's: `<libdir>/glusterfs/<version>/xlator/<category>/<name>.so`
//! (plus `meta.so` at the top), with the RPC transports and auth modules beside it in
//! `<libdir>/glusterfs/<version>/{rpc-transport,auth}/`. Like GD2, the transports are read
//! too, because their options (`transport.socket.*`, `ssl-*`) are set on the protocol xlators.
//! Several files may be one library (`replicate.so` is a link to `afr.so`): each library is
//! loaded once and answers to all its names.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{LoadError, LoadWarning};
use crate::ffi::Symbol;
use crate::model::{Xlator, XlatorKind};
use crate::table::XlatorTable;

/// Where [`find_xlator_dir`] looks: `<root>/glusterfs/<version>/xlator` and
/// `<root>/<multiarch triplet>/glusterfs/<version>/xlator` for each root.
pub const SEARCH_ROOTS: &[&str] = &[
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib64",
    "/usr/local/lib",
    "/lib64",
    "/lib",
];

/// The most `.so` files one load considers.
pub const MAX_FILES: usize = 4096;
/// The most directory entries read from one directory while searching or walking.
const MAX_DIR_ENTRIES: usize = 10_000;

/// The installed xlator directory, searched under [`SEARCH_ROOTS`]; when several GlusterFS
/// versions are installed, the highest version wins.
pub fn find_xlator_dir() -> Option<PathBuf> {
    find_xlator_dir_in(SEARCH_ROOTS)
}

/// [`find_xlator_dir`] under other roots (for tests and unusual prefixes).
pub fn find_xlator_dir_in<P: AsRef<Path>>(roots: &[P]) -> Option<PathBuf> {
    let mut best: Option<(Vec<u64>, PathBuf)> = None;
    for root in roots {
        let root = root.as_ref();
        let mut bases = vec![root.join("glusterfs")];
        bases.extend(subdirs(root).into_iter().map(|d| d.join("glusterfs")));
        for base in bases {
            for version_dir in subdirs(&base) {
                let xlator_dir = version_dir.join("xlator");
                if !xlator_dir.is_dir() {
                    continue;
                }
                let version = version_key(&version_dir);
                if best.as_ref().is_none_or(|(v, _)| version > *v) {
                    best = Some((version, xlator_dir));
                }
            }
        }
    }
    best.map(|(_, dir)| dir)
}

/// The numeric components of a version directory name (`10.3` → `[10, 3]`).
fn version_key(dir: &Path) -> Vec<u64> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The subdirectories of `dir` (following links), sorted; nothing when it cannot be read.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// One `.so` file found by the walk.
#[derive(Debug, Clone)]
struct Found {
    path: PathBuf,
    /// Its directory under the xlator directory (`cluster`), or `rpc-transport`/`auth`, or
    /// empty at the top.
    category: String,
    stem: String,
    kind: XlatorKind,
}

fn load(dir: &Path, helper: Option<&Path>) -> Result<XlatorTable, LoadError> {
    // The version directory (`…/glusterfs/10.3`) stands for its `xlator` directory.
    let inner = dir.join("xlator");
    let dir = if file_name(dir) != "xlator" && inner.is_dir() {
        inner.as_path()
    } else {
        dir
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(LoadError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LoadError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(LoadError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    let mut warnings = Vec::new();
    let mut found = Vec::new();
    let top = fs::read_dir(dir).map_err(|source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut top: Vec<PathBuf> = top
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    top.sort();
    for path in top {
        if path.is_dir() {
            let category = file_name(&path);
            collect_so(
                &path,
                &category,
                XlatorKind::Xlator,
                &mut found,
                &mut warnings,
            );
        } else if is_so(&path) {
            found.push(Found {
                stem: stem(&path),
                path,
                category: String::new(),
                kind: XlatorKind::Xlator,
            });
        }
    }
    if file_name(dir) == "xlator"
        && let Some(parent) = dir.parent()
    {
        for (sub, kind) in [
            ("rpc-transport", XlatorKind::Transport),
            ("auth", XlatorKind::Auth),
        ] {
            let d = parent.join(sub);
            if d.is_dir() {
                collect_so(&d, sub, kind, &mut found, &mut warnings);
            }
        }
    }
    if found.len() > MAX_FILES {
        warnings.push(LoadWarning {
            path: dir.to_path_buf(),
            message: format!(
                "{} libraries found; only the first {MAX_FILES} are read",
                found.len()
            ),
        });
        found.truncate(MAX_FILES);
    }

    // One entry per library: files that resolve to the same path are one library.
    let mut groups: BTreeMap<PathBuf, Vec<Found>> = BTreeMap::new();
    for f in found {
        match fs::canonicalize(&f.path) {
            Ok(real) => groups.entry(real).or_default().push(f),
            Err(e) => warnings.push(LoadWarning {
                path: f.path.clone(),
                message: format!("skipped: cannot resolve the path: {e}"),
            }),
        }
    }

    // Every table read at once (by the helper process when there is one).
    let requests: Vec<(PathBuf, Symbol)> = groups
        .iter()
        .map(|(real, members)| {
            let symbol = match members[0].kind {
                XlatorKind::Xlator => Symbol::XlatorApi,
                XlatorKind::Transport | XlatorKind::Auth => Symbol::Options,
            };
            (real.clone(), symbol)
        })
        .collect();
    let (tables, read_by) = crate::helper::read_tables(&requests, helper);
    let mut xlators: Vec<Xlator> = Vec::new();
    for ((real, members), table) in groups.into_iter().zip(tables) {
        let kind = members[0].kind;
        let shown = members[0].path.clone();
        let raw = match table {
            Ok(raw) => raw,
            Err(message) => {
                warnings.push(LoadWarning {
                    path: shown,
                    message: format!("skipped: {message}"),
                });
                continue;
            }
        };
        for note in raw.notes {
            warnings.push(LoadWarning {
                path: shown.clone(),
                message: note,
            });
        }
        let real_stem = stem(&real);
        let id = match kind {
            XlatorKind::Xlator => raw
                .identifier
                .filter(|s| is_plain_name(s))
                .unwrap_or_else(|| real_stem.clone()),
            XlatorKind::Transport | XlatorKind::Auth => real_stem.clone(),
        };
        // The name comes from the file named after the identifier when there is one
        // (`replicate.so` for afr.so), else from the library's own file.
        let primary = members
            .iter()
            .find(|m| m.stem == id)
            .or_else(|| members.iter().find(|m| m.path == real))
            .unwrap_or(&members[0]);
        let category = primary.category.clone();
        let name = if category.is_empty() {
            id.clone()
        } else {
            format!("{category}/{id}")
        };
        let mut aliases: Vec<String> = Vec::new();
        let mut add = |a: String| {
            if a != name && !aliases.contains(&a) {
                aliases.push(a);
            }
        };
        add(id.clone());
        for m in &members {
            add(m.stem.clone());
            if !m.category.is_empty() {
                add(format!("{}/{}", m.category, m.stem));
            }
        }
        let mut options = raw.options;
        for o in &mut options {
            o.xlator.clone_from(&name);
        }
        xlators.push(Xlator {
            name,
            id,
            category,
            kind,
            path: real,
            aliases,
            op_version: raw.op_version,
            maturity: raw.category,
            options,
        });
    }
    xlators.sort_by(|a, b| a.name.cmp(&b.name));

    // Names are unique; an alias already taken keeps its first owner.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<Xlator> = Vec::new();
    for x in xlators {
        if index.contains_key(&x.name) {
            warnings.push(LoadWarning {
                path: x.path.clone(),
                message: format!("skipped: another library already is {}", x.name),
            });
            continue;
        }
        let i = kept.len();
        index.insert(x.name.clone(), i);
        kept.push(x);
    }
    for (i, x) in kept.iter().enumerate() {
        for a in &x.aliases {
            index.entry(a.clone()).or_insert(i);
        }
    }
    let mut table = XlatorTable::new(Some(dir.to_path_buf()), kept, warnings, index);
    table.read_by = read_by;
    Ok(table)
}

/// Adds the `.so` files of `dir` (not recursive).
fn collect_so(
    dir: &Path,
    category: &str,
    kind: XlatorKind,
    found: &mut Vec<Found>,
    warnings: &mut Vec<LoadWarning>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            warnings.push(LoadWarning {
                path: dir.to_path_buf(),
                message: format!("skipped: cannot read the directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_so(p))
        .collect();
    paths.sort();
    for path in paths {
        found.push(Found {
            stem: stem(&path),
            path,
            category: category.to_string(),
            kind,
        });
    }
}

fn is_so(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "so") && path.is_file()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An identifier usable as a name: non-empty, no `/`, `.` or white space.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && !s.contains(['/', '.']) && !s.contains(char::is_whitespace)
}

impl XlatorTable {
    /// Loads every xlator under `dir` (the `…/glusterfs/<version>/xlator` directory, or the
    /// version directory above it), and the transports and auth modules beside it. A library that cannot be loaded or has no table
    /// is skipped and reported in [`Self::warnings`]; only a missing or unreadable directory is
    /// an error. The libraries are loaded by the helper process installed beside the running
    /// program ([`crate::helper`]), or where there is none, in this process (their
    /// constructors run here then, see [`crate::ffi`]).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        load(dir.as_ref(), crate::helper::beside_program().as_deref())
    }

    /// [`Self::load`] through the helper at `helper` (`None`: in this process).
    pub fn load_through(dir: impl AsRef<Path>, helper: Option<&Path>) -> Result<Self, LoadError> {
        load(dir.as_ref(), helper)
    }

    /// Loads from [`crate::find_xlator_dir`]; [`LoadError::NotInstalled`] when there is none.
    pub fn load_default() -> Result<Self, LoadError> {
        match find_xlator_dir() {
            Some(dir) => Self::load(dir),
            None => Err(LoadError::NotInstalled {
                searched: SEARCH_ROOTS
                    .iter()
                    .map(|r| Path::new(r).join("[*/]glusterfs/*/xlator"))
                    .collect(),
            }),
        }
    }
}
