//! Volume top (GD1's `volume top <v> open|read|write|opendir|readdir|read-perf|write-perf
//! [bs <n> count <n>] [brick <b>] [list-cnt <n>]`, and `clear`): each brick's io-stats keeps
//! lists of the files with the most calls of a kind (and the best read/write throughput);
//! each node asks its bricks over XLATOR_INFO on their control sockets, as GD1 does: `op` 4,
//! `top-op` (1 open, 2 read, 3 write, 4 opendir, 5 readdir, 6 read-perf, 7 write-perf),
//! `list-cnt`, and for a perf run `blk-size`/`blk-cnt` (the brick writes, and for read-perf
//! reads back, that many blocks in a temporary file and reports its throughput), or
//! `clear-stats`. The answer: `filename-<j>`, `value-<j>` (and `time-sec-<j>`/`time-usec-<j>`
//! for the perf lists), `members`; for open also `current-open`, `max-open`,
//! `max-openfd-time`; for a perf run `throughput` and `time` (µs).

use gd_api::{BrickTop, TopFile};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::node::Node;
use gd_sunrpc::{Dict, DictError, programs::brick};
use gd_volume::model::VolumeRecord;
use serde::{Deserialize, Serialize};

/// The internal route a node is asked its part on.
pub const INTERNAL_PATH: &str = "/v1/internal/top/{volname}";
/// GD1's bounds: at most 100 files per list, at most 10 GB written by a perf run.
pub const LIST_MAX: u32 = 100;
const PERF_BYTES_MAX: u64 = 10 << 30;

/// What a top look asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopReq {
    /// GD1's `top-op` (1..=7), or 0 with `clear`.
    pub op: i32,
    pub clear: bool,
    pub list_cnt: u32,
    /// A perf run's block size and count (both, or neither).
    pub bs: u32,
    pub count: u32,
    /// Only this brick (`host:path`).
    pub brick: Option<String>,
}

impl TopReq {
    /// The request of GD1's metric word `metric`, checked as GD1 checks it.
    pub fn new(
        metric: &str,
        list_cnt: Option<u32>,
        bs: Option<u32>,
        count: Option<u32>,
        brick: Option<String>,
    ) -> Result<TopReq, OpError> {
        let (op, clear) = match metric {
            "open" => (1, false),
            "read" => (2, false),
            "write" => (3, false),
            "opendir" => (4, false),
            "readdir" => (5, false),
            "read-perf" => (6, false),
            "write-perf" => (7, false),
            "clear" => (0, true),
            other => {
                return Err(OpError::invalid(format!(
                    "unknown top metric {other:?}: it is open, read, write, opendir, readdir, \
                     read-perf, write-perf or clear"
                ))
                .field("metric", other));
            }
        };
        let list_cnt = list_cnt.unwrap_or(LIST_MAX);
        if list_cnt > LIST_MAX {
            return Err(OpError::invalid(format!(
                "list-cnt is {list_cnt}: it is between 0 and {LIST_MAX}"
            ))
            .field("list-cnt", list_cnt.to_string()));
        }
        let (bs, count) = match (bs, count) {
            (None, None) => (0, 0),
            (Some(bs), Some(count)) if op >= 6 && bs > 0 && count > 0 => {
                if u64::from(bs) * u64::from(count) > PERF_BYTES_MAX {
                    return Err(OpError::invalid(format!(
                        "bs * count is {} bytes: at most 10 GB",
                        u64::from(bs) * u64::from(count)
                    )));
                }
                (bs, count)
            }
            (Some(_), Some(_)) if op < 6 => {
                return Err(OpError::invalid(
                    "bs and count go with read-perf and write-perf",
                ));
            }
            _ => {
                return Err(OpError::invalid(
                    "give both bs and count (each above 0), or neither",
                ));
            }
        };
        Ok(TopReq {
            op,
            clear,
            list_cnt,
            bs,
            count,
            brick,
        })
    }
}

/// Every brick's (or one brick's) top list of started volume `name`.
pub async fn top(cx: &Cluster, name: &str, req: TopReq) -> Result<Vec<BrickTop>, OpError> {
    let vol = crate::started(cx, name).await?;
    let nodes = crate::nodes_of(&vol, req.brick.as_ref())?;
    crate::each_node(
        cx,
        &vol,
        nodes,
        INTERNAL_PATH,
        &req,
        || top_here(&cx.node, &vol, &req),
        |t: &BrickTop| t.brick.as_str(),
    )
    .await
}

/// This node's bricks' top lists.
pub async fn top_here(
    node: &Node,
    vol: &VolumeRecord,
    req: &TopReq,
) -> Result<Vec<BrickTop>, OpError> {
    // A request from another node is held to the bounds the initiator checked.
    if req.list_cnt > LIST_MAX
        || !(0..=7).contains(&req.op)
        || u64::from(req.bs) * u64::from(req.count) > PERF_BYTES_MAX
    {
        return Err(OpError::invalid(
            "a top request past GD1's bounds (100 files, 10 GB)",
        ));
    }
    let me = node.identity().peer_id;
    let mut out = vec![];
    for b in vol.bricks().filter(|b| b.peer_id == me) {
        let name = crate::brick_name(b);
        if req.brick.as_ref().is_some_and(|x| *x != name) {
            continue;
        }
        let call =
            request(&vol.name, &b.path, req).map_err(|e| OpError::internal(e.to_string()))?;
        // A perf run writes (and reads back) up to 10 GB on the brick.
        let timeout = std::time::Duration::from_secs(if req.bs > 0 { 600 } else { 30 });
        let d = crate::ask_brick(node, vol, b, brick::XLATOR_INFO, &call, timeout).await?;
        let mut t = parse(&d).map_err(|e| OpError::internal(format!("brick {name}: {e}")))?;
        t.brick = name;
        t.node = me;
        out.push(t);
    }
    Ok(out)
}

/// The XLATOR_INFO request of `req` to the io-stats of the brick at `path`.
pub fn request(volume: &str, path: &str, req: &TopReq) -> Result<brick::BrickOpReq, DictError> {
    let mut d = Dict::new();
    d.set_str("volname", volume);
    d.set_i32("op", 4);
    d.set_i32("top-op", req.op);
    if req.clear {
        d.set_i32("clear-stats", 1);
    }
    d.set_i32("list-cnt", req.list_cnt as i32);
    if req.bs > 0 {
        d.set_u32("blk-size", req.bs);
        d.set_u32("blk-cnt", req.count);
    }
    brick::BrickOpReq::new(path, brick::XLATOR_INFO as i32, &d)
}

/// A brick's answer (its `brick` and `node` left for the caller).
pub fn parse(d: &Dict) -> Result<BrickTop, String> {
    fn e(k: &str) -> impl Fn(DictError) -> String + '_ {
        move |e| format!("{k}: {e}")
    }
    let double = |k: &str| -> Result<Option<f64>, String> {
        match d.get_str(k).map_err(e(k))? {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{k} is {v:?}, not a number")),
        }
    };
    let members = d.get_i32("members").map_err(e("members"))?.unwrap_or(0);
    if !(0..=LIST_MAX as i32).contains(&members) {
        return Err(format!("members is {members}"));
    }
    let mut files = vec![];
    for j in 1..=members {
        let file = d
            .get_str(&format!("filename-{j}"))
            .map_err(e("filename"))?
            .ok_or_else(|| format!("filename-{j} is missing"))?
            .to_owned();
        let value = d
            .get_u64(&format!("value-{j}"))
            .map_err(e("value"))?
            .unwrap_or(0);
        let sec = d.get_i32(&format!("time-sec-{j}")).map_err(e("time-sec"))?;
        let usec = d
            .get_i32(&format!("time-usec-{j}"))
            .map_err(e("time-usec"))?;
        files.push(TopFile {
            file,
            value,
            time: sec.map(|s| format!("{s}.{:06}", usec.unwrap_or(0))),
        });
    }
    Ok(BrickTop {
        current_open: d.get_u64("current-open").map_err(e("current-open"))?,
        max_open: d.get_u64("max-open").map_err(e("max-open"))?,
        max_open_time: d
            .get_str("max-openfd-time")
            .map_err(e("max-openfd-time"))?
            .map(str::to_owned),
        throughput: double("throughput")?,
        seconds: double("time")?.map(|us| us / 1e6),
        files,
        cleared: d
            .get_i32("stats-cleared")
            .map_err(e("stats-cleared"))?
            .map(|v| v == 1),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_as_gd1_checks_them() {
        let r = TopReq::new("write", None, None, None, None).unwrap();
        assert_eq!((r.op, r.list_cnt, r.clear), (3, 100, false));
        let r = TopReq::new("write-perf", Some(5), Some(4096), Some(10), None).unwrap();
        let d = request("gv0", "/b", &r).unwrap().decode_input().unwrap();
        assert_eq!(d.get_i32("top-op").unwrap(), Some(7));
        assert_eq!(d.get_u32("blk-size").unwrap(), Some(4096));
        assert!(TopReq::new("clear", None, None, None, None).unwrap().clear);
        for bad in [
            TopReq::new("hottest", None, None, None, None),
            TopReq::new("read", Some(101), None, None, None),
            TopReq::new("read-perf", None, Some(4096), None, None),
            TopReq::new("read", None, Some(4096), Some(1), None),
            TopReq::new("read-perf", None, Some(1 << 30), Some(11), None),
        ] {
            assert!(bad.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn answers_read_their_lists() {
        let mut d = Dict::new();
        d.set_i32("top-op", 6);
        d.set_i32("members", 1);
        d.set_str("filename-1", "/f1");
        d.set_u64("value-1", 250);
        d.set_i32("time-sec-1", 1_700_000_000);
        d.set_i32("time-usec-1", 42);
        d.set_str("throughput", "512.000000");
        d.set_str("time", "2000000.000000");
        let t = parse(&d).unwrap();
        assert_eq!(t.files[0].file, "/f1");
        assert_eq!(t.files[0].time.as_deref(), Some("1700000000.000042"));
        assert_eq!((t.throughput, t.seconds), (Some(512.0), Some(2.0)));
        d.set_i32("members", 2);
        assert!(parse(&d).unwrap_err().contains("filename-2"));
    }
}
