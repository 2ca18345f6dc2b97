//! `volume status <v> [<brick>|shd] clients|mem|inode|fd|callpool`: what the processes report
//! of themselves, printed as GD1 prints it (clients and memory in GD1's tables; the other
//! kinds as the `key : value` lines they reported); `volume status <v> tasks`: the volume's
//! tasks, as GD1's "Task Status" block.

use gd_api::{ProcessStatus, TaskInfo};

use super::{StatusView, VOLUMES};
use crate::{
    client::{Client, encode_path},
    cmd::Context,
    error::CliError,
    output,
};

/// GD1's separator.
const SEP: &str = "----------------------------------------------";

/// The volume's tasks (rebalance, remove-brick, full heal), from `GET /v1/tasks`.
pub async fn tasks(ctx: &Context, client: &Client, name: &str) -> Result<(), CliError> {
    client
        .get::<gd_api::VolumeInfo>(&format!("{VOLUMES}/{}", encode_path(name, false)))
        .await?;
    let mut tasks: Vec<TaskInfo> = client.get("/v1/tasks").await?;
    tasks.retain(|t| t.object == name);
    if ctx.json() {
        output::print_json(&tasks)?;
    } else {
        output::print_line(&tasks_text(name, &tasks))?;
    }
    Ok(())
}

/// GD1's task block: one paragraph per task, or that there is none.
pub fn tasks_text(name: &str, tasks: &[TaskInfo]) -> String {
    let mut out = vec![
        format!("Task Status of Volume {name}"),
        "------------------------------------------------------------------------------".into(),
    ];
    if tasks.is_empty() {
        out.push("There are no active volume tasks".into());
    }
    for t in tasks {
        let task = match t.kind.as_str() {
            "rebalance"
                if t.progress["removing"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty()) =>
            {
                "Remove brick".to_owned()
            }
            "rebalance" => "Rebalance".to_owned(),
            "heal-full" => "Full heal".to_owned(),
            other => other.to_owned(),
        };
        out.push(format!("{:<21}: {task}", "Task"));
        if let Some(l) = t.leader {
            out.push(format!("{:<21}: {l}", "Leader"));
        }
        out.push(format!("{:<21}: {}", "Status", t.state));
        if !t.message.is_empty() {
            out.push(format!("{:<21}: {}", "Message", t.message));
        }
        out.push(String::new());
    }
    out.join("\n").trim_end().to_owned()
}

/// Asks and prints.
pub async fn show(
    ctx: &Context,
    client: &Client,
    name: &str,
    view: &StatusView,
    brick_word: Option<&String>,
) -> Result<(), CliError> {
    let kind = view.kind.unwrap_or("clients");
    let mut path = format!("{VOLUMES}/{name}/status/{kind}");
    if view.shd {
        path.push_str("?shd=true");
    } else if view.brick.is_some()
        && let Some(b) = brick_word
    {
        path.push_str(&format!("?brick={}", encode_path(b, false)));
    }
    let statuses: Vec<ProcessStatus> = client.get(&path).await?;
    if ctx.json() {
        output::print_json(&statuses)?;
    } else {
        output::print_line(&text(name, kind, &statuses))?;
    }
    Ok(())
}

/// GD1's text of one kind.
pub fn text(volume: &str, kind: &str, statuses: &[ProcessStatus]) -> String {
    let mut out = vec![match kind {
        "clients" => format!("Client connections for volume {volume}"),
        "mem" => format!("Memory status for volume : {volume}"),
        "inode" => format!("Inode tables for volume {volume}"),
        "fd" => format!("FD tables for volume {volume}"),
        _ => format!("Pending calls for volume {volume}"),
    }];
    for s in statuses {
        out.push(SEP.into());
        if let Some(vol) = s.process.strip_prefix("shd/") {
            out.push(format!("Self-heal Daemon : {vol} on {}", s.node));
        } else {
            out.push(format!("Brick : {}", s.process));
        }
        if !s.online {
            out.push("Brick is offline".into());
            continue;
        }
        match kind {
            "clients" => {
                out.push(format!("Clients connected : {}", s.clients.len()));
                if !s.clients.is_empty() {
                    out.push(format!(
                        "{:<48} {:>15} {:>15} {:>15}",
                        "Hostname", "BytesRead", "BytesWritten", "OpVersion"
                    ));
                    out.push(format!(
                        "{:<48} {:>15} {:>15} {:>15}",
                        "--------", "---------", "------------", "---------"
                    ));
                    for c in &s.clients {
                        out.push(format!(
                            "{:<48} {:>15} {:>15} {:>15}",
                            c.hostname, c.bytes_read, c.bytes_written, c.op_version
                        ));
                    }
                }
            }
            "mem" => {
                out.push("Mallinfo".into());
                out.push("--------".into());
                for (label, key) in [
                    ("Arena", "arena"),
                    ("Ordblks", "ordblks"),
                    ("Smblks", "smblks"),
                    ("Hblks", "hblks"),
                    ("Hblkhd", "hblkhd"),
                    ("Usmblks", "usmblks"),
                    ("Fsmblks", "fsmblks"),
                    ("Uordblks", "uordblks"),
                    ("Fordblks", "fordblks"),
                    ("Keepcost", "keepcost"),
                ] {
                    if let Some(v) = s.entries.get(&format!("mallinfo.{key}")) {
                        out.push(format!("{label:<8} : {v}"));
                    }
                }
                out.push(" ".into());
            }
            _ => out.extend(s.entries.iter().map(|(k, v)| format!("{k} : {v}"))),
        }
    }
    out.push(format!("{SEP}\n"));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_memory_print_as_gd1() {
        let s = ProcessStatus {
            process: "h1:/b".into(),
            online: true,
            clients: vec![gd_api::ClientConnection {
                hostname: "127.0.0.1:49000".into(),
                name: "fuse".into(),
                bytes_read: 10,
                bytes_written: 20,
                op_version: 100000,
            }],
            entries: [("mallinfo.arena".to_string(), "4096".to_string())].into(),
            ..Default::default()
        };
        let text_c = text("gv0", "clients", std::slice::from_ref(&s));
        assert!(
            text_c.starts_with("Client connections for volume gv0\n----"),
            "{text_c}"
        );
        assert!(
            text_c.contains("Brick : h1:/b\nClients connected : 1\nHostname"),
            "{text_c}"
        );
        assert!(text_c.contains("127.0.0.1:49000                                               10              20          100000"), "{text_c}");
        let text_m = text("gv0", "mem", &[s]);
        assert!(
            text_m.contains("Mallinfo\n--------\nArena    : 4096"),
            "{text_m}"
        );
    }

    #[test]
    fn tasks_print_as_gd1() {
        let task = |kind: &str, progress| TaskInfo {
            kind: kind.into(),
            object: "gv0".into(),
            state: "running".into(),
            leader: None,
            message: String::new(),
            progress,
        };
        let text = tasks_text(
            "gv0",
            &[
                task(
                    "rebalance",
                    serde_json::json!({"removing": [{"path": "/b"}]}),
                ),
                task("heal-full", serde_json::json!({})),
            ],
        );
        assert!(
            text.starts_with("Task Status of Volume gv0\n-----")
                && text.contains(
                    "Task                 : Remove brick\nStatus               : running"
                )
                && text.contains("Task                 : Full heal"),
            "{text}"
        );
        assert!(tasks_text("gv0", &[]).ends_with("There are no active volume tasks"));
    }
}
