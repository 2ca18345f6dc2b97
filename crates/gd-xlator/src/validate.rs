//! Value validation by option type, as the xlator itself will validate the value when it
//! reads its volfile (`xlator_option_validate` in `libglusterfs/src/options.c`), so that a
//! value glusterd2 accepts is one the brick or client accepts.
//!
//! Beyond GlusterFS, every value must be text a volfile can carry: not empty, at most
//! [`VALUE_MAX_BYTES`], without control characters (a newline would start a new volfile line)
//! and without backticks (glusterfs hands `` `…` `` to a shell). Where GlusterFS only logs a
//! problem and accepts (an `internet-address` that does not parse), it is refused here. Values
//! of type `xlator` must name a translator of the same graph, which only volgen knows; here
//! they are checked to be a single word.
//!
//! The value itself is kept verbatim (GD1 writes what the user typed into volfiles); what it
//! means is returned beside it as a [`Value`].

use crate::model::{OptionDef, OptionType, RangeCheck};
use crate::parse::{self, PercentOrSize};

/// The longest value accepted, in bytes.
pub const VALUE_MAX_BYTES: usize = 4096;

/// What a valid value means.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A byte count.
    Bytes(u64),
    /// A percentage.
    Percent(f64),
    /// A duration in seconds.
    Seconds(u64),
    /// A floating point number.
    Double(f64),
    /// Text: strings, paths, xlator names, addresses and lists, verbatim.
    Text(String),
}

/// The words GlusterFS reads as booleans, for messages.
pub const BOOL_WORDS: &str = "on, off, yes, no, true, false, enable, disable, 1, 0";

/// Checks that `value` is text a volfile can carry (see the module documentation).
pub fn check_text(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("the value is empty".into());
    }
    if value.len() > VALUE_MAX_BYTES {
        return Err(format!(
            "the value is {} bytes long; at most {VALUE_MAX_BYTES} are allowed",
            value.len()
        ));
    }
    if let Some(c) = value.chars().find(|&c| c.is_control() || c == '`') {
        return Err(format!(
            "the value contains the character {c:?}; control characters and backticks are not allowed"
        ));
    }
    Ok(())
}

/// Validates `value` for `def`: its text, its type, its range or allowed values. The error is
/// the reason, for [`crate::ValidationError::Value`].
pub fn check_value(def: &OptionDef, value: &str) -> Result<Value, String> {
    check_text(value)?;
    match def.kind {
        OptionType::Bool => parse::boolean(value)
            .map(Value::Bool)
            .ok_or_else(|| format!("not a boolean; use one of {BOOL_WORDS}")),
        OptionType::Int => {
            let n = parse::int(value).ok_or_else(|| {
                "not an integer; use a whole number (decimal, 0x hexadecimal or 0 octal)"
                    .to_string()
            })?;
            check_bounds(def, n as f64, true, fmt_plain)?;
            Ok(Value::Int(n))
        }
        OptionType::SizeT => {
            let n = parse::bytesize(value).ok_or_else(|| {
                "not a size; use a whole number of bytes with an optional unit B, KB, MB, GB, \
                 TB or PB (1024-based), for example 4MB"
                    .to_string()
            })?;
            check_bounds(def, n as f64, false, fmt_bytes)?;
            Ok(Value::Bytes(n))
        }
        OptionType::Percent => {
            let p = parse::percent(value).ok_or_else(|| {
                "not a percentage; use a number from 0 to 100, optionally followed by %".to_string()
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("{p}% is out of range: allowed 0 to 100"));
            }
            Ok(Value::Percent(p))
        }
        OptionType::PercentOrSizeT => match parse::percent_or_bytesize(value) {
            Some(PercentOrSize::Percent(p)) => {
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("{p}% is out of range: allowed 0% to 100%"));
                }
                Ok(Value::Percent(p))
            }
            Some(PercentOrSize::Bytes(b)) => {
                if let Some((_, frac)) = value.split_once('.')
                    && frac.chars().any(|c| c != '0')
                {
                    return Err(
                        "a size must be a whole number of bytes, not a fraction".to_string()
                    );
                }
                check_bounds(def, b, false, fmt_bytes)?;
                Ok(Value::Bytes(b as u64))
            }
            None => Err(
                "neither a percentage nor a size; use for example 10% or 5GB (units KB, \
                         MB, GB, TB, PB)"
                    .to_string(),
            ),
        },
        OptionType::Time => {
            let s = parse::time(value).ok_or_else(|| {
                "not a duration; use whole seconds, optionally with a unit s, m (minutes), h, \
                 d or w, for example 30 or 2m"
                    .to_string()
            })?;
            check_bounds(def, s as f64, false, fmt_seconds)?;
            Ok(Value::Seconds(s))
        }
        OptionType::Double => {
            let d = parse::double(value)
                .ok_or_else(|| "not a number; use a decimal number such as 1.5".to_string())?;
            check_bounds(def, d, true, fmt_plain)?;
            Ok(Value::Double(d))
        }
        OptionType::Str => {
            if def.allowed.is_empty() {
                return Ok(Value::Text(value.to_string()));
            }
            let blank = value.chars().all(|c| c == ' ');
            if !blank && def.allowed.iter().any(|p| crate::glob::fnmatch(p, value)) {
                Ok(Value::Text(value.to_string()))
            } else {
                Err(format!("allowed values are {}", def.allowed.join(", ")))
            }
        }
        OptionType::Path => {
            if value.contains("../") {
                Err("a path may not contain \"../\"".to_string())
            } else if !value.starts_with('/') {
                Err("not an absolute path; use a path starting with /".to_string())
            } else {
                Ok(Value::Text(value.to_string()))
            }
        }
        OptionType::Xlator => {
            if value.contains(char::is_whitespace) {
                Err("not an xlator name; use the name of a translator of the graph".to_string())
            } else {
                Ok(Value::Text(value.to_string()))
            }
        }
        OptionType::InternetAddress => {
            if parse::internet_address(value, false, false) {
                Ok(Value::Text(value.to_string()))
            } else {
                Err("not an IPv4 or IPv6 address or a host name".to_string())
            }
        }
        OptionType::InternetAddressList => {
            if parse::address_list(value) {
                Ok(Value::Text(value.to_string()))
            } else {
                Err(
                    "not an address list; use comma-separated IP addresses, host names, \
                     wildcards (192.168.*) or CIDR networks (10.0.0.0/8), or *"
                        .to_string(),
                )
            }
        }
        OptionType::ClientAuthAddr => {
            if parse::mount_auth_list(value) {
                Ok(Value::Text(value.to_string()))
            } else {
                Err(
                    "not a client address list; use comma-separated addresses, host names, \
                     wildcard patterns or IPv4 subnets (10.0.0.0/24)"
                        .to_string(),
                )
            }
        }
        OptionType::PriorityList => {
            if parse::priority_list(value) {
                Ok(Value::Text(value.to_string()))
            } else {
                Err(
                    "not a priority list; use pattern:priority pairs separated by commas, for \
                     example *.jpg:2,*.txt:1"
                        .to_string(),
                )
            }
        }
        OptionType::SizeList => {
            if parse::size_list(value, def.min.unwrap_or(0.0)) {
                Ok(Value::Text(value.to_string()))
            } else {
                Err(
                    "not a size list; use a size, or key:size pairs separated by commas, each \
                     a multiple of 512 bytes"
                        .to_string(),
                )
            }
        }
        OptionType::Any | OptionType::Unknown(_) => Ok(Value::Text(value.to_string())),
    }
}

/// The range check of `xlator_option_validate_*`: none when min and max are both 0 (and, for
/// int and double, both bounds are checked); else the bounds the option's [`RangeCheck`]
/// names (int and double) or both (size, time).
fn check_bounds(
    def: &OptionDef,
    v: f64,
    honours_range_check: bool,
    show: fn(f64) -> String,
) -> Result<(), String> {
    let min = def.min.unwrap_or(0.0);
    let max = def.max.unwrap_or(0.0);
    let check = if honours_range_check {
        def.range_check
    } else {
        RangeCheck::Both
    };
    if min == 0.0 && max == 0.0 && check == RangeCheck::Both {
        return Ok(());
    }
    let below = v < min && check != RangeCheck::Max;
    let above = v > max && check != RangeCheck::Min;
    if !below && !above {
        return Ok(());
    }
    Err(match check {
        RangeCheck::Min => format!("{} is too small: the minimum is {}", show(v), show(min)),
        RangeCheck::Max => format!("{} is too large: the maximum is {}", show(v), show(max)),
        RangeCheck::Both => format!(
            "{} is out of range: allowed {} to {}",
            show(v),
            show(min),
            show(max)
        ),
    })
}

fn fmt_plain(v: f64) -> String {
    if v.is_infinite() {
        "unlimited".into()
    } else if v.fract() == 0.0 && v.abs() < 1e18 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn fmt_bytes(v: f64) -> String {
    if v.is_infinite() {
        return "unlimited".into();
    }
    let n = v as u64;
    for (unit, size) in [
        ("PB", 1u64 << 50),
        ("TB", 1 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
    ] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{n} bytes ({}{unit})", n / size);
        }
    }
    format!("{n} bytes")
}

fn fmt_seconds(v: f64) -> String {
    if v.is_infinite() {
        "unlimited".into()
    } else {
        format!("{} s", fmt_plain(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Level, OptionFlags};

    fn def(kind: OptionType, min: Option<f64>, max: Option<f64>) -> OptionDef {
        OptionDef {
            xlator: "test/x".into(),
            keys: vec!["k".into()],
            kind,
            default: None,
            min,
            max,
            range_check: RangeCheck::Both,
            allowed: vec![],
            description: None,
            op_version: vec![],
            deprecated: vec![],
            flags: OptionFlags(0),
            level: Level::Advanced,
            category: Category::Unclassified,
            tags: vec![],
            setkey: None,
        }
    }

    #[test]
    fn text_rules() {
        let d = def(OptionType::Any, None, None);
        assert!(check_value(&d, "x").is_ok());
        assert!(check_value(&d, "").is_err());
        assert!(check_value(&d, "a\nb").is_err());
        assert!(check_value(&d, "`reboot`").is_err());
        assert!(check_value(&d, &"x".repeat(VALUE_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn sizes_and_ranges() {
        let d = def(OptionType::SizeT, Some(524288.0), Some(1073741824.0));
        assert_eq!(check_value(&d, "4MB"), Ok(Value::Bytes(4 << 20)));
        let e = check_value(&d, "2GB").unwrap_err();
        assert!(
            e.contains("out of range") && e.contains("512KB") && e.contains("1GB"),
            "{e}"
        );
        assert!(check_value(&d, "lots").unwrap_err().contains("not a size"));
    }

    #[test]
    fn int_range_checks() {
        let mut d = def(OptionType::Int, Some(1.0), Some(64.0));
        assert_eq!(check_value(&d, "16"), Ok(Value::Int(16)));
        assert!(check_value(&d, "0").is_err());
        assert!(check_value(&d, "65").is_err());
        d.range_check = RangeCheck::Min;
        assert!(check_value(&d, "65").is_ok());
        let free = def(OptionType::Int, None, None);
        assert_eq!(check_value(&free, "-1"), Ok(Value::Int(-1)));
    }

    #[test]
    fn enums_percent_time() {
        let mut d = def(OptionType::Str, None, None);
        d.allowed = vec!["none".into(), "auto".into(), "fixed".into()];
        assert!(check_value(&d, "auto").is_ok());
        let e = check_value(&d, "sometimes").unwrap_err();
        assert!(e.contains("none, auto, fixed"), "{e}");
        let p = def(OptionType::Percent, None, None);
        assert_eq!(check_value(&p, "80%"), Ok(Value::Percent(80.0)));
        assert!(check_value(&p, "120%").is_err());
        let pos = def(OptionType::PercentOrSizeT, None, None);
        assert_eq!(check_value(&pos, "10%"), Ok(Value::Percent(10.0)));
        assert_eq!(check_value(&pos, "5GB"), Ok(Value::Bytes(5 << 30)));
        assert!(check_value(&pos, "1.5GB").is_err());
        let t = def(OptionType::Time, Some(0.0), Some(1013.0));
        assert_eq!(check_value(&t, "42"), Ok(Value::Seconds(42)));
        assert!(check_value(&t, "1h").is_err());
        let b = def(OptionType::Bool, None, None);
        assert_eq!(check_value(&b, "Enable"), Ok(Value::Bool(true)));
        assert!(check_value(&b, "maybe").unwrap_err().contains("enable"));
        let path = def(OptionType::Path, None, None);
        assert!(check_value(&path, "/var/run").is_ok());
        assert!(check_value(&path, "relative").is_err());
        assert!(check_value(&path, "/a/../b").is_err());
    }
}
