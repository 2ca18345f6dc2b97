//! `volume add-brick`: new bricks for a volume, in whole sets of its shape (GD1's words and
//! GD2's flags alike: `glustercli volume add-brick gv0 replica 3 h4:/b h5:/b h6:/b force`).

use clap::Args;
use gd_api::{VolExpandReq, VolumeInfo};

use super::{
    BrickChecks, VOLUMES, count_parser, parse::parse_count, parse_brick, parse_volume_name,
    print_done,
};
use crate::{cmd::Context, error::CliError};

/// `volume add-brick`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume add-brick <NAME> [OPTIONS] <BRICK>...\n       \
    glustercli volume add-brick <NAME> [replica <N> [arbiter 1]] <BRICK>... [force]"
)]
pub struct AddBrickArgs {
    /// The volume
    #[arg(value_name = "NAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The new bricks, set by set: HOST:PATH or PEER-ID:PATH; GD1's bare words (`replica 3`,
    /// `force`) may be mixed in
    #[arg(value_name = "BRICK", required = true)]
    pub bricks: Vec<String>,
    /// The volume's replica count; a greater one raises it (the bricks then join the sets, as
    /// many for each set, set by set)
    #[arg(long, value_name = "N", value_parser = count_parser())]
    pub replica: Option<u32>,
    /// 1: an arbiter brick joins each set of a replica 2 volume (with --replica 3)
    #[arg(long, value_name = "N")]
    pub arbiter: Option<u32>,
    /// The brick checks to relax.
    #[command(flatten)]
    pub checks: BrickChecks,
}

/// The body of `POST /v1/volumes/{name}/expand`, GD1's bare words read.
pub fn add_brick_request(args: &AddBrickArgs) -> Result<VolExpandReq, String> {
    let mut replica = args.replica;
    let mut arbiter = args.arbiter;
    let mut force = args.checks.force;
    let mut bricks = Vec::new();
    let mut words = args.bricks.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "force" => force = true,
            "replica" => {
                let Some(value) = words.next() else {
                    return Err("`replica` needs a value".into());
                };
                if replica.is_some() {
                    return Err("replica is given more than once".into());
                }
                replica = Some(parse_count("replica", value)?);
            }
            "arbiter" => {
                let Some(value) = words.next() else {
                    return Err("`arbiter` needs a value".into());
                };
                if arbiter.is_some() {
                    return Err("arbiter is given more than once".into());
                }
                arbiter = Some(parse_count("arbiter", value)?);
            }
            w => {
                let brick = parse_brick(w)?;
                if bricks.contains(&brick) {
                    return Err(format!("the brick {w} is given more than once"));
                }
                bricks.push(brick);
            }
        }
    }
    if bricks.is_empty() {
        return Err("add-brick needs at least one brick".into());
    }
    Ok(VolExpandReq {
        replica,
        arbiter,
        bricks,
        force,
        flags: args.checks.flags(),
    })
}

/// Runs `volume add-brick`.
pub async fn add_brick(ctx: &Context, args: AddBrickArgs) -> Result<(), CliError> {
    let req = add_brick_request(&args).map_err(CliError::Usage)?;
    let vol: VolumeInfo = ctx
        .client()?
        .post(&format!("{VOLUMES}/{}/expand", args.name), &req)
        .await?;
    print_done(ctx, &vol, "expanded")
}
