//! The stable harness of the fuzz targets, shared by `crates/*/tests/fuzz_harness.rs` (each
//! includes this file with `#[path]`).
//!
//! cargo-fuzz needs libFuzzer and sanitizer flags, so it runs by hand (fuzz/README.md); this
//! harness runs the *same* target functions in the normal test suite on stable, so that a
//! decoder change that panics on hostile input fails CI: every input of the committed seed
//! corpus (`fuzz/corpus/<target>/`, which also keeps the inputs of crashes once found), then
//! proptest's inputs — random bytes, and corpus inputs damaged the way a fuzzer damages them
//! (bytes set, inserted, removed, truncated, length words set to edge values, two inputs
//! spliced) — for at most `FUZZ_HARNESS_CASES` cases (4096) or `FUZZ_HARNESS_SECS` seconds
//! (3) per target, whichever comes first. A panic fails the test with the input, shrunk.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use proptest::{
    prelude::*,
    sample::{Index, select},
    test_runner::{Config, TestRunner},
};

/// A target: the name of its cargo-fuzz binary and corpus directory, and its function.
pub type Target = (&'static str, fn(&[u8]));

/// `fuzz/` at the repository root (every crate that includes this file is two levels down).
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The seed corpus of `target`: file name and bytes, in name order.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Every target named `<prefix>*` has a cargo-fuzz binary, a `[[bin]]` entry and a seed
/// corpus, and every cargo-fuzz binary of that prefix is one of `targets`: the two
/// harnesses cannot drift apart.
pub fn check_layout(prefix: &str, targets: &[Target]) {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in targets {
        assert!(
            name.starts_with(prefix),
            "{name} does not start with {prefix}"
        );
        let bin = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(bin.is_file(), "{} is missing", bin.display());
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(
            !corpus(name).is_empty(),
            "the seed corpus of {name} is empty"
        );
    }
    for entry in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".rs").filter(|n| n.starts_with(prefix)) {
            assert!(
                targets.iter().any(|(t, _)| *t == name),
                "fuzz/fuzz_targets/{file} is not in this crate's fuzz::TARGETS"
            );
        }
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Edge values for 4-byte length and count words.
const EDGE_WORDS: [u32; 8] = [
    0,
    1,
    3,
    4,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x0010_0000,
];

/// One damage done to an input.
#[derive(Debug, Clone)]
enum Damage {
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
    Word(Index, u32),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Insert(i, b)),
        any::<Index>().prop_map(Damage::Remove),
        any::<Index>().prop_map(Damage::Truncate),
        (any::<Index>(), select(&EDGE_WORDS[..])).prop_map(|(i, w)| Damage::Word(i, w)),
    ]
}

fn apply(mut data: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for d in damages {
        let len = data.len();
        match d {
            Damage::Set(i, b) if len > 0 => data[i.index(len)] = *b,
            Damage::Insert(i, b) => data.insert(i.index(len + 1), *b),
            Damage::Remove(i) if len > 0 => {
                data.remove(i.index(len));
            }
            Damage::Truncate(i) => data.truncate(i.index(len + 1)),
            // On a 4-byte boundary, where XDR puts every length and count.
            Damage::Word(i, w) if len >= 4 => {
                let at = i.index(len / 4) * 4;
                data[at..at + 4].copy_from_slice(&w.to_be_bytes());
            }
            _ => {}
        }
    }
    data
}

/// Random bytes, damaged corpus inputs, and two corpus inputs spliced.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..1024),
        4 => (select(seeds.clone()), proptest::collection::vec(damage(), 1..6))
            .prop_map(|(seed, damages)| apply(seed, &damages)),
        1 => (select(seeds.clone()), select(seeds), any::<Index>(), any::<Index>())
            .prop_map(|(a, b, i, j)| {
                let mut out = a[..i.index(a.len() + 1)].to_vec();
                out.extend_from_slice(&b[j.index(b.len() + 1)..]);
                out
            }),
    ]
}

/// Runs `target` on every corpus input of `name`, then on proptest's inputs within the
/// bounds; panics (fails the test) with the input that made the target panic.
pub fn run(name: &str, target: fn(&[u8])) {
    let seeds = corpus(name);
    assert!(!seeds.is_empty(), "no seed corpus for {name}");
    for (file, data) in &seeds {
        if std::panic::catch_unwind(|| target(data)).is_err() {
            panic!("{name}: corpus input {file} panics");
        }
    }
    let cases: u32 = env_or("FUZZ_HARNESS_CASES", 4096);
    let budget = Duration::from_secs(env_or("FUZZ_HARNESS_SECS", 3));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_time: 30_000,
        ..Config::default()
    });
    let started = Instant::now();
    let ran = std::cell::Cell::new(0u32);
    let result = runner.run(
        &inputs(seeds.into_iter().map(|(_, d)| d).collect()),
        |data| {
            // Past the budget the remaining cases are skipped (shrinking still runs).
            if started.elapsed() < budget {
                ran.set(ran.get() + 1);
                target(&data);
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "{name}: {} generated inputs in {:.1} s",
        ran.get(),
        started.elapsed().as_secs_f64()
    );
}
