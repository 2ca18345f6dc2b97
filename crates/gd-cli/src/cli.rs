//! The command line: global flags and the command tree (clap derive).
//!
//! Parsing is kept apart from running so that tests can check it with
//! [`Cli::try_parse_checked_from`] without a daemon. Each command group lives in its own module
//! under `cmd/` and brings its own `Subcommand` enum; adding a group is one variant here and one
//! arm in [`run`].
//!
//! A few rules need more than clap can say about one argument (e.g. a metadata key given
//! twice); [`Cli::check`] applies them right after parsing and reports them as clap errors, so
//! every usage error looks the same and exits with status 2 before any request is sent.

use clap::{CommandFactory, Parser, Subcommand, error::ErrorKind};
use clap_complete::Shell;

use crate::{
    cmd::{
        self, Context, Usage,
        cluster_options::ClusterOptionsCommand,
        completion,
        events::{EventsCommand, WebhookCommand},
        peer::PeerCommand,
        transaction::TransactionCommand,
        version,
        volume::VolumeCommand,
    },
    error::CliError,
    global::GlobalOpts,
};

/// glustercli: manage a GlusterFS cluster through glusterd2's REST API.
#[derive(Debug, Parser)]
#[command(name = "glustercli", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments and applies [`Cli::check`]; on a usage error, prints it
    /// and exits with status 2 (as [`Parser::parse`]).
    pub fn parse_checked() -> Self {
        let cli = Self::parse();
        if let Err(e) = cli.check() {
            e.exit();
        }
        cli
    }

    /// Like [`Parser::try_parse_from`], then [`Cli::check`].
    pub fn try_parse_checked_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Self::try_parse_from(args)?;
        cli.check()?;
        Ok(cli)
    }

    /// The rules clap's parser cannot check by itself, as clap errors with the usage line of
    /// the subcommand they concern.
    pub fn check(&self) -> Result<(), clap::Error> {
        match &self.command {
            Command::Peer(cmd) => cmd.check(),
            Command::Volume(cmd) => cmd.check(),
            Command::ClusterOptions(cmd) => cmd.check(),
            Command::Version
            | Command::Transaction(_)
            | Command::Events(_)
            | Command::Webhook(_)
            | Command::GetState
            | Command::Completion { .. } => Ok(()),
        }
        .map_err(|Usage { path, message }| usage_error(path, message))
    }
}

/// A usage error of the subcommand at `path` (e.g. `["peer", "add"]`), formatted by clap with
/// that subcommand's usage line.
pub fn usage_error(path: &[&str], message: impl std::fmt::Display) -> clap::Error {
    let mut cmd = Cli::command();
    // Building sets the subcommands' full names ("glustercli peer add") for their usage lines.
    cmd.build();
    for name in path {
        match cmd.find_subcommand(name) {
            Some(sub) => cmd = sub.clone(),
            None => break,
        }
    }
    cmd.error(ErrorKind::ValueValidation, message)
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Show the versions of glustercli and of the glusterd2 it talks to
    Version,
    /// Manage the peers (storage servers) of the cluster
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Manage the volumes of the cluster
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Show and set the options of the whole cluster
    #[command(subcommand)]
    ClusterOptions(ClusterOptionsCommand),
    /// Follow cluster operations: running, and ended within the hour
    #[command(subcommand)]
    Transaction(TransactionCommand),
    /// List and watch the cluster's events
    #[command(subcommand)]
    Events(EventsCommand),
    /// Deliver the cluster's events to webhooks
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Show this node's view of the cluster, for support (GD1's get-state)
    ///
    /// The node, its store and the store's members, the peers, every volume with its
    /// bricks' status, the GlusterFS processes the node runs, and the tasks.
    GetState,
    /// Print a shell completion script
    ///
    /// For example: `glustercli completion bash > /etc/bash_completion.d/glustercli`.
    Completion {
        /// The shell
        shell: Shell,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Context::new(cli.global);
    let result = match cli.command {
        Command::Version => version::run(&ctx).await,
        Command::Peer(c) => cmd::peer::run(&ctx, c).await,
        Command::Volume(c) => cmd::volume::run(&ctx, c).await,
        Command::ClusterOptions(c) => cmd::cluster_options::run(&ctx, c).await,
        Command::Transaction(c) => cmd::transaction::run(&ctx, c).await,
        Command::Events(c) => cmd::events::run_events(&ctx, c).await,
        Command::Webhook(c) => cmd::events::run_webhook(&ctx, c).await,
        Command::GetState => cmd::state::run(&ctx).await,
        Command::Completion { shell } => completion::run(shell, Cli::command()),
    };
    result.map_err(|e| ctx.explain(e))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, error::ErrorKind};

    use std::{path::PathBuf, time::Duration};

    use super::*;
    use crate::cmd::peer::{ListArgs, PeerCommand};
    use crate::{global::parse_timeout, secret::SECRET_ENV};

    /// Runs this test binary again with only `test` selected, in an environment we control:
    /// clap reads the process environment, which tests must not change under each other.
    fn rerun_in_child(test: &str, env: &[(&str, &str)]) {
        let exe = std::env::current_exe().expect("test binary path");
        let mut cmd = std::process::Command::new(exe);
        cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env_remove("GD2_ENDPOINTS")
            .env_remove(SECRET_ENV)
            .env("GD_CLI_TEST_CHILD", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run test child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // libtest prints "1 passed" only when the filter matched and the test ran.
        assert!(
            stdout.contains("1 passed"),
            "the child did not run {test}:\n{stdout}"
        );
    }

    fn in_child() -> bool {
        std::env::var_os("GD_CLI_TEST_CHILD").is_some()
    }

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        if !in_child() {
            return rerun_in_child("cli::tests::defaults", &[]);
        }
        let cli = Cli::try_parse_from(["glustercli", "peer", "list"]).unwrap();
        let g = &cli.global;
        assert_eq!(g.endpoint().as_str(), "http://127.0.0.1:24007/");
        assert_eq!(g.endpoints.len(), 1);
        assert_eq!(g.secret_file, None);
        assert_eq!(g.secret, None);
        assert_eq!(g.user, "glustercli");
        assert_eq!(g.timeout, Duration::from_secs(30));
        assert!(!g.json && !g.insecure);
        assert_eq!(g.cacert, None);
        assert!(matches!(
            cli.command,
            Command::Peer(PeerCommand::List(ListArgs {
                key: None,
                value: None
            }))
        ));
    }

    #[test]
    fn endpoints_from_env() {
        if !in_child() {
            return rerun_in_child(
                "cli::tests::endpoints_from_env",
                &[("GD2_ENDPOINTS", "http://a:1,https://b:2")],
            );
        }
        let cli = Cli::try_parse_from(["glustercli", "version"]).unwrap();
        assert_eq!(cli.global.endpoints.len(), 2);
        assert_eq!(cli.global.endpoint().as_str(), "http://a:1/");
        // The flag wins over the environment.
        let cli =
            Cli::try_parse_from(["glustercli", "--endpoints", "http://c:3", "version"]).unwrap();
        assert_eq!(cli.global.endpoint().as_str(), "http://c:3/");
    }

    #[test]
    fn global_flags_anywhere() {
        let cli = Cli::try_parse_from([
            "glustercli",
            "peer",
            "status",
            "--json",
            "--endpoints",
            "https://n1:24007,https://n2:24007",
            "--timeout",
            "1m30s",
            "--secret",
            "s",
            "--user",
            "u",
            "--cacert",
            "/tmp/ca.pem",
            "--insecure",
            "--secret-file",
            "/tmp/auth",
        ])
        .unwrap();
        let g = &cli.global;
        assert!(g.json && g.insecure);
        assert_eq!(g.endpoint().as_str(), "https://n1:24007/");
        assert_eq!(g.timeout, Duration::from_secs(90));
        assert_eq!(g.secret.as_deref(), Some("s"));
        assert_eq!(g.user, "u");
        assert_eq!(g.cacert, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(g.secret_file, Some(PathBuf::from("/tmp/auth")));
    }

    #[test]
    fn peer_status_is_peer_list() {
        let cli = Cli::try_parse_from(["glustercli", "peer", "status"]).unwrap();
        assert!(matches!(cli.command, Command::Peer(PeerCommand::List(_))));
    }

    fn peer(args: &[&str]) -> Result<PeerCommand, clap::Error> {
        let argv = ["glustercli", "peer"].iter().chain(args);
        match Cli::try_parse_checked_from(argv)?.command {
            Command::Peer(cmd) => Ok(cmd),
            other => panic!("not a peer command: {other:?}"),
        }
    }

    fn usage_error_of(args: &[&str]) -> clap::Error {
        let e = peer(args).expect_err("a usage error");
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        e
    }

    #[test]
    fn peer_add_args() {
        let PeerCommand::Add(a) = peer(&[
            "add",
            "node3:24007",
            "--zone",
            "z3",
            "--metadata",
            "rack=r1",
            "--metadata",
            "row=",
        ])
        .unwrap() else {
            panic!("not add")
        };
        assert_eq!(a.host, "node3:24007");
        assert_eq!(a.zone.as_deref(), Some("z3"));
        assert_eq!(
            a.metadata,
            [("rack".into(), "r1".into()), ("row".into(), String::new())]
        );
        let PeerCommand::Add(a) = peer(&["add", "node3"]).unwrap() else {
            panic!("not add")
        };
        assert!(a.zone.is_none() && a.metadata.is_empty());

        for (args, message) in [
            (&["add"][..], "required"),
            (&["add", ""], "value is required"),
            (&["add", "n", "--metadata", "rack"], "expected KEY=VALUE"),
            (
                &["add", "n", "--metadata", "=r1"],
                "the metadata key is empty",
            ),
            (&["add", "n", "--metadata", "_zone=z"], "reserved"),
            (&["add", "n", "--zone", ""], "value is required"),
            (
                &["add", "n", "--metadata", "a=1", "--metadata", "a=2"],
                "\"a\" is given more than once",
            ),
        ] {
            let e = usage_error_of(args).to_string();
            assert!(e.contains(message), "{args:?}: {e}");
        }
        let big = format!("k={}", "v".repeat(gd_api::METADATA_BYTES_MAX));
        let e = usage_error_of(&["add", "n", "--metadata", &big]).to_string();
        assert!(
            e.contains("at most 4096") && e.contains("Usage: glustercli peer add"),
            "{e}"
        );
    }

    #[test]
    fn peer_remove_args() {
        for (args, force) in [
            (&["remove", "node2"][..], false),
            (&["delete", "node2", "-f"], true),
            (&["remove", "--force", "node2"], true),
        ] {
            let PeerCommand::Remove(r) = peer(args).unwrap() else {
                panic!("not remove: {args:?}")
            };
            assert_eq!((r.peer.as_str(), r.force), ("node2", force));
        }
        usage_error_of(&["remove"]);
        usage_error_of(&["remove", "a", "b"]);
    }

    #[test]
    fn peer_edit_args() {
        let PeerCommand::Edit(e) = peer(&["edit", "node1", "--key", "k", "--value", "-1"]).unwrap()
        else {
            panic!("not edit")
        };
        assert_eq!(
            (e.key.as_deref(), e.value.as_deref(), e.delete, e.zone),
            (Some("k"), Some("-1"), false, None)
        );
        let PeerCommand::Edit(e) = peer(&["edit", "node1", "--key", "k", "--delete"]).unwrap()
        else {
            panic!("not edit")
        };
        assert!(e.delete && e.value.is_none());
        let PeerCommand::Edit(e) = peer(&["edit", "node1", "--zone", "z2"]).unwrap() else {
            panic!("not edit")
        };
        assert_eq!(e.zone.as_deref(), Some("z2"));
        assert!(e.key.is_none());
        // An empty value is a value.
        assert!(peer(&["edit", "n", "--key", "k", "--value", ""]).is_ok());

        for (args, message) in [
            (&["edit", "n"][..], "required"),
            (&["edit", "n", "--key", "k"], "required"),
            (&["edit", "n", "--value", "v"], "required"),
            (&["edit", "n", "--delete"], "required"),
            (&["edit", "n", "--zone", "z", "--value", "v"], "--key"),
            (
                &["edit", "n", "--key", "k", "--value", "v", "--delete"],
                "cannot be used",
            ),
            (&["edit", "n", "--key", "_zone", "--value", "z"], "reserved"),
            (&["edit", "n", "--key", "_zone", "--delete"], "use --zone"),
            (&["edit", "n", "--key", "", "--delete"], "empty"),
        ] {
            let e = usage_error_of(args).to_string();
            assert!(e.contains(message), "{args:?}: {e}");
        }
        let big = "v".repeat(gd_api::METADATA_BYTES_MAX);
        let e = usage_error_of(&["edit", "n", "--key", "k", "--value", &big]).to_string();
        assert!(e.contains("at most 4096"), "{e}");
    }

    #[test]
    fn peer_list_args() {
        let PeerCommand::List(l) = peer(&["list", "--key", "_zone", "--value", "z1"]).unwrap()
        else {
            panic!("not list")
        };
        assert_eq!(
            (l.key.as_deref(), l.value.as_deref()),
            (Some("_zone"), Some("z1"))
        );
        let PeerCommand::List(l) = peer(&["status", "--value", "r1"]).unwrap() else {
            panic!("not list")
        };
        assert_eq!((l.key, l.value.as_deref()), (None, Some("r1")));
    }

    #[test]
    fn completion_shells() {
        for sh in ["bash", "zsh", "fish", "elvish", "powershell"] {
            let cli = Cli::try_parse_from(["glustercli", "completion", sh]).unwrap();
            assert!(matches!(cli.command, Command::Completion { .. }));
        }
        let e = Cli::try_parse_from(["glustercli", "completion", "tcsh"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["glustercli", "--timeout", "soon", "version"][..],
            &["glustercli", "--timeout", "0s", "version"],
            &["glustercli", "--endpoints", "ftp://x", "version"],
            &["glustercli", "peer", "frobnicate"],
            &["glustercli", "--no-such-flag", "version"],
            &["glustercli"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
        let e = Cli::try_parse_from(["glustercli", "--timeout", "soon", "version"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_timeout("30").is_err());
        assert!(parse_timeout("0s").is_err());
    }
}
