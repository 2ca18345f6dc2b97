//! Volgen: volfiles from volume records, as pure code.
//!
//! Every GlusterFS process runs the translator graph its volfile describes: a brick
//! (`glusterfsd`) serves one brick directory, a client (FUSE mount, gfapi) assembles the volume
//! out of all bricks, the self-heal daemon repairs replicas and fragments. glusterd2 generates
//! these volfiles from the volume record in the store and serves them over SunRPC. This crate
//! is that generation and nothing else: a [`Volume`] in, a [`Graph`] out, no I/O, no clock, no
//! global state, so the same record gives the same bytes on every node.
//!
//! The graphs are GD1's (glusterd 10.3): the same translators, in the same order, with the same
//! names and the same options, byte for byte in the files GD1 writes. Matching GD1 exactly is
//! what lets the real binaries run as they do under GD1, lets a GD1 cluster migrate without
//! renaming a translator (AFR keeps heal state in xattrs named after client translators), and
//! lets the tests diff our output against volfiles GD1 generated (`tests/fixtures/`).
//!
//! - [`graph`]: the volfile model, its parser and its printer.
//! - [`volume`]: the input: volume, bricks, options.
//! - [`options`]: how volume options (`cluster.quorum-type`) land on translators; a small
//!   built-in table now, the full table read from the installed xlators later.
//! - [`generate`]: the graph builders: brick, client, self-heal daemon.
//!
//! [`fuzz`] (hidden) holds the volfile parser's fuzz target, run by cargo-fuzz (`fuzz/` at the
//! repository root) and, on stable, by `tests/fuzz_harness.rs`.

#[doc(hidden)]
pub mod fuzz;
pub mod generate;
pub mod graph;
pub mod options;
pub mod volume;

pub use generate::{
    BrickEnv, ClientKind, Volgen, brick_volfile, client_volfile, rebalance_volfile, shd_volfile,
};
pub use graph::{Graph, MAX_VOLFILE_BYTES, Xlator};
pub use options::{Action, GraphKind, Graphs, OptionEntry, OptionTable};
pub use volume::{
    Brick, BrickPathError, Transport, Volume, VolumeOptions, VolumeType, check_brick_path,
};

/// Everything that can go wrong in this crate. Each variant says what was refused and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Volfile text that does not parse.
    #[error("volfile line {line}: {message}")]
    Parse {
        /// The 1-based line the problem was found on.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// A graph that glusterfs could not load or the printer could not write unambiguously.
    #[error("invalid graph: {0}")]
    InvalidGraph(String),
    /// A volume record that volgen cannot turn into a graph (bad name, brick count, path, …).
    #[error("invalid volume: {0}")]
    InvalidVolume(String),
    /// A volume option whose value cannot be used.
    #[error("volume option {key}={value:?}: {reason}")]
    InvalidOption {
        /// The option key (`cluster.quorum-type`).
        key: String,
        /// The refused value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A volume option that turns on a feature volgen does not generate yet.
    #[error("volume option {key}={value:?} turns on a feature volgen does not support yet")]
    Unsupported {
        /// The option key.
        key: String,
        /// Its value.
        value: String,
    },
    /// No brick of the volume has the given position.
    #[error("volume {volume:?} has no brick at position {position}")]
    NoSuchBrick {
        /// The volume name.
        volume: String,
        /// The requested position in the brick list.
        position: usize,
    },
    /// The self-heal daemon graph was asked for volumes none of which heals.
    #[error("no replicate, arbiter or disperse volume to build a self-heal daemon graph for")]
    NothingToHeal,
    /// The rebalance graph was asked for a volume of one replicate, disperse or single-brick
    /// set: data has nowhere to move.
    #[error("volume {0} has one set of bricks: there is nothing to rebalance")]
    NothingToRebalance(String),
}
