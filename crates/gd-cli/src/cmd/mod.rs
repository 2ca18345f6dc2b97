//! The commands, one module per group, and the context they run in.
//!
//! A command is an `async fn run(ctx: &Context, ...) -> Result<(), CliError>`: it asks the
//! context for a [`Client`], makes its requests and prints through [`crate::output`]. The
//! context resolves the secret and builds the client only when a command needs one, so
//! `completion` works without a daemon or a secret. Dispatching a parsed command line is the
//! command line's own job (`cli::run`), so nothing here needs the whole command tree but
//! `completion`, which is handed it.

pub mod cluster_options;
pub mod completion;
pub mod events;
pub mod options;
pub mod peer;
pub mod state;
pub mod transaction;
pub mod version;
pub mod volume;

use std::{collections::BTreeMap, sync::OnceLock};

use crate::{
    client::{Client, ClientConfig, Credentials},
    error::CliError,
    global::GlobalOpts,
    secret::{self, SECRET_ENV, SecretSource},
};

/// What every command runs with: the global options and, on demand, a client.
#[derive(Debug)]
pub struct Context {
    /// The global options.
    pub global: GlobalOpts,
    secret_source: OnceLock<SecretSource>,
}

impl Context {
    /// A context for `global`.
    pub fn new(global: GlobalOpts) -> Self {
        Self {
            global,
            secret_source: OnceLock::new(),
        }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.global.json
    }

    /// A client of the first endpoint, signing with the resolved secret (if any).
    pub fn client(&self) -> Result<Client, CliError> {
        let env_secret = std::env::var(SECRET_ENV).ok();
        let (secret, source) = secret::resolve(
            self.global.secret.as_deref(),
            self.global.secret_file.as_deref(),
            env_secret,
        )?;
        let _ = self.secret_source.set(source);
        let mut config = ClientConfig::new(self.global.endpoint())
            .timeout(self.global.timeout)
            .insecure(self.global.insecure);
        if let Some(secret) = secret {
            config = config.credentials(Credentials::new(self.global.user.clone(), secret));
        }
        if let Some(ca) = &self.global.cacert {
            config = config.ca_file(ca)?;
        }
        Ok(Client::new(config)?)
    }

    /// Turns a 401 into [`CliError::Unauthorized`], which says where the refused secret came from.
    pub fn explain(&self, e: CliError) -> CliError {
        match e {
            CliError::Client(source) if source.is_unauthorized() => {
                let secret = self
                    .secret_source
                    .get()
                    .cloned()
                    .unwrap_or(SecretSource::Flag);
                CliError::Unauthorized { source, secret }
            }
            e => e,
        }
    }
}

/// Whether metadata passes the `--key`/`--value` filters of `peer list` and `volume list`, as
/// GD2's daemon applies them: key only, the key is there; value only, one of the values equals
/// it; both, the key has that value.
pub fn metadata_matches(
    metadata: &BTreeMap<String, String>,
    key: Option<&str>,
    value: Option<&str>,
) -> bool {
    match (key, value) {
        (None, None) => true,
        (Some(k), None) => metadata.contains_key(k),
        (None, Some(v)) => metadata.values().any(|x| x == v),
        (Some(k), Some(v)) => metadata.get(k).is_some_and(|x| x == v),
    }
}

/// A usage error of the subcommand at `path` (e.g. `["peer", "add"]`): what a command's checks
/// find that clap cannot (a metadata key given twice, a bad layout). The command line turns it
/// into a clap error with that subcommand's usage line (`cli::Cli::check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The subcommand's path under `glustercli`.
    pub path: &'static [&'static str],
    /// What is wrong.
    pub message: String,
}

impl Usage {
    /// A usage error of the subcommand at `path`.
    pub fn at(path: &'static [&'static str], message: impl std::fmt::Display) -> Self {
        Usage {
            path,
            message: message.to_string(),
        }
    }
}
