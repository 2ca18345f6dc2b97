//! `volume heal`: GD1's words (`heal gv0 [full]`, `heal gv0 info [summary|split-brain]`, `heal
//! gv0 split-brain bigger-file <file> | latest-mtime <file> | source-brick <host:brick>
//! [<file>]`, `heal gv0 enable|disable`, `heal gv0 granular-entry-heal enable|disable`) over
//! GD2's routes, printed as GD1 prints them (per brick: its entries, its status, how many).

use clap::Args;
use gd_api::{
    BrickCrawls, BrickHealCount, BrickHealInfo, HealLaunchResp, SplitBrainReq, SplitBrainResp,
    VolumeInfo,
};

use super::{VOLUMES, parse::parse_brick, parse_volume_name};
use crate::{cmd::Context, error::CliError, output};

/// `volume heal`.
#[derive(Debug, Clone, Args)]
#[command(override_usage = "glustercli volume heal <NAME> [full]\n       \
    glustercli volume heal <NAME> info [summary|split-brain]\n       \
    glustercli volume heal <NAME> statistics [heal-count [replica <HOST:BRICK>]]\n       \
    glustercli volume heal <NAME> split-brain bigger-file <FILE>\n       \
    glustercli volume heal <NAME> split-brain latest-mtime <FILE>\n       \
    glustercli volume heal <NAME> split-brain source-brick <HOST:BRICK> [<FILE>]\n       \
    glustercli volume heal <NAME> enable|disable\n       \
    glustercli volume heal <NAME> granular-entry-heal enable|disable")]
pub struct HealArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// What to do (GD1's words)
    #[arg(value_name = "WORDS", num_args = 0..=4)]
    pub words: Vec<String>,
}

/// What `volume heal` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Launch a heal: GD2's type ("index", "full").
    Launch(&'static str),
    /// Turn the self-heal daemon on (true) or off.
    Daemon(bool),
    /// Turn granular entry heal on (true) or off.
    GranularEntryHeal(bool),
    /// The self-heal daemons' crawls.
    Statistics,
    /// The counts of entries to be healed, of every brick or of one brick's set.
    HealCount(Option<String>),
    /// Heal info of a kind: GD2's path part ("" for the entries).
    Info(&'static str),
    /// Resolve a split-brain: GD2's policy word and body.
    SplitBrain(&'static str, SplitBrainReq),
}

/// Reads GD1's words.
pub fn heal_action(args: &HealArgs) -> Result<Action, String> {
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let file = |f: &str| SplitBrainReq {
        filename: f.to_owned(),
        ..Default::default()
    };
    Ok(match words.as_slice() {
        [] => Action::Launch("index"),
        ["full"] => Action::Launch("full"),
        ["enable"] => Action::Daemon(true),
        ["disable"] => Action::Daemon(false),
        ["granular-entry-heal", "enable"] => Action::GranularEntryHeal(true),
        ["granular-entry-heal", "disable"] => Action::GranularEntryHeal(false),
        ["statistics"] => Action::Statistics,
        ["statistics", "heal-count"] => Action::HealCount(None),
        ["statistics", "heal-count", "replica", brick] => {
            parse_brick(brick)?;
            Action::HealCount(Some(brick.to_string()))
        }
        ["info"] => Action::Info(""),
        ["info", "summary"] => Action::Info("info-summary"),
        ["info", "split-brain"] => Action::Info("split-brain-info"),
        ["split-brain", "bigger-file", f] => Action::SplitBrain("bigger-file", file(f)),
        ["split-brain", "latest-mtime", f] => Action::SplitBrain("latest-mtime", file(f)),
        ["split-brain", "source-brick", brick, rest @ ..] if rest.len() <= 1 => {
            let b = parse_brick(brick)?;
            Action::SplitBrain(
                "source-brick",
                SplitBrainReq {
                    filename: rest.first().map(|f| f.to_string()).unwrap_or_default(),
                    hostname: b
                        .host
                        .or(b.peerid.map(|p| p.to_string()))
                        .unwrap_or_default(),
                    brickname: b.path,
                },
            )
        }
        _ => {
            return Err(format!(
                "unknown heal command `{}`: use [full], info [summary|split-brain], statistics [heal-count [replica <HOST:BRICK>]], split-brain \
                 bigger-file <FILE> | latest-mtime <FILE> | source-brick <HOST:BRICK> [<FILE>], \
                 enable, disable, or granular-entry-heal enable|disable",
                words.join(" ")
            ));
        }
    })
}

/// Runs `volume heal`.
pub async fn heal(ctx: &Context, args: HealArgs) -> Result<(), CliError> {
    let action = heal_action(&args).map_err(CliError::Usage)?;
    let client = ctx.client()?;
    let volume = format!("{VOLUMES}/{}", args.name);
    match action {
        Action::Launch(kind) => {
            let resp: HealLaunchResp = client
                .post(&format!("{volume}/heal?type={kind}"), &())
                .await?;
            if ctx.json() {
                output::print_json(&resp)?;
            } else {
                let what = if kind == "full" { "full" } else { "index" };
                output::print_line(&format!(
                    "Launching heal operation to perform {what} self heal on volume {} has been \
                     successful\nUse heal info commands to check status.",
                    args.name
                ))?;
            }
        }
        Action::Daemon(on) | Action::GranularEntryHeal(on) => {
            let (path, what) = match action {
                Action::Daemon(_) => ("heal", "heal"),
                _ => ("heal/granular-entry-heal", "granular entry heal"),
            };
            let word = if on { "enable" } else { "disable" };
            let vol: VolumeInfo = client.post(&format!("{volume}/{path}/{word}"), &()).await?;
            if ctx.json() {
                output::print_json(&vol)?;
            } else {
                let done = if on { "Enable" } else { "Disable" };
                output::print_line(&format!(
                    "{done} {what} on volume {} has been successful",
                    vol.name
                ))?;
            }
        }
        Action::Statistics => {
            let bricks: Vec<BrickCrawls> = client.get(&format!("{volume}/heal-statistics")).await?;
            if ctx.json() {
                output::print_json(&bricks)?;
            } else {
                output::print_line(&statistics_text(&args.name, &bricks))?;
            }
        }
        Action::HealCount(ref replica) => {
            let query = replica.as_deref().map_or(String::new(), |b| {
                format!("?replica={}", crate::client::encode_path(b, false))
            });
            let bricks: Vec<BrickHealCount> =
                client.get(&format!("{volume}/heal-count{query}")).await?;
            if ctx.json() {
                output::print_json(&bricks)?;
            } else {
                output::print_line(&count_text(&args.name, replica.is_some(), &bricks))?;
            }
        }
        Action::Info(kind) => {
            let path = if kind.is_empty() {
                format!("{volume}/heal-info")
            } else {
                format!("{volume}/{kind}/heal-info")
            };
            let bricks: Vec<BrickHealInfo> = client.get(&path).await?;
            if ctx.json() {
                output::print_json(&bricks)?;
            } else {
                output::print_line(&info_text(kind, &bricks))?;
            }
        }
        Action::SplitBrain(policy, req) => {
            let resp: SplitBrainResp = client
                .post(&format!("{volume}/split-brain/{policy}"), &req)
                .await?;
            if ctx.json() {
                output::print_json(&resp)?;
            } else {
                output::print_line(&resp.output.join("\n"))?;
            }
        }
    }
    Ok(())
}

/// GD1's crawl statistics: per brick, each crawl.
pub fn statistics_text(volume: &str, bricks: &[BrickCrawls]) -> String {
    let mut out = vec![format!(
        "Gathering crawl statistics on volume {volume} has been successful"
    )];
    for (i, b) in bricks.iter().enumerate() {
        out.push("------------------------------------------------".into());
        out.push(String::new());
        out.push(format!("Crawl statistics for brick no {i}"));
        out.push(format!(
            "Hostname of brick {}",
            b.brick.rsplit_once(':').map_or("", |(h, _)| h)
        ));
        for c in &b.crawls {
            out.push(String::new());
            out.push(format!("Starting time of crawl: {}", c.start));
            out.push(String::new());
            if c.in_progress {
                out.push("Crawl is in progress".into());
            } else {
                out.push(format!("Ending time of crawl: {}", c.end));
            }
            out.push(String::new());
            out.push(format!("Type of crawl: {}", c.kind));
            out.push(format!("No. of entries healed: {}", c.healed));
            out.push(format!("No. of entries in split-brain: {}", c.split_brain));
            out.push(format!("No. of heal failed entries: {}", c.heal_failed));
        }
    }
    out.join("\n")
}

/// GD1's heal count text: per brick, its count or why there is none.
pub fn count_text(volume: &str, per_replica: bool, bricks: &[BrickHealCount]) -> String {
    let what = if per_replica { " per replica" } else { "" };
    let mut out = vec![format!(
        "Gathering count of entries to be healed{what} on volume {volume} has been successful"
    )];
    for b in bricks {
        out.push(String::new());
        out.push(format!("Brick {}", b.brick));
        match b.entries {
            Some(n) => out.push(format!("Number of entries: {n}")),
            None => out.push(format!("Status: {}", b.status)),
        }
    }
    out.join("\n")
}

/// GD1's heal info text: a paragraph per brick.
pub fn info_text(kind: &str, bricks: &[BrickHealInfo]) -> String {
    let count = |n: Option<u64>| n.map_or("-".to_owned(), |n| n.to_string());
    let mut out = vec![];
    for b in bricks {
        let mut p = vec![format!("Brick {}", b.name)];
        p.extend(b.files.iter().map(|f| f.filename.clone()));
        p.push(format!("Status: {}", b.status));
        match kind {
            "info-summary" => {
                p.push(format!(
                    "Total Number of entries: {}",
                    count(b.total_entries)
                ));
                p.push(format!(
                    "Number of entries in heal pending: {}",
                    count(b.entries_in_heal_pending)
                ));
                p.push(format!(
                    "Number of entries in split-brain: {}",
                    count(b.entries_in_split_brain)
                ));
                p.push(format!(
                    "Number of entries possibly healing: {}",
                    count(b.entries_possibly_healing)
                ));
            }
            "split-brain-info" => {
                p.push(format!(
                    "Number of entries in split-brain: {}",
                    count(b.entries)
                ));
            }
            _ => p.push(format!("Number of entries: {}", count(b.entries))),
        }
        out.push(p.join("\n"));
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(words: &[&str]) -> Result<Action, String> {
        heal_action(&HealArgs {
            name: "gv0".into(),
            words: words.iter().map(|w| w.to_string()).collect(),
        })
    }

    #[test]
    fn gd1_words() {
        assert_eq!(read(&[]), Ok(Action::Launch("index")));
        assert_eq!(read(&["statistics"]), Ok(Action::Statistics));
        assert_eq!(
            read(&["statistics", "heal-count"]),
            Ok(Action::HealCount(None))
        );
        assert_eq!(
            read(&["statistics", "heal-count", "replica", "h2:/b"]),
            Ok(Action::HealCount(Some("h2:/b".into())))
        );
        assert!(read(&["statistics", "heal-count", "replica", "nobrick"]).is_err());
        assert_eq!(read(&["full"]), Ok(Action::Launch("full")));
        assert_eq!(read(&["enable"]), Ok(Action::Daemon(true)));
        assert_eq!(read(&["disable"]), Ok(Action::Daemon(false)));
        assert_eq!(
            read(&["granular-entry-heal", "enable"]),
            Ok(Action::GranularEntryHeal(true))
        );
        assert_eq!(read(&["info"]), Ok(Action::Info("")));
        assert_eq!(read(&["info", "summary"]), Ok(Action::Info("info-summary")));
        assert_eq!(
            read(&["info", "split-brain"]),
            Ok(Action::Info("split-brain-info"))
        );
        let Ok(Action::SplitBrain(p, r)) = read(&["split-brain", "bigger-file", "/f"]) else {
            panic!("bigger-file reads");
        };
        assert_eq!((p, r.filename.as_str()), ("bigger-file", "/f"));
        let Ok(Action::SplitBrain(p, r)) = read(&["split-brain", "source-brick", "h2:/b", "/f"])
        else {
            panic!("source-brick reads");
        };
        assert_eq!(
            (
                p,
                r.hostname.as_str(),
                r.brickname.as_str(),
                r.filename.as_str()
            ),
            ("source-brick", "h2", "/b", "/f")
        );
        let Ok(Action::SplitBrain(_, r)) = read(&["split-brain", "source-brick", "h2:/b"]) else {
            panic!("source-brick without a file reads");
        };
        assert_eq!(r.filename, "");
    }

    #[test]
    fn bad_words_are_refused() {
        for words in [
            &["info", "everything"][..],
            &["split-brain", "bigger-file"],
            &["split-brain", "source-brick", "nobrick"],
            &["split-brain", "coin-toss", "/f"],
            &["index"],
            &["granular-entry-heal", "on"],
        ] {
            assert!(read(words).is_err(), "{words:?}");
        }
    }

    #[test]
    fn info_prints_as_gd1() {
        let b = BrickHealInfo {
            host_id: "x".into(),
            name: "h1:/b".into(),
            status: "Connected".into(),
            entries: Some(1),
            files: vec![gd_api::HealFile {
                filename: "/f".into(),
                gfid: "g".into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            info_text("", std::slice::from_ref(&b)),
            "Brick h1:/b\n/f\nStatus: Connected\nNumber of entries: 1"
        );
        assert_eq!(
            info_text("split-brain-info", &[b.clone(), b]),
            "Brick h1:/b\n/f\nStatus: Connected\nNumber of entries in split-brain: 1\n\n\
             Brick h1:/b\n/f\nStatus: Connected\nNumber of entries in split-brain: 1"
        );
    }
}
