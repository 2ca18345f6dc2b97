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

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{self, BufRead, IsTerminal, Write},
};

use clap::{Args, Subcommand, value_parser};
use comfy_table::Table;
use gd_api::{
    BrickKind, BrickReq, BrickStatus, CreateFlags, SubvolReq, SubvolType, VolCreateReq, VolumeInfo,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    cli,
    client::{Client, Method},
    cmd::{Context, metadata_matches, options},
    error::CliError,
    output,
};

/// The collection path of volumes.
const VOLUMES: &str = "/v1/volumes";

/// The largest count `--replica`, `--disperse`... accept (the daemon's brick limit per volume).
const COUNT_MAX: u32 = 1024;

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
    Status(InfoArgs),
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
    /// An option to set on the new volume (as `volume set` does); repeat for more options
    #[arg(long = "option", value_name = "KEY=VALUE", value_parser = options::parse_key_value)]
    pub options: Vec<(String, String)>,
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
    /// The checks clap cannot express, as clap usage errors: the bricks' syntax, the layout
    /// and the options of `volume create`, and the options of `volume set`, `volume reset` and
    /// `volume option-group create`.
    pub fn check(&self) -> Result<(), clap::Error> {
        match self {
            VolumeCommand::Create(args) => create_request(args)
                .map(drop)
                .map_err(|msg| cli::usage_error(&["volume", "create"], msg)),
            VolumeCommand::Set(args) => options::check_set(args),
            VolumeCommand::Reset(args) => options::reset_request(args)
                .map(drop)
                .map_err(|msg| cli::usage_error(&["volume", "reset"], msg)),
            VolumeCommand::OptionGroup(cmd) => options::check_group(cmd),
            _ => Ok(()),
        }
    }
}

/// Runs a `volume` command.
pub async fn run(ctx: &Context, cmd: VolumeCommand) -> Result<(), CliError> {
    match cmd {
        VolumeCommand::Create(args) => create(ctx, args).await,
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
            let vols: Vec<VolumeInfo> = client.get(VOLUMES).await?;
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
    let mut vols: Vec<VolumeInfo> = ctx.client()?.get_query(VOLUMES, &query).await?;
    // The daemon filters too; filtering again keeps the answer right if it does not.
    vols.retain(|v| metadata_matches(&v.metadata, args.key.as_deref(), args.value.as_deref()));
    if ctx.json() {
        output::print_json(&vols)?;
    } else {
        output::print_table(&list_table(&vols))?;
    }
    Ok(())
}

async fn status(ctx: &Context, args: InfoArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    match args.name {
        Some(name) => {
            let bricks = brick_statuses(&client, &name).await?;
            if ctx.json() {
                output::print_json(&bricks)?;
            } else {
                output::print_line(&status_text(&name, &bricks))?;
            }
        }
        None => {
            let vols: Vec<VolumeInfo> = client.get(VOLUMES).await?;
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

// ---- parsing ----

/// Parses a volume name with the daemon's rule (`gd_api::check_volume_name`). Checking it
/// here also keeps names from changing the request's URL (`/`, `?`...).
pub fn parse_volume_name(s: &str) -> Result<String, String> {
    gd_api::check_volume_name(s).map(|()| s.to_owned())
}

fn count_parser() -> clap::builder::RangedI64ValueParser<u32> {
    value_parser!(u32).range(1..=i64::from(COUNT_MAX))
}

/// Parses the count after one of GD1's bare words (`replica 3`).
fn parse_count(word: &str, value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (1..=COUNT_MAX).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{word} {value}`: expected a count from 1 to {COUNT_MAX}"
        )),
    }
}

/// Parses a brick: `HOST:PATH`, `PEER-ID:PATH` or `[IPV6]:PATH` (an unbracketed IPv6 address
/// works too, as the path starts with `/`). A host that is a UUID names the peer by its id.
pub fn parse_brick(s: &str) -> Result<BrickReq, String> {
    let (host, path) = split_brick(s)?;
    if host.is_empty() {
        return Err(format!("invalid brick {s:?}: the host is empty"));
    }
    if !path.starts_with('/') {
        return Err(format!(
            "invalid brick {s:?}: the path must be absolute (start with '/')"
        ));
    }
    if path.chars().all(|c| c == '/') {
        return Err(format!(
            "invalid brick {s:?}: the root directory cannot be a brick"
        ));
    }
    let (peerid, host) = match Uuid::parse_str(host) {
        Ok(id) => (Some(id), None),
        Err(_) => (None, Some(host.to_owned())),
    };
    Ok(BrickReq {
        peerid,
        host,
        path: path.to_owned(),
        kind: BrickKind::Brick,
    })
}

/// Splits a brick into host (without IPv6 brackets) and path.
fn split_brick(s: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((host, path)) = rest
            .split_once(']')
            .and_then(|(h, r)| r.strip_prefix(':').map(|p| (h, p)))
        else {
            return Err(format!("invalid brick {s:?}: expected [IPV6]:PATH"));
        };
        return Ok((host, path));
    }
    // The path starts with '/' and a host has none: the first ":/" ends the host, even an
    // IPv6 address without brackets.
    if let Some(i) = s.find(":/") {
        return Ok((&s[..i], &s[i + 1..]));
    }
    match s.split_once(':') {
        Some(parts) => Ok(parts),
        None => Err(format!(
            "invalid brick {s:?}: expected HOST:PATH, there is no ':'"
        )),
    }
}

/// The layout counts of `volume create`, from the flags and GD1's bare words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// `--replica`.
    pub replica: Option<u32>,
    /// `--arbiter`.
    pub arbiter: Option<u32>,
    /// `--disperse`.
    pub disperse: Option<u32>,
    /// `--disperse-data`.
    pub disperse_data: Option<u32>,
    /// `--redundancy`.
    pub redundancy: Option<u32>,
}

/// Sets `slot` to `value` unless it is set already (a flag and its bare word, or a word twice).
fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} is given more than once"));
    }
    *slot = Some(value);
    Ok(())
}

/// The body of `POST /v1/volumes` for `volume create`: reads GD1's bare words among the bricks,
/// parses the bricks and groups them into subvolumes ([`subvols`]); fails on an `--option` key
/// given twice.
pub fn create_request(args: &CreateArgs) -> Result<VolCreateReq, String> {
    let mut layout = Layout {
        replica: args.replica,
        arbiter: args.arbiter,
        disperse: args.disperse,
        disperse_data: args.disperse_data,
        redundancy: args.redundancy,
    };
    let mut transport = args.transport.clone();
    let mut force = args.force;
    let mut bricks = Vec::new();
    let mut seen = BTreeSet::new();
    let mut words = args.bricks.iter();
    while let Some(word) = words.next() {
        let w = word.as_str();
        match w {
            "force" => force = true,
            "transport" | "replica" | "arbiter" | "disperse" | "disperse-data" | "redundancy" => {
                let Some(value) = words.next() else {
                    return Err(format!("`{w}` needs a value"));
                };
                let slot = match w {
                    "transport" => {
                        if value != "tcp" {
                            return Err(format!("`transport {value}`: the only transport is tcp"));
                        }
                        set_once(&mut transport, value.clone(), "transport")?;
                        continue;
                    }
                    "replica" => &mut layout.replica,
                    "arbiter" => &mut layout.arbiter,
                    "disperse" => &mut layout.disperse,
                    "disperse-data" => &mut layout.disperse_data,
                    _ => &mut layout.redundancy,
                };
                set_once(slot, parse_count(w, value)?, w)?;
            }
            _ => {
                let brick = parse_brick(w)?;
                let key = (
                    brick.peerid,
                    brick.host.clone(),
                    brick.path.trim_end_matches('/').to_owned(),
                );
                if !seen.insert(key) {
                    return Err(format!("the brick {w} is given more than once"));
                }
                bricks.push(brick);
            }
        }
    }
    Ok(VolCreateReq {
        name: args.name.clone(),
        transport,
        subvols: subvols(&layout, bricks)?,
        force,
        metadata: BTreeMap::new(),
        flags: CreateFlags {
            reuse_bricks: args.reuse_bricks,
            allow_root_dir: args.allow_root_dir,
            allow_mount_as_brick: args.allow_mount_as_brick,
            create_brick_dir: args.create_brick_dir,
        },
        options: options::key_value_map(&args.options)?,
    })
}

/// Groups the bricks, in order, into the subvolumes `layout` describes:
///
/// - `replica R`: sets of R bricks; with `arbiter 1`, sets of three bricks (`replica 3 arbiter
///   1` as GD1 says it, or `replica 2 arbiter 1` as GD2 does) whose last brick is the arbiter,
///   sent as the daemon's `replica 2, arbiter 1`;
/// - `disperse N` (or `disperse-data D` + `redundancy R`, N = D + R; either alone: N = all
///   the bricks, as GD1): sets of N bricks;
/// - nothing: one distribute subvolume with every brick.
///
/// The number of bricks must be a multiple of the set size.
pub fn subvols(layout: &Layout, bricks: Vec<BrickReq>) -> Result<Vec<SubvolReq>, String> {
    if bricks.is_empty() {
        return Err("no bricks are given".to_owned());
    }
    let total = bricks.len();
    let is_disperse =
        layout.disperse.is_some() || layout.disperse_data.is_some() || layout.redundancy.is_some();
    let template = |kind| SubvolReq {
        kind,
        bricks: Vec::new(),
        replica: 0,
        arbiter: 0,
        disperse_count: 0,
        disperse_data: 0,
        disperse_redundancy: 0,
    };
    let (template, size, what) = match (layout.replica, is_disperse) {
        (Some(_), true) => {
            return Err("replica and disperse cannot be combined".to_owned());
        }
        (None, _) if layout.arbiter.is_some() => {
            return Err("arbiter needs replica (e.g. --replica 3 --arbiter 1)".to_owned());
        }
        (Some(1), _) => {
            return Err(
                "replica must be at least 2 (leave it out for a distribute volume)".to_owned(),
            );
        }
        (Some(r), false) => match layout.arbiter {
            None => (
                SubvolReq {
                    replica: r,
                    ..template(SubvolType::Replicate)
                },
                r,
                format!("replica {r}"),
            ),
            Some(1) if r == 2 || r == 3 => (
                SubvolReq {
                    replica: 2,
                    arbiter: 1,
                    ..template(SubvolType::Replicate)
                },
                3,
                format!("replica {r} arbiter 1"),
            ),
            Some(1) => {
                return Err(format!(
                    "an arbiter volume is replica 3 arbiter 1 (two data bricks and an arbiter in \
                     each set; GD2 also says replica 2 arbiter 1), not replica {r}"
                ));
            }
            Some(a) => return Err(format!("arbiter must be 1, not {a}")),
        },
        (None, true) => {
            let (req, n) = disperse(layout, total)?;
            (req, n, format!("disperse {n}"))
        }
        (None, false) => {
            return Ok(vec![SubvolReq {
                bricks,
                ..template(SubvolType::Distribute)
            }]);
        }
    };
    let size = size as usize;
    if !total.is_multiple_of(size) {
        return Err(format!(
            "{what} groups the bricks in sets of {size}: the number of bricks ({total}) must be a multiple of {size}"
        ));
    }
    let arbiter = template.arbiter == 1;
    Ok(bricks
        .chunks(size)
        .map(|chunk| {
            let mut bricks = chunk.to_vec();
            if arbiter && let Some(last) = bricks.last_mut() {
                last.kind = BrickKind::Arbiter;
            }
            SubvolReq {
                bricks,
                ..template.clone()
            }
        })
        .collect())
}

/// The disperse subvolume template and its size. Data and redundancy are sent when given or
/// implied (one of them and the count); otherwise the daemon picks GlusterFS's default
/// redundancy for the count.
fn disperse(layout: &Layout, total: usize) -> Result<(SubvolReq, u32), String> {
    let n = match (layout.disperse, layout.disperse_data, layout.redundancy) {
        (Some(n), _, _) => n,
        (None, Some(d), Some(r)) => d + r,
        // GD1: without a count, one disperse set of every brick.
        (None, _, _) => u32::try_from(total).unwrap_or(u32::MAX),
    };
    let (data, redundancy) = match (layout.disperse_data, layout.redundancy) {
        (Some(d), Some(r)) if d + r != n => {
            return Err(format!(
                "disperse-data {d} + redundancy {r} must equal the disperse count {n}"
            ));
        }
        (Some(d), Some(r)) => (d, r),
        (Some(d), None) if d >= n => {
            return Err(format!(
                "disperse-data {d} must be less than the disperse count {n}"
            ));
        }
        (Some(d), None) => (d, n - d),
        (None, Some(r)) if r >= n => {
            return Err(format!(
                "redundancy {r} must be less than the disperse count {n}"
            ));
        }
        (None, Some(r)) => (n - r, r),
        (None, None) => (0, 0),
    };
    if n < 3 {
        return Err(format!("a disperse set has at least 3 bricks, not {n}"));
    }
    if 2 * redundancy >= n {
        return Err(format!(
            "redundancy {redundancy} must be less than half the disperse count {n}"
        ));
    }
    Ok((
        SubvolReq {
            kind: SubvolType::Disperse,
            bricks: Vec::new(),
            replica: 0,
            arbiter: 0,
            disperse_count: n,
            disperse_data: data,
            disperse_redundancy: redundancy,
        },
        n,
    ))
}

// ---- printing ----

/// The number of bricks of a volume.
pub fn brick_count(vol: &VolumeInfo) -> usize {
    vol.subvols.iter().map(|s| s.bricks.len()).sum()
}

/// `volume create`'s confirmation: `Volume <name> created (<type>, <n> bricks)`.
pub fn created_line(vol: &VolumeInfo) -> String {
    let n = brick_count(vol);
    let bricks = if n == 1 { "brick" } else { "bricks" };
    format!("Volume {} created ({}, {n} {bricks})", vol.name, vol.kind)
}

/// A brick as people write it: `host:path`, `[v6]:path`.
pub fn brick_address(host: &str, path: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{path}")
    } else {
        format!("{host}:{path}")
    }
}

/// GD1's `Number of Bricks` value: `N` (distribute), `D x R = N` (replicate), `D x (2 + 1) =
/// N` (arbiter), `D x (data + redundancy) = N` (disperse).
pub fn bricks_summary(vol: &VolumeInfo) -> String {
    let n = brick_count(vol);
    let d = vol.subvols.len();
    if vol.disperse_count > 0 {
        let r = vol.disperse_redundancy_count;
        if r > 0 && r < vol.disperse_count {
            format!("{d} x ({} + {r}) = {n}", vol.disperse_count - r)
        } else {
            format!("{d} x {} = {n}", vol.disperse_count)
        }
    } else if vol.arbiter_count > 0 {
        format!(
            "{d} x ({} + {}) = {n}",
            vol.replica_count, vol.arbiter_count
        )
    } else if vol.replica_count > 1 {
        format!("{d} x {} = {n}", vol.replica_count)
    } else {
        n.to_string()
    }
}

/// `volume info`'s text for one volume, GD1's layout (no final newline).
pub fn info_text(vol: &VolumeInfo) -> String {
    let mut lines = vec![
        format!("Volume Name: {}", vol.name),
        format!("Type: {}", vol.kind),
        format!("Volume ID: {}", vol.id),
        format!("State: {}", vol.state),
        format!("Transport-type: {}", vol.transport),
        format!("Number of Bricks: {}", bricks_summary(vol)),
        "Bricks:".to_owned(),
    ];
    let bricks = vol.subvols.iter().flat_map(|s| &s.bricks);
    for (i, b) in bricks.enumerate() {
        let arbiter = if b.kind.eq_ignore_ascii_case("arbiter") {
            " (arbiter)"
        } else {
            ""
        };
        lines.push(format!(
            "Brick{}: {}{arbiter}",
            i + 1,
            brick_address(&b.host, &b.path)
        ));
    }
    if !vol.options.is_empty() {
        lines.push("Options:".to_owned());
        lines.extend(vol.options.iter().map(|(k, v)| format!("{k}: {v}")));
    }
    lines.join("\n")
}

/// The table of `volume list`: Name, ID, Type, State, Bricks.
pub fn list_table(vols: &[VolumeInfo]) -> Table {
    let mut t = output::table(["Name", "ID", "Type", "State", "Bricks"]);
    for v in vols {
        t.add_row(vec![
            v.name.clone(),
            v.id.to_string(),
            v.kind.clone(),
            v.state.clone(),
            brick_count(v).to_string(),
        ]);
    }
    t
}

/// The table of `volume status` for one volume: Brick, Online, Port, Pid (`N/A` when the
/// brick has none, as GD1 prints).
pub fn status_table(bricks: &[BrickStatus]) -> Table {
    let na = |n: u32| {
        if n == 0 {
            "N/A".to_owned()
        } else {
            n.to_string()
        }
    };
    let mut t = output::table(["Brick", "Online", "Port", "Pid"]);
    for b in bricks {
        t.add_row(vec![
            brick_address(&b.info.host, &b.info.path),
            output::yes_no(b.online).to_owned(),
            na(u32::from(b.port)),
            na(b.pid),
        ]);
    }
    t
}

/// `Status of volume: <name>` and its table.
pub fn status_text(name: &str, bricks: &[BrickStatus]) -> String {
    format!("Status of volume: {name}\n{}", status_table(bricks))
}

#[cfg(test)]
mod tests {
    use gd_api::{BrickInfo, SubvolInfo};
    use serde_json::json;

    use super::*;

    const PEER: &str = "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01";

    fn host(h: &str, p: &str) -> BrickReq {
        BrickReq {
            host: Some(h.into()),
            path: p.into(),
            ..BrickReq::default()
        }
    }

    #[test]
    fn bricks_parse() {
        assert_eq!(parse_brick("node1:/b/1"), Ok(host("node1", "/b/1")));
        assert_eq!(parse_brick("node1:/b:c/1"), Ok(host("node1", "/b:c/1")));
        assert_eq!(parse_brick("[::1]:/b"), Ok(host("::1", "/b")));
        assert_eq!(parse_brick("fd00::2:/b"), Ok(host("fd00::2", "/b")));
        assert_eq!(
            parse_brick(&format!("{PEER}:/b")),
            Ok(BrickReq {
                peerid: Some(PEER.parse().unwrap()),
                path: "/b".into(),
                ..BrickReq::default()
            })
        );
        for (s, why) in [
            ("node1", "there is no ':'"),
            ("/b/1", "there is no ':'"),
            ("node1:b/1", "must be absolute"),
            ("node1:", "must be absolute"),
            (":/b", "the host is empty"),
            ("[]:/b", "the host is empty"),
            ("[::1]/b", "expected [IPV6]:PATH"),
            ("[::1:/b", "expected [IPV6]:PATH"),
            ("node1:/", "root directory"),
            ("node1://", "root directory"),
        ] {
            let e = parse_brick(s).unwrap_err();
            assert!(e.contains(why) && e.contains(s), "{s}: {e}");
        }
    }

    #[test]
    fn volume_names() {
        assert_eq!(parse_volume_name("gv_0-a"), Ok("gv_0-a".into()));
        assert!(parse_volume_name(&"v".repeat(64)).is_ok());
        for bad in ["", "-v", "a/b", "a b", "vé", "a?x"] {
            assert!(parse_volume_name(bad).is_err(), "{bad}");
        }
        assert!(
            parse_volume_name(&"v".repeat(65))
                .unwrap_err()
                .contains("64")
        );
    }

    fn bricks(n: usize) -> Vec<BrickReq> {
        (1..=n).map(|i| host(&format!("n{i}"), "/b")).collect()
    }

    fn layout_json(layout: Layout, n: usize) -> Result<serde_json::Value, String> {
        subvols(&layout, bricks(n)).map(|s| serde_json::to_value(s).unwrap())
    }

    fn b(i: usize, kind: &str) -> serde_json::Value {
        json!({"host": format!("n{i}"), "path": "/b", "type": kind})
    }

    #[test]
    fn layouts() {
        assert_eq!(
            layout_json(Layout::default(), 2).unwrap(),
            json!([{"type": "distribute", "bricks": [b(1, "brick"), b(2, "brick")]}])
        );
        let replica = |r| Layout {
            replica: Some(r),
            ..Layout::default()
        };
        assert_eq!(
            layout_json(replica(2), 4).unwrap(),
            json!([
                {"type": "replicate", "replica": 2, "bricks": [b(1, "brick"), b(2, "brick")]},
                {"type": "replicate", "replica": 2, "bricks": [b(3, "brick"), b(4, "brick")]},
            ])
        );
        for r in [2, 3] {
            let l = Layout {
                arbiter: Some(1),
                ..replica(r)
            };
            assert_eq!(
                layout_json(l, 3).unwrap(),
                json!([{"type": "replicate", "replica": 2, "arbiter": 1,
                        "bricks": [b(1, "brick"), b(2, "brick"), b(3, "arbiter")]}])
            );
        }
        let ec = |n, d, r| Layout {
            disperse: n,
            disperse_data: d,
            redundancy: r,
            ..Layout::default()
        };
        let ec3 = |extra: serde_json::Value| {
            let mut v = json!({"type": "disperse", "disperse-count": 3,
                               "bricks": [b(1, "brick"), b(2, "brick"), b(3, "brick")]});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!([v])
        };
        assert_eq!(
            layout_json(ec(Some(3), None, None), 3).unwrap(),
            ec3(json!({}))
        );
        let full = ec3(json!({"disperse-data": 2, "disperse-redundancy": 1}));
        for l in [
            ec(Some(3), None, Some(1)),
            ec(Some(3), Some(2), None),
            ec(Some(3), Some(2), Some(1)),
            ec(None, Some(2), Some(1)),
            ec(None, None, Some(1)),
            ec(None, Some(2), None),
        ] {
            assert_eq!(layout_json(l.clone(), 3).unwrap(), full, "{l:?}");
        }
        assert_eq!(
            layout_json(ec(Some(3), None, None), 6)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );

        for (l, n, why) in [
            (
                replica(3),
                4,
                "replica 3 groups the bricks in sets of 3: the number of bricks (4)",
            ),
            (replica(1), 2, "at least 2"),
            (
                Layout {
                    arbiter: Some(1),
                    ..Layout::default()
                },
                3,
                "arbiter needs replica",
            ),
            (
                Layout {
                    arbiter: Some(2),
                    ..replica(3)
                },
                3,
                "arbiter must be 1",
            ),
            (
                Layout {
                    arbiter: Some(1),
                    ..replica(4)
                },
                4,
                "not replica 4",
            ),
            (
                Layout {
                    disperse: Some(3),
                    ..replica(3)
                },
                3,
                "cannot be combined",
            ),
            (ec(Some(2), None, None), 2, "at least 3"),
            (ec(Some(4), None, Some(2)), 4, "less than half"),
            (ec(Some(4), Some(2), Some(1)), 4, "must equal"),
            (
                ec(Some(3), Some(3), None),
                3,
                "less than the disperse count",
            ),
            (
                ec(Some(3), None, Some(3)),
                3,
                "less than the disperse count",
            ),
            (
                ec(Some(3), None, None),
                4,
                "disperse 3 groups the bricks in sets of 3",
            ),
            (Layout::default(), 0, "no bricks"),
        ] {
            let e = layout_json(l.clone(), n).unwrap_err();
            assert!(e.contains(why), "{l:?}: {e}");
        }
    }

    fn create_args(words: &[&str]) -> CreateArgs {
        CreateArgs {
            name: "v".into(),
            bricks: words.iter().map(|s| s.to_string()).collect(),
            replica: None,
            arbiter: None,
            disperse: None,
            disperse_data: None,
            redundancy: None,
            transport: None,
            force: false,
            create_brick_dir: false,
            allow_root_dir: false,
            allow_mount_as_brick: false,
            reuse_bricks: false,
            options: Vec::new(),
        }
    }

    #[test]
    fn gd1_words() {
        let flags = CreateArgs {
            replica: Some(3),
            arbiter: Some(1),
            force: true,
            transport: Some("tcp".into()),
            ..create_args(&["n1:/b", "n2:/b", "n3:/b"])
        };
        let words = create_args(&[
            "replica",
            "3",
            "arbiter",
            "1",
            "transport",
            "tcp",
            "n1:/b",
            "n2:/b",
            "n3:/b",
            "force",
        ]);
        let req = create_request(&words).unwrap();
        assert_eq!(req, create_request(&flags).unwrap());
        assert!(req.force);
        assert_eq!(req.transport.as_deref(), Some("tcp"));

        for (words, why) in [
            (&["replica"][..], "`replica` needs a value"),
            (&["replica", "x", "n1:/b"], "`replica x`: expected a count"),
            (&["replica", "0", "n1:/b"], "expected a count"),
            (
                &["replica", "2", "replica", "2"],
                "replica is given more than once",
            ),
            (&["transport", "rdma", "n1:/b"], "only transport is tcp"),
            (&["stripe", "2", "n1:/b"], "\"stripe\": expected HOST:PATH"),
            (&["n1:/b", "n1:/b/"], "n1:/b/ is given more than once"),
            (&["force"], "no bricks"),
        ] {
            let e = create_request(&create_args(words)).unwrap_err();
            assert!(e.contains(why), "{words:?}: {e}");
        }
        let both = CreateArgs {
            replica: Some(2),
            ..create_args(&["replica", "2", "n1:/b", "n2:/b"])
        };
        assert!(
            create_request(&both)
                .unwrap_err()
                .contains("more than once")
        );
    }

    #[test]
    fn flags_and_defaults_in_the_request() {
        let args = CreateArgs {
            create_brick_dir: true,
            reuse_bricks: true,
            ..create_args(&["n1:/b"])
        };
        assert_eq!(
            serde_json::to_value(create_request(&args).unwrap()).unwrap(),
            json!({
                "name": "v",
                "subvols": [{"type": "distribute", "bricks": [{"host": "n1", "path": "/b", "type": "brick"}]}],
                "force": false,
                "flags": {"reuse-bricks": true, "allow-root-dir": false,
                          "allow-mount-as-brick": false, "create-brick-dir": true},
            })
        );
    }

    fn brick(host: &str, path: &str, kind: &str) -> BrickInfo {
        BrickInfo {
            id: Uuid::nil(),
            path: path.into(),
            volume_id: Uuid::nil(),
            volume_name: "v".into(),
            peer_id: Uuid::nil(),
            host: host.into(),
            kind: kind.into(),
        }
    }

    fn volume(kind: &str, sets: &[&[BrickInfo]]) -> VolumeInfo {
        VolumeInfo {
            id: Uuid::nil(),
            name: "v".into(),
            kind: kind.into(),
            transport: "tcp".into(),
            distribute_count: sets.len() as u32,
            replica_count: 1,
            arbiter_count: 0,
            disperse_count: 0,
            disperse_redundancy_count: 0,
            options: BTreeMap::new(),
            state: "Created".into(),
            metadata: BTreeMap::new(),
            subvols: sets
                .iter()
                .map(|bricks| SubvolInfo {
                    name: "v-x-0".into(),
                    kind: "Replicate".into(),
                    replica_count: 1,
                    arbiter_count: 0,
                    disperse_count: 0,
                    bricks: bricks.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn summaries() {
        let b3 = [
            brick("n1", "/b", "Brick"),
            brick("n2", "/b", "Brick"),
            brick("n3", "/b", "Brick"),
        ];
        let dist = volume("Distribute", &[&b3[..1], &b3[1..2]]);
        assert_eq!(bricks_summary(&dist), "2");
        let mut rep = volume("Distributed-Replicate", &[&b3, &b3]);
        rep.replica_count = 3;
        assert_eq!(bricks_summary(&rep), "2 x 3 = 6");
        let mut arb = volume("Replicate", &[&b3]);
        arb.replica_count = 2;
        arb.arbiter_count = 1;
        assert_eq!(bricks_summary(&arb), "1 x (2 + 1) = 3");
        let mut ec = volume("Disperse", &[&b3]);
        ec.disperse_count = 3;
        ec.disperse_redundancy_count = 1;
        assert_eq!(bricks_summary(&ec), "1 x (2 + 1) = 3");
        ec.disperse_redundancy_count = 0;
        assert_eq!(bricks_summary(&ec), "1 x 3 = 3");
        assert_eq!(created_line(&ec), "Volume v created (Disperse, 3 bricks)");
        let one = volume("Distribute", &[&b3[..1]]);
        assert_eq!(created_line(&one), "Volume v created (Distribute, 1 brick)");
    }

    #[test]
    fn info_block() {
        let bricks = [
            brick("n1", "/b1", "Brick"),
            brick("fd00::2", "/b2", "Brick"),
            brick("n3", "/b3", "Arbiter"),
        ];
        let mut v = volume("Replicate", &[&bricks]);
        v.replica_count = 2;
        v.arbiter_count = 1;
        v.options = [("a.b".to_owned(), "on".to_owned())].into();
        assert_eq!(
            info_text(&v),
            "Volume Name: v
Type: Replicate
Volume ID: 00000000-0000-0000-0000-000000000000
State: Created
Transport-type: tcp
Number of Bricks: 1 x (2 + 1) = 3
Bricks:
Brick1: n1:/b1
Brick2: [fd00::2]:/b2
Brick3: n3:/b3 (arbiter)
Options:
a.b: on"
        );
        v.options.clear();
        assert!(info_text(&v).ends_with("(arbiter)"));
    }

    #[test]
    fn status_rendering() {
        let statuses = [
            BrickStatus {
                info: brick("n1", "/b1", "Brick"),
                online: true,
                pid: 1234,
                port: 49152,
            },
            BrickStatus {
                info: brick("fd00::2", "/b2", "Brick"),
                online: false,
                pid: 0,
                port: 0,
            },
        ];
        assert_eq!(
            status_text("v", &statuses),
            "\
Status of volume: v
+---------------+--------+-------+------+
| Brick         | Online | Port  | Pid  |
+=======================================+
| n1:/b1        | yes    | 49152 | 1234 |
| [fd00::2]:/b2 | no     | N/A   | N/A  |
+---------------+--------+-------+------+"
        );
    }

    #[test]
    fn answers() {
        let ask = |answer: &str| {
            let mut out = Vec::new();
            let yes = confirm("Go?", &mut answer.as_bytes(), &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), "Go? (y/N) ");
            yes
        };
        assert!(ask("y\n") && ask("YES\n") && ask(" yes "));
        assert!(!ask("n\n") && !ask("\n") && !ask("") && !ask("yess\n"));
    }
}
