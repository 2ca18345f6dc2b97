//! Fuzz target of the volfile parser, the one decoder of outside text in this crate.
//!
//! [`Graph::parse`] reads text nobody vouched for (a volfile given to glusterd2, GD1's files
//! on migration), so it must never panic, stay bounded, and return only graphs it can print
//! back. The target is a plain function so that two harnesses run the same code: cargo-fuzz
//! (`fuzz/` at the repository root, `RUSTC_BOOTSTRAP=1 cargo fuzz run volgen_volfile`, seed
//! corpus from GD1's volfiles in `fuzz/corpus/volgen_volfile/`) and `tests/fuzz_harness.rs`
//! in the normal test suite on stable (the corpus and proptest's inputs, bounded).
//!
//! Checked for every input that parses: the graph validates, prints, parses back to itself,
//! and prints to the same text again (the printer is a fixed point). A failed check panics.
//!
//! Not a stable API: hidden from the docs, used by the harnesses only.

use crate::graph::Graph;

/// A target: the name of its cargo-fuzz binary and corpus directory, and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target of this crate, by the name of its cargo-fuzz binary and corpus directory.
pub const TARGETS: &[Target] = &[("volgen_volfile", volfile)];

/// The volfile parser over `data` (taken as UTF-8; other bytes are not text and are refused
/// before any parser sees them).
pub fn volfile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let graph = match Graph::parse(text) {
        Ok(g) => g,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    graph.validate().expect("a parsed graph is valid");
    let printed = graph.to_volfile().expect("a parsed graph prints");
    let again = Graph::parse(&printed).expect("a printed graph parses");
    assert_eq!(again, graph, "parse(print(g)) == g");
    assert_eq!(
        again.to_volfile().expect("prints again"),
        printed,
        "the printer is a fixed point"
    );
}
