//! `volume status <v> [<brick>|shd] clients|mem|inode|fd|callpool` (GD1's words): what the
//! processes report of themselves, asked as GD1 asks them. Each node asks its own: a brick over
//! STATUS on its control socket (`cmd`: the kind's bit with GD1's volume bit, `brick-name`:
//! its path), a self-heal daemon over NODE_STATUS (`cmd` with the self-heal bit, `volname`).
//! The answer's keys are GlusterFS's own (`client<N>.hostname`, `.bytesread`, `.byteswrite`,
//! `.opversion`, `.name`, `clientcount`; `mallinfo.*`; `conn<N>.itable.*`; `callpool.*`):
//! the clients are read into records, everything else is passed on as it came. GlusterFS 10
//! reports little for some kinds (no fd tables; inode tables without their inodes): so does
//! this. (`POST /v1/internal/status/{volname}`.)

use std::collections::BTreeMap;

use gd_api::{ClientConnection, ErrorCode, ProcessStatus};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::node::Node;
use gd_rpc_server::client::BrickCall;
use gd_sunrpc::{Dict, DictError, programs::brick};
use gd_volume::{
    model::VolumeRecord,
    processes::{self, bricks},
};
use serde::{Deserialize, Serialize};

/// The internal route a node is asked its part on.
pub const INTERNAL_PATH: &str = "/v1/internal/status/{volname}";
/// GD1's `GF_CLI_STATUS_VOL` and `GF_CLI_STATUS_SHD` bits.
const VOL: u32 = 0x100;
const SHD: u32 = 0x1000;
/// How long a process may take to report.
const STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The most clients read from one answer.
const CLIENTS_MAX: i32 = 100_000;

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReq {
    /// GD1's bit of the kind (`brick::STATUS_MEM`...).
    pub bit: u32,
    /// The self-heal daemons instead of the bricks.
    pub shd: bool,
    /// Only this brick (`host:path`).
    pub brick: Option<String>,
}

impl StatusReq {
    /// The request of GD1's word `kind`, checked as GD1 checks it.
    pub fn new(kind: &str, shd: bool, brick: Option<String>) -> Result<StatusReq, OpError> {
        let bit = match kind {
            "mem" => brick::STATUS_MEM,
            "clients" => brick::STATUS_CLIENTS,
            "inode" => brick::STATUS_INODE,
            "fd" => brick::STATUS_FD,
            "callpool" => brick::STATUS_CALLPOOL,
            other => {
                return Err(OpError::invalid(format!(
                    "unknown status kind {other:?}: it is clients, mem, inode, fd or callpool"
                ))
                .field("kind", other));
            }
        };
        if shd && (bit == brick::STATUS_CLIENTS || bit == brick::STATUS_FD) {
            return Err(OpError::invalid(format!(
                "the self-heal daemon reports mem, inode and callpool, not {kind}"
            )));
        }
        if shd && brick.is_some() {
            return Err(OpError::invalid("name a brick or shd, not both"));
        }
        Ok(StatusReq { bit, shd, brick })
    }
}

/// Every process's (or one brick's) report of started volume `name`.
pub async fn status(
    cx: &Cluster,
    name: &str,
    req: StatusReq,
) -> Result<Vec<ProcessStatus>, OpError> {
    let vol = crate::started(cx, name).await?;
    let nodes = crate::nodes_of(&vol, req.brick.as_ref())?;
    crate::each_node(
        cx,
        &vol,
        nodes,
        INTERNAL_PATH,
        &req,
        || status_here(&cx.node, &vol, &req),
        |p: &ProcessStatus| p.process.as_str(),
    )
    .await
}

/// This node's processes' reports.
pub async fn status_here(
    node: &Node,
    vol: &VolumeRecord,
    req: &StatusReq,
) -> Result<Vec<ProcessStatus>, OpError> {
    let me = node.identity().peer_id;
    let mut out = vec![];
    if req.shd {
        if !vol.bricks().any(|b| b.peer_id == me) {
            return Ok(out);
        }
        let process = format!("shd/{}", vol.name);
        let running = bricks::running_shd(&processes::shd_pidfile(node, &vol.name), &vol.name);
        if running.is_none() {
            out.push(offline(process, me));
            return Ok(out);
        }
        let mut d = Dict::new();
        d.set_u32("cmd", req.bit | SHD);
        d.set_str("volname", &vol.name);
        let call = brick::BrickOpReq::new("", brick::NODE_STATUS as i32, &d)
            .map_err(|e| OpError::internal(e.to_string()))?;
        let answer = ask(
            &bricks::shd_socket(&node.config, &vol.name),
            brick::NODE_STATUS,
            &call,
            &process,
        )
        .await?;
        out.push(read(&answer, process, me).map_err(OpError::internal)?);
        return Ok(out);
    }
    for b in vol.bricks().filter(|b| b.peer_id == me) {
        let process = format!("{}:{}", b.host, b.path);
        if req.brick.as_ref().is_some_and(|x| *x != process) {
            continue;
        }
        let files = bricks::files(&node.config, &vol.name, &b.host, &b.path, b.id);
        if bricks::running_pid(&files.pidfile, &b.path).is_none() {
            out.push(offline(process, me));
            continue;
        }
        let mut d = Dict::new();
        d.set_u32("cmd", req.bit | VOL);
        d.set_str("brick-name", &b.path);
        d.set_str("volname", &vol.name);
        let call = brick::BrickOpReq::new("", brick::STATUS as i32, &d)
            .map_err(|e| OpError::internal(e.to_string()))?;
        let answer = crate::ask_brick(node, vol, b, brick::STATUS, &call, STATUS_TIMEOUT).await?;
        out.push(read(&answer, process, me).map_err(OpError::internal)?);
    }
    Ok(out)
}

fn offline(process: String, node: uuid::Uuid) -> ProcessStatus {
    ProcessStatus {
        process,
        node,
        online: false,
        ..Default::default()
    }
}

async fn ask(
    socket: &std::path::Path,
    procedure: u32,
    call: &brick::BrickOpReq,
    process: &str,
) -> Result<Dict, OpError> {
    let rsp = BrickCall::to(socket)
        .call(procedure, call)
        .await
        .map_err(|e| OpError::new(ErrorCode::Conflict, format!("{process}: {e}")))?;
    if rsp.op_ret != 0 {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "{process} did not report its status{}",
                if rsp.op_errstr.is_empty() {
                    String::new()
                } else {
                    format!(": {}", rsp.op_errstr)
                }
            ),
        ));
    }
    rsp.decode_output()
        .map_err(|e| OpError::internal(format!("{process} answered garbage: {e}")))
}

/// A process's answer: its clients read, everything else as it came.
pub fn read(d: &Dict, process: String, node: uuid::Uuid) -> Result<ProcessStatus, String> {
    let e = |e: DictError| e.to_string();
    let count = d.get_i32("clientcount").map_err(e)?.unwrap_or(0);
    if !(0..=CLIENTS_MAX).contains(&count) {
        return Err(format!("{process} reported {count} clients"));
    }
    let mut clients = vec![];
    for i in 0..count {
        let s = |k: &str| -> Result<String, String> {
            Ok(d.get_str(&format!("client{i}.{k}"))
                .map_err(e)?
                .unwrap_or("")
                .to_owned())
        };
        clients.push(ClientConnection {
            hostname: s("hostname")?,
            name: s("name")?,
            bytes_read: d
                .get_u64(&format!("client{i}.bytesread"))
                .map_err(e)?
                .unwrap_or(0),
            bytes_written: d
                .get_u64(&format!("client{i}.byteswrite"))
                .map_err(e)?
                .unwrap_or(0),
            op_version: d
                .get_u32(&format!("client{i}.opversion"))
                .map_err(e)?
                .unwrap_or(0),
        });
    }
    let entries: BTreeMap<String, String> = d
        .iter()
        .filter(|(k, _)| !k.starts_with("client") && *k != "clientcount")
        .map(|(k, v)| {
            let v = v.strip_suffix(&[0]).unwrap_or(v);
            (k.to_owned(), String::from_utf8_lossy(v).into_owned())
        })
        .collect();
    Ok(ProcessStatus {
        process,
        node,
        online: true,
        clients,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_gd1s() {
        assert_eq!(StatusReq::new("clients", false, None).unwrap().bit, 0x2);
        assert_eq!(StatusReq::new("callpool", true, None).unwrap().bit, 0x10);
        assert!(StatusReq::new("tasks", false, None).is_err());
        assert!(StatusReq::new("clients", true, None).is_err());
        assert!(StatusReq::new("mem", true, Some("h:/b".into())).is_err());
    }

    #[test]
    fn an_answer_reads_its_clients_and_passes_the_rest() {
        let mut d = Dict::new();
        d.set_i32("clientcount", 1);
        d.set_str("client0.hostname", "127.0.0.1:49000");
        d.set_str("client0.name", "fuse");
        d.set_u64("client0.bytesread", 10);
        d.set_u64("client0.byteswrite", 20);
        d.set_u32("client0.opversion", 100000);
        d.set_u64("mallinfo.arena", 4096);
        let s = read(&d, "h:/b".into(), uuid::Uuid::nil()).unwrap();
        assert_eq!(s.clients.len(), 1);
        assert_eq!(
            (s.clients[0].name.as_str(), s.clients[0].bytes_written),
            ("fuse", 20)
        );
        assert_eq!(
            s.entries.get("mallinfo.arena").map(String::as_str),
            Some("4096")
        );
        assert!(!s.entries.contains_key("clientcount"));
        d.set_i32("clientcount", -3);
        assert!(read(&d, "h:/b".into(), uuid::Uuid::nil()).is_err());
    }
}
