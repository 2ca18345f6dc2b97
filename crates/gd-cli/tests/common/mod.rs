//! A fake glusterd2 for the CLI's tests: `/version`, `/v1/peers` (list, add) and
//! `/v1/peers/{id}` (edit, remove), `/v1/volumes` (list, create), `/v1/volumes/{name}` (info,
//! delete) with `.../start`, `.../stop`, `.../bricks` and `.../options` (set, list, get one,
//! reset), `/v1/volumes/options-group` (list, create, delete), `/v1/cluster/options` (get,
//! set), GD2's token check, and a few ways to misbehave. It runs on its own thread (the tests
//! themselves block on the CLI process) and stops when dropped.
//!
//! It records every request it receives ([`FakeServer::requests`]) so tests can assert exactly
//! what the CLI sent, and it keeps its peers, volumes, option groups and cluster options in
//! memory, so an edit, a creation or a removal shows in the next command against the same
//! server. Its rules follow GD2's (gd2.md §3.3-3.5, §5) only as far as the CLI's tests need
//! answers to print: it lays a created volume out as the request says and does not validate
//! the layout (that is the CLI's and the daemon's job).
//!
//! This module is what the test files call: the helpers that run the CLI against the fake
//! ([`cli`], [`cli_for`], [`stdout_of`]), [`fixture`], and every public item of the parts,
//! re-exported. The parts, by job: [`server`] (the running fake, its setup, its routes),
//! [`layers`] (recording and GD2's token check), [`refusal`] (GD2's error answers), [`peers`],
//! [`volumes`] and [`layout`] (a create request laid out as a volume), and [`options`] (volume
//! options, option groups, cluster options).

#![allow(dead_code)] // each test file uses a part

mod layers;
mod layout;
mod options;
mod peers;
mod refusal;
mod server;
mod volumes;

use std::path::PathBuf;

// Each test file uses a part of what the fake offers, hence the allows.
#[allow(unused_imports)]
pub use layout::build_volume;
#[allow(unused_imports)]
pub use options::{cluster_options, option_groups, option_table, resolve_option};
#[allow(unused_imports)]
pub use peers::{NEW_PEER_ID, UNREACHABLE_HOST, peers};
#[allow(unused_imports)]
pub use server::{Behaviour, FakeServer, Recorded, SECRET, Setup, version};
#[allow(unused_imports)]
pub use volumes::{DIST_ID, GV0_ID, NEW_VOLUME_ID, volumes};

/// A test fixture's path.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `glustercli` with a clean environment (no GD2_* variables from the developer's shell).
pub fn cli() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_glustercli"));
    c.env_remove("GD2_ENDPOINTS")
        .env_remove("GD2_AUTH_SECRET")
        .env_remove("GD2_STATE_DIR");
    c
}

/// `glustercli --endpoints <server> --secret <SECRET>`.
pub fn cli_for(server: &FakeServer) -> assert_cmd::Command {
    let mut c = cli();
    c.args(["--endpoints", &server.endpoint(), "--secret", SECRET]);
    c
}

/// Runs the CLI, asserts that it succeeded and returns its stdout.
pub fn stdout_of(c: &mut assert_cmd::Command) -> String {
    let out = c.output().expect("run glustercli");
    assert!(
        out.status.success(),
        "glustercli failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}
