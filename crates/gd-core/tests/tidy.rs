//! Tidy: rules of the code base that a compiler does not check, checked over the sources.

use std::path::{Path, PathBuf};

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
