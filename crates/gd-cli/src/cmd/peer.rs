//! `glustercli peer ...`: the peers (storage servers) of the cluster.

use clap::Subcommand;
use comfy_table::Table;
use gd_api::Peer;

use crate::{cmd::Context, error::CliError, output};

/// The `peer` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum PeerCommand {
    /// List the peers of the cluster and whether they are online
    #[command(visible_alias = "status")]
    List,
}

/// Runs a `peer` command.
pub async fn run(ctx: &Context, cmd: PeerCommand) -> Result<(), CliError> {
    match cmd {
        PeerCommand::List => list(ctx).await,
    }
}

async fn list(ctx: &Context) -> Result<(), CliError> {
    let peers: Vec<Peer> = ctx.client()?.get("/v1/peers").await?;
    if ctx.json() {
        output::print_json(&peers)?;
    } else {
        output::print_table(&list_table(&peers))?;
    }
    Ok(())
}

/// The table of `peer list`: ID, Name, Client Addresses, Online.
pub fn list_table(peers: &[Peer]) -> Table {
    let mut t = output::table(["ID", "Name", "Client Addresses", "Online"]);
    for p in peers {
        t.add_row(vec![
            p.id.to_string(),
            p.name.clone(),
            p.client_addresses.join(", "),
            output::yes_no(p.online).to_owned(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str, name: &str, addrs: &[&str], online: bool) -> Peer {
        Peer {
            id: id.parse().unwrap(),
            name: name.into(),
            peer_addresses: vec![format!("{name}:24008")],
            client_addresses: addrs.iter().map(|s| s.to_string()).collect(),
            online,
            pid: online.then_some(42),
            metadata: Default::default(),
        }
    }

    #[test]
    fn table_rendering() {
        let peers = [
            peer(
                "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01",
                "node1",
                &["10.0.0.1:24007"],
                true,
            ),
            peer(
                "0b7a3c1e-2f4d-4e5b-8c6d-7e8f9a0b1c2d",
                "node2",
                &["10.0.0.2:24007", "[fd00::2]:24007"],
                false,
            ),
        ];
        let expected = "\
+--------------------------------------+-------+---------------------------------+--------+
| ID                                   | Name  | Client Addresses                | Online |
+=========================================================================================+
| 6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01 | node1 | 10.0.0.1:24007                  | yes    |
| 0b7a3c1e-2f4d-4e5b-8c6d-7e8f9a0b1c2d | node2 | 10.0.0.2:24007, [fd00::2]:24007 | no     |
+--------------------------------------+-------+---------------------------------+--------+";
        assert_eq!(list_table(&peers).to_string(), expected);
    }

    #[test]
    fn empty_table_has_headers() {
        let s = list_table(&[]).to_string();
        assert!(
            s.contains("| ID ") && s.contains("Client Addresses") && s.contains("Online"),
            "{s}"
        );
    }
}
