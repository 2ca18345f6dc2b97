//! `volume profile <v> start|stop|info [peek|incremental [peek]|cumulative|clear]`: GD1's words
//! over GD2's routes, each brick's counters printed as GD1 prints them.

use clap::Args;
use gd_api::{BrickProfile, ProfileInterval, VolumeInfo};

use super::{VOLUMES, parse_volume_name};
use crate::{cmd::Context, error::CliError, output};

/// `volume profile`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume profile <NAME> start|stop\n       \
    glustercli volume profile <NAME> info [peek|incremental [peek]|cumulative|clear]"
)]
pub struct ProfileArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// start, stop, or info [peek|incremental [peek]|cumulative|clear]
    #[arg(value_name = "WORDS", required = true, num_args = 1..=3)]
    pub words: Vec<String>,
}

/// What `volume profile` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start (true) or stop profiling.
    Switch(bool),
    /// Look: GD2's option word.
    Info(&'static str),
}

/// Reads GD1's words.
pub fn profile_action(args: &ProfileArgs) -> Result<Action, String> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    Ok(match words.as_slice() {
        ["start"] => Action::Switch(true),
        ["stop"] => Action::Switch(false),
        ["info"] => Action::Info("info"),
        ["info", "peek"] => Action::Info("info-peek"),
        ["info", "incremental"] => Action::Info("info-incremental"),
        ["info", "incremental", "peek"] => Action::Info("info-incremental-peek"),
        ["info", "cumulative"] => Action::Info("info-cumulative"),
        ["info", "clear"] => Action::Info("info-clear"),
        _ => {
            return Err(format!(
                "unknown profile command `{}`: use start, stop, or info [peek|incremental \
                 [peek]|cumulative|clear]",
                words.join(" ")
            ));
        }
    })
}

/// Runs `volume profile`.
pub async fn profile(ctx: &Context, args: ProfileArgs) -> Result<(), CliError> {
    let action = profile_action(&args).map_err(CliError::Usage)?;
    let client = ctx.client()?;
    let path = format!("{VOLUMES}/{}/profile", args.name);
    match action {
        Action::Switch(on) => {
            let word = if on { "start" } else { "stop" };
            let vol: VolumeInfo = client.post(&format!("{path}/{word}"), &()).await?;
            if ctx.json() {
                output::print_json(&vol)?;
            } else {
                let done = if on { "Starting" } else { "Stopping" };
                output::print_line(&format!(
                    "{done} volume profile on {} has been successful",
                    vol.name
                ))?;
            }
        }
        Action::Info(option) => {
            let bricks: Vec<BrickProfile> = client.get(&format!("{path}/{option}")).await?;
            if ctx.json() {
                output::print_json(&bricks)?;
            } else {
                output::print_line(&profile_text(&bricks))?;
            }
        }
    }
    Ok(())
}

/// GD1's profile text: per brick, its spans' block sizes, fop latencies and totals.
pub fn profile_text(bricks: &[BrickProfile]) -> String {
    let mut out = vec![];
    for b in bricks {
        let head = format!("Brick: {}", b.brick);
        out.push(head.clone());
        out.push("-".repeat(head.len()));
        if let Some(cleared) = b.cleared {
            out.push(
                if cleared {
                    "Cleared stats."
                } else {
                    "Failed to clear stats."
                }
                .into(),
            );
        }
        for span in [&b.cumulative, &b.interval].into_iter().flatten() {
            out.extend(span_lines(span));
        }
    }
    out.join("\n")
}

fn span_lines(s: &ProfileInterval) -> Vec<String> {
    let mut out = vec![if s.number == -1 {
        "Cumulative Stats:".to_owned()
    } else {
        format!("Interval {} Stats:", s.number)
    }];
    for chunk in s.block_sizes.chunks(3) {
        let mut sizes = format!("{:>14}", "Block Size:");
        let mut reads = format!("{:>14}", "No. of Reads:");
        let mut writes = format!("{:>14}", "No. of Writes:");
        for c in chunk {
            sizes.push_str(&format!("{:>19}b+ ", c.size));
            reads.push_str(&format!("{:>21} ", c.reads));
            writes.push_str(&format!("{:>21} ", c.writes));
        }
        out.extend([sizes, reads, writes, " ".into()]);
    }
    if !s.fops.is_empty() {
        let total: f64 = s.fops.iter().map(|f| f.avg_latency * f.hits as f64).sum();
        let mut rows: Vec<(f64, &gd_api::FopStats)> = s
            .fops
            .iter()
            .map(|f| {
                let share = if total > 0.0 {
                    100.0 * f.avg_latency * f.hits as f64 / total
                } else {
                    0.0
                };
                (share, f)
            })
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.push(format!(
            "{:>10} {:>13} {:>13} {:>13} {:>14} {:>11}",
            "%-latency", "Avg-latency", "Min-Latency", "Max-Latency", "No. of calls", "Fop"
        ));
        out.push(format!(
            "{:>10} {:>13} {:>13} {:>13} {:>14} {:>11}",
            "---------", "-----------", "-----------", "-----------", "------------", "----"
        ));
        for (share, f) in rows {
            out.push(format!(
                "{share:>10.2} {:>10.2} ns {:>10.2} ns {:>10.2} ns {:>14} {:>11}",
                f.avg_latency, f.min_latency, f.max_latency, f.hits, f.fop
            ));
        }
    }
    out.push(" ".into());
    out.push(format!("{:>12}: {} seconds", "Duration", s.duration));
    out.push(format!("{:>12}: {} bytes", "Data Read", s.total_read));
    out.push(format!("{:>12}: {} bytes", "Data Written", s.total_write));
    out.push(" ".into());
    out
}

#[cfg(test)]
mod tests {
    use gd_api::{BlockCount, FopStats};

    use super::*;

    #[test]
    fn gd1_words() {
        let read = |w: &[&str]| {
            profile_action(&ProfileArgs {
                name: "gv0".into(),
                words: w.iter().map(|s| s.to_string()).collect(),
            })
        };
        assert_eq!(read(&["start"]), Ok(Action::Switch(true)));
        assert_eq!(read(&["info"]), Ok(Action::Info("info")));
        assert_eq!(
            read(&["info", "incremental", "peek"]),
            Ok(Action::Info("info-incremental-peek"))
        );
        assert!(read(&["info", "everything"]).is_err());
        assert!(read(&["begin"]).is_err());
    }

    #[test]
    fn prints_as_gd1() {
        let fop = |fop: &str, hits, avg| FopStats {
            fop: fop.into(),
            hits,
            avg_latency: avg,
            min_latency: avg,
            max_latency: avg,
        };
        let b = BrickProfile {
            brick: "h1:/b".into(),
            cumulative: Some(ProfileInterval {
                number: -1,
                duration: 42,
                total_read: 0,
                total_write: 8192,
                block_sizes: vec![BlockCount {
                    size: 4096,
                    reads: 0,
                    writes: 2,
                }],
                fops: vec![fop("WRITE", 2, 3000.0), fop("LOOKUP", 4, 500.0)],
            }),
            ..Default::default()
        };
        let text = profile_text(&[b]);
        assert!(
            text.starts_with("Brick: h1:/b\n------------\nCumulative Stats:\n"),
            "{text}"
        );
        assert!(
            text.contains("\n   Block Size:               4096b+ \n"),
            "{text}"
        );
        assert!(
            text.contains("\nNo. of Writes:                    2 \n"),
            "{text}"
        );
        // Sorted by share of the latency: LOOKUP (25%) before WRITE (75%).
        let lookup = text.find("LOOKUP").unwrap();
        let write = text.find("WRITE").unwrap();
        assert!(lookup < write, "{text}");
        assert!(
            text.contains(
                "     75.00    3000.00 ns    3000.00 ns    3000.00 ns              2       WRITE"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "    Duration: 42 seconds\n   Data Read: 0 bytes\nData Written: 8192 bytes"
            ),
            "{text}"
        );
    }
}
