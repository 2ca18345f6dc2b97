//! GD1's hook scripts: where they are, which run, in which order, with which arguments, and
//! how one is run (bounded in time, its output logged).
//!
//! The layout and rules are GD1's (`glusterd-hooks.c`): `<hooks-dir>/<op>/{pre,post}/`,
//! scripts whose names start with `S` (not `*.rpmsave`, `*.rpmnew`), run in byte order of
//! their names, each with `--volname=<volume>` and the op's own arguments, the environment
//! carrying `GLUSTERD_WORKDIR`. Unlike GD1, a script runs at most [`SCRIPT_TIMEOUT`] (then it
//! and its children are killed), and a failing pre-hook refuses the operation.

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use gd_core::txn::HookCall;
use tokio::io::AsyncReadExt;

/// The operations GD1 runs hooks for: the directories it makes.
pub const OPS: [&str; 9] = [
    "create",
    "delete",
    "start",
    "stop",
    "add-brick",
    "remove-brick",
    "set",
    "reset",
    "gsync-create",
];

/// The longest a script may run; it and its children are then killed.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most output of a script kept for the log (and a refusal's message).
const OUTPUT_MAX: usize = 16 * 1024;

/// Before or after the operation's commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pre,
    Post,
}

impl Phase {
    pub fn dir(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Post => "post",
        }
    }
}

/// Refuses a call that names no operation GD1 runs hooks for, or no valid volume name: both
/// become paths (the scripts' directory, the volume's `info` file), so nothing else may.
pub fn check(call: &HookCall) -> Result<(), String> {
    if !OPS.contains(&call.op.as_str()) {
        return Err(format!(
            "{:?} is not an operation hook scripts run for",
            call.op
        ));
    }
    gd_api::check_volume_name(&call.volume)
        .map_err(|m| format!("hook scripts are not run for volume {:?}: {m}", call.volume))
}

/// Makes the directories GD1 makes (`<op>/pre`, `<op>/post` for each of [`OPS`]).
pub fn make_dirs(root: &Path) -> std::io::Result<()> {
    for op in OPS {
        for phase in [Phase::Pre, Phase::Post] {
            std::fs::create_dir_all(root.join(op).join(phase.dir()))?;
        }
    }
    Ok(())
}

/// The scripts that run for `op` in `phase`, in the order they run.
pub fn enabled(root: &Path, op: &str, phase: Phase) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(root.join(op).join(phase.dir())) else {
        return vec![];
    };
    let mut names: Vec<std::ffi::OsString> = dir
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| {
            let b = n.as_encoded_bytes();
            b.starts_with(b"S") && !b.ends_with(b".rpmsave") && !b.ends_with(b".rpmnew")
        })
        .collect();
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    let dir = root.join(op).join(phase.dir());
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// What a script's arguments depend on besides the operation: the working directory GD1
/// names (`--gd-workdir`), and for start and stop whether this is the first volume started
/// or the last one stopped.
pub struct Context<'a> {
    pub workdir: &'a Path,
    /// Started volumes in the cluster when the script runs.
    pub started: usize,
}

/// GD1's arguments for `call` in `phase` (`glusterd_hooks_add_op_args`), after the script's
/// own path.
pub fn args(call: &HookCall, phase: Phase, cx: &Context) -> Vec<String> {
    let workdir = format!("--gd-workdir={}", cx.workdir.display());
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut a = vec![format!("--volname={}", call.volume)];
    match call.op.as_str() {
        "start" => {
            // Before the start none of the others is the first; after it, it is the only one.
            let first = match phase {
                Phase::Pre => cx.started == 0,
                Phase::Post => cx.started == 1,
            };
            a.push(format!("--first={}", yes(first)));
            a.extend(["--version=1".into(), "--volume-op=start".into(), workdir]);
        }
        "stop" => {
            let last = match phase {
                Phase::Pre => cx.started == 1,
                Phase::Post => cx.started == 0,
            };
            a.push(format!("--last={}", yes(last)));
        }
        "add-brick" | "reset" => {
            a.extend([
                "--version=1".into(),
                format!("--volume-op={}", call.op),
                workdir,
            ]);
        }
        "set" => {
            a.push("-o".into());
            a.extend(call.options.iter().map(|(k, v)| format!("{k}={v}")));
            a.push(workdir);
        }
        _ => {}
    }
    a
}

/// How a script ended.
#[derive(Debug)]
pub struct Ran {
    /// Its exit status (`None`: killed by a signal, or at the time bound).
    pub code: Option<i32>,
    pub timed_out: bool,
    /// Its standard output and error, cut at 16 KiB.
    pub output: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Why it failed, in words: its exit status and its last line of output.
    pub fn why(&self, script: &Path) -> String {
        let what = if self.timed_out {
            format!("did not end within {} s", SCRIPT_TIMEOUT.as_secs())
        } else {
            match self.code {
                Some(c) => format!("exited with status {c}"),
                None => "was killed".to_owned(),
            }
        };
        let said = self
            .output
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| format!(": {}", l.trim()))
            .unwrap_or_default();
        format!("hook script {} {what}{said}", script.display())
    }
}

/// Runs `script` with `args`, `GLUSTERD_WORKDIR` set, in a process group of its own (so that
/// its children die with it at the time bound), no shell in between.
pub async fn run(script: &Path, args: &[String], workdir: &Path, timeout: Duration) -> Ran {
    let mut cmd = tokio::process::Command::new(script);
    cmd.args(args)
        .env("GLUSTERD_WORKDIR", workdir)
        .env("_GLUSTERD_CALLED_", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ran {
                code: None,
                timed_out: false,
                output: format!("cannot be run: {e}"),
            };
        }
    };
    let pid = child.id();
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let read = async {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        if let Some(o) = out.as_mut() {
            let _ = o.take(OUTPUT_MAX as u64).read_to_end(&mut a).await;
        }
        if let Some(e) = err.as_mut() {
            let _ = e.take(OUTPUT_MAX as u64).read_to_end(&mut b).await;
        }
        a.extend_from_slice(&b);
        a
    };
    let ended = tokio::time::timeout(timeout, async {
        let output = read.await;
        (child.wait().await, output)
    })
    .await;
    match ended {
        Ok((status, output)) => {
            let status = status.ok();
            Ran {
                code: status.and_then(|s| s.code()),
                timed_out: false,
                output: cut(output),
            }
            .with_signal(status.and_then(|s| s.signal()))
        }
        Err(_) => {
            if let Some(pid) = pid {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.wait().await;
            Ran {
                code: None,
                timed_out: true,
                output: String::new(),
            }
        }
    }
}

impl Ran {
    fn with_signal(self, signal: Option<i32>) -> Ran {
        match signal {
            Some(s) => Ran {
                output: format!("{}(killed by signal {s})", self.output),
                ..self
            },
            None => self,
        }
    }
}

fn cut(mut b: Vec<u8>) -> String {
    b.truncate(OUTPUT_MAX);
    String::from_utf8_lossy(&b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn only_s_scripts_run_in_byte_order() {
        let root = tempfile::tempdir().unwrap();
        make_dirs(root.path()).unwrap();
        let dir = root.path().join("set/post");
        for n in [
            "S30b",
            "S10a",
            "K20off",
            "S29x.rpmsave",
            "S29y.rpmnew",
            "disabled-z",
            "S2",
        ] {
            script(&dir, n, "true");
        }
        let got: Vec<String> = enabled(root.path(), "set", Phase::Post)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["S10a", "S2", "S30b"]);
        assert!(enabled(root.path(), "set", Phase::Pre).is_empty());
        assert!(enabled(root.path(), "nosuch", Phase::Pre).is_empty());
        for op in OPS {
            assert!(root.path().join(op).join("pre").is_dir(), "{op}");
        }
    }

    #[test]
    fn a_call_names_a_known_operation_and_a_volume() {
        assert!(check(&HookCall::new("set", "v1")).is_ok());
        for (op, vol) in [
            ("../../tmp", "v1"),
            ("set", "../x"),
            ("set", ""),
            ("nosuch", "v"),
        ] {
            assert!(check(&HookCall::new(op, vol)).is_err(), "{op} {vol}");
        }
    }

    #[test]
    fn arguments_are_gd1s() {
        let w = Path::new("/var/lib/glusterd2");
        let cx = |started| Context {
            workdir: w,
            started,
        };
        let mut set = HookCall::new("set", "v");
        set.options = vec![
            ("user.smb".into(), "enable".into()),
            ("a.b".into(), "1".into()),
        ];
        assert_eq!(
            args(&set, Phase::Post, &cx(1)),
            [
                "--volname=v",
                "-o",
                "user.smb=enable",
                "a.b=1",
                "--gd-workdir=/var/lib/glusterd2"
            ]
        );
        let start = HookCall::new("start", "v");
        assert_eq!(
            args(&start, Phase::Pre, &cx(0)),
            [
                "--volname=v",
                "--first=yes",
                "--version=1",
                "--volume-op=start",
                "--gd-workdir=/var/lib/glusterd2"
            ]
        );
        assert_eq!(args(&start, Phase::Post, &cx(2))[1], "--first=no");
        let stop = HookCall::new("stop", "v");
        assert_eq!(
            args(&stop, Phase::Pre, &cx(1)),
            ["--volname=v", "--last=yes"]
        );
        assert_eq!(
            args(&stop, Phase::Post, &cx(1)),
            ["--volname=v", "--last=no"]
        );
        assert_eq!(
            args(&HookCall::new("add-brick", "v"), Phase::Pre, &cx(0)),
            [
                "--volname=v",
                "--version=1",
                "--volume-op=add-brick",
                "--gd-workdir=/var/lib/glusterd2"
            ]
        );
        for op in ["create", "delete", "remove-brick"] {
            assert_eq!(
                args(&HookCall::new(op, "v"), Phase::Pre, &cx(0)),
                ["--volname=v"]
            );
        }
    }

    #[tokio::test]
    async fn a_script_runs_bounded_and_says_why_it_failed() {
        let dir = tempfile::tempdir().unwrap();
        let ok = script(dir.path(), "S1", "echo \"$1 $GLUSTERD_WORKDIR\"");
        let ran = run(
            &ok,
            &["--volname=v".into()],
            Path::new("/w"),
            SCRIPT_TIMEOUT,
        )
        .await;
        assert!(ran.ok(), "{ran:?}");
        assert_eq!(ran.output, "--volname=v /w\n");
        let bad = script(
            dir.path(),
            "S2",
            "echo working\necho 'no stops now' >&2\nexit 3",
        );
        let ran = run(&bad, &[], Path::new("/w"), SCRIPT_TIMEOUT).await;
        assert_eq!(ran.code, Some(3));
        assert_eq!(
            ran.why(&bad),
            format!(
                "hook script {} exited with status 3: no stops now",
                bad.display()
            )
        );
        // A script that hangs, and its child, are killed at the bound.
        let slow = script(dir.path(), "S3", "sleep 300 &\nsleep 300");
        let t = std::time::Instant::now();
        let ran = run(&slow, &[], Path::new("/w"), Duration::from_millis(300)).await;
        assert!(ran.timed_out && !ran.ok(), "{ran:?}");
        assert!(t.elapsed() < Duration::from_secs(5));
        let missing = run(&dir.path().join("S9"), &[], Path::new("/w"), SCRIPT_TIMEOUT).await;
        assert!(
            !missing.ok() && missing.output.contains("cannot be run"),
            "{missing:?}"
        );
    }
}
