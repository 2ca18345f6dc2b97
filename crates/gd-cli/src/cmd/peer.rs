//! `glustercli peer ...`: the peers (storage servers) of the cluster.
//!
//! Commands that take an existing peer accept its id or, as people type them, its name or one
//! of its addresses: [`resolve`] turns those into an id with one `GET /v1/peers` and refuses to
//! guess when several peers match (removing the wrong server is not undoable).
//!
//! Everything that can be checked without the daemon (the `key=value` syntax, reserved `_`
//! keys, the metadata size limit, flag combinations) is checked while parsing, so a mistake is
//! a usage error (exit 2) and no request is sent: clap's own rules where it has them, and
//! [`PeerCommand::check`] for the rest.

use std::collections::BTreeMap;

use clap::{ArgGroup, Args, Subcommand, builder::NonEmptyStringValueParser};
use comfy_table::Table;
use gd_api::{JoinToken, METADATA_BYTES_MAX, Peer, PeerAddReq, PeerEditReq};
use uuid::Uuid;

use crate::{
    client::Client,
    cmd::{Context, Usage},
    error::CliError,
    output,
};

/// The collection path of peers.
const PEERS: &str = "/v1/peers";

/// The `peer` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum PeerCommand {
    /// Add a node to the cluster
    ///
    /// The node's glusterd2 must be running and must not be part of another cluster.
    Add(AddArgs),
    /// Remove a peer from the cluster
    #[command(visible_alias = "delete")]
    Remove(RemoveArgs),
    /// Set a peer's zone, or set or delete one of its metadata keys
    Edit(EditArgs),
    /// List the peers of the cluster and whether they are online
    #[command(visible_alias = "status")]
    List(ListArgs),
    /// Show this node's join token, which `peer add --token` on a cluster's node needs to make
    /// this node join that cluster
    Token,
}

/// `peer add`.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// Where the node's glusterd2 listens: host or host:port
    #[arg(value_name = "HOST[:PORT]", value_parser = NonEmptyStringValueParser::new())]
    pub host: String,
    /// The new peer's failure zone [default: the peer's id]
    #[arg(long, value_name = "ZONE", value_parser = NonEmptyStringValueParser::new())]
    pub zone: Option<String>,
    /// A metadata key and its value; repeat for more keys
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub metadata: Vec<(String, String)>,
    /// The new node's join token (`glustercli peer token` on that node shows it)
    #[arg(long, value_name = "TOKEN", value_parser = NonEmptyStringValueParser::new())]
    pub token: Option<String>,
}

/// `peer remove`.
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// The peer: its id, its name, or one of its addresses (host or host:port)
    #[arg(value_name = "PEER", value_parser = NonEmptyStringValueParser::new())]
    pub peer: String,
    /// Ask glusterd2 to remove the peer even if the peer cannot be told (e.g. it is offline)
    #[arg(short, long)]
    pub force: bool,
}

/// `peer edit`.
#[derive(Debug, Clone, Args)]
#[command(override_usage = "glustercli peer edit <PEER> --zone <ZONE>\n       \
    glustercli peer edit <PEER> --key <KEY> <--value <VALUE>|--delete> [--zone <ZONE>]")]
#[command(group(ArgGroup::new("change").args(["zone", "key"]).multiple(true).required(true)))]
#[command(group(ArgGroup::new("op").args(["value", "delete"])))]
pub struct EditArgs {
    /// The peer: its id, its name, or one of its addresses (host or host:port)
    #[arg(value_name = "PEER", value_parser = NonEmptyStringValueParser::new())]
    pub peer: String,
    /// A new failure zone
    #[arg(long, value_name = "ZONE", value_parser = NonEmptyStringValueParser::new())]
    pub zone: Option<String>,
    /// The metadata key to set (with --value) or delete (with --delete)
    #[arg(long, value_name = "KEY", value_parser = parse_user_key, requires = "op")]
    pub key: Option<String>,
    /// The value to set --key to
    #[arg(
        long,
        value_name = "VALUE",
        requires = "key",
        allow_hyphen_values = true
    )]
    pub value: Option<String>,
    /// Delete --key
    #[arg(long, requires = "key")]
    pub delete: bool,
}

/// `peer list`.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    /// Only the peers that have this metadata key (with --value: set to that value)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only the peers with a metadata value equal to this (with --key: that key's value)
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub value: Option<String>,
}

impl PeerCommand {
    /// The checks clap cannot express, as usage errors of their subcommand: a metadata key given twice, and
    /// the daemon's metadata size limit ([`METADATA_BYTES_MAX`]).
    pub fn check(&self) -> Result<(), Usage> {
        match self {
            PeerCommand::Add(args) => metadata_map(&args.metadata)
                .map(drop)
                .map_err(|msg| Usage::at(&["peer", "add"], msg)),
            PeerCommand::Edit(args) => {
                let size = args.key.as_ref().map_or(0, String::len)
                    + args.value.as_ref().map_or(0, String::len);
                if size > METADATA_BYTES_MAX {
                    return Err(Usage::at(&["peer", "edit"], too_big(size)));
                }
                Ok(())
            }
            PeerCommand::Remove(_) | PeerCommand::List(_) | PeerCommand::Token => Ok(()),
        }
    }
}

/// Runs a `peer` command.
pub async fn run(ctx: &Context, cmd: PeerCommand) -> Result<(), CliError> {
    match cmd {
        PeerCommand::Add(args) => add(ctx, args).await,
        PeerCommand::Remove(args) => remove(ctx, args).await,
        PeerCommand::Edit(args) => edit(ctx, args).await,
        PeerCommand::List(args) => list(ctx, args).await,
        PeerCommand::Token => token(ctx).await,
    }
}

async fn token(ctx: &Context) -> Result<(), CliError> {
    let t: JoinToken = ctx.client()?.get("/v1/join-token").await?;
    if ctx.json() {
        output::print_json(&t)?;
    } else {
        output::print_line(&t.token)?;
    }
    Ok(())
}

async fn add(ctx: &Context, args: AddArgs) -> Result<(), CliError> {
    let req = add_request(args).map_err(CliError::Usage)?;
    let peer: Peer = ctx.client()?.post(PEERS, &req).await?;
    if ctx.json() {
        output::print_json(&peer)?;
    } else {
        output::print_line(&added_line(&peer))?;
        print_peer(&peer)?;
    }
    Ok(())
}

async fn remove(ctx: &Context, args: RemoveArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = resolve(&client, &args.peer).await?;
    let query: &[(&str, &str)] = if args.force {
        &[("force", "true")]
    } else {
        &[]
    };
    client.delete_query(&format!("{PEERS}/{id}"), query).await?;
    // The API answers 204 without a body: with --json there is nothing to print.
    if !ctx.json() {
        output::print_line(&format!("Peer {id} removed"))?;
    }
    Ok(())
}

async fn edit(ctx: &Context, args: EditArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = resolve(&client, &args.peer).await?;
    let req = edit_request(args);
    let peer: Peer = client.post(&format!("{PEERS}/{id}"), &req).await?;
    if ctx.json() {
        output::print_json(&peer)?;
    } else {
        print_peer(&peer)?;
    }
    Ok(())
}

async fn list(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let mut query = Vec::new();
    if let Some(key) = &args.key {
        query.push(("key", key.as_str()));
    }
    if let Some(value) = &args.value {
        query.push(("value", value.as_str()));
    }
    let mut peers: Vec<Peer> = ctx.client()?.get_query(PEERS, &query).await?;
    // The daemon filters too; filtering again keeps the answer right if it does not.
    peers.retain(|p| metadata_matches(p, args.key.as_deref(), args.value.as_deref()));
    if ctx.json() {
        output::print_json(&peers)?;
    } else {
        output::print_table(&list_table(&peers))?;
    }
    Ok(())
}

/// The body of `POST /v1/peers` for `peer add`; fails on a key given twice or metadata over
/// the daemon's size limit.
pub fn add_request(args: AddArgs) -> Result<PeerAddReq, String> {
    Ok(PeerAddReq {
        metadata: metadata_map(&args.metadata)?,
        addresses: vec![args.host],
        zone: args.zone,
        token: args.token,
    })
}

/// The body of `POST /v1/peers/{id}` for `peer edit`.
pub fn edit_request(args: EditArgs) -> PeerEditReq {
    let mut req = PeerEditReq {
        zone: args.zone,
        ..PeerEditReq::default()
    };
    if let Some(key) = args.key {
        match args.value {
            Some(value) => {
                req.metadata.insert(key, value);
            }
            // clap only lets --key through with --value or --delete.
            None => req.delete_metadata.push(key),
        }
    }
    req
}

/// The id of the peer `arg` names: `arg` itself when it is a UUID, otherwise the one peer
/// whose name or one of whose addresses matches it (see [`matching_peers`]).
pub async fn resolve(client: &Client, arg: &str) -> Result<Uuid, CliError> {
    if let Ok(id) = Uuid::parse_str(arg) {
        return Ok(id);
    }
    let peers: Vec<Peer> = client.get(PEERS).await?;
    match matching_peers(&peers, arg).as_slice() {
        [] => Err(CliError::NoPeerMatch(arg.to_owned())),
        [id] => Ok(*id),
        ids => Err(CliError::AmbiguousPeer {
            arg: arg.to_owned(),
            ids: ids.to_vec(),
        }),
    }
}

/// The ids of the peers `arg` designates: its name, a whole address (`host:port`) of
/// its peer or client addresses, or the host part of one (`[fd00::2]` or `fd00::2` for
/// `[fd00::2]:24007`). Names and hosts compare without case, as DNS does.
pub fn matching_peers(peers: &[Peer], arg: &str) -> Vec<Uuid> {
    let host = unbracket(arg);
    peers
        .iter()
        .filter(|p| {
            p.name.eq_ignore_ascii_case(arg)
                || p.peer_addresses
                    .iter()
                    .chain(&p.client_addresses)
                    .any(|a| a.eq_ignore_ascii_case(arg) || host_of(a).eq_ignore_ascii_case(host))
        })
        .map(|p| p.id)
        .collect()
}

/// The host part of `host:port`, `[v6]:port`, `[v6]`, a bare host or a bare IPv6 address.
pub fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once(']') {
            return host;
        }
        return addr;
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

/// `s` without the brackets around an IPv6 address.
fn unbracket(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s)
}

/// Whether a peer passes `peer list`'s filters, as GD2's daemon applies them: key only, the
/// peer has the key; value only, one of its values equals it; both, the key has that value.
pub fn metadata_matches(peer: &Peer, key: Option<&str>, value: Option<&str>) -> bool {
    super::metadata_matches(&peer.metadata, key, value)
}

/// Parses `--metadata KEY=VALUE` (the value may be empty and contain `=`).
pub fn parse_metadata(s: &str) -> Result<(String, String), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE: there is no '='".to_owned())?;
    Ok((parse_user_key(key)?, value.to_owned()))
}

/// Parses a metadata key a user may set: not empty, not starting with `_` (reserved: `_zone`
/// is the failure zone, set with `--zone`).
pub fn parse_user_key(key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("the metadata key is empty".to_owned());
    }
    if key.starts_with('_') {
        return Err(
            "metadata keys starting with '_' are reserved; use --zone to set the zone".to_owned(),
        );
    }
    Ok(key.to_owned())
}

/// The `--metadata` pairs as a map; fails on a key given twice or over [`METADATA_BYTES_MAX`].
fn metadata_map(pairs: &[(String, String)]) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    let mut size = 0;
    for (k, v) in pairs {
        if map.insert(k.clone(), v.clone()).is_some() {
            return Err(format!("the metadata key {k:?} is given more than once"));
        }
        size += k.len() + v.len();
    }
    if size > METADATA_BYTES_MAX {
        return Err(too_big(size));
    }
    Ok(map)
}

fn too_big(size: usize) -> String {
    format!(
        "the metadata is {size} bytes (keys and values); glusterd2 accepts at most {METADATA_BYTES_MAX}"
    )
}

/// `peer add`'s confirmation: `Peer <id> (<name>) added at <client addresses>`.
pub fn added_line(peer: &Peer) -> String {
    if peer.client_addresses.is_empty() {
        format!("Peer {} ({}) added", peer.id, peer.name)
    } else {
        format!(
            "Peer {} ({}) added at {}",
            peer.id,
            peer.name,
            peer.client_addresses.join(", ")
        )
    }
}

/// `Metadata: k=v, ...` (sorted by key, `_zone` included), or `Metadata: none`.
pub fn metadata_line(peer: &Peer) -> String {
    if peer.metadata.is_empty() {
        return "Metadata: none".to_owned();
    }
    let pairs: Vec<String> = peer
        .metadata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("Metadata: {}", pairs.join(", "))
}

/// One peer, as `peer add` and `peer edit` print it: `peer list`'s table, then its metadata
/// (which the table does not show, and which is what `edit` changes).
fn print_peer(peer: &Peer) -> Result<(), CliError> {
    output::print_table(&list_table(std::slice::from_ref(peer)))?;
    output::print_line(&metadata_line(peer))?;
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

    const ID1: &str = "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01";
    const ID2: &str = "0b7a3c1e-2f4d-4e5b-8c6d-7e8f9a0b1c2d";
    const ID3: &str = "9c2e4f60-1a2b-4c3d-8e9f-a0b1c2d3e4f5";

    fn cluster() -> Vec<Peer> {
        vec![
            peer(ID1, "node1", &["10.0.0.1:24007"], true),
            peer(ID2, "node2", &["10.0.0.2:24007", "[fd00::2]:24007"], false),
            peer(ID3, "node3", &["10.0.0.1:24017"], true),
        ]
    }

    fn ids(s: &[&str]) -> Vec<Uuid> {
        s.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn table_rendering() {
        let peers = [
            peer(ID1, "node1", &["10.0.0.1:24007"], true),
            peer(ID2, "node2", &["10.0.0.2:24007", "[fd00::2]:24007"], false),
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

    #[test]
    fn metadata_pairs_parse() {
        assert_eq!(parse_metadata("rack=r1"), Ok(("rack".into(), "r1".into())));
        assert_eq!(parse_metadata("k="), Ok(("k".into(), String::new())));
        assert_eq!(parse_metadata("k=a=b"), Ok(("k".into(), "a=b".into())));
        let e = parse_metadata("rack").unwrap_err();
        assert!(e.contains("expected KEY=VALUE"), "{e}");
        let e = parse_metadata("=r1").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_metadata("_zone=z1").unwrap_err();
        assert!(e.contains("reserved") && e.contains("--zone"), "{e}");
    }

    #[test]
    fn metadata_maps_refuse_duplicates_and_excess() {
        let pairs = vec![("a".to_owned(), "1".to_owned()), ("b".into(), "2".into())];
        assert_eq!(metadata_map(&pairs).unwrap().len(), 2);
        let dup = vec![("a".to_owned(), "1".to_owned()), ("a".into(), "2".into())];
        assert!(metadata_map(&dup).unwrap_err().contains("more than once"));
        let at_max = vec![("k".to_owned(), "v".repeat(METADATA_BYTES_MAX - 1))];
        assert!(metadata_map(&at_max).is_ok());
        let over = vec![("k".to_owned(), "v".repeat(METADATA_BYTES_MAX))];
        assert!(metadata_map(&over).unwrap_err().contains("4096"));
    }

    #[test]
    fn requests() {
        let req = add_request(AddArgs {
            host: "node3:24007".into(),
            zone: Some("z3".into()),
            metadata: vec![("rack".into(), "r1".into())],
            token: Some("t0k3n".into()),
        })
        .unwrap();
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({"addresses": ["node3:24007"], "zone": "z3", "metadata": {"rack": "r1"}, "token": "t0k3n"})
        );
        let edit = |key: Option<&str>, value: Option<&str>, delete, zone: Option<&str>| {
            serde_json::to_value(edit_request(EditArgs {
                peer: ID1.into(),
                zone: zone.map(Into::into),
                key: key.map(Into::into),
                value: value.map(Into::into),
                delete,
            }))
            .unwrap()
        };
        assert_eq!(
            edit(Some("k"), Some("v"), false, None),
            serde_json::json!({"metadata": {"k": "v"}})
        );
        assert_eq!(
            edit(Some("k"), None, true, Some("z")),
            serde_json::json!({"zone": "z", "delete-metadata": ["k"]})
        );
    }

    #[test]
    fn hosts_of_addresses() {
        assert_eq!(host_of("node1:24007"), "node1");
        assert_eq!(host_of("node1"), "node1");
        assert_eq!(host_of("[fd00::2]:24007"), "fd00::2");
        assert_eq!(host_of("[fd00::2]"), "fd00::2");
        assert_eq!(host_of("fd00::2"), "fd00::2");
        assert_eq!(host_of("[broken"), "[broken");
    }

    #[test]
    fn peers_resolve_by_name_host_or_address() {
        let peers = cluster();
        assert_eq!(matching_peers(&peers, "node2"), ids(&[ID2]));
        assert_eq!(matching_peers(&peers, "NODE2"), ids(&[ID2]));
        assert_eq!(matching_peers(&peers, "node2:24008"), ids(&[ID2]));
        assert_eq!(matching_peers(&peers, "10.0.0.2"), ids(&[ID2]));
        assert_eq!(matching_peers(&peers, "fd00::2"), ids(&[ID2]));
        assert_eq!(matching_peers(&peers, "[fd00::2]"), ids(&[ID2]));
        assert_eq!(matching_peers(&peers, "[fd00::2]:24007"), ids(&[ID2]));
        // Two peers on one host: the host is ambiguous, the whole address is not.
        assert_eq!(matching_peers(&peers, "10.0.0.1"), ids(&[ID1, ID3]));
        assert_eq!(matching_peers(&peers, "10.0.0.1:24017"), ids(&[ID3]));
        // A host with the wrong port matches nothing.
        assert!(matching_peers(&peers, "10.0.0.2:9999").is_empty());
        assert!(matching_peers(&peers, "node9").is_empty());
    }

    #[test]
    fn list_filters() {
        let mut p = peer(ID1, "node1", &[], true);
        p.metadata = [("_zone".into(), "z1".into()), ("rack".into(), "r1".into())].into();
        assert!(metadata_matches(&p, None, None));
        assert!(metadata_matches(&p, Some("rack"), None));
        assert!(!metadata_matches(&p, Some("row"), None));
        assert!(metadata_matches(&p, None, Some("z1")));
        assert!(!metadata_matches(&p, None, Some("r2")));
        assert!(metadata_matches(&p, Some("rack"), Some("r1")));
        assert!(!metadata_matches(&p, Some("rack"), Some("z1")));
    }

    #[test]
    fn lines() {
        let mut p = peer(ID1, "node1", &["10.0.0.1:24007", "[fd00::1]:24007"], true);
        assert_eq!(
            added_line(&p),
            format!("Peer {ID1} (node1) added at 10.0.0.1:24007, [fd00::1]:24007")
        );
        assert_eq!(metadata_line(&p), "Metadata: none");
        p.metadata = [("_zone".into(), "z1".into()), ("rack".into(), "r1".into())].into();
        assert_eq!(metadata_line(&p), "Metadata: _zone=z1, rack=r1");
        p.client_addresses.clear();
        assert_eq!(added_line(&p), format!("Peer {ID1} (node1) added"));
    }
}
