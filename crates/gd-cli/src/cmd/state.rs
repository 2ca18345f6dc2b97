//! `glustercli get-state`: one node's view of the cluster (GD1's `get-state`), in GD1's
//! sections and `Section.key: value` lines, or as the API returns it with `--json`.

use gd_api::NodeState;

use crate::{cmd::Context, error::CliError, output};

/// Runs `get-state`.
pub async fn run(ctx: &Context) -> Result<(), CliError> {
    let state: NodeState = ctx.client()?.get("/v1/state").await?;
    if ctx.json() {
        output::print_json(&state)?;
    } else {
        output::print_line(&state_text(&state))?;
    }
    Ok(())
}

/// GD1's sections: `[Global]`, `[Store]`, `[Peers]`, `[Volumes]`, `[Services]`, `[Tasks]`.
pub fn state_text(s: &NodeState) -> String {
    let mut out = vec!["[Global]".to_owned()];
    out.push(format!("MYUUID: {}", s.node.id));
    out.push(format!("Name: {}", s.node.name));
    out.push(format!("glusterd2 version: {}", s.node.version));
    out.push(format!("Pid: {}", s.node.pid));
    out.push(format!(
        "Peer addresses: {}",
        s.node.peer_addresses.join(", ")
    ));
    out.push(format!(
        "Client addresses: {}",
        s.node.client_addresses.join(", ")
    ));
    out.push(String::new());
    out.push("[Store]".into());
    out.push(format!("Mode: {}", s.store.mode));
    out.push(format!("Endpoints: {}", s.store.endpoints.join(", ")));
    out.push(format!("Member here: {}", output::yes_no(s.store.member)));
    for (i, m) in s.store.members.iter().enumerate() {
        let i = i + 1;
        out.push(format!("Member{i}.peer: {}", m.peer_id));
        out.push(format!("Member{i}.client_url: {}", m.client_url));
        out.push(format!("Member{i}.role: {}", m.role));
    }
    out.push(String::new());
    out.push("[Peers]".into());
    for (i, p) in s.peers.iter().enumerate() {
        let i = i + 1;
        out.push(format!("Peer{i}.primary_hostname: {}", p.name));
        out.push(format!("Peer{i}.uuid: {}", p.id));
        out.push(format!(
            "Peer{i}.state: {}",
            if p.online { "online" } else { "offline" }
        ));
        out.push(format!(
            "Peer{i}.addresses: {}",
            p.peer_addresses.join(", ")
        ));
    }
    out.push(String::new());
    out.push("[Volumes]".into());
    for (i, v) in s.volumes.iter().enumerate() {
        let i = i + 1;
        out.push(format!("Volume{i}.name: {}", v.info.name));
        out.push(format!("Volume{i}.id: {}", v.info.id));
        out.push(format!("Volume{i}.type: {}", v.info.kind));
        out.push(format!("Volume{i}.status: {}", v.info.state));
        out.push(format!("Volume{i}.brickcount: {}", v.bricks.len()));
        for (j, b) in v.bricks.iter().enumerate() {
            let j = j + 1;
            out.push(format!(
                "Volume{i}.Brick{j}.path: {}:{}",
                b.info.host, b.info.path
            ));
            out.push(format!("Volume{i}.Brick{j}.peer: {}", b.info.peer_id));
            out.push(format!("Volume{i}.Brick{j}.port: {}", b.port));
            out.push(format!(
                "Volume{i}.Brick{j}.status: {}",
                if b.online { "Started" } else { "Stopped" }
            ));
            if let Some(size) = b.size {
                out.push(format!(
                    "Volume{i}.Brick{j}.spacefree: {}",
                    super::volume::human_size(size.free)
                ));
                out.push(format!(
                    "Volume{i}.Brick{j}.spacetotal: {}",
                    super::volume::human_size(size.capacity)
                ));
            }
        }
        for (key, value) in &v.info.options {
            out.push(format!("Volume{i}.options.{key}: {value}"));
        }
    }
    out.push(String::new());
    out.push("[Services]".into());
    for (i, svc) in s.services.iter().enumerate() {
        let i = i + 1;
        out.push(format!(
            "svc{i}.name: {} {} ({})",
            svc.kind, svc.name, svc.volume
        ));
        out.push(format!(
            "svc{i}.online_status: {}",
            if svc.online { "Online" } else { "Offline" }
        ));
        if svc.pid != 0 {
            out.push(format!("svc{i}.pid: {}", svc.pid));
        }
    }
    out.push(String::new());
    out.push("[Tasks]".into());
    for (i, t) in s.tasks.iter().enumerate() {
        let i = i + 1;
        out.push(format!("Task{i}.kind: {}", t.kind));
        out.push(format!("Task{i}.object: {}", t.object));
        out.push(format!("Task{i}.state: {}", t.state));
        if let Some(l) = t.leader {
            out.push(format!("Task{i}.leader: {l}"));
        }
    }
    out.join("\n")
}
