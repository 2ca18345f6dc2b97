//! `volume statedump <v> [shd] [all|mem|iobuf|callpool|priv|fd|inode|history]...` and `volume
//! statedump <v> client <host>:<pid>`: GD1's words (`shd`: the self-heal daemons instead of the
//! bricks; `client`: a gfapi client); prints where each file was written, or which nodes told
//! the client.

use clap::Args;
use gd_api::{StatedumpReq, StatedumpResp};

use super::{VOLUMES, parse_volume_name};
use crate::{cmd::Context, error::CliError, output};

/// `volume statedump`.
#[derive(Debug, Clone, Args)]
pub struct StatedumpArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// `shd` for the self-heal daemons, then the sections (all, mem, iobuf, callpool, priv,
    /// fd, inode, inodectx, fdctx, history); none: every section
    #[arg(value_name = "WORDS", num_args = 0..=11)]
    pub words: Vec<String>,
}

/// Reads the words into a request.
pub fn statedump_request(args: &StatedumpArgs) -> StatedumpReq {
    if let [first, client] = args.words.as_slice()
        && first == "client"
    {
        return StatedumpReq {
            client: client.clone(),
            ..Default::default()
        };
    }
    let shd = args.words.first().is_some_and(|w| w == "shd");
    StatedumpReq {
        options: args.words.iter().skip(usize::from(shd)).cloned().collect(),
        shd,
        client: String::new(),
    }
}

/// Runs `volume statedump`.
pub async fn statedump(ctx: &Context, args: StatedumpArgs) -> Result<(), CliError> {
    let req = statedump_request(&args);
    let resp: StatedumpResp = ctx
        .client()?
        .post(&format!("{VOLUMES}/{}/statedump", args.name), &req)
        .await?;
    if ctx.json() {
        output::print_json(&resp)?;
    } else {
        let mut lines = vec!["volume statedump: success".to_owned()];
        lines.extend(
            resp.files
                .iter()
                .map(|f| format!("{} (pid {}): {} on {}", f.process, f.pid, f.file, f.node)),
        );
        lines.extend(resp.told.iter().map(|t| {
            format!(
                "client {} told by {} ({} connection(s)); it writes its dump on its own host",
                req.client, t.node, t.connections
            )
        }));
        output::print_line(&lines.join("\n"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gd1_words() {
        let args = |w: &[&str]| StatedumpArgs {
            name: "gv0".into(),
            words: w.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(statedump_request(&args(&[])), StatedumpReq::default());
        let r = statedump_request(&args(&["shd", "mem"]));
        assert!(r.shd && r.options == ["mem"]);
        let r = statedump_request(&args(&["fd", "inode"]));
        assert!(!r.shd && r.options == ["fd", "inode"]);
        let r = statedump_request(&args(&["client", "h1:4242"]));
        assert!(!r.shd && r.options.is_empty() && r.client == "h1:4242");
    }
}
