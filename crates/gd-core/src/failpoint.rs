//! Failpoints: named places in the transaction engine where a test makes this process die
//! (`SIGKILL`, as `kill -9` would) or wait, and a faster clock for the judgments that are made
//! on elapsed time (a stalled transaction, a failed one kept for its pending undos).
//!
//! Why not the `fail` crate: its actions are synchronous (a `sleep` blocks a runtime worker)
//! and it cannot kill the process at the point, which is what the crash matrix needs; this
//! seam is a few lines. It is compiled in only with the `failpoints` feature (the test
//! command builds with it; a release build has neither the points nor the clock): without
//! it, [`hit`] is an empty function and [`scaled`] the identity.
//!
//! Armed by the environment of the process, read at every hit so that a test arms and disarms
//! a running daemon:
//! - `GD2_FAILPOINTS=<file>`: lines `<point> <action>`, where point is a name or a prefix
//!   ending in `*`, and action is `kill`, `sleep <ms>`, or `record` (append the point's name to
//!   `<file>.hits`, which is how a test learns the points an operation passes);
//! - `GD2_TIME_SCALE=<n>`: elapsed-time judgments run `n` times faster.
//!
//! Point names: `coordinator:<step>:before` (before the initiator moves the cursor to the
//! step; for the first step, before the transaction is recorded), `coordinator:<step>:after`
//! (every node reported it; before the cursor moves on or the transaction is committed),
//! `participant:<step>:before` and `participant:<step>:after` (on a node of the step, before
//! it runs and after it ran, before its report is written). The daemon's membership changes,
//! which are not engine transactions, have their own: `peer-add:{before,after}-join` on the
//! initiator, `peer-join:{before-persist,after-persist,after-register}` on the joining node,
//! `peer-remove:{before,after}-commit`, `peer-leave:{before,after}-reset` on the removed one.

/// A failpoint on the coordinator of a transaction.
pub fn coordinator(step: &str, when: When) -> String {
    format!("coordinator:{step}:{}", when.as_str())
}

/// A failpoint on a node that runs a step.
pub fn participant(step: &str, when: When) -> String {
    format!("participant:{step}:{}", when.as_str())
}

/// Before or after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

impl When {
    fn as_str(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

/// Passes the failpoint `name`: does what it is armed with, if anything.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub async fn hit(_name: &str) {}

/// A duration of the engine's clock for elapsed-time judgments.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn scaled(d: std::time::Duration) -> std::time::Duration {
    d
}

#[cfg(feature = "failpoints")]
pub use armed::{hit, scaled};

#[cfg(feature = "failpoints")]
mod armed {
    use std::{io::Write, time::Duration};

    /// The action armed for `name`, from the file `GD2_FAILPOINTS` names.
    fn action(name: &str) -> Option<(String, std::path::PathBuf)> {
        let file = std::path::PathBuf::from(std::env::var_os("GD2_FAILPOINTS")?);
        let text = std::fs::read_to_string(&file).ok()?;
        text.lines().find_map(|line| {
            let (point, action) = line.trim().split_once(char::is_whitespace)?;
            let matches = match point.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == point,
            };
            matches.then(|| (action.trim().to_owned(), file.clone()))
        })
    }

    pub async fn hit(name: &str) {
        let Some((action, file)) = action(name) else {
            return;
        };
        let mut words = action.split_whitespace();
        match (words.next(), words.next()) {
            (Some("kill"), None) => {
                // stderr is unbuffered: the line is out before the process is gone.
                eprintln!("failpoint {name}: killing this process");
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            }
            (Some("sleep"), Some(ms)) => {
                let ms: u64 = ms.parse().unwrap_or(0);
                eprintln!("failpoint {name}: sleeping {ms} ms");
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            (Some("record"), None) => {
                let mut hits = file.into_os_string();
                hits.push(".hits");
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(hits)
                {
                    let _ = writeln!(f, "{name}");
                }
            }
            _ => eprintln!("failpoint {name}: unknown action {action:?}, ignored"),
        }
    }

    pub fn scaled(d: Duration) -> Duration {
        let scale = std::env::var("GD2_TIME_SCALE")
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(1);
        d / scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_names() {
        assert_eq!(
            coordinator("volume-create.store", When::Before),
            "coordinator:volume-create.store:before"
        );
        assert_eq!(
            participant("volume-create.init-bricks", When::After),
            "participant:volume-create.init-bricks:after"
        );
    }
}
