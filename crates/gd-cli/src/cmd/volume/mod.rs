//! `glustercli volume ...`: create, start, stop, delete and inspect volumes; their options
//! (`set`, `get`, `reset`, `option-group`) live in [`super::options`].
//!
//! The daemon takes a volume's layout as explicit subvolumes (`VolCreateReq.subvols`), so, as in
//! GD2, the CLI turns `--replica`/`--arbiter`/`--disperse...` and a flat brick list into groups
//! ([`create_request`]). People coming from GD1 type `gluster volume create v replica 3 arbiter 1
//! h1:/b h2:/b h3:/b force`; those bare words are accepted too (GD2's "oldfmt" did the same), and
//! GD1's `replica 3 arbiter 1` (three bricks, one of them the arbiter) is translated into the
//! daemon's `replica 2 + arbiter 1`.
//!
//! Everything about the command line that can be checked without the daemon (brick syntax, the
//! layout, volume names) is checked while parsing ([`VolumeCommand::check`]), so a mistake is a
//! usage error (exit 2) and no request is sent.
//!
//! `volume delete` asks for confirmation only when stdin is a terminal: there is someone to
//! answer. Scripts (stdin not a terminal) are not asked, and `-y`/`--yes` (GD2's
//! `--script-mode`) skips the question on a terminal too.
//!
//! The command line's words become a request in `parse`, and the daemon's answers become text
//! and tables in `print`; this module holds the commands and the requests they make.

mod add_brick;
mod heal;
mod parse;
mod print;
mod process_status;
mod profile;
mod rebalance;
mod remove_brick;
mod replace_brick;
mod reset_brick;
mod statedump;
#[cfg(test)]
mod tests;
mod top;

pub use add_brick::{AddBrickArgs, add_brick_request};
pub use heal::{Action as HealAction, HealArgs, heal_action};
pub use parse::{Layout, create_request, parse_brick, parse_volume_name, subvols};
pub use print::{
    brick_address, brick_count, bricks_summary, created_line, detail_text, human_size, info_text,
    list_table, status_table, status_text,
};
pub use profile::{Action as ProfileAction, ProfileArgs, profile_action};
pub use rebalance::{Action as RebalanceAction, RebalanceArgs, rebalance_action};
pub use remove_brick::{RemoveBrickArgs, remove_brick_request};
pub use replace_brick::{ReplaceBrickArgs, replace_brick_request};
pub use reset_brick::{ResetBrickArgs, reset_brick_request};
pub use statedump::{StatedumpArgs, statedump_request};
pub use top::{TopArgs, top_query};

use std::{
    collections::BTreeMap,
    io::{self, BufRead, IsTerminal, Write},
};

use clap::{Args, Subcommand};
use gd_api::{BrickStatus, VolumeInfo};
use serde::Serialize;

use crate::{
    client::{Client, Method},
    cmd::{Context, Usage, metadata_matches, options},
    error::CliError,
    output,
};

use parse::count_parser;

/// The collection path of volumes.
const VOLUMES: &str = "/v1/volumes";

/// The `volume` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume from bricks
    ///
    /// Without a layout flag the volume distributes files over all the bricks. With --replica R
    /// the bricks form replica sets of R, in the order given (the number of bricks must be a
    /// multiple of R); with --disperse N, disperse sets of N. GD1's bare words are accepted
    /// too: `glustercli volume create v replica 3 arbiter 1 h1:/b h2:/b h3:/b force`.
    Create(CreateArgs),
    /// Add bricks to a volume, in whole sets of its shape (a started volume's new bricks start)
    ///
    /// For example: `glustercli volume add-brick gv0 h4:/b h5:/b h6:/b` adds a replica set to a
    /// replica 3 volume. GD1's words are accepted: `... add-brick gv0 replica 3 ... force`.
    AddBrick(AddBrickArgs),
    /// Move a volume's files to where its layout puts them (after add-brick), or show how far
    /// that has come
    ///
    /// GD1's words: `glustercli volume rebalance gv0 start`, `... fix-layout start`, `... start
    /// force`, `... stop`, `... status [--watch]`.
    Rebalance(RebalanceArgs),
    /// Replace a brick by a new one, also when the old brick's node is down
    ///
    /// The new brick takes the old one's place; on a replicated volume the self-heal daemons
    /// fill it. GD1's form works: `glustercli volume replace-brick gv0 h2:/old h2:/new commit
    /// force`.
    ReplaceBrick(ReplaceBrickArgs),
    /// Remove bricks from a volume: move their files off first (start, status, commit), or
    /// drop them with their files (force)
    ///
    /// GD1's words: `glustercli volume remove-brick gv0 h4:/b h5:/b h6:/b start`, then `...
    /// status` until it says completed, then `... commit`; `... stop` keeps the bricks.
    /// `glustercli volume remove-brick gv0 replica 2 h3:/b force` lowers the replica count.
    RemoveBrick(RemoveBrickArgs),
    /// Take a brick out of service while its disk is replaced, then bring it back
    ///
    /// GD1's words: `glustercli volume reset-brick gv0 h2:/b start` stops the brick (it stays
    /// stopped); `... reset-brick gv0 h2:/b h2:/b commit` brings it back on the new disk and
    /// the self-heal daemons fill it (`commit force` reuses the old disk's data).
    ResetBrick(ResetBrickArgs),
    /// Show which files need heal, and resolve split-brains
    ///
    /// GD1's words: `glustercli volume heal gv0 info` lists every brick's entries needing heal
    /// (`info summary` counts them, `info split-brain` lists those in split-brain); `... heal gv0
    /// split-brain bigger-file /f`, `latest-mtime /f` or `source-brick h1:/b [/f]` chooses the
    /// copy that wins.
    Heal(HealArgs),
    /// Have a volume's processes dump their state, for debugging
    ///
    /// GD1's words: `glustercli volume statedump gv0 [mem|fd|inode|callpool|...]`; `... gv0 shd`
    /// dumps the self-heal daemons; `... gv0 client <host>:<pid>` a gfapi client. Prints each
    /// file and the node it is on.
    Statedump(StatedumpArgs),
    /// Count a volume's file operations and measure their latency on each brick
    ///
    /// GD1's words: `glustercli volume profile gv0 start`, then `... info` (cumulative and
    /// since the last look; `info peek`, `info incremental [peek]`, `info cumulative`, `info
    /// clear`), and `... stop`.
    Profile(ProfileArgs),
    /// Show each brick's busiest files (most opens, reads, writes...) or measure its throughput
    ///
    /// GD1's words: `glustercli volume top gv0 write [brick h1:/b] [list-cnt 10]`, `... top gv0
    /// read-perf bs 4096 count 1024`, `... top gv0 clear`.
    Top(TopArgs),
    /// Start a volume: its bricks start on their nodes
    Start(StartArgs),
    /// Stop a volume: its bricks stop
    Stop(NameArgs),
    /// Delete a volume that is not started (its bricks keep their data)
    ///
    /// On a terminal, asks for confirmation unless -y is given; when stdin is not a terminal
    /// (a script), does not ask.
    Delete(DeleteArgs),
    /// Show a volume (or every volume): type, state, bricks and options
    Info(InfoArgs),
    /// List the volumes
    List(ListArgs),
    /// Show whether the bricks of a volume (or of every volume) are online, with their ports
    /// and pids
    ///
    /// `glustercli volume status gv0 detail` adds each brick's file system: type, device,
    /// mount options, space and inodes, as measured by its node; `... gv0 clients|mem|inode|
    /// fd|callpool` what the bricks report of themselves (GD1's words; a brick, or `shd`, may
    /// be named before them).
    Status(StatusArgs),
    /// Set options of a volume
    ///
    /// For example: `glustercli volume set gv0 performance.cache-size 64MB`, `glustercli volume
    /// set gv0 group virt`, `glustercli volume set gv0 user.owner alice`.
    Set(options::SetArgs),
    /// Show an option of a volume, or every option with `all`
    Get(options::GetArgs),
    /// Reset options of a volume (or all of them with --all) to their defaults
    Reset(options::ResetArgs),
    /// Manage option groups (profiles): named sets of options a volume turns on at once
    #[command(subcommand)]
    OptionGroup(options::OptionGroupCommand),
}

/// `volume create`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume create <NAME> [OPTIONS] <BRICK>...\n       \
    glustercli volume create <NAME> [replica <N> [arbiter 1]] [disperse <N>] [disperse-data <N>] \
    [redundancy <N>] [transport tcp] <BRICK>... [force]"
)]
pub struct CreateArgs {
    /// The volume's name: 1 to 64 letters, digits, '_' and '-' (not first)
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The bricks: HOST:PATH or PEER-ID:PATH (IPv6 as [ADDR]:PATH), PATH absolute; GD1's bare
    /// words (`replica 3`, `force`...) may be mixed in
    #[arg(value_name = "BRICK", required = true)]
    pub bricks: Vec<String>,
    /// Replica sets of N bricks (N >= 2)
    #[arg(long, value_name = "N", value_parser = count_parser())]
    pub replica: Option<u32>,
    /// 1: the last brick of each replica set is an arbiter (metadata only); with --replica 3
    /// (GD1) or --replica 2
    #[arg(long, value_name = "N", value_parser = count_parser())]
    pub arbiter: Option<u32>,
    /// Disperse (erasure-coded) sets of N bricks
    #[arg(long, value_name = "N", value_parser = count_parser())]
    pub disperse: Option<u32>,
    /// The data bricks of each disperse set (N = data + redundancy)
    #[arg(long, value_name = "N", value_parser = count_parser())]
    pub disperse_data: Option<u32>,
    /// The bricks of each disperse set that may be lost without losing data
    #[arg(long, value_name = "N", value_parser = count_parser())]
    pub redundancy: Option<u32>,
    /// The transport (only tcp)
    #[arg(long, value_name = "TRANSPORT", value_parser = ["tcp"])]
    pub transport: Option<String>,
    /// The brick checks to relax.
    #[command(flatten)]
    pub checks: BrickChecks,
    /// An option to set on the new volume (as `volume set` does); repeat for more options
    #[arg(long = "option", value_name = "KEY=VALUE", value_parser = options::parse_key_value)]
    pub options: Vec<(String, String)>,
}

/// The brick checks a create or add-brick may relax (GD2's flags).
#[derive(Debug, Clone, Default, Args)]
pub struct BrickChecks {
    /// Skip the brick checks: reuse, root file system, mount point; create missing directories
    #[arg(long)]
    pub force: bool,
    /// Create missing brick directories
    #[arg(long)]
    pub create_brick_dir: bool,
    /// Accept bricks on the root file system
    #[arg(long)]
    pub allow_root_dir: bool,
    /// Accept brick directories that are mount points
    #[arg(long)]
    pub allow_mount_as_brick: bool,
    /// Accept bricks that were part of a volume before
    #[arg(long)]
    pub reuse_bricks: bool,
}

impl BrickChecks {
    /// The request's flags (`force` goes on its own).
    pub fn flags(&self) -> gd_api::CreateFlags {
        gd_api::CreateFlags {
            reuse_bricks: self.reuse_bricks,
            allow_root_dir: self.allow_root_dir,
            allow_mount_as_brick: self.allow_mount_as_brick,
            create_brick_dir: self.create_brick_dir,
        }
    }
}

/// `volume start`.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// Also start the bricks that are not running when the volume is already started
    #[arg(short, long)]
    pub force: bool,
}

/// `volume stop`.
#[derive(Debug, Clone, Args)]
pub struct NameArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
}

/// `volume delete`.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// Do not ask for confirmation
    #[arg(short = 'y', long, visible_alias = "script-mode")]
    pub yes: bool,
}

/// `volume info` and `volume status`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// The volume [default: every volume]
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: Option<String>,
}

/// `volume status`.
#[derive(Debug, Clone, Default, Args)]
pub struct StatusArgs {
    /// The volume [default: every volume]
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: Option<String>,
    /// GD1's words after the volume: `[BRICK] detail`
    #[arg(value_name = "WORDS", num_args = 0..=2)]
    pub words: Vec<String>,
}

/// What `volume status` shows beyond the table, and of which brick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusView {
    /// Only this brick (`HOST:PATH`).
    pub brick: Option<gd_api::BrickReq>,
    /// Each brick's file system too (`detail`).
    pub detail: bool,
    /// The self-heal daemons (`shd`).
    pub shd: bool,
    /// What the processes report of themselves: clients, mem, inode, fd, callpool.
    pub kind: Option<&'static str>,
    /// The volume's tasks (`tasks`): rebalance, remove-brick, full heal.
    pub tasks: bool,
}

/// Reads `volume status`'s words.
pub fn status_view(args: &StatusArgs) -> Result<StatusView, String> {
    const KINDS: [&str; 6] = ["detail", "clients", "mem", "inode", "fd", "callpool"];
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let kind = |w: &str| KINDS.iter().find(|k| **k == w).copied();
    if words == ["tasks"] {
        if args.name.is_none() {
            return Err("name the volume whose tasks to show".into());
        }
        return Ok(StatusView {
            tasks: true,
            ..Default::default()
        });
    }
    let (brick, shd, kind) = match words.as_slice() {
        [] => (None, false, None),
        [k] if kind(k).is_some() => (None, false, kind(k)),
        ["shd", k] if kind(k).is_some() => (None, true, kind(k)),
        [b] => (Some(*b), false, None),
        [b, k] if kind(k).is_some() => (Some(*b), false, kind(k)),
        _ => {
            return Err(format!(
                "unknown status words `{}`: use [BRICK|shd] [detail|clients|mem|inode|fd|callpool], or tasks",
                words.join(" ")
            ));
        }
    };
    if args.name.is_none() && !words.is_empty() {
        return Err("name the volume before a brick or what to show".into());
    }
    Ok(StatusView {
        brick: brick.map(parse_brick).transpose()?,
        detail: kind == Some("detail"),
        shd,
        kind: kind.filter(|k| *k != "detail"),
        tasks: false,
    })
}

/// `volume list`.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    /// Only the volumes that have this metadata key (with --value: set to that value)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only the volumes with a metadata value equal to this (with --key: that key's value)
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub value: Option<String>,
}

impl VolumeCommand {
    /// The checks clap cannot express, as usage errors of their subcommand: the bricks' syntax, the layout
    /// and the options of `volume create`, and the options of `volume set`, `volume reset` and
    /// `volume option-group create`.
    pub fn check(&self) -> Result<(), Usage> {
        match self {
            VolumeCommand::Create(args) => create_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "create"], msg)),
            VolumeCommand::AddBrick(args) => add_brick_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "add-brick"], msg)),
            VolumeCommand::ReplaceBrick(args) => replace_brick_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "replace-brick"], msg)),
            VolumeCommand::ResetBrick(args) => reset_brick_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "reset-brick"], msg)),
            VolumeCommand::RemoveBrick(args) => remove_brick_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "remove-brick"], msg)),
            VolumeCommand::Top(args) => top_query(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "top"], msg)),
            VolumeCommand::Profile(args) => profile_action(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "profile"], msg)),
            VolumeCommand::Heal(args) => heal_action(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "heal"], msg)),
            VolumeCommand::Rebalance(args) => rebalance_action(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "rebalance"], msg)),
            VolumeCommand::Status(args) => status_view(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "status"], msg)),
            VolumeCommand::Set(args) => options::check_set(args),
            VolumeCommand::Reset(args) => options::reset_request(args)
                .map(drop)
                .map_err(|msg| Usage::at(&["volume", "reset"], msg)),
            VolumeCommand::OptionGroup(cmd) => options::check_group(cmd),
            _ => Ok(()),
        }
    }
}

/// Runs a `volume` command.
pub async fn run(ctx: &Context, cmd: VolumeCommand) -> Result<(), CliError> {
    match cmd {
        VolumeCommand::Create(args) => create(ctx, args).await,
        VolumeCommand::AddBrick(args) => add_brick::add_brick(ctx, args).await,
        VolumeCommand::Rebalance(args) => rebalance::rebalance(ctx, args).await,
        VolumeCommand::ReplaceBrick(args) => replace_brick::replace_brick(ctx, args).await,
        VolumeCommand::RemoveBrick(args) => remove_brick::remove_brick(ctx, args).await,
        VolumeCommand::ResetBrick(args) => reset_brick::reset_brick(ctx, args).await,
        VolumeCommand::Heal(args) => heal::heal(ctx, args).await,
        VolumeCommand::Statedump(args) => statedump::statedump(ctx, args).await,
        VolumeCommand::Profile(args) => profile::profile(ctx, args).await,
        VolumeCommand::Top(args) => top::top(ctx, args).await,
        VolumeCommand::Start(args) => start(ctx, args).await,
        VolumeCommand::Stop(args) => stop(ctx, args).await,
        VolumeCommand::Delete(args) => delete(ctx, args).await,
        VolumeCommand::Info(args) => info(ctx, args).await,
        VolumeCommand::List(args) => list(ctx, args).await,
        VolumeCommand::Status(args) => status(ctx, args).await,
        VolumeCommand::Set(args) => options::set(ctx, args).await,
        VolumeCommand::Get(args) => options::get(ctx, args).await,
        VolumeCommand::Reset(args) => options::reset(ctx, args).await,
        VolumeCommand::OptionGroup(cmd) => options::option_group(ctx, cmd).await,
    }
}

async fn create(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    let req = create_request(&args).map_err(CliError::Usage)?;
    let vol: VolumeInfo = ctx.client()?.post(VOLUMES, &req).await?;
    if ctx.json() {
        output::print_json(&vol)?;
    } else {
        output::print_line(&created_line(&vol))?;
        output::print_line(&info_text(&vol))?;
    }
    Ok(())
}

/// The body of `POST /v1/volumes/{name}/start`.
#[derive(Debug, Serialize)]
struct StartReq {
    #[serde(rename = "force-start-bricks")]
    force_start_bricks: bool,
}

async fn start(ctx: &Context, args: StartArgs) -> Result<(), CliError> {
    let req = StartReq {
        force_start_bricks: args.force,
    };
    let vol: VolumeInfo = ctx
        .client()?
        .post(&format!("{VOLUMES}/{}/start", args.name), &req)
        .await?;
    print_done(ctx, &vol, "started")
}

async fn stop(ctx: &Context, args: NameArgs) -> Result<(), CliError> {
    // The API's stop takes no body.
    let vol: VolumeInfo = ctx
        .client()?
        .request::<(), _>(
            Method::POST,
            &format!("{VOLUMES}/{}/stop", args.name),
            &[],
            None,
        )
        .await?;
    print_done(ctx, &vol, "stopped")
}

/// `Volume <name> <what>`, or the volume as JSON.
fn print_done(ctx: &Context, vol: &VolumeInfo, what: &str) -> Result<(), CliError> {
    if ctx.json() {
        output::print_json(vol)?;
    } else {
        output::print_line(&format!("Volume {} {what}", vol.name))?;
    }
    Ok(())
}

async fn delete(ctx: &Context, args: DeleteArgs) -> Result<(), CliError> {
    if !args.yes && io::stdin().is_terminal() {
        let prompt = format!(
            "Deleting volume {} removes it from the cluster (its bricks keep their data). \
             Do you want to continue?",
            args.name
        );
        if !confirm(&prompt, &mut io::stdin().lock(), &mut io::stderr())? {
            return Err(CliError::Cancelled(format!(
                "volume {} was not deleted",
                args.name
            )));
        }
    }
    ctx.client()?
        .delete(&format!("{VOLUMES}/{}", args.name))
        .await?;
    // The API answers 204 without a body: with --json there is nothing to print.
    if !ctx.json() {
        output::print_line(&format!("Volume {} deleted", args.name))?;
    }
    Ok(())
}

/// Asks a yes/no question on `output` and reads the answer from `input`: only `y` or `yes`
/// (any case) is a yes; anything else, or no answer at all, is a no.
pub fn confirm(
    prompt: &str,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> io::Result<bool> {
    write!(output, "{prompt} (y/N) ")?;
    output.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

async fn info(ctx: &Context, args: InfoArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    match args.name {
        Some(name) => {
            let vol: VolumeInfo = client.get(&format!("{VOLUMES}/{name}")).await?;
            if ctx.json() {
                output::print_json(&vol)?;
            } else {
                output::print_line(&info_text(&vol))?;
            }
        }
        None => {
            let vols: Vec<VolumeInfo> = client.get_pages(VOLUMES, &[]).await?;
            if ctx.json() {
                output::print_json(&vols)?;
            } else if vols.is_empty() {
                output::print_line(NO_VOLUMES)?;
            } else {
                let blocks: Vec<String> = vols.iter().map(info_text).collect();
                output::print_line(&blocks.join("\n\n"))?;
            }
        }
    }
    Ok(())
}

/// What `volume info` and `volume status` print when there is no volume (GD1's words).
pub const NO_VOLUMES: &str = "No volumes present";

async fn list(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let mut query = Vec::new();
    if let Some(key) = &args.key {
        query.push(("key", key.as_str()));
    }
    if let Some(value) = &args.value {
        query.push(("value", value.as_str()));
    }
    let mut vols: Vec<VolumeInfo> = ctx.client()?.get_pages(VOLUMES, &query).await?;
    // The daemon filters too; filtering again keeps the answer right if it does not.
    vols.retain(|v| metadata_matches(&v.metadata, args.key.as_deref(), args.value.as_deref()));
    if ctx.json() {
        output::print_json(&vols)?;
    } else {
        output::print_table(&list_table(&vols))?;
    }
    Ok(())
}

async fn status(ctx: &Context, args: StatusArgs) -> Result<(), CliError> {
    let view = status_view(&args).map_err(CliError::Usage)?;
    let client = ctx.client()?;
    match args.name {
        Some(name) if view.tasks => process_status::tasks(ctx, &client, &name).await?,
        Some(name) if view.kind.is_some() => {
            process_status::show(ctx, &client, &name, &view, args.words.first()).await?;
        }
        Some(name) => {
            let mut bricks = brick_statuses(&client, &name).await?;
            if let Some(b) = &view.brick {
                bricks.retain(|s| {
                    s.info.path == b.path
                        && (b.host.as_deref() == Some(s.info.host.as_str())
                            || b.peerid == Some(s.info.peer_id))
                });
                if bricks.is_empty() {
                    return Err(CliError::Usage(format!(
                        "volume {name} has no brick {}",
                        args.words[0]
                    )));
                }
            }
            if ctx.json() {
                output::print_json(&bricks)?;
            } else if view.detail {
                output::print_line(&detail_text(&name, &bricks))?;
            } else {
                output::print_line(&status_text(&name, &bricks))?;
            }
        }
        None => {
            let vols: Vec<VolumeInfo> = client.get_pages(VOLUMES, &[]).await?;
            let mut all = BTreeMap::new();
            for v in &vols {
                all.insert(v.name.clone(), brick_statuses(&client, &v.name).await?);
            }
            if ctx.json() {
                output::print_json(&all)?;
            } else if all.is_empty() {
                output::print_line(NO_VOLUMES)?;
            } else {
                let blocks: Vec<String> = all
                    .iter()
                    .map(|(name, bricks)| status_text(name, bricks))
                    .collect();
                output::print_line(&blocks.join("\n\n"))?;
            }
        }
    }
    Ok(())
}

async fn brick_statuses(client: &Client, name: &str) -> Result<Vec<BrickStatus>, CliError> {
    Ok(client.get(&format!("{VOLUMES}/{name}/bricks")).await?)
}
