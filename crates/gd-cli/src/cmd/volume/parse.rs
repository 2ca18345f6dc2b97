//! From the command line to a create request: volume names, brick syntax, counts, GD1's bare
//! words, and the layout turned into the daemon's subvolume groups.

use std::collections::{BTreeMap, BTreeSet};

use clap::value_parser;
use gd_api::{BrickKind, BrickReq, SubvolReq, SubvolType, VolCreateReq};
use uuid::Uuid;

use super::CreateArgs;
use crate::cmd::options;

/// The largest count `--replica`, `--disperse`... accept (the daemon's brick limit per volume).
const COUNT_MAX: u32 = 1024;

/// Parses a volume name with the daemon's rule (`gd_api::check_volume_name`). Checking it
/// here also keeps names from changing the request's URL (`/`, `?`...).
pub fn parse_volume_name(s: &str) -> Result<String, String> {
    gd_api::check_volume_name(s).map(|()| s.to_owned())
}

pub(super) fn count_parser() -> clap::builder::RangedI64ValueParser<u32> {
    value_parser!(u32).range(1..=i64::from(COUNT_MAX))
}

/// Parses the count after one of GD1's bare words (`replica 3`).
pub(super) fn parse_count(word: &str, value: &str) -> Result<u32, String> {
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
    let mut force = args.checks.force;
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
        flags: args.checks.flags(),
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
