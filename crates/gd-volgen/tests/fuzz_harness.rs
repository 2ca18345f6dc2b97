//! The fuzz targets of this crate (`gd_volgen::fuzz`) on stable, in the normal test suite: every
//! target over the committed seed corpus (`fuzz/corpus/`) and over proptest's random and
//! damaged inputs, bounded in cases and time; a panic fails the test with the input. The
//! same functions are cargo-fuzz's targets (`fuzz/`); the shared harness is
//! `fuzz/harness.rs`. For a longer run: `FUZZ_HARNESS_SECS=60 FUZZ_HARNESS_CASES=1000000`.

#[path = "../../../fuzz/harness.rs"]
mod harness;

use gd_volgen::fuzz;

#[test]
fn every_target_has_a_cargo_fuzz_binary_and_a_seed_corpus() {
    harness::check_layout("volgen_", fuzz::TARGETS);
}

#[test]
fn volgen_volfile() {
    harness::run("volgen_volfile", fuzz::volfile);
}
