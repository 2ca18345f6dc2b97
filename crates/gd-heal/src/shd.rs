//! What glusterd says to a self-heal daemon, and what it answers: GD_BRICK_PROGRAM's
//! XLATOR_OP on the daemon's `-S` socket, as GD1 sends it (`glusterd-op-sm.c`'s heal payload;
//! the daemon's `glusterfs_handle_translator_op` and AFR's/EC's `xl_op` read it).
//!
//! The request names the heal xlators to act on (`xl-<j>` = `<vol>-replicate-<k>`, each with
//! its set index `k` under its own name, which the daemon echoes back in its answer's keys),
//! their number (`count`) and the heal op (`xl-op`). The answer has, per child `i` of set
//! `k`, `<k>-<i>-status` (index and full heal) or `<k>-<i>-hardlinks` (the count of entries
//! in its index). A daemon that does not have a named xlator answers success with nothing:
//! a missing status is reported as such, never guessed.

use gd_api::SubvolType;
use gd_sunrpc::{
    Dict, DictError,
    programs::brick::{self, BrickOpReq},
};

/// GD1's `gf_xl_afr_op_t` values that go to a self-heal daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealOp {
    /// Crawl the bricks' indices of entries needing heal (`GF_SHD_OP_HEAL_INDEX`).
    Index = 1,
    /// Crawl the whole volume from a brick (`GF_SHD_OP_HEAL_FULL`).
    Full = 2,
    /// The crawls each brick's daemon ran and runs (`GF_SHD_OP_STATISTICS`).
    Statistics = 7,
    /// Count the entries in each brick's index (`GF_SHD_OP_STATISTICS_HEAL_COUNT`).
    HealCount = 8,
    /// The same, for one set (`GF_SHD_OP_STATISTICS_HEAL_COUNT_PER_REPLICA`).
    HealCountPerReplica = 9,
}

/// The status a self-heal daemon gives a child it started healing.
pub const STARTED: &str = "Started self-heal";
/// The status of a child on another node (its own node's daemon heals it).
pub const REMOTE: &str = "Brick is remote";

/// The name of the heal xlator of set `k` of `volume` (as volgen names it).
pub fn xlator_name(volume: &str, kind: SubvolType, k: u32) -> String {
    let t = match kind {
        SubvolType::Disperse => "disperse",
        _ => "replicate",
    };
    format!("{volume}-{t}-{k}")
}

/// The XLATOR_OP request of `op` on the sets `sets` (their index and kind) of `volume`.
pub fn request(
    volume: &str,
    sets: &[(u32, SubvolType)],
    op: HealOp,
) -> Result<BrickOpReq, DictError> {
    let mut d = Dict::new();
    d.set_str("volname", volume);
    d.set_i32("heal-op", op as i32);
    d.set_i32("xl-op", op as i32);
    d.set_i32("count", sets.len() as i32);
    for (j, (k, kind)) in sets.iter().enumerate() {
        let name = xlator_name(volume, *kind, *k);
        d.set_str(&format!("xl-{j}"), &name);
        d.set_i32(&name, *k as i32);
    }
    BrickOpReq::new("", brick::XLATOR_OP as i32, &d)
}

/// The status the daemon gave child `i` of set `k`, if it gave one.
pub fn status(out: &Dict, k: u32, i: usize) -> Result<Option<String>, DictError> {
    Ok(out.get_str(&format!("{k}-{i}-status"))?.map(str::to_owned))
}

/// The number of entries in the index of child `i` of set `k`, if the daemon could read it.
pub fn hardlinks(out: &Dict, k: u32, i: usize) -> Result<Option<u64>, DictError> {
    out.get_u64(&format!("{k}-{i}-hardlinks"))
}

/// The crawls of child `i` of set `k` (the last finished ones, then those running), from a
/// STATISTICS answer: `statistics-<k>-<i>-count` events, each `statistics_<field>-<k>-<i>-<n>`.
pub fn crawls(out: &Dict, k: u32, i: usize) -> Result<Vec<gd_api::CrawlEvent>, String> {
    let e = |e: DictError| e.to_string();
    let count = out
        .get_u64(&format!("statistics-{k}-{i}-count"))
        .map_err(e)?
        .unwrap_or(0);
    // AFR keeps 50 finished crawls, and adds the index and full ones running.
    if count > 64 {
        return Err(format!("{count} crawls reported for one brick"));
    }
    let mut events = vec![];
    for n in 0..count {
        let key = |f: &str| format!("statistics_{f}-{k}-{i}-{n}");
        let text = |f: &str| -> Result<String, String> {
            Ok(out
                .get_str(&key(f))
                .map_err(e)?
                .unwrap_or("")
                .trim()
                .to_owned())
        };
        let in_progress = out.get_i32(&key("inprogress")).map_err(e)?.unwrap_or(0) == 1;
        events.push(gd_api::CrawlEvent {
            kind: text("crawl_type")?,
            start: text("strt_time")?,
            end: if in_progress {
                String::new()
            } else {
                text("end_time")?
            },
            in_progress,
            healed: out.get_u64(&key("healed_cnt")).map_err(e)?.unwrap_or(0),
            split_brain: out.get_u64(&key("sb_cnt")).map_err(e)?.unwrap_or(0),
            heal_failed: out
                .get_u64(&key("heal_failed_cnt"))
                .map_err(e)?
                .unwrap_or(0),
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_gd1s() {
        let req = request(
            "gv0",
            &[(0, SubvolType::Replicate), (2, SubvolType::Replicate)],
            HealOp::Full,
        )
        .unwrap();
        assert_eq!((req.name.as_str(), req.op), ("", 3));
        assert!(req.dict.is_empty());
        let d = req.decode_input().unwrap();
        assert_eq!(d.get_i32("count").unwrap(), Some(2));
        assert_eq!(d.get_i32("xl-op").unwrap(), Some(2));
        assert_eq!(d.get_str("xl-0").unwrap(), Some("gv0-replicate-0"));
        assert_eq!(d.get_str("xl-1").unwrap(), Some("gv0-replicate-2"));
        assert_eq!(d.get_i32("gv0-replicate-2").unwrap(), Some(2));
        let ec = request("e", &[(1, SubvolType::Disperse)], HealOp::Index).unwrap();
        let d = ec.decode_input().unwrap();
        assert_eq!(d.get_str("xl-0").unwrap(), Some("e-disperse-1"));
    }

    #[test]
    fn crawls_are_read_per_child() {
        let mut out = Dict::new();
        out.set_u64("statistics-1-2-count", 2);
        for (n, kind, progress) in [(0, "INDEX", 0), (1, "FULL", 1)] {
            out.set_str(&format!("statistics_crawl_type-1-2-{n}"), kind);
            out.set_i32(&format!("statistics_inprogress-1-2-{n}"), progress);
            out.set_str(
                &format!("statistics_strt_time-1-2-{n}"),
                "Sun Dec  6 16:30:00 2026\n",
            );
            out.set_str(
                &format!("statistics_end_time-1-2-{n}"),
                "Sun Dec  6 16:30:01 2026\n",
            );
            out.set_u64(&format!("statistics_healed_cnt-1-2-{n}"), 7);
        }
        let c = crawls(&out, 1, 2).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].kind.as_str(), c[0].in_progress, c[0].healed),
            ("INDEX", false, 7)
        );
        assert_eq!(c[0].start, "Sun Dec  6 16:30:00 2026");
        assert_eq!(
            (c[1].kind.as_str(), c[1].in_progress, c[1].end.as_str()),
            ("FULL", true, "")
        );
        assert!(crawls(&out, 0, 0).unwrap().is_empty());
        out.set_u64("statistics-1-2-count", 1000);
        assert!(crawls(&out, 1, 2).is_err());
    }

    #[test]
    fn answers_are_read_by_set_and_child() {
        let mut out = Dict::new();
        out.set_str("1-0-status", STARTED);
        out.set_str("1-1-status", "Brick is not connected");
        out.set_u64("0-2-hardlinks", 17);
        assert_eq!(status(&out, 1, 0).unwrap().as_deref(), Some(STARTED));
        assert_eq!(
            status(&out, 1, 1).unwrap().as_deref(),
            Some("Brick is not connected")
        );
        assert_eq!(status(&out, 0, 0).unwrap(), None);
        assert_eq!(hardlinks(&out, 0, 2).unwrap(), Some(17));
        out.set_str("0-1-hardlinks", "many");
        assert!(hardlinks(&out, 0, 1).is_err(), "garbage is an error");
    }
}
