//! Tidy: rules of the code base that a compiler does not check, checked over the sources.

use std::path::{Path, PathBuf};

#[path = "tidy/layers.rs"]
mod layers;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// One store prefix, one declaration: a constant named `*_PREFIX`, `*_KEY` or `*_LOCK` whose
/// value is a store key (not an HTTP path, not a metadata key) is declared in `gd_core::keys`
/// only (gd-store declares the one prefix of its own lock mechanism, which `keys` re-exports).
#[test]
fn store_keys_are_declared_in_the_keys_module_only() {
    let mut files = vec![];
    for dir in ["crates", "tests", "fuzz"] {
        rust_files(&workspace().join(dir), &mut files);
    }
    let allowed = [
        Path::new("crates/gd-core/src/keys.rs"),
        Path::new("crates/gd-store/src/lock.rs"),
    ];
    let mut found = vec![];
    for f in &files {
        let rel = f.strip_prefix(workspace()).unwrap_or(f);
        if allowed.iter().any(|a| rel.ends_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if let Some(value) = key_constant(line)
                && !value.starts_with('/')
                && !value.starts_with('_')
            {
                found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "store keys declared outside gd_core::keys (move them there):\n{}",
        found.join("\n")
    );
}

/// The value of a `const *_PREFIX|*_KEY|*_LOCK: &str = "..."` line.
fn key_constant(line: &str) -> Option<String> {
    let rest = line.trim_start();
    let rest = rest.strip_prefix("pub ").unwrap_or(rest);
    let rest = rest.strip_prefix("pub(crate) ").unwrap_or(rest);
    let rest = rest.strip_prefix("const ")?;
    let (name, value) = rest.split_once(": &str = \"")?;
    if !["_PREFIX", "_KEY", "_LOCK"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        return None;
    }
    Some(value.split('"').next().unwrap_or("").to_owned())
}

#[test]
fn the_rule_sees_what_it_must() {
    assert_eq!(
        key_constant(r#"pub const PEERS_PREFIX: &str = "peers/";"#).as_deref(),
        Some("peers/")
    );
    assert_eq!(
        key_constant(r#"    const CLEANUP_LOCK: &str = "txn-cleanup";"#).as_deref(),
        Some("txn-cleanup")
    );
    assert_eq!(key_constant(r#"const BLOCK: &str = "127.0.57";"#), None);
    assert_eq!(key_constant(r#"const PEERS: &str = "/v1/peers";"#), None);
}

/// The most lines a source file may have: past it, a file holds several jobs, and a newcomer
/// cannot find one of them by the file's name.
const FILE_LINES_MAX: usize = 800;

/// No source file (code or test) grows past [`FILE_LINES_MAX`] lines.
#[test]
fn no_source_file_is_longer_than_the_limit() {
    let mut files = vec![];
    for dir in ["crates", "tests", "fuzz"] {
        rust_files(&workspace().join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "the walk found the sources: {}",
        files.len()
    );
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > FILE_LINES_MAX).then(|| {
                let rel = f.strip_prefix(workspace()).unwrap_or(f);
                format!("{} ({lines} lines)", rel.display())
            })
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "files over {FILE_LINES_MAX} lines (split them by job):\n{}",
        long.join("\n")
    );
}

/// `gd-daemon` is the composition root: no crate depends on it but the test kit (which starts
/// its binary and drives in-process nodes). A feature or library crate that imported it would
/// make the daemon a dependency of what it composes.
#[test]
fn only_the_test_kit_depends_on_the_daemon() {
    let mut manifests = vec![];
    for entry in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        let m = entry.path().join("Cargo.toml");
        if m.is_file() {
            manifests.push(m);
        }
    }
    assert!(manifests.len() >= 9, "{manifests:?}");
    let offenders: Vec<String> = manifests
        .iter()
        .filter(|m| !m.parent().is_some_and(|d| d.ends_with("gd-daemon")))
        .filter(|m| {
            std::fs::read_to_string(m)
                .unwrap_or_default()
                .lines()
                .any(|l| l.trim_start().starts_with("gd-daemon"))
        })
        .map(|m| m.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "crates that depend on gd-daemon, the composition root: {offenders:?}"
    );
}
