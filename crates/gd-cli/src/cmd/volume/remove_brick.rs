//! `volume remove-brick`: GD1's words (`remove-brick gv0 [replica N] <bricks…> start|status|
//! stop|commit|force`) over `/v1/volumes/{v}/remove-brick`. `start` moves the files off the
//! bricks, `status` shows how far that has come (as `rebalance status` does), `commit` removes
//! the emptied bricks; `force` removes bricks without moving their files (and lowers a replica
//! count), as GD1's does.

use clap::Args;
use gd_api::{RebalanceStatus, RemoveBrickReq, VolumeInfo};

use super::{
    VOLUMES, parse::parse_count, parse_brick, parse_volume_name, print_done, rebalance::status_text,
};
use crate::{cmd::Context, error::CliError, output};

/// `volume remove-brick`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume remove-brick <NAME> [replica <N>] <BRICK>... start|status|stop|commit|force\n       \
    glustercli volume remove-brick <NAME> <BRICK>... commit force"
)]
pub struct RemoveBrickArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The leaving bricks (HOST:PATH or PEER-ID:PATH; whole sets, or with `replica N` as many
    /// from each set), then what to do: start, status, stop, commit, commit force or force
    #[arg(value_name = "WORDS", required = true, num_args = 1..)]
    pub words: Vec<String>,
}

/// What `volume remove-brick` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Status,
    Stop,
    /// Commit, forced or not (`force` alone is a forced commit).
    Commit {
        force: bool,
    },
}

/// Reads the words: the bricks, GD1's `replica N`, and the action at the end.
pub fn remove_brick_request(args: &RemoveBrickArgs) -> Result<(Action, RemoveBrickReq), String> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let (action, bricks) = match words.as_slice() {
        [rest @ .., "commit", "force"] => (Action::Commit { force: true }, rest),
        [rest @ .., "force"] => (Action::Commit { force: true }, rest),
        [rest @ .., "commit"] => (Action::Commit { force: false }, rest),
        [rest @ .., "start"] => (Action::Start, rest),
        [rest @ .., "stop"] => (Action::Stop, rest),
        [rest @ .., "status"] => (Action::Status, rest),
        _ => {
            return Err(
                "remove-brick needs what to do last: start, status, stop, commit or force".into(),
            );
        }
    };
    let mut req = RemoveBrickReq {
        force: matches!(action, Action::Commit { force: true }),
        ..Default::default()
    };
    let mut words = bricks.iter();
    while let Some(&word) = words.next() {
        if word == "replica" {
            let Some(value) = words.next() else {
                return Err("`replica` needs a value".into());
            };
            if req.replica.is_some() {
                return Err("replica is given more than once".into());
            }
            req.replica = Some(parse_count("replica", value)?);
            continue;
        }
        let brick = parse_brick(word)?;
        if req.bricks.contains(&brick) {
            return Err(format!("the brick {word} is given more than once"));
        }
        req.bricks.push(brick);
    }
    if req.bricks.is_empty() && matches!(action, Action::Start | Action::Commit { .. }) {
        return Err("remove-brick needs the bricks that leave".into());
    }
    Ok((action, req))
}

/// Runs `volume remove-brick`.
pub async fn remove_brick(ctx: &Context, args: RemoveBrickArgs) -> Result<(), CliError> {
    let (action, req) = remove_brick_request(&args).map_err(CliError::Usage)?;
    let client = ctx.client()?;
    let path = format!("{VOLUMES}/{}/remove-brick", args.name);
    let (status, said): (RebalanceStatus, &str) = match action {
        Action::Commit { .. } => {
            let vol: VolumeInfo = client.post(&format!("{path}/commit"), &req).await?;
            return print_done(ctx, &vol, "no longer has the removed bricks");
        }
        Action::Start => (
            client.post(&format!("{path}/start"), &req).await?,
            "started: commit it once status says completed",
        ),
        Action::Stop => (
            client.post(&format!("{path}/stop"), &req).await?,
            "stopped: the bricks stay in the volume",
        ),
        Action::Status => (client.get(&path).await?, ""),
    };
    if ctx.json() {
        output::print_json(&status)?;
    } else {
        if !said.is_empty() {
            output::print_line(&format!(
                "Remove-brick of {} {said} (ID: {})",
                status.volume, status.id
            ))?;
        }
        output::print_line(&status_text(&status))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(words: &[&str]) -> Result<(Action, RemoveBrickReq), String> {
        remove_brick_request(&RemoveBrickArgs {
            name: "gv0".into(),
            words: words.iter().map(|w| w.to_string()).collect(),
        })
    }

    #[test]
    fn gd1_words() {
        let (a, r) = read(&["h1:/b", "h2:/b", "start"]).unwrap();
        assert_eq!(a, Action::Start);
        assert_eq!(r.bricks.len(), 2);
        assert!(!r.force && r.replica.is_none());
        let (a, r) = read(&["replica", "2", "h1:/b", "force"]).unwrap();
        assert_eq!(a, Action::Commit { force: true });
        assert_eq!((r.replica, r.force), (Some(2), true));
        let (a, r) = read(&["h1:/b", "commit", "force"]).unwrap();
        assert_eq!((a, r.force), (Action::Commit { force: true }, true));
        let (a, r) = read(&["h1:/b", "commit"]).unwrap();
        assert_eq!((a, r.force), (Action::Commit { force: false }, false));
        assert_eq!(read(&["status"]).unwrap().0, Action::Status);
        assert_eq!(read(&["h1:/b", "stop"]).unwrap().0, Action::Stop);
    }

    #[test]
    fn bad_words_are_refused() {
        assert_eq!(
            read(&["h1:/b"]).unwrap_err(),
            "remove-brick needs what to do last: start, status, stop, commit or force"
        );
        assert_eq!(
            read(&["start"]).unwrap_err(),
            "remove-brick needs the bricks that leave"
        );
        assert_eq!(
            read(&["h1:/b", "h1:/b", "start"]).unwrap_err(),
            "the brick h1:/b is given more than once"
        );
        assert_eq!(
            read(&["h1:/b", "replica", "force"]).unwrap_err(),
            "`replica` needs a value"
        );
    }
}
