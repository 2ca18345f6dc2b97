//! `volume top <v> open|read|write|opendir|readdir|read-perf|write-perf|clear [bs <n> count
//! <n>] [brick <b>] [list-cnt <n>]`: GD1's words, each brick's list printed as GD1 prints it.

use clap::Args;
use gd_api::BrickTop;

use super::{VOLUMES, parse_volume_name};
use crate::{client::encode_path, cmd::Context, error::CliError, output};

/// `volume top`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume top <NAME> open|read|write|opendir|readdir|clear [brick <BRICK>] [list-cnt <N>]\n       \
    glustercli volume top <NAME> read-perf|write-perf [bs <SIZE> count <N>] [brick <BRICK>] [list-cnt <N>]"
)]
pub struct TopArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The metric, then GD1's `bs <n> count <n>`, `brick <b>`, `list-cnt <n>`
    #[arg(value_name = "WORDS", required = true, num_args = 1..=9)]
    pub words: Vec<String>,
}

/// Reads GD1's words into the metric and the query.
pub fn top_query(args: &TopArgs) -> Result<(String, Vec<(String, String)>), String> {
    let (metric, rest) = args.words.split_first().ok_or("name the metric")?;
    let metrics = [
        "open",
        "read",
        "write",
        "opendir",
        "readdir",
        "read-perf",
        "write-perf",
        "clear",
    ];
    if !metrics.contains(&metric.as_str()) {
        return Err(format!(
            "unknown top metric `{metric}`: use {}",
            metrics.join(", ")
        ));
    }
    let mut query = vec![];
    let mut words = rest.iter();
    while let Some(w) = words.next() {
        let key = match w.as_str() {
            "bs" | "count" | "brick" | "list-cnt" => w.clone(),
            other => {
                return Err(format!(
                    "unknown top word `{other}`: use bs, count, brick or list-cnt"
                ));
            }
        };
        let value = words
            .next()
            .ok_or_else(|| format!("`{key}` needs a value"))?;
        if key != "brick" && value.parse::<u32>().is_err() {
            return Err(format!("`{key}` is a number, not `{value}`"));
        }
        query.push((key, value.clone()));
    }
    Ok((metric.clone(), query))
}

/// Runs `volume top`.
pub async fn top(ctx: &Context, args: TopArgs) -> Result<(), CliError> {
    let (metric, query) = top_query(&args).map_err(CliError::Usage)?;
    let mut path = format!("{VOLUMES}/{}/top/{metric}", args.name);
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_path(v, false)))
            .collect();
        path = format!("{path}?{}", q.join("&"));
    }
    let client = ctx.client()?;
    let bricks: Vec<BrickTop> = if metric == "clear" {
        client.post(&path, &()).await?
    } else {
        client.get(&path).await?
    };
    if ctx.json() {
        output::print_json(&bricks)?;
    } else {
        output::print_line(&top_text(&metric, &bricks))?;
    }
    Ok(())
}

/// GD1's text of `volume top`.
pub fn top_text(metric: &str, bricks: &[BrickTop]) -> String {
    let mut out = vec![];
    for b in bricks {
        if let Some(cleared) = b.cleared {
            out.push(if cleared {
                format!("Cleared stats for brick {}", b.brick)
            } else {
                format!("Failed to clear stats for brick {}", b.brick)
            });
            continue;
        }
        out.push(format!("Brick: {}", b.brick));
        if let (Some(cur), Some(max)) = (b.current_open, b.max_open) {
            out.push(format!(
                "Current open fds: {cur}, Max open fds: {max}, Max openfd time: {}",
                b.max_open_time.as_deref().unwrap_or("")
            ));
        }
        if metric.ends_with("-perf") {
            if let (Some(t), Some(s)) = (b.throughput, b.seconds) {
                out.push(format!("Throughput {t:.2} MBps time {s:.4} secs"));
            }
            if !b.files.is_empty() {
                out.push(format!("{:>4} {:<47} {:<26}", "MBps", "Filename", "Time"));
                out.push(format!("{:>4} {:<47} {:<26}", "====", "========", "===="));
                for f in &b.files {
                    let name = if f.file.chars().count() >= 47 {
                        let tail: String = f
                            .file
                            .chars()
                            .rev()
                            .take(44)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect();
                        format!("...{tail}")
                    } else {
                        f.file.clone()
                    };
                    out.push(format!(
                        "{:>4} {:<47} {:<26}",
                        f.value,
                        name,
                        f.time.as_deref().unwrap_or("")
                    ));
                }
            }
        } else if !b.files.is_empty() {
            out.push("Count\t\tfilename\n=======================".into());
            out.extend(b.files.iter().map(|f| format!("{}\t\t{}", f.value, f.file)));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(words: &[&str]) -> Result<(String, Vec<(String, String)>), String> {
        top_query(&TopArgs {
            name: "gv0".into(),
            words: words.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn gd1_words() {
        let (m, q) = read(&["write-perf", "bs", "4096", "count", "10", "brick", "h1:/b"]).unwrap();
        assert_eq!(m, "write-perf");
        assert_eq!(q.len(), 3);
        assert_eq!(q[2], ("brick".to_string(), "h1:/b".to_string()));
        assert!(read(&["hottest"]).is_err());
        assert!(read(&["read", "list-cnt"]).is_err());
        assert!(read(&["read", "list-cnt", "many"]).is_err());
        assert!(read(&["read", "depth", "3"]).is_err());
    }

    #[test]
    fn prints_as_gd1() {
        let b = BrickTop {
            brick: "h1:/b".into(),
            files: vec![gd_api::TopFile {
                file: "/f1".into(),
                value: 12,
                time: None,
            }],
            ..Default::default()
        };
        assert_eq!(
            top_text("write", &[b]),
            "Brick: h1:/b\nCount\t\tfilename\n=======================\n12\t\t/f1"
        );
    }
}
