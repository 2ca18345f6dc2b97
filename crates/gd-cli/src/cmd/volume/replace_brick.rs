//! `volume replace-brick`: a new brick in an old one's place (GD1's words, `glustercli volume
//! replace-brick gv0 h2:/old h2:/new commit force`, and without them).

use clap::Args;
use gd_api::{ReplaceBrickReq, VolumeInfo};

use super::{BrickChecks, VOLUMES, parse_brick, parse_volume_name, print_done};
use crate::{cmd::Context, error::CliError};

/// `volume replace-brick`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume replace-brick <NAME> <OLD-BRICK> <NEW-BRICK> [commit force] [OPTIONS]"
)]
pub struct ReplaceBrickArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The brick to replace, HOST:PATH or PEER-ID:PATH (its node may be down), then the new
    /// brick; GD1's `commit force` may follow
    #[arg(value_name = "BRICK", required = true, num_args = 2..=4)]
    pub words: Vec<String>,
    /// The checks to relax for the new brick.
    #[command(flatten)]
    pub checks: BrickChecks,
}

/// The body of `POST /v1/volumes/{name}/replacebrick`, GD1's words read.
pub fn replace_brick_request(args: &ReplaceBrickArgs) -> Result<ReplaceBrickReq, String> {
    let (bricks, tail) = args.words.split_at(args.words.len().min(2));
    if bricks.len() < 2 {
        return Err("replace-brick needs the old brick and the new one".into());
    }
    match tail {
        [] => {}
        [c, f] if c == "commit" && f == "force" => {}
        _ => {
            return Err(format!(
                "unexpected `{}` after the bricks: only GD1's `commit force` may follow",
                tail.join(" ")
            ));
        }
    }
    let old = parse_brick(&bricks[0])?;
    let new = parse_brick(&bricks[1])?;
    if old == new {
        return Err("the new brick is the old one".into());
    }
    Ok(ReplaceBrickReq {
        src_peerid: old.peerid,
        src_host: old.host,
        src_path: old.path,
        dst_peerid: new.peerid,
        dst_host: new.host,
        dst_path: new.path,
        force: args.checks.force,
        flags: args.checks.flags(),
    })
}

/// Runs `volume replace-brick`.
pub async fn replace_brick(ctx: &Context, args: ReplaceBrickArgs) -> Result<(), CliError> {
    let req = replace_brick_request(&args).map_err(CliError::Usage)?;
    let vol: VolumeInfo = ctx
        .client()?
        .post(&format!("{VOLUMES}/{}/replacebrick", args.name), &req)
        .await?;
    print_done(ctx, &vol, "has its new brick")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> ReplaceBrickArgs {
        ReplaceBrickArgs {
            name: "gv0".into(),
            words: words.iter().map(|w| w.to_string()).collect(),
            checks: BrickChecks::default(),
        }
    }

    #[test]
    fn gd1_words_and_bare_bricks() {
        for words in [
            &["h1:/old", "h2:/new"][..],
            &["h1:/old", "h2:/new", "commit", "force"][..],
        ] {
            let r = replace_brick_request(&args(words)).unwrap();
            assert_eq!(
                (r.src_host.as_deref(), r.src_path.as_str()),
                (Some("h1"), "/old")
            );
            assert_eq!(
                (r.dst_host.as_deref(), r.dst_path.as_str()),
                (Some("h2"), "/new")
            );
        }
        assert_eq!(
            replace_brick_request(&args(&["h1:/old", "h2:/new", "commit"])).unwrap_err(),
            "unexpected `commit` after the bricks: only GD1's `commit force` may follow"
        );
        assert_eq!(
            replace_brick_request(&args(&["h1:/b", "h1:/b"])).unwrap_err(),
            "the new brick is the old one"
        );
    }
}
