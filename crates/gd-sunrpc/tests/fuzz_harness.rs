//! The fuzz targets of this crate (`gd_sunrpc::fuzz`) on stable, in the normal test suite: every
//! target over the committed seed corpus (`fuzz/corpus/`) and over proptest's random and
//! damaged inputs, bounded in cases and time; a panic fails the test with the input. The
//! same functions are cargo-fuzz's targets (`fuzz/`); the shared harness is
//! `fuzz/harness.rs`. For a longer run: `FUZZ_HARNESS_SECS=60 FUZZ_HARNESS_CASES=1000000`.

#[path = "../../../fuzz/harness.rs"]
mod harness;

use gd_sunrpc::fuzz;

#[test]
fn every_target_has_a_cargo_fuzz_binary_and_a_seed_corpus() {
    harness::check_layout("sunrpc_", fuzz::TARGETS);
}

#[test]
fn sunrpc_record() {
    harness::run("sunrpc_record", fuzz::record);
}

#[test]
fn sunrpc_rpc() {
    harness::run("sunrpc_rpc", fuzz::rpc);
}

#[test]
fn sunrpc_auth() {
    harness::run("sunrpc_auth", fuzz::auth);
}

#[test]
fn sunrpc_dict() {
    harness::run("sunrpc_dict", fuzz::dict);
}

#[test]
fn sunrpc_dump() {
    harness::run("sunrpc_dump", fuzz::dump);
}

#[test]
fn sunrpc_handshake() {
    harness::run("sunrpc_handshake", fuzz::handshake);
}

#[test]
fn sunrpc_portmap() {
    harness::run("sunrpc_portmap", fuzz::portmap);
}

#[test]
fn sunrpc_callback() {
    harness::run("sunrpc_callback", fuzz::callback);
}

#[test]
fn sunrpc_stream() {
    harness::run("sunrpc_stream", fuzz::stream);
}
