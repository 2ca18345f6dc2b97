//! `glustercli version`: which glustercli, and which glusterd2 (and API) it talks to.
//!
//! The CLI's own version is printed before the request, so it shows even when the daemon is
//! down; with `--json` only the daemon's `VersionResp` is printed, as the API returns it.

use gd_api::VersionResp;

use crate::{cmd::Context, error::CliError, output};

/// The CLI's version line.
pub fn cli_version_line() -> String {
    format!("glustercli version: {}", env!("CARGO_PKG_VERSION"))
}

/// The daemon's version line.
pub fn daemon_version_line(v: &VersionResp) -> String {
    format!(
        "glusterd2 version: {}, API version: {}",
        v.glusterd_version, v.api_version
    )
}

/// Runs `version`.
pub async fn run(ctx: &Context) -> Result<(), CliError> {
    let client = ctx.client()?;
    if !ctx.json() {
        output::print_line(&cli_version_line())?;
    }
    let v: VersionResp = client.get("/version").await?;
    if ctx.json() {
        output::print_json(&v)?;
    } else {
        output::print_line(&daemon_version_line(&v))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert!(cli_version_line().starts_with("glustercli version: 0."));
        let v = VersionResp {
            glusterd_version: "0.1.0".into(),
            api_version: 1,
        };
        assert_eq!(
            daemon_version_line(&v),
            "glusterd2 version: 0.1.0, API version: 1"
        );
    }
}
