//! The options every command shares (`--endpoints`, the secret, `--timeout`, `--json`, TLS),
//! accepted before or after the command.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use crate::client::{DEFAULT_ENDPOINT, Url, parse_endpoint};

/// Options shared by every command (accepted before or after the command).
///
/// Under their own help heading: otherwise clap interleaves them with a subcommand's own options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalOpts {
    /// glusterd2 endpoints, comma-separated (only the first one is used)
    #[arg(
        long,
        global = true,
        env = "GD2_ENDPOINTS",
        value_delimiter = ',',
        default_value = DEFAULT_ENDPOINT,
        value_parser = parse_endpoint,
        value_name = "URL,..."
    )]
    pub endpoints: Vec<Url>,

    /// File holding the REST secret [default: $GD2_STATE_DIR/auth or /var/lib/glusterd2/auth, if it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// The REST secret itself (overrides --secret-file and $GD2_AUTH_SECRET)
    #[arg(long, global = true, value_name = "SECRET")]
    pub secret: Option<String>,

    /// The user (JWT issuer) requests are signed as
    #[arg(long, global = true, default_value = gd_auth::CLI_USER)]
    pub user: String,

    /// Request timeout, e.g. 30s, 2m, 1m30s
    #[arg(long, global = true, default_value = "30s", value_parser = parse_timeout, value_name = "DURATION")]
    pub timeout: Duration,

    /// Print the API's JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// PEM file of the CA that signed glusterd2's certificate (https endpoints)
    #[arg(long, global = true, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Do not verify glusterd2's TLS certificate
    #[arg(long, global = true)]
    pub insecure: bool,
}

impl GlobalOpts {
    /// The endpoint requests go to: the first of `--endpoints`.
    pub fn endpoint(&self) -> Url {
        // clap's default and parser guarantee at least one; a hand-built value may have none.
        self.endpoints.first().cloned().unwrap_or_else(|| {
            parse_endpoint(DEFAULT_ENDPOINT).expect("the default endpoint is valid")
        })
    }
}

/// Parses `--timeout`: a humantime duration, not zero.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration {s:?}: {e}"))?;
    if d.is_zero() {
        return Err("the timeout must be greater than zero".to_owned());
    }
    Ok(d)
}
