//! Volume profile (GD1's `volume profile <v> start|info [peek|incremental [peek]|cumulative|
//! clear]|stop`, GD2's `GET /v1/volumes/{v}/profile/{option}`).
//!
//! Start and stop are the volume options GD1 sets (`diagnostics.latency-measurement` and
//! `diagnostics.count-fop-hits` on; stop resets them), through the volume feature, whose new
//! volfiles reach the bricks' io-stats. Info asks each brick's io-stats over its control
//! socket, as GD1 does: XLATOR_INFO to the xlator named by the brick's path, with `op` 3 (info),
//! `info-op` (1 all, 2 incremental, 3 cumulative, 4 clear) and `peek` (an incremental look
//! that does not start a new interval). Its answer, per span (`-1` cumulative, else the
//! interval's number): `<n>-duration`, `<n>-total-read`/`-total-write`, `<n>-read-<size>`/
//! `<n>-write-<size>` by power-of-two block size, and per file operation (by its index in
//! GlusterFS's `glusterfs_fop_t`) `<n>-<fop>-hits` with `-avglatency`/`-minlatency`/
//! `-maxlatency` in nanoseconds. Each node asks its own bricks
//! (`POST /v1/internal/profile/{volname}`).

use gd_api::{
    BlockCount, BrickProfile, ErrorCode, FopStats, ProfileInterval, VolOptionReq,
    VolOptionResetReq, VolumeInfo,
};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::node::Node;
use gd_sunrpc::{Dict, DictError, programs::brick};
use gd_volume::model::VolumeRecord;
use serde::{Deserialize, Serialize};

/// The internal route a node is asked its part on.
pub const INTERNAL_PATH: &str = "/v1/internal/profile/{volname}";

/// How long a brick may take to answer.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The options profiling is (GD1's).
const OPTIONS: [&str; 2] = [
    "diagnostics.latency-measurement",
    "diagnostics.count-fop-hits",
];

/// GlusterFS 10's file operations, by their `glusterfs_fop_t` index.
pub const FOPS: [&str; 59] = [
    "NULL",
    "STAT",
    "READLINK",
    "MKNOD",
    "MKDIR",
    "UNLINK",
    "RMDIR",
    "SYMLINK",
    "RENAME",
    "LINK",
    "TRUNCATE",
    "OPEN",
    "READ",
    "WRITE",
    "STATFS",
    "FLUSH",
    "FSYNC",
    "SETXATTR",
    "GETXATTR",
    "REMOVEXATTR",
    "OPENDIR",
    "FSYNCDIR",
    "ACCESS",
    "CREATE",
    "FTRUNCATE",
    "FSTAT",
    "LK",
    "LOOKUP",
    "READDIR",
    "INODELK",
    "FINODELK",
    "ENTRYLK",
    "FENTRYLK",
    "XATTROP",
    "FXATTROP",
    "FGETXATTR",
    "FSETXATTR",
    "RCHECKSUM",
    "SETATTR",
    "FSETATTR",
    "READDIRP",
    "FORGET",
    "RELEASE",
    "RELEASEDIR",
    "GETSPEC",
    "FREMOVEXATTR",
    "FALLOCATE",
    "DISCARD",
    "ZEROFILL",
    "IPC",
    "SEEK",
    "LEASE",
    "COMPOUND",
    "GETACTIVELK",
    "SETACTIVELK",
    "PUT",
    "ICREATE",
    "NAMELINK",
    "COPY_FILE_RANGE",
];

/// What an info look asks (GD1's `info-op` and `peek`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Look {
    /// 1 all, 2 incremental, 3 cumulative, 4 clear.
    pub info_op: i32,
    pub peek: bool,
}

impl Look {
    /// GD2's option words.
    pub fn from_word(w: &str) -> Option<Look> {
        let (info_op, peek) = match w {
            "info" => (1, false),
            "info-peek" => (1, true),
            "info-incremental" => (2, false),
            "info-incremental-peek" => (2, true),
            "info-cumulative" => (3, false),
            "info-clear" => (4, false),
            _ => return None,
        };
        Some(Look { info_op, peek })
    }
}

/// Starts (or stops) profiling volume `name`.
pub async fn switch(cx: &Cluster, name: &str, on: bool) -> Result<VolumeInfo, OpError> {
    let vol = crate::volume(cx, name).await?;
    let is_on = is_on(&vol);
    if on == is_on {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "profile on volume {name} is {}",
                if on { "already started" } else { "not started" }
            ),
        ));
    }
    if on {
        let req = VolOptionReq {
            options: OPTIONS
                .iter()
                .map(|k| (k.to_string(), "on".to_owned()))
                .collect(),
            ..Default::default()
        };
        gd_volume::volume_options::set(cx, name, req).await
    } else {
        let req = VolOptionResetReq {
            options: OPTIONS.iter().map(|k| k.to_string()).collect(),
            ..Default::default()
        };
        gd_volume::volume_options::reset(cx, name, req).await
    }
}

fn is_on(vol: &VolumeRecord) -> bool {
    OPTIONS.iter().all(|k| vol.option_is_on(k))
}

/// Every brick's profile of started volume `name`.
pub async fn info(cx: &Cluster, name: &str, look: Look) -> Result<Vec<BrickProfile>, OpError> {
    let vol = crate::started(cx, name).await?;
    if !is_on(&vol) {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "profile on volume {name} is not started: start it first (volume profile {name} start)"
            ),
        ));
    }
    let nodes = vol.brick_nodes();
    crate::each_node(
        cx,
        &vol,
        nodes,
        INTERNAL_PATH,
        &look,
        || info_here(&cx.node, &vol, look),
        |p: &BrickProfile| p.brick.as_str(),
    )
    .await
}

/// This node's bricks' profiles.
pub async fn info_here(
    node: &Node,
    vol: &VolumeRecord,
    look: Look,
) -> Result<Vec<BrickProfile>, OpError> {
    let me = node.identity().peer_id;
    let mut out = vec![];
    for b in vol.bricks().filter(|b| b.peer_id == me) {
        let name = crate::brick_name(b);
        let req =
            request(&vol.name, &b.path, look).map_err(|e| OpError::internal(e.to_string()))?;
        let d = crate::ask_brick(node, vol, b, brick::XLATOR_INFO, &req, CALL_TIMEOUT).await?;
        let mut p = parse(&d).map_err(|e| OpError::internal(format!("brick {name}: {e}")))?;
        p.brick = name;
        p.node = me;
        out.push(p);
    }
    Ok(out)
}

/// The XLATOR_INFO request of `look` to the io-stats of the brick at `path`.
pub fn request(volume: &str, path: &str, look: Look) -> Result<brick::BrickOpReq, DictError> {
    let mut d = Dict::new();
    d.set_str("volname", volume);
    d.set_i32("op", 3);
    d.set_i32("info-op", look.info_op);
    d.set_i32("peek", i32::from(look.peek));
    brick::BrickOpReq::new(path, brick::XLATOR_INFO as i32, &d)
}

/// A brick's answer (its `brick` and `node` left for the caller).
pub fn parse(d: &Dict) -> Result<BrickProfile, String> {
    let e = |e: DictError| e.to_string();
    let cleared = d.get_i32("stats-cleared").map_err(e)?.map(|v| v == 1);
    let cumulative = match d.get_i32("cumulative").map_err(e)? {
        Some(_) => Some(span(d, -1)?),
        None => None,
    };
    let interval = match d.get_i32("interval").map_err(e)? {
        Some(n) => Some(span(d, n)?),
        None => None,
    };
    Ok(BrickProfile {
        cumulative,
        interval,
        cleared,
        ..Default::default()
    })
}

fn span(d: &Dict, n: i32) -> Result<ProfileInterval, String> {
    let u = |k: String| -> Result<u64, String> {
        Ok(d.get_u64(&k).map_err(|e| format!("{k}: {e}"))?.unwrap_or(0))
    };
    let f = |k: String| -> Result<f64, String> {
        match d.get_str(&k).map_err(|e| format!("{k}: {e}"))? {
            None => Ok(0.0),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{k} is {v:?}, not a number")),
        }
    };
    let mut block_sizes = vec![];
    for k in 0..32 {
        let size = 1u64 << k;
        let (reads, writes) = (
            u(format!("{n}-read-{size}"))?,
            u(format!("{n}-write-{size}"))?,
        );
        if reads > 0 || writes > 0 {
            block_sizes.push(BlockCount {
                size,
                reads,
                writes,
            });
        }
    }
    let mut fops = vec![];
    for (i, fop) in FOPS.iter().enumerate() {
        let hits = u(format!("{n}-{i}-hits"))?;
        if hits == 0 {
            continue;
        }
        fops.push(FopStats {
            fop: (*fop).to_owned(),
            hits,
            avg_latency: f(format!("{n}-{i}-avglatency"))?,
            min_latency: f(format!("{n}-{i}-minlatency"))?,
            max_latency: f(format!("{n}-{i}-maxlatency"))?,
        });
    }
    Ok(ProfileInterval {
        number: n,
        duration: u(format!("{n}-duration"))?,
        total_read: u(format!("{n}-total-read"))?,
        total_write: u(format!("{n}-total-write"))?,
        block_sizes,
        fops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_gd1s() {
        let req = request(
            "gv0",
            "/b/1",
            Look::from_word("info-incremental-peek").unwrap(),
        )
        .unwrap();
        assert_eq!((req.name.as_str(), req.op), ("/b/1", 2));
        let d = req.decode_input().unwrap();
        assert_eq!(d.get_i32("op").unwrap(), Some(3));
        assert_eq!(d.get_i32("info-op").unwrap(), Some(2));
        assert_eq!(d.get_i32("peek").unwrap(), Some(1));
        assert!(Look::from_word("info-everything").is_none());
    }

    #[test]
    fn an_answer_reads_per_span_and_fop() {
        let mut d = Dict::new();
        d.set_i32("cumulative", -1);
        d.set_u64("-1-duration", 42);
        d.set_u64("-1-total-write", 8192);
        d.set_u64("-1-write-4096", 2);
        d.set_u64("-1-13-hits", 2);
        d.set_str("-1-13-avglatency", "1500.000000");
        d.set_str("-1-13-minlatency", "1000.000000");
        d.set_str("-1-13-maxlatency", "2000.000000");
        d.set_u64("-1-27-hits", 5);
        d.set_i32("interval", 3);
        d.set_u64("3-duration", 7);
        let p = parse(&d).unwrap();
        let c = p.cumulative.unwrap();
        assert_eq!((c.number, c.duration, c.total_write), (-1, 42, 8192));
        assert_eq!(
            c.block_sizes,
            [BlockCount {
                size: 4096,
                reads: 0,
                writes: 2
            }]
        );
        assert_eq!(c.fops.len(), 2);
        assert_eq!((c.fops[0].fop.as_str(), c.fops[0].hits), ("WRITE", 2));
        assert_eq!(c.fops[0].avg_latency, 1500.0);
        assert_eq!(
            (c.fops[1].fop.as_str(), c.fops[1].avg_latency),
            ("LOOKUP", 0.0)
        );
        assert_eq!(p.interval.unwrap().duration, 7);
        assert_eq!(p.cleared, None);
        d.set_str("-1-13-avglatency", "fast");
        assert!(parse(&d).unwrap_err().contains("not a number"));
    }
}
