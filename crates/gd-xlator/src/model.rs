//! The owned Rust form of an xlator's option table.
//!
//! Everything here is copied out of the loaded libraries at start-up (see [`crate::ffi`]);
//! nothing points into them. The field meanings are GlusterFS's (`volume_option_t` and
//! `xlator_api_t` in `libglusterfs/src/glusterfs/{options,xlator}.h`); enum values a newer
//! GlusterFS might add are kept as `Unknown(n)` rather than guessed.

use std::fmt;
use std::path::PathBuf;

/// An option's value type (`volume_option_type_t`). It decides how a value is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OptionType {
    /// Anything (`GF_OPTION_TYPE_ANY`).
    Any,
    /// A string, restricted to [`OptionDef::allowed`] when that list is not empty.
    Str,
    /// A signed integer (decimal, `0x` hex or `0` octal, as `strtoll` base 0 reads it).
    Int,
    /// A byte size: an unsigned number with an optional unit `B`, `KB`, `MB`, `GB`, `TB`, `PB`.
    SizeT,
    /// A percentage, `0`–`100`, with an optional `%`.
    Percent,
    /// A percentage (with `%`) or a byte size.
    PercentOrSizeT,
    /// A boolean word: `on off yes no true false enable disable 1 0`.
    Bool,
    /// The name of an xlator of the same graph.
    Xlator,
    /// An absolute path.
    Path,
    /// A duration in seconds, with an optional unit `s`, `m`, `h`, `d`, `w` (and spellings).
    Time,
    /// A floating point number.
    Double,
    /// An IP address or host name.
    InternetAddress,
    /// A comma-separated list of addresses, host names, wildcards or CIDR networks.
    InternetAddressList,
    /// A comma-separated list of `pattern:priority`.
    PriorityList,
    /// A byte size, or a comma-separated list of `key:size`.
    SizeList,
    /// A comma-separated list of client addresses, wildcards or IPv4 subnets.
    ClientAuthAddr,
    /// A type this crate does not know (a newer GlusterFS); its values are not checked.
    Unknown(u32),
}

impl OptionType {
    pub(crate) fn from_raw(n: u32) -> OptionType {
        match n {
            0 => OptionType::Any,
            1 => OptionType::Str,
            2 => OptionType::Int,
            3 => OptionType::SizeT,
            4 => OptionType::Percent,
            5 => OptionType::PercentOrSizeT,
            6 => OptionType::Bool,
            7 => OptionType::Xlator,
            8 => OptionType::Path,
            9 => OptionType::Time,
            10 => OptionType::Double,
            11 => OptionType::InternetAddress,
            12 => OptionType::InternetAddressList,
            13 => OptionType::PriorityList,
            14 => OptionType::SizeList,
            15 => OptionType::ClientAuthAddr,
            n => OptionType::Unknown(n),
        }
    }

    /// GlusterFS's name for the type, as `volume set help` and GD2 show it.
    pub fn name(self) -> &'static str {
        match self {
            OptionType::Any => "any",
            OptionType::Str => "str",
            OptionType::Int => "int",
            OptionType::SizeT => "sizet",
            OptionType::Percent => "percent",
            OptionType::PercentOrSizeT => "percent-or-sizet",
            OptionType::Bool => "bool",
            OptionType::Xlator => "xlator",
            OptionType::Path => "path",
            OptionType::Time => "time",
            OptionType::Double => "double",
            OptionType::InternetAddress => "internet-address",
            OptionType::InternetAddressList => "internet-address-list",
            OptionType::PriorityList => "priority-list",
            OptionType::SizeList => "size-list",
            OptionType::ClientAuthAddr => "client-auth-addr",
            OptionType::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for OptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionType::Unknown(n) => write!(f, "unknown type {n}"),
            t => f.write_str(t.name()),
        }
    }
}

/// Which bounds of [`OptionDef::min`]/[`OptionDef::max`] an int or double option checks
/// (`opt_validate_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RangeCheck {
    /// Both bounds (the default; with min = max = 0 it means "no range").
    Both,
    /// Only the minimum.
    Min,
    /// Only the maximum.
    Max,
}

impl RangeCheck {
    pub(crate) fn from_raw(n: u32) -> RangeCheck {
        match n {
            1 => RangeCheck::Min,
            2 => RangeCheck::Max,
            _ => RangeCheck::Both,
        }
    }
}

/// How an option is meant to be used (`opt_level_t`). GD2 asks for an explicit opt-in before
/// setting anything but basic options; this crate only reports the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Level {
    /// Not declared, or declared advanced (the C enum's 0).
    Advanced,
    /// Meant for everyone.
    Basic,
    /// Experimental.
    Experimental,
    /// Deprecated.
    Deprecated,
    /// A level this crate does not know.
    Unknown(u32),
}

impl Level {
    pub(crate) fn from_raw(n: u32) -> Level {
        match n {
            0 => Level::Advanced,
            1 => Level::Basic,
            2 => Level::Experimental,
            3 => Level::Deprecated,
            n => Level::Unknown(n),
        }
    }
}

/// The maturity of an xlator or option (`gf_category_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Category {
    /// Not classified.
    Unclassified,
    /// Experimental.
    Experimental,
    /// Technology preview.
    TechPreview,
    /// Maintained.
    Maintained,
    /// Deprecated.
    Deprecated,
    /// Obsolete.
    Obsolete,
    /// Kept for documentation only.
    DocumentPurpose,
    /// A category this crate does not know.
    Unknown(u32),
}

impl Category {
    pub(crate) fn from_raw(n: u32) -> Category {
        match n {
            0 => Category::Unclassified,
            1 => Category::Experimental,
            2 => Category::TechPreview,
            3 => Category::Maintained,
            4 => Category::Deprecated,
            5 => Category::Obsolete,
            6 => Category::DocumentPurpose,
            n => Category::Unknown(n),
        }
    }
}

/// The `opt_flags_t` bits of an option. GD1 ignores them (it has its own flags per volume-set
/// key); GD2 used them, and they say how an option may be set.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct OptionFlags(pub u32);

impl OptionFlags {
    /// `OPT_FLAG_SETTABLE`: may be set by users (`volume set`).
    pub const SETTABLE: u32 = 0x01;
    /// `OPT_FLAG_CLIENT_OPT`: affects clients.
    pub const CLIENT_OPT: u32 = 0x02;
    /// `OPT_FLAG_GLOBAL`: a cluster-wide option.
    pub const GLOBAL: u32 = 0x04;
    /// `OPT_FLAG_FORCE`: resetting it needs force.
    pub const FORCE: u32 = 0x08;
    /// `OPT_FLAG_NEVER_RESET`: never reset by a reset of all options.
    pub const NEVER_RESET: u32 = 0x10;
    /// `OPT_FLAG_DOC`: shown in `volume set help`.
    pub const DOC: u32 = 0x20;
    /// `OPT_FLAG_RANGE`: min and max are meaningful.
    pub const RANGE: u32 = 0x40;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
    /// [`Self::SETTABLE`].
    pub fn settable(self) -> bool {
        self.has(Self::SETTABLE)
    }
    /// [`Self::CLIENT_OPT`].
    pub fn client_opt(self) -> bool {
        self.has(Self::CLIENT_OPT)
    }
    /// [`Self::GLOBAL`].
    pub fn global(self) -> bool {
        self.has(Self::GLOBAL)
    }
    /// [`Self::FORCE`].
    pub fn force(self) -> bool {
        self.has(Self::FORCE)
    }
    /// [`Self::NEVER_RESET`].
    pub fn never_reset(self) -> bool {
        self.has(Self::NEVER_RESET)
    }
    /// [`Self::DOC`].
    pub fn doc(self) -> bool {
        self.has(Self::DOC)
    }
}

/// One option of one xlator, as its `volume_option_t` declares it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptionDef {
    /// The xlator (or transport) whose table declares it, e.g. `performance/write-behind`.
    pub xlator: String,
    /// Its names: the canonical one first, then aliases (`["cache-size", "window-size"]`).
    /// A key may be an fnmatch pattern (`auth.addr.*.allow`).
    pub keys: Vec<String>,
    /// The value type.
    pub kind: OptionType,
    /// The default, verbatim. It may hold GD2 templates such as `{{ brick.path }}`.
    pub default: Option<String>,
    /// The lower bound; `None` (as is [`Self::max`]) when the table declares no range: min
    /// and max both 0 and both bounds to be checked, which GlusterFS reads as "unbounded".
    #[serde(with = "f64_bits")]
    pub min: Option<f64>,
    /// The upper bound (may be infinite); `None` when the table declares no range.
    #[serde(with = "f64_bits")]
    pub max: Option<f64>,
    /// Which bounds are checked for int and double options.
    pub range_check: RangeCheck,
    /// The allowed values of a string option (fnmatch patterns); empty: anything.
    pub allowed: Vec<String>,
    /// The description.
    pub description: Option<String>,
    /// The op-versions the option appeared in (newest first for backports), zeros dropped.
    pub op_version: Vec<u32>,
    /// The op-versions it was deprecated in, zeros dropped.
    pub deprecated: Vec<u32>,
    /// The `opt_flags_t` bits.
    pub flags: OptionFlags,
    /// The level (basic, advanced, experimental, deprecated).
    pub level: Level,
    /// The maturity category.
    pub category: Category,
    /// Free-form tags (`replicate`, `io-stats`, …).
    pub tags: Vec<String>,
    /// GD2's hint for the volfile key of a pattern key (`auth.addr.{{ brick.path }}.allow`).
    pub setkey: Option<String>,
}

impl OptionDef {
    /// The canonical key.
    pub fn key(&self) -> &str {
        self.keys.first().map(String::as_str).unwrap_or("")
    }

    /// Whether `name` is one of the keys exactly (not as a pattern).
    pub fn has_key(&self, name: &str) -> bool {
        self.keys.iter().any(|k| k == name)
    }

    /// Whether the key is a pattern (`auth.addr.*.allow`) rather than a name.
    pub fn is_pattern(&self) -> bool {
        self.keys.iter().any(|k| k.contains(['*', '?', '[']))
    }
}

/// What kind of plugin a table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XlatorKind {
    /// A translator (`xlator/<category>/<name>.so`, symbol `xlator_api`).
    Xlator,
    /// An RPC transport (`rpc-transport/socket.so`, symbol `options`). Its options are set on
    /// `protocol/client` and `protocol/server`, which pass them to their transport.
    Transport,
    /// An authentication module (`auth/addr.so`, symbol `options`).
    Auth,
}

/// One loaded xlator (or transport, or auth module) and its option table.
#[derive(Debug, Clone, PartialEq)]
pub struct Xlator {
    /// The full name, `<category>/<identifier>` (`cluster/replicate`), or the identifier alone
    /// for an xlator at the top of the directory (`meta`).
    pub name: String,
    /// The identifier `xlator_api` declares (`replicate` for `afr.so`), or the file stem.
    pub id: String,
    /// The directory it was found in (`cluster`, `performance`, `rpc-transport`, …).
    pub category: String,
    /// Translator, transport or auth module.
    pub kind: XlatorKind,
    /// The file it was loaded from (symbolic links resolved).
    pub path: PathBuf,
    /// Other names it answers to: the stems and `<category>/<stem>` of every file that is this
    /// library (`afr`, `cluster/afr` for `cluster/replicate`), and its identifier.
    pub aliases: Vec<String>,
    /// The op-versions of the xlator, zeros dropped.
    pub op_version: Vec<u32>,
    /// Its maturity category.
    pub maturity: Category,
    /// Its options, in table order.
    pub options: Vec<OptionDef>,
}

impl Xlator {
    /// The option whose key or alias is exactly `name`.
    pub fn option(&self, name: &str) -> Option<&OptionDef> {
        self.options.iter().find(|o| o.has_key(name))
    }

    /// Whether `name` is this xlator's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }
}

/// A bound as its bits, so that an infinite one crosses JSON (which has no infinity) intact.
mod f64_bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(f64::to_bits).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(f64::from_bits))
    }
}
