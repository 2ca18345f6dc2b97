//! Volume options, option groups and cluster options (GD2's shapes, research/gd2.md §5, §7).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/volumes/{name}/options`: sets every option at once, or none.
///
/// A key is an option (`performance.cache-size`, `replicate.eager-lock`,
/// `cluster/replicate.eager-lock`), a `user.*` key (stored for hook scripts), the name of an
/// option group with the value `on` (sets the group's options) or `off` (resets them), or
/// `group` with a group's name as the value (GD1's `volume set <vol> group <name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolOptionReq {
    pub options: BTreeMap<String, String>,
    /// Accepted for GD2 compatibility; every option level is allowed, as with GD1.
    #[serde(default, rename = "allow-advanced-options")]
    pub allow_advanced_options: bool,
    /// Accepted for GD2 compatibility; see `allow-advanced-options`.
    #[serde(default, rename = "allow-experimental-options")]
    pub allow_experimental_options: bool,
    /// Accepted for GD2 compatibility; see `allow-advanced-options`.
    #[serde(default, rename = "allow-deprecated-options")]
    pub allow_deprecated_options: bool,
}

/// `DELETE /v1/volumes/{name}/options`: resets the given keys (any spelling of an option, or a
/// group's name), or with `all` every option to what a new volume has.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolOptionResetReq {
    #[serde(default)]
    pub options: Vec<String>,
    /// Accepted for GD2 compatibility (no option needs it).
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub all: bool,
}

/// One option of a volume (`GET /v1/volumes/{name}/options[/{key}]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VolumeOptionGetResp {
    /// The key: as asked for, or `<category>/<xlator>.<option>` in a full listing.
    #[serde(rename = "name")]
    pub key: String,
    /// The volume's value (the default when not set).
    pub value: String,
    /// Whether the volume sets it.
    pub modified: bool,
    /// The value used when the volume does not set it (empty: none).
    #[serde(rename = "default-value")]
    pub default_value: String,
    /// `basic`, `advanced`, `experimental` or `deprecated`, from the xlator's table.
    #[serde(rename = "option-level")]
    pub option_level: String,
    /// The value type (`bool`, `sizet`, `str`...), from the xlator's table.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The xlators' description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// One option of a group and the value the group gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupOption {
    pub name: String,
    #[serde(rename = "onvalue")]
    pub on_value: String,
}

/// An option group (a profile): `GET /v1/volumes/options-group` lists them, `POST` adds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionGroup {
    pub name: String,
    pub options: Vec<GroupOption>,
    #[serde(default)]
    pub description: String,
    /// True for the groups shipped with glusterd2 (they cannot be deleted or replaced).
    #[serde(default, rename = "built-in")]
    pub built_in: bool,
}

/// `POST /v1/volumes/options-group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionGroupReq {
    /// 1 to 64 letters, digits, `_` and `-`; not `group`, nor a name an option is known by.
    #[schema(pattern = "^(?!group$)[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    pub options: Vec<GroupOption>,
    #[serde(default)]
    pub description: String,
    /// Accepted for GD2 compatibility; see [`VolOptionReq`].
    #[serde(default, rename = "allow-advanced-options")]
    pub allow_advanced_options: bool,
    /// Accepted for GD2 compatibility.
    #[serde(default, rename = "allow-experimental-options")]
    pub allow_experimental_options: bool,
    /// Accepted for GD2 compatibility.
    #[serde(default, rename = "allow-deprecated-options")]
    pub allow_deprecated_options: bool,
}

/// `POST /v1/cluster/options`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterOptionReq {
    pub options: BTreeMap<String, String>,
}

/// One cluster option (`GET /v1/cluster/options`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterOptionGetResp {
    pub key: String,
    pub value: String,
    pub default: String,
    pub modified: bool,
    /// What it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}
