//! `volume reset-brick`: a brick taken out of service where it stands while its disk is
//! replaced, then brought back (GD1's words: `reset-brick gv0 h2:/b start`, `reset-brick gv0
//! h2:/b h2:/b commit [force]`).

use clap::Args;
use gd_api::{ResetBrickReq, VolumeInfo};

use super::{VOLUMES, parse_brick, parse_volume_name, print_done};
use crate::{cmd::Context, error::CliError};

/// `volume reset-brick`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume reset-brick <NAME> <BRICK> start\n       \
    glustercli volume reset-brick <NAME> <BRICK> <BRICK> commit [force]"
)]
pub struct ResetBrickArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The brick (HOST:PATH or PEER-ID:PATH), then `start`; or the brick twice, then `commit`
    /// or `commit force` (force reuses a directory that still holds the volume's data)
    #[arg(value_name = "WORDS", required = true, num_args = 2..=4)]
    pub words: Vec<String>,
}

/// Whether `volume reset-brick` starts or commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Commit,
}

/// Reads GD1's words.
pub fn reset_brick_request(args: &ResetBrickArgs) -> Result<(Action, ResetBrickReq), String> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let (action, brick, force) = match words.as_slice() {
        [b, "start"] => (Action::Start, *b, false),
        [b, again, "commit"] | [b, again, "commit", "force"] => {
            if parse_brick(b)? != parse_brick(again)? {
                return Err(
                    "reset-brick commit names the same brick twice (another brick: replace-brick)"
                        .into(),
                );
            }
            (Action::Commit, *b, words.len() == 4)
        }
        _ => {
            return Err(
                "use reset-brick <NAME> <BRICK> start, or <NAME> <BRICK> <BRICK> commit [force]"
                    .into(),
            );
        }
    };
    let b = parse_brick(brick)?;
    Ok((
        action,
        ResetBrickReq {
            peerid: b.peerid,
            host: b.host,
            path: b.path,
            force,
        },
    ))
}

/// Runs `volume reset-brick`.
pub async fn reset_brick(ctx: &Context, args: ResetBrickArgs) -> Result<(), CliError> {
    let (action, req) = reset_brick_request(&args).map_err(CliError::Usage)?;
    let (path, said) = match action {
        Action::Start => (
            "start",
            "has the brick stopped: replace its disk, then commit",
        ),
        Action::Commit => (
            "commit",
            "has the brick back: the self-heal daemons fill it",
        ),
    };
    let vol: VolumeInfo = ctx
        .client()?
        .post(&format!("{VOLUMES}/{}/reset-brick/{path}", args.name), &req)
        .await?;
    print_done(ctx, &vol, said)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(words: &[&str]) -> Result<(Action, ResetBrickReq), String> {
        reset_brick_request(&ResetBrickArgs {
            name: "gv0".into(),
            words: words.iter().map(|w| w.to_string()).collect(),
        })
    }

    #[test]
    fn gd1_words() {
        let (a, r) = read(&["h2:/b", "start"]).unwrap();
        assert_eq!(
            (a, r.host.as_deref(), r.path.as_str(), r.force),
            (Action::Start, Some("h2"), "/b", false)
        );
        let (a, r) = read(&["h2:/b", "h2:/b", "commit"]).unwrap();
        assert_eq!((a, r.force), (Action::Commit, false));
        let (a, r) = read(&["h2:/b", "h2:/b", "commit", "force"]).unwrap();
        assert_eq!((a, r.force), (Action::Commit, true));
    }

    #[test]
    fn bad_words_are_refused() {
        assert!(
            read(&["h2:/b", "h3:/b", "commit"])
                .unwrap_err()
                .contains("replace-brick")
        );
        assert!(
            read(&["h2:/b", "commit"])
                .unwrap_err()
                .starts_with("use reset-brick")
        );
        assert!(
            read(&["h2:/b", "stop"])
                .unwrap_err()
                .starts_with("use reset-brick")
        );
    }
}
