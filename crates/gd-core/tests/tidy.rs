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

/// `gd-daemon` is the composition root: no crate depends on it (`[dependencies]`,
/// `[build-dependencies]`, plain or per target), since a feature or library crate that imported
/// it would make the daemon a dependency of what it composes. Two packages may have it as a
/// `[dev-dependencies]` entry, because their tests drive it: the test kit (`tests/`, which starts
/// its binary and drives in-process nodes) and the CLI (whose tests run `glustercli` against the
/// daemon's real REST router, in-process). A dev-dependency never reaches a crate's users.
///
/// The fuzz targets (`fuzz/`) are not a member of the workspace (they need cargo-fuzz) and
/// depend on the daemon's `fuzz` module by design; they are not checked here.
#[test]
fn only_the_test_kit_and_the_cli_tests_depend_on_the_daemon() {
    let mut manifests = vec![workspace().join("tests/Cargo.toml")];
    for entry in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        let m = entry.path().join("Cargo.toml");
        if m.is_file() {
            manifests.push(m);
        }
    }
    assert!(manifests.len() >= 10, "{manifests:?}");
    let mut offenders = vec![];
    for m in &manifests {
        let dir = m.parent().expect("a manifest's directory");
        if dir.ends_with("crates/gd-daemon") {
            continue;
        }
        let text = std::fs::read_to_string(m).expect("a readable manifest");
        let allowed: &[&str] = if DAEMON_DEV_DEPENDENTS.iter().any(|d| dir.ends_with(d)) {
            &["dev-dependencies"]
        } else {
            &[]
        };
        for section in daemon_dependencies(&text) {
            if !allowed.contains(&section.as_str()) {
                let rel = m.strip_prefix(workspace()).unwrap_or(m);
                offenders.push(format!("{} [{section}]", rel.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "crates that depend on gd-daemon, the composition root: {offenders:?}"
    );
}

/// The packages whose tests may drive the daemon (a `[dev-dependencies]` entry only).
const DAEMON_DEV_DEPENDENTS: [&str; 2] = ["crates/gd-cli", "tests"];

/// The dependency sections of a manifest that name `gd-daemon` (by key, or renamed through
/// `package = "gd-daemon"`): `dependencies`, `build-dependencies` or `dev-dependencies`,
/// whether top-level or under `[target.<cfg>]`.
fn daemon_dependencies(manifest: &str) -> Vec<String> {
    let doc: toml::Table = manifest.parse().expect("a manifest that parses");
    let names_daemon = |deps: &toml::Value| {
        deps.as_table().is_some_and(|t| {
            t.iter().any(|(name, spec)| {
                name == "gd-daemon"
                    || spec.get("package").and_then(toml::Value::as_str) == Some("gd-daemon")
            })
        })
    };
    let mut tables = vec![&doc];
    if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
        tables.extend(targets.values().filter_map(toml::Value::as_table));
    }
    let mut found = vec![];
    for t in tables {
        for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
            if t.get(section).is_some_and(names_daemon) {
                found.push(section.to_owned());
            }
        }
    }
    found
}

#[test]
fn the_daemon_rule_reads_every_kind_of_dependency() {
    let sections = |m: &str| daemon_dependencies(m);
    assert_eq!(
        sections("[dependencies]\ngd-daemon.workspace = true\n"),
        ["dependencies"]
    );
    assert_eq!(
        sections("[build-dependencies]\ngd-daemon = { path = \"../gd-daemon\" }\n"),
        ["build-dependencies"]
    );
    assert_eq!(
        sections("[dev-dependencies]\ntokio.workspace = true\ngd-daemon.workspace = true\n"),
        ["dev-dependencies"]
    );
    assert_eq!(
        sections("[dependencies.gd-daemon]\nworkspace = true\n"),
        ["dependencies"]
    );
    assert_eq!(
        sections("[dependencies]\nd = { package = \"gd-daemon\", path = \"x\" }\n"),
        ["dependencies"]
    );
    assert_eq!(
        sections("[target.'cfg(unix)'.dependencies]\ngd-daemon.workspace = true\n"),
        ["dependencies"]
    );
    assert!(sections("[dependencies]\ngd-daemonic = \"1\"\n# gd-daemon = 1\n").is_empty());
}
