//! Self-heal: heal info (GD2's `GET /v1/volumes/{v}/heal-info` and its body, which is
//! `glfsheal --xml`'s per-brick record), the split-brain resolutions and heal launches.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A file a brick lists as needing heal (GD2's names, which its Go struct had untagged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealFile {
    /// Its path in the volume, or `<gfid:…>` when the brick knows only its gfid.
    #[serde(rename = "Filename")]
    pub filename: String,
    #[serde(rename = "GfID")]
    pub gfid: String,
}

/// One brick's heal information, as `glfsheal` reports it: its entries (`info`,
/// `split-brain-info`) or its counts (`info-summary`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrickHealInfo {
    /// The brick's node (its peer id), "-" when the brick could not be asked.
    #[serde(rename = "host-id")]
    pub host_id: String,
    /// `host:path`.
    pub name: String,
    /// "Connected", or why the brick could not be read ("Transport endpoint is not connected").
    pub status: String,
    #[serde(
        rename = "total-entries",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub total_entries: Option<u64>,
    #[serde(
        rename = "entries-in-heal-pending",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entries_in_heal_pending: Option<u64>,
    #[serde(
        rename = "entries-in-split-brain",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entries_in_split_brain: Option<u64>,
    #[serde(
        rename = "entries-possibly-healing",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entries_possibly_healing: Option<u64>,
    /// How many entries it lists (`info`, `split-brain-info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    #[serde(rename = "file-gfid", default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<HealFile>,
}

/// `POST /v1/volumes/{v}/split-brain/{bigger-file|latest-mtime|source-brick}` (GD2's body):
/// the file to resolve (required but with `source-brick`, where none means every file in
/// split-brain), and for `source-brick` the brick whose copy wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBrainReq {
    /// Its path in the volume (`/dir/file`) or `gfid:<gfid>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filename: String,
    /// The source brick's host (a name, an address or its peer id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// The source brick's path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub brickname: String,
}

/// What a split-brain resolution did: `glfsheal`'s lines ("Healed /f1.", or why not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SplitBrainResp {
    pub output: Vec<String>,
}

/// `POST /v1/volumes/{v}/heal?type=index|full`: what each brick's self-heal daemon said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealLaunchResp {
    pub volume: String,
    /// "index" or "full".
    #[serde(rename = "type")]
    pub kind: String,
    pub bricks: Vec<HealBrickStatus>,
}

/// One brick's answer to a heal launch, from the self-heal daemon of its node ("Started
/// self-heal", "Brick is not connected", "< 2 bricks in replica are up"); bricks of sets
/// another node crawls (a full heal) are not listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealBrickStatus {
    /// `host:path`.
    pub name: String,
    #[serde(rename = "host-id")]
    pub host_id: uuid::Uuid,
    pub status: String,
}

/// One brick's self-heal crawls (GD1's `volume heal <v> statistics`), as its node's self-heal
/// daemon reports them: the last finished ones, then those running.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrickCrawls {
    /// `host:path`.
    pub brick: String,
    #[serde(rename = "host-id")]
    pub host_id: uuid::Uuid,
    pub crawls: Vec<CrawlEvent>,
}

/// One crawl of a brick by its self-heal daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CrawlEvent {
    /// "INDEX" or "FULL".
    #[serde(rename = "type")]
    pub kind: String,
    /// As the daemon writes it (its local time, `ctime`'s format).
    pub start: String,
    /// "" while it runs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end: String,
    #[serde(rename = "in-progress")]
    pub in_progress: bool,
    pub healed: u64,
    #[serde(rename = "split-brain")]
    pub split_brain: u64,
    #[serde(rename = "heal-failed")]
    pub heal_failed: u64,
}

/// One brick's count of entries to be healed (GD1's `volume heal <v> statistics heal-count`),
/// read from its index by a self-heal daemon of its set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrickHealCount {
    /// `host:path`.
    pub brick: String,
    #[serde(rename = "host-id")]
    pub host_id: uuid::Uuid,
    /// The entries in its index; none when the daemon could not read it (see `status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// Why there is no count ("Brick is not connected"); empty with a count.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
}
