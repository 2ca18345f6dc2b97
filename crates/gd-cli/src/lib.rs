//! glustercli, the command line of glusterd2's REST API, as a library.
//!
//! The binary (`src/main.rs`) only parses the command line and maps the outcome to an exit
//! status; everything else lives here so that it can be unit tested, and so that the daemon's
//! end-to-end tests can reuse the REST [`client`] the CLI uses (one implementation of GD2's
//! request signing and error decoding).
//!
//! Layout: [`cli`] (flags and command tree), [`cmd`] (one module per command group),
//! [`client`] (typed REST client), [`secret`] (where the secret comes from), [`output`]
//! (tables and JSON), [`error`] (messages, hints, exit codes).

#![warn(missing_docs)]

pub mod cli;
pub mod client;
pub mod cmd;
pub mod error;
pub mod global;
pub mod output;
pub mod secret;

pub use cli::{Cli, run};
pub use client::{Client, ClientConfig, ClientError, Credentials};
pub use error::CliError;
