//! Layering: the rules that keep imports running one way, which the compiler checks
//! between crates (Cargo refuses a cycle) but not inside one, nor between feature crates.
//!
//! - Inside every crate, the top-level modules import each other without a circle: a module
//!   can be read, changed and moved knowing only what is below it. Test code is left out (a
//!   test may use anything) and so are the crate roots (`lib.rs`, `main.rs`), which wire the
//!   modules together.
//! - A feature crate (one that builds on the seam, `gd-feature`) depends on no other feature
//!   crate but the volume feature (`gd-volume`, whose model of volumes and bricks the
//!   volume-centric features read: rebalance, heal) and not on the daemon; the volume feature
//!   depends on none. It speaks HTTP only in its thin REST module (`src/rest/`):
//!   its domain returns `OpError`, and the status is chosen in one place. The domain crates
//!   below the features (`gd-core`, `gd-node`) speak none.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use super::{rust_files, workspace};

/// Every crate of the workspace under `crates/`: its directory and its manifest's text.
fn crates() -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter_map(|d| {
            Some((
                d.clone(),
                std::fs::read_to_string(d.join("Cargo.toml")).ok()?,
            ))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 12, "the walk found the crates: {}", out.len());
    out
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The crates a manifest's `[dependencies]` section names (not dev- or build-dependencies).
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside
            && let Some((name, _)) = line.split_once(['.', '=', ' '])
            && !name.is_empty()
            && !name.starts_with('#')
        {
            out.insert(name.to_owned());
        }
    }
    out
}

/// A source text without its comment lines and its inline `#[cfg(test)]` modules.
fn non_test_code(text: &str) -> String {
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let code = code.join("\n");
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let item = after.trim_start();
        // `#[cfg(test)] mod tests;` names a file that is skipped as a whole; an inline module
        // ends at its matching brace.
        if item.starts_with("mod ")
            && item
                .find('{')
                .is_some_and(|b| item[..b].find(';').is_none())
        {
            let open = item.find('{').unwrap();
            let mut depth = 0usize;
            let mut end = item.len();
            for (i, c) in item[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &item[end..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The top-level modules a code text names through `crate::` (`crate::a::b`, `crate::{a, b::c}`).
fn crate_refs(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let after = &code[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 1usize;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        out.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
                if depth == 0 {
                    out.insert(ident(&group[start..i]));
                    break;
                }
            }
        } else {
            out.insert(ident(after));
        }
    }
    out.remove("");
    out
}

/// The import graph of a crate's top-level modules: module → the modules it names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = vec![];
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        let test_file = rel
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs");
        if module == "lib" || module == "main" || module == "bin" || test_file {
            continue;
        }
        let refs = crate_refs(&non_test_code(&std::fs::read_to_string(f).unwrap()));
        graph.entry(module.clone()).or_default().extend(refs);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for (m, refs) in graph.iter_mut() {
        refs.retain(|r| r != m && modules.contains(r));
    }
    graph
}

/// The circles of a graph: each set of modules that reach one another (more than one).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for n in graph.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<BTreeSet<String>> = vec![];
    for (m, from_m) in &reached {
        let circle: BTreeSet<String> = from_m
            .iter()
            .filter(|n| reached[n].contains(*m))
            .cloned()
            .collect();
        if circle.len() > 1 && !out.contains(&circle) {
            out.push(circle);
        }
    }
    out
}

#[test]
fn no_crate_has_a_circle_of_imports() {
    let mut found = vec![];
    for (dir, _) in crates() {
        let graph = module_graph(&dir.join("src"));
        for circle in circles(&graph) {
            let edges: Vec<String> = circle
                .iter()
                .map(|m| {
                    let to: Vec<&String> = graph[m].intersection(&circle).collect();
                    format!("{m} -> {to:?}")
                })
                .collect();
            found.push(format!("{}: {}", name_of(&dir), edges.join("; ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other in a circle (move what both need below them):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_import_rules_see_what_they_must() {
    let code = "use crate::{a::X, b, c::{d, e}};\nfn f() { crate::g::h(); }\n\
                // crate::comment\n#[cfg(test)]\nmod tests {\n    use crate::t;\n    fn x() { {} }\n}\n\
                use crate::after;\n#[cfg(test)]\nmod more;\n";
    let refs = crate_refs(&non_test_code(code));
    assert_eq!(
        refs,
        ["a", "after", "b", "c", "g"]
            .map(String::from)
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_owned(), to.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        circles(&graph),
        vec![["a", "b", "c"].map(String::from).into_iter().collect()]
    );
    assert!(names_http("use axum::Json;"));
    assert!(names_http("fn f() -> StatusCode {}"));
    assert!(!names_http("use utoipa_axum::router::OpenApiRouter;"));
    assert_eq!(
        dependencies(
            "[dependencies]\ngd-a.workspace = true\nx = \"1\"\n[dev-dependencies]\ngd-b.workspace = true\n"
        ),
        ["gd-a", "x"].map(String::from).into_iter().collect()
    );
}

/// The crates that build on the seam: every crate whose `[dependencies]` name `gd-feature`,
/// but the daemon that composes them.
fn feature_crates() -> Vec<(PathBuf, String)> {
    crates()
        .into_iter()
        .filter(|(dir, m)| name_of(dir) != "gd-daemon" && dependencies(m).contains("gd-feature"))
        .collect()
}

#[test]
fn a_feature_crate_depends_on_no_other_feature_but_volumes_nor_the_daemon() {
    let features = feature_crates();
    assert!(
        features.iter().any(|(d, _)| name_of(d) == "gd-volume"),
        "the volume feature is found"
    );
    let names: BTreeSet<String> = features.iter().map(|(d, _)| name_of(d)).collect();
    let mut offenders = vec![];
    for (dir, manifest) in &features {
        for dep in dependencies(manifest) {
            let base = dep == "gd-volume" && name_of(dir) != "gd-volume";
            if dep == "gd-daemon" || (names.contains(&dep) && dep != name_of(dir) && !base) {
                offenders.push(format!("{} depends on {dep}", name_of(dir)));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// Whether code names axum (not `utoipa_axum`, which only describes routes) or HTTP statuses.
fn names_http(code: &str) -> bool {
    let axum = code.match_indices("axum::").any(|(at, _)| {
        !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    axum || code.contains("StatusCode")
}

/// The domain crates every feature builds on: they speak no HTTP at all (no `src/rest/`).
const DOMAIN_CRATES: [&str; 2] = ["gd-core", "gd-node"];

#[test]
fn a_feature_speaks_http_only_in_its_rest_module() {
    let mut offenders = vec![];
    let domain = crates()
        .into_iter()
        .filter(|(dir, _)| DOMAIN_CRATES.contains(&name_of(dir).as_str()));
    for (dir, _) in feature_crates().into_iter().chain(domain) {
        let src = dir.join("src");
        let mut files = vec![];
        rust_files(&src, &mut files);
        for f in files {
            if f.strip_prefix(&src).unwrap().starts_with("rest") {
                continue;
            }
            if names_http(&non_test_code(&std::fs::read_to_string(&f).unwrap())) {
                offenders.push(
                    f.strip_prefix(workspace())
                        .unwrap_or(&f)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "feature files outside src/rest/ that name axum or HTTP statuses: {offenders:?}"
    );
}
