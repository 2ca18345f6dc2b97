//! `volume rebalance`: GD1's words (`rebalance gv0 start [force]`, `rebalance gv0 fix-layout
//! start`, `stop`, `status`), over GD2's routes. `status --watch` redraws the nodes' progress
//! every second until the rebalance ends.

use std::io::IsTerminal;

use clap::Args;
use gd_api::{RebalanceStartReq, RebalanceStatus};

use super::{VOLUMES, parse_volume_name};
use crate::{cmd::Context, error::CliError, output};

/// `volume rebalance`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume rebalance <NAME> start [force]\n       \
    glustercli volume rebalance <NAME> fix-layout start\n       \
    glustercli volume rebalance <NAME> stop\n       \
    glustercli volume rebalance <NAME> status [--watch]"
)]
pub struct RebalanceArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// What to do: `start`, `start force`, `fix-layout start`, `stop` or `status`
    #[arg(value_name = "ACTION", required = true, num_args = 1..=2)]
    pub action: Vec<String>,
    /// With `status`: redraw the progress every second until the rebalance ends
    #[arg(long)]
    pub watch: bool,
}

/// What `volume rebalance` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start, with GD2's option ("", "fix-layout", "force").
    Start(String),
    /// Stop the running rebalance.
    Stop,
    /// Show the last rebalance.
    Status,
}

/// Reads the action words (GD1's order).
pub fn rebalance_action(args: &RebalanceArgs) -> Result<Action, String> {
    let words: Vec<&str> = args.action.iter().map(String::as_str).collect();
    let action = match words.as_slice() {
        ["start"] => Action::Start(String::new()),
        ["start", "force"] => Action::Start("force".into()),
        ["fix-layout", "start"] => Action::Start("fix-layout".into()),
        ["stop"] => Action::Stop,
        ["status"] => Action::Status,
        _ => {
            return Err(format!(
                "unknown rebalance action `{}`: use start [force], fix-layout start, stop or status",
                words.join(" ")
            ));
        }
    };
    if args.watch && action != Action::Status {
        return Err("--watch goes with status".into());
    }
    Ok(action)
}

/// Runs `volume rebalance`.
pub async fn rebalance(ctx: &Context, args: RebalanceArgs) -> Result<(), CliError> {
    let action = rebalance_action(&args).map_err(CliError::Usage)?;
    let client = ctx.client()?;
    let path = format!("{VOLUMES}/{}/rebalance", args.name);
    let (status, said): (RebalanceStatus, &str) = match action {
        Action::Start(option) => (
            client
                .post(&format!("{path}/start"), &RebalanceStartReq { option })
                .await?,
            "started",
        ),
        Action::Stop => (client.post(&format!("{path}/stop"), &()).await?, "stopped"),
        Action::Status if args.watch => return watch(ctx, &path).await,
        Action::Status => (client.get(&path).await?, ""),
    };
    if ctx.json() {
        output::print_json(&status)?;
    } else {
        if !said.is_empty() {
            output::print_line(&format!(
                "Rebalance of {} {said} (ID: {})",
                status.volume, status.id
            ))?;
        }
        output::print_line(&status_text(&status))?;
    }
    Ok(())
}

/// Redraws the status every second until the rebalance has ended.
async fn watch(ctx: &Context, path: &str) -> Result<(), CliError> {
    let client = ctx.client()?;
    let clear = std::io::stdout().is_terminal() && !ctx.json();
    loop {
        let status: RebalanceStatus = client.get(path).await?;
        if ctx.json() {
            output::print_line(&serde_json::to_string(&status).map_err(std::io::Error::other)?)?;
        } else {
            if clear {
                // Home and clear the screen: the view is redrawn in place.
                output::print_line("\x1b[H\x1b[2J")?;
            }
            output::print_line(&status_text(&status))?;
        }
        if status.status.ended() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// GD1's status table, a progress bar per node, and the overall state.
pub fn status_text(s: &RebalanceStatus) -> String {
    let mut t = output::table([
        "Node",
        "Rebalanced-files",
        "Size",
        "Scanned",
        "Failures",
        "Skipped",
        "Status",
        "Run time in h:m:s",
        "Progress",
    ]);
    for n in &s.nodes {
        let state = if n.online {
            n.status.as_str().to_owned()
        } else {
            format!("{} (node offline)", n.status.as_str())
        };
        t.add_row(vec![
            n.node.clone(),
            n.files.to_string(),
            super::print::human_size(n.size),
            n.lookups.to_string(),
            n.failed.to_string(),
            n.skipped.to_string(),
            state,
            hms(n.run_time),
            bar(n),
        ]);
    }
    // A remove-brick's migration says so, with the bricks it empties.
    let what = if s.removing.is_empty() {
        "rebalance"
    } else {
        "remove-brick"
    };
    let mut text = format!("{t}\nvolume {what}: {}: {}", s.volume, s.status.as_str());
    if !s.removing.is_empty() {
        text.push_str(&format!(" (leaving: {})", s.removing.join(" ")));
    }
    if !s.message.is_empty() {
        text.push_str(&format!(" ({})", s.message));
    }
    for n in s.nodes.iter().filter(|n| !n.message.is_empty()) {
        text.push_str(&format!("\n{}: {}", n.node, n.message));
    }
    text
}

/// A node's progress: ended is full; running is its run time over run time and time left
/// (the process's own estimate), or unknown until it has one.
fn bar(n: &gd_api::RebalanceNode) -> String {
    const WIDTH: usize = 20;
    let fraction = if n.status.ended() {
        1.0
    } else if n.time_left > 0 && n.run_time > 0.0 {
        n.run_time / (n.run_time + n.time_left as f64)
    } else {
        return format!("[{}] ?", ".".repeat(WIDTH));
    };
    let full = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
    format!(
        "[{}{}] {:>3}%",
        "#".repeat(full),
        ".".repeat(WIDTH - full),
        (fraction * 100.0).round() as u32
    )
}

/// Seconds as h:m:s.
fn hms(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{}:{}:{}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str], watch: bool) -> RebalanceArgs {
        RebalanceArgs {
            name: "gv0".into(),
            action: words.iter().map(|w| w.to_string()).collect(),
            watch,
        }
    }

    #[test]
    fn gd1_words_make_actions() {
        assert_eq!(
            rebalance_action(&args(&["start"], false)),
            Ok(Action::Start(String::new()))
        );
        assert_eq!(
            rebalance_action(&args(&["fix-layout", "start"], false)),
            Ok(Action::Start("fix-layout".into()))
        );
        assert_eq!(
            rebalance_action(&args(&["start", "force"], false)),
            Ok(Action::Start("force".into()))
        );
        assert_eq!(
            rebalance_action(&args(&["status"], true)),
            Ok(Action::Status)
        );
        assert_eq!(
            rebalance_action(&args(&["start", "fix-layout"], false)).unwrap_err(),
            "unknown rebalance action `start fix-layout`: use start [force], fix-layout start, stop or status"
        );
        assert_eq!(
            rebalance_action(&args(&["stop"], true)).unwrap_err(),
            "--watch goes with status"
        );
    }

    #[test]
    fn figures_read_as_gd1_prints_them() {
        assert_eq!(super::super::print::human_size(512), "512Bytes");
        assert_eq!(super::super::print::human_size(1536), "1.5KB");
        assert_eq!(super::super::print::human_size(3 << 30), "3.0GB");
        assert_eq!(hms(3725.9), "1:2:5");
    }
}
