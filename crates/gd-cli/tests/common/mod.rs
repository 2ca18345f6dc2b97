//! The daemon the CLI's tests run `glustercli` against: the real glusterd2, in this process.
//!
//! Why the real one: a hand-written fake answers what its author believed the daemon answers;
//! against the real REST router, store and transaction engine, a test fails when the daemon's
//! answers and the CLI's reading of them part ways (an error text, a field, a status).
//!
//! A test starts a small cluster ([`Daemon::with`]): the node the CLI talks to, assembled and
//! served as `gd_daemon::run` serves one (REST router and SunRPC on 127.0.0.1, its transaction
//! engine and brick reconciler running), and the other peers of the fixture: the online ones
//! are nodes in this process that take part in transactions (so bricks can be checked, marked,
//! stopped on them), the offline ones only their records. They share one in-memory local
//! store, which serves a cluster but lets no node be added to it: the peers' records are
//! written into the store as nodes register themselves ([`peers`]); a test that adds a peer
//! asks for an etcd of its own instead ([`Setup::etcd`]: the cluster's store, and a node waiting
//! to be added). Fixture volumes are created through the API ([`volumes`]). The recorder in
//! front of the router keeps every request, so tests assert exactly what the CLI sent
//! ([`Daemon::requests`]). Everything runs on a runtime of the [`Daemon`]'s own (the tests
//! block on the CLI process) and stops when it is dropped, the brick processes it started too.
//!
//! Parts: [`daemon`] (every path into the daemon's crates, and only that), [`server`] (the
//! running cluster, its setup and recorder), [`peers`] and [`volumes`] (the fixtures),
//! [`stub`] (answers the real daemon cannot be driven to give: garbled, failing, silent, and a
//! stop's warning that takes it 10 s), and [`tables`] (expected tables whose cells vary).
//! Also here: the helpers that run the CLI ([`cli`], [`cli_for`], [`stdout_of`]) and
//! [`fixture`].

#![allow(dead_code)] // each test file uses a part

mod daemon;
mod peers;
mod server;
mod stub;
mod tables;
mod volumes;

use std::path::PathBuf;

// Each test file uses a part, hence the allows.
#[allow(unused_imports)]
pub use peers::{NODE1, NODE2, NODE3, brick_peers, node3, peers};
#[allow(unused_imports)]
pub use server::{Daemon, JOINER, Recorded, SECRET, Setup, THIS_NODE};
#[allow(unused_imports)]
pub use stub::{Behaviour, KILLED, Stub};
#[allow(unused_imports)]
pub use tables::{groups_table, options_table, table, volume_status};
#[allow(unused_imports)]
pub use volumes::{DISTRIBUTE_DEFAULTS, REPLICATE_DEFAULTS, THIS_HOST, options_of, options_text};

/// Something `glustercli` can be pointed at.
pub trait Endpoint {
    /// The endpoint to pass to `--endpoints`.
    fn endpoint(&self) -> String;
}

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
pub fn cli_for(server: &impl Endpoint) -> assert_cmd::Command {
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
