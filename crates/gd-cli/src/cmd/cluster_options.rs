//! `glustercli cluster-options get|set`: the options of the whole cluster (GD2's
//! `cluster-options`), as opposed to a volume's (`volume set`).
//!
//! `set` takes `KEY VALUE` pairs as `volume set` does, with the same checks
//! ([`options::pairs_map`]): an incomplete pair, an empty key or a key given twice is a usage
//! error (exit 2) and sends nothing.

use clap::{Args, Subcommand};
use comfy_table::Table;
use gd_api::{ClusterOptionGetResp, ClusterOptionReq};

use crate::{
    cmd::{Context, Usage, options},
    error::CliError,
    output,
};

/// The path of the cluster options.
const CLUSTER_OPTIONS: &str = "/v1/cluster/options";

/// The `cluster-options` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum ClusterOptionsCommand {
    /// Show the cluster options: their values, defaults and whether they are set
    Get,
    /// Set cluster options
    Set(SetArgs),
}

/// `cluster-options set`.
#[derive(Debug, Clone, Args)]
#[command(override_usage = "glustercli cluster-options set <KEY> <VALUE> [<KEY> <VALUE>...]")]
pub struct SetArgs {
    /// Keys and their values, in pairs (e.g. cluster.brick-multiplex on)
    #[arg(
        value_name = "KEY VALUE",
        required = true,
        allow_negative_numbers = true
    )]
    pub pairs: Vec<String>,
}

impl ClusterOptionsCommand {
    /// The checks clap cannot express, as usage errors of their subcommand: `set`'s pairs.
    pub fn check(&self) -> Result<(), Usage> {
        match self {
            ClusterOptionsCommand::Set(args) => set_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["cluster-options", "set"], msg)),
            ClusterOptionsCommand::Get => Ok(()),
        }
    }
}

/// Runs a `cluster-options` command.
pub async fn run(ctx: &Context, cmd: ClusterOptionsCommand) -> Result<(), CliError> {
    match cmd {
        ClusterOptionsCommand::Get => {
            let opts: Vec<ClusterOptionGetResp> = ctx.client()?.get(CLUSTER_OPTIONS).await?;
            if ctx.json() {
                output::print_json(&opts)?;
            } else {
                output::print_table(&cluster_options_table(&opts))?;
            }
        }
        ClusterOptionsCommand::Set(args) => {
            let req = set_request(&args).map_err(CliError::Usage)?;
            let opts: Vec<ClusterOptionGetResp> = ctx.client()?.post(CLUSTER_OPTIONS, &req).await?;
            if ctx.json() {
                output::print_json(&opts)?;
            } else {
                output::print_line("Cluster options set successfully")?;
            }
        }
    }
    Ok(())
}

/// The body of `POST /v1/cluster/options` for `cluster-options set`.
pub fn set_request(args: &SetArgs) -> Result<ClusterOptionReq, String> {
    Ok(ClusterOptionReq {
        options: options::pairs_map(&args.pairs)?,
    })
}

/// The table of `cluster-options get`: Key, Value, Default, Modified.
pub fn cluster_options_table(opts: &[ClusterOptionGetResp]) -> Table {
    let mut t = output::table(["Key", "Value", "Default", "Modified"]);
    for o in opts {
        t.add_row(vec![
            o.key.clone(),
            o.value.clone(),
            o.default.clone(),
            output::yes_no(o.modified).to_owned(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let opts = [
            ClusterOptionGetResp {
                key: "cluster.brick-multiplex".into(),
                value: "on".into(),
                default: "off".into(),
                modified: true,
                description: "one process for many bricks".into(),
            },
            ClusterOptionGetResp {
                key: "cluster.max-bricks-per-process".into(),
                value: "250".into(),
                default: "250".into(),
                modified: false,
                description: String::new(),
            },
        ];
        assert_eq!(
            cluster_options_table(&opts).to_string(),
            "\
+--------------------------------+-------+---------+----------+
| Key                            | Value | Default | Modified |
+=============================================================+
| cluster.brick-multiplex        | on    | off     | yes      |
| cluster.max-bricks-per-process | 250   | 250     | no       |
+--------------------------------+-------+---------+----------+"
        );
    }

    #[test]
    fn requests() {
        let args = |w: &[&str]| SetArgs {
            pairs: w.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            serde_json::to_value(set_request(&args(&["a.b", "on", "c.d", "-1"])).unwrap()).unwrap(),
            serde_json::json!({"options": {"a.b": "on", "c.d": "-1"}})
        );
        assert!(
            set_request(&args(&["a.b"]))
                .unwrap_err()
                .contains("\"a.b\" has no value")
        );
    }
}
