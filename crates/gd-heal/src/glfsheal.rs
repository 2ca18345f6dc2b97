//! GlusterFS's `glfsheal`, run as GD1 runs it: heal info and split-brain resolution are its
//! work, not ours.
//!
//! It is a gfapi client: it fetches the volume's client graph from this node's volfile server
//! over the unix socket (`glusterd-sock <rundir>/glusterd2.socket`), connects to every brick,
//! and either reads each brick's index of entries needing heal (`info`, `info-summary`,
//! `split-brain-info`, in XML with `--xml`) or heals one split-brain file (or every one, from
//! a chosen brick) and prints a line per file. Its argument order matters: the operation's
//! words, then the flags, then `glusterd-sock <path>` last (it reads them by position).
//!
//! Its run is bounded (a crawl of a large index takes a while, a hung brick must not hang the
//! request forever) and so is what it prints; its XML is parsed strictly and anything else is
//! an error that quotes what it said.

use std::{path::Path, process::Stdio, time::Duration};

use gd_api::{BrickHealInfo, HealFile};
use tokio::io::AsyncReadExt;

/// How long a `glfsheal` run may take: its crawl reads every brick's index (10,000 entries
/// take seconds); one that runs this long is stuck on a brick.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// The most of its output kept: a listing of a few hundred thousand entries.
pub const OUTPUT_MAX: usize = 64 << 20;

/// What to ask `glfsheal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Every brick's entries needing heal (GD1's `heal <v> info`).
    Info,
    /// Counts per brick: total, pending, split-brain, possibly healing (`info summary`).
    Summary,
    /// The entries in split-brain (`info split-brain`).
    SplitBrain,
}

impl Query {
    /// Its word on `glfsheal`'s command line (none for `Info`), also GD2's `{opts}` path part.
    pub fn word(&self) -> Option<&'static str> {
        match self {
            Query::Info => None,
            Query::Summary => Some("info-summary"),
            Query::SplitBrain => Some("split-brain-info"),
        }
    }

    /// The query a GD2 path part names.
    pub fn from_word(word: &str) -> Option<Query> {
        match word {
            "info" => Some(Query::Info),
            "info-summary" | "summary" => Some(Query::Summary),
            "split-brain-info" | "split-brain" => Some(Query::SplitBrain),
            _ => None,
        }
    }
}

/// How a split-brain file is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolve {
    /// The bigger copy wins (`bigger-file <file>`).
    BiggerFile { file: String },
    /// The copy modified last wins (`latest-mtime <file>`).
    LatestMtime { file: String },
    /// The copy on `host:path` wins: for `file`, or for every file in split-brain.
    SourceBrick {
        host: String,
        path: String,
        file: Option<String>,
    },
}

/// The arguments of a `glfsheal` run for `query` on `volume`.
pub fn query_argv(volume: &str, query: &Query, socket: &Path) -> Vec<String> {
    let mut argv = vec![volume.to_owned()];
    argv.extend(query.word().map(str::to_owned));
    argv.push("--xml".into());
    argv.push("glusterd-sock".into());
    argv.push(socket.display().to_string());
    argv
}

/// The arguments of a `glfsheal` run resolving a split-brain of `volume`.
pub fn resolve_argv(volume: &str, how: &Resolve, socket: &Path) -> Vec<String> {
    let mut argv = vec![volume.to_owned()];
    match how {
        Resolve::BiggerFile { file } => argv.extend(["bigger-file".into(), file.clone()]),
        Resolve::LatestMtime { file } => argv.extend(["latest-mtime".into(), file.clone()]),
        Resolve::SourceBrick { host, path, file } => {
            argv.extend(["source-brick".into(), format!("{host}:{path}")]);
            argv.extend(file.clone());
        }
    }
    argv.push("glusterd-sock".into());
    argv.push(socket.display().to_string());
    argv
}

/// The arguments of the `glfsheal` run that checks whether granular entry heal may be turned
/// on (no entry needs heal, every brick is up); it prints only when not.
pub fn granular_entry_heal_argv(volume: &str, socket: &Path) -> Vec<String> {
    vec![
        volume.to_owned(),
        "granular-entry-heal-op".into(),
        "glusterd-sock".into(),
        socket.display().to_string(),
    ]
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
}

/// Why a run gave nothing to read.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("glfsheal is not installed (Debian: glusterfs-server)")]
    Missing,
    #[error("glfsheal could not run: {0}")]
    Spawn(std::io::Error),
    #[error("glfsheal did not finish within {} s", RUN_TIMEOUT.as_secs())]
    Timeout,
    #[error("glfsheal printed more than {} MiB", OUTPUT_MAX >> 20)]
    TooLong,
}

/// Runs `glfsheal` with `argv` (no shell: every argument is passed as it is).
pub async fn run(bin: &Path, argv: &[String], timeout: Duration) -> Result<Output, RunError> {
    let mut child = tokio::process::Command::new(bin)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RunError::Missing,
            _ => RunError::Spawn(e),
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let work = async {
        let mut out = Vec::new();
        let mut limited = (&mut stdout).take(OUTPUT_MAX as u64 + 1);
        limited
            .read_to_end(&mut out)
            .await
            .map_err(RunError::Spawn)?;
        if out.len() > OUTPUT_MAX {
            return Err(RunError::TooLong);
        }
        let status = child.wait().await.map_err(RunError::Spawn)?;
        Ok(Output {
            stdout: String::from_utf8_lossy(&out).into_owned(),
            code: status.code(),
        })
    };
    // On a timeout or a refusal the child is killed as it is dropped.
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| RunError::Timeout)?
}

/// `glfsheal --xml`'s answer: every brick's record, or the error it ended with.
pub fn parse_xml(xml: &str) -> Result<Vec<BrickHealInfo>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("unreadable XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "cliOutput" {
        return Err(format!(
            "<{}> where <cliOutput> belongs",
            root.tag_name().name()
        ));
    }
    let op_ret = child_text(root, "opRet").unwrap_or("0");
    if op_ret.trim() != "0" {
        let why = child_text(root, "opErrstr").unwrap_or("").trim();
        return Err(if why.is_empty() {
            format!("it failed (opRet {op_ret})")
        } else {
            why.to_owned()
        });
    }
    let Some(bricks) = child(root, "healInfo").and_then(|h| child(h, "bricks")) else {
        return Err("no <healInfo><bricks> in it".into());
    };
    bricks
        .children()
        .filter(|n| n.has_tag_name("brick"))
        .map(parse_brick)
        .collect()
}

fn parse_brick(b: roxmltree::Node<'_, '_>) -> Result<BrickHealInfo, String> {
    let count = |name: &str| -> Result<Option<u64>, String> {
        match child_text(b, name).map(str::trim) {
            // "-": the brick could not be read.
            None | Some("-") => Ok(None),
            Some(n) => n
                .parse()
                .map(Some)
                .map_err(|_| format!("<{name}> is {n:?}, not a count")),
        }
    };
    let files = b
        .children()
        .filter(|n| n.has_tag_name("file"))
        .map(|f| HealFile {
            filename: f.text().unwrap_or("").to_owned(),
            gfid: f.attribute("gfid").unwrap_or("").to_owned(),
        })
        .collect();
    Ok(BrickHealInfo {
        host_id: b.attribute("hostUuid").unwrap_or("-").to_owned(),
        name: child_text(b, "name").unwrap_or("-").to_owned(),
        status: child_text(b, "status").unwrap_or("").to_owned(),
        total_entries: count("totalNumberOfEntries")?,
        entries_in_heal_pending: count("numberOfEntriesInHealPending")?,
        entries_in_split_brain: count("numberOfEntriesInSplitBrain")?,
        entries_possibly_healing: count("numberOfEntriesPossiblyHealing")?,
        entries: count("numberOfEntries")?,
        files,
    })
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn child_text<'a>(n: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name).map(|c| c.text().unwrap_or(""))
}

/// The lines `glfsheal` printed while resolving (empty ones dropped).
pub fn lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cliOutput>
  <healInfo>
    <bricks>
      <brick hostUuid="9600f152-a78b-418e-a0fa-f8c261422b6d">
        <name>h1:/b</name>
        <file gfid="00000000-0000-0000-0000-000000000001">/</file>
        <file gfid="1322b45b-6e32-4775-9bc5-c015ee2451b5">/f1</file>
        <status>Connected</status>
        <numberOfEntries>2</numberOfEntries>
      </brick>
      <brick hostUuid="-">
        <name>h3:/b</name>
        <status>Transport endpoint is not connected</status>
        <numberOfEntries>-</numberOfEntries>
      </brick>
    </bricks>
  </healInfo>
  <opRet>0</opRet>
  <opErrno>0</opErrno>
  <opErrstr/>
</cliOutput>
"#;

    #[test]
    fn info_reads_entries_and_bricks_that_could_not_be_read() {
        let bricks = parse_xml(INFO).unwrap();
        assert_eq!(bricks.len(), 2);
        assert_eq!(bricks[0].name, "h1:/b");
        assert_eq!(bricks[0].entries, Some(2));
        assert_eq!(bricks[0].files[1].filename, "/f1");
        assert_eq!(
            bricks[0].files[1].gfid,
            "1322b45b-6e32-4775-9bc5-c015ee2451b5"
        );
        assert_eq!((bricks[1].host_id.as_str(), bricks[1].entries), ("-", None));
        assert_eq!(bricks[1].status, "Transport endpoint is not connected");
    }

    #[test]
    fn summary_reads_its_four_counts() {
        let xml = r#"<cliOutput><healInfo><bricks><brick hostUuid="x"><name>h:/b</name>
            <status>Connected</status><totalNumberOfEntries>5</totalNumberOfEntries>
            <numberOfEntriesInHealPending>3</numberOfEntriesInHealPending>
            <numberOfEntriesInSplitBrain>1</numberOfEntriesInSplitBrain>
            <numberOfEntriesPossiblyHealing>1</numberOfEntriesPossiblyHealing>
            </brick></bricks></healInfo><opRet>0</opRet></cliOutput>"#;
        let b = &parse_xml(xml).unwrap()[0];
        assert_eq!(
            (
                b.total_entries,
                b.entries_in_heal_pending,
                b.entries_in_split_brain,
                b.entries_possibly_healing,
                b.entries
            ),
            (Some(5), Some(3), Some(1), Some(1), None)
        );
    }

    #[test]
    fn its_errors_and_garbage_are_errors() {
        let failed = r#"<cliOutput><healInfo><bricks/></healInfo><opRet>-1</opRet>
            <opErrno>107</opErrno><opErrstr>Volume gv0 is not started (Or) All the bricks are not running.</opErrstr></cliOutput>"#;
        assert_eq!(
            parse_xml(failed).unwrap_err(),
            "Volume gv0 is not started (Or) All the bricks are not running."
        );
        assert!(parse_xml("Usage: glfsheal <VOLNAME> ...").is_err());
        assert!(parse_xml("<other/>").unwrap_err().contains("<cliOutput>"));
        assert!(parse_xml("<cliOutput><opRet>0</opRet></cliOutput>").is_err());
        let bad_count = INFO.replace("<numberOfEntries>2<", "<numberOfEntries>two<");
        assert!(parse_xml(&bad_count).unwrap_err().contains("not a count"));
    }

    #[test]
    fn argument_order_is_what_glfsheal_reads() {
        let sock = Path::new("/run/gd2/glusterd2.socket");
        assert_eq!(
            query_argv("gv0", &Query::Summary, sock),
            [
                "gv0",
                "info-summary",
                "--xml",
                "glusterd-sock",
                "/run/gd2/glusterd2.socket"
            ]
        );
        assert_eq!(
            resolve_argv(
                "gv0",
                &Resolve::SourceBrick {
                    host: "h1".into(),
                    path: "/b".into(),
                    file: Some("/f".into())
                },
                sock
            ),
            [
                "gv0",
                "source-brick",
                "h1:/b",
                "/f",
                "glusterd-sock",
                "/run/gd2/glusterd2.socket"
            ]
        );
    }

    #[tokio::test]
    async fn a_run_is_bounded_in_time_and_output() {
        let sh = Path::new("/bin/sh");
        let out = run(sh, &["-c".into(), "echo hi; exit 3".into()], RUN_TIMEOUT)
            .await
            .unwrap();
        assert_eq!((out.stdout.as_str(), out.code), ("hi\n", Some(3)));
        let slow = run(
            sh,
            &["-c".into(), "sleep 5".into()],
            Duration::from_millis(200),
        )
        .await;
        assert!(matches!(slow, Err(RunError::Timeout)), "{slow:?}");
        let missing = run(Path::new("/nonexistent/glfsheal"), &[], RUN_TIMEOUT).await;
        assert!(matches!(missing, Err(RunError::Missing)), "{missing:?}");
    }
}
