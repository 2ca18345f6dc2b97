//! GlusterFS's value parsers (`libglusterfs/src/common-utils.c` of 10.3), rewritten so that a
//! value accepted here is one the xlator accepts, and the other way round.
//!
//! They follow the C library functions they are built on: `strtoll`/`strtol` with base 0
//! (`0x1f` hex, `017` octal, leading white space and a sign allowed), `strtod` (decimal only:
//! hexadecimal floats, `inf` and `nan` are refused here, where glibc would take them), and
//! `strtok`, which skips empty fields.

/// `isspace` in the C locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn skip_space(s: &str) -> &str {
    s.trim_start_matches(is_c_space)
}

/// GlusterFS's "no negative numbers" pre-check: the first non-space character is not `-`.
fn starts_negative(s: &str) -> bool {
    skip_space(s).starts_with('-')
}

/// `strtoll(s, &tail, base)` for base 0 or 10: the value and the unparsed tail, or None when
/// no digit was read or the value does not fit an i64 (`ERANGE`).
fn strtoll(s: &str, base0: bool) -> Option<(i64, &str)> {
    let t = skip_space(s);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if base0 && (t.starts_with("0x") || t.starts_with("0X")) {
        // "0x" without a hex digit parses as "0" with the tail "x…".
        if t[2..].starts_with(|c: char| c.is_ascii_hexdigit()) {
            (16, &t[2..])
        } else {
            return Some((0, &t[1..]));
        }
    } else if base0 && t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits[..end], radix).ok()?;
    let value = if neg { -magnitude } else { magnitude };
    let value = i64::try_from(value).ok()?;
    Some((value, &digits[end..]))
}

/// `strtod(s, &tail)` for decimal numbers: the value and the tail, or None when no number was
/// read or it is not finite.
fn strtod(s: &str) -> Option<(f64, &str)> {
    let t = skip_space(s);
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+') | Some(b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        let frac_start = i + 1;
        let mut j = frac_start;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        digits += j - frac_start;
        if digits > 0 {
            i = j;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        let exp_start = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    let value: f64 = t[..i].parse().ok()?;
    value.is_finite().then_some((value, &t[i..]))
}

/// `gf_string2boolean`.
pub fn boolean(s: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["1", "on", "yes", "true", "enable"];
    const FALSE: [&str; 5] = ["0", "off", "no", "false", "disable"];
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// `gf_string2longlong` plus `xlator_option_validate_int`'s refusal of `-0`.
pub fn int(s: &str) -> Option<i64> {
    let (v, tail) = strtoll(s, true)?;
    if !tail.is_empty() || (v == 0 && starts_negative(s)) {
        return None;
    }
    Some(v)
}

/// `gf_string2int32` (used for priorities).
fn int32(s: &str) -> Option<i32> {
    let (v, tail) = strtoll(s, true)?;
    if !tail.is_empty() {
        return None;
    }
    i32::try_from(v).ok()
}

/// The byte units GlusterFS knows (1024-based), matched case-insensitively.
const UNITS: [(&str, u64); 5] = [
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
    ("PB", 1 << 50),
];

fn unit(tail: &str) -> Option<u64> {
    UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(tail))
        .map(|&(_, n)| n)
}

/// `gf_string2bytesize_uint64`: a byte count, fractional when the text holds a `.`.
pub fn bytesize(s: &str) -> Option<u64> {
    if starts_negative(s) {
        return None;
    }
    let max = i64::MAX as u64;
    let mult = |tail: &str| -> Option<u64> {
        if tail.is_empty() || tail.eq_ignore_ascii_case("B") {
            Some(1)
        } else {
            unit(tail)
        }
    };
    if s.contains('.') {
        let (v, tail) = strtod(s)?;
        let v = v * mult(tail)? as f64;
        if v < 0.0 || v > max as f64 {
            return None;
        }
        Some(v as u64)
    } else {
        let (v, tail) = strtoll(s, false)?;
        let v = u64::try_from(v).ok()?.checked_mul(mult(tail)?)?;
        (v <= max).then_some(v)
    }
}

/// `gf_string2percent`: a number with an optional `%` (the range is the caller's check).
pub fn percent(s: &str) -> Option<f64> {
    if starts_negative(s) {
        return None;
    }
    let (v, tail) = strtod(s)?;
    (tail.is_empty() || tail == "%").then_some(v)
}

/// A percentage or a byte size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PercentOrSize {
    /// `N%`.
    Percent(f64),
    /// A byte count (possibly fractional before the validator's check).
    Bytes(f64),
}

/// `gf_string2percent_or_bytesize`. Note: no `B` unit here, as in GlusterFS.
pub fn percent_or_bytesize(s: &str) -> Option<PercentOrSize> {
    if starts_negative(s) {
        return None;
    }
    let (v, tail) = strtod(s)?;
    if tail.is_empty() {
        return Some(PercentOrSize::Bytes(v));
    }
    if tail == "%" {
        return Some(PercentOrSize::Percent(v));
    }
    let v = v * unit(tail)? as f64;
    (v <= u64::MAX as f64).then_some(PercentOrSize::Bytes(v))
}

/// `gf_string2time`: seconds, with a suffix `s`/`sec`, `m`/`min`, `h`/`hr`, `d`/`days`,
/// `w`/`wk` (case-sensitive, as in GlusterFS).
pub fn time(s: &str) -> Option<u64> {
    if starts_negative(s) {
        return None;
    }
    let (v, tail) = strtoll(s, true)?;
    let v = u64::try_from(v).ok()?;
    let mult = match tail {
        "" | "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" | "hr" => 3600,
        "d" | "days" => 86_400,
        "w" | "wk" => 604_800,
        _ => return None,
    };
    v.checked_mul(mult)
}

/// `gf_string2double`.
pub fn double(s: &str) -> Option<f64> {
    let (v, tail) = strtod(s)?;
    tail.is_empty().then_some(v)
}

/// `strtok(s, delims)`: the non-empty fields.
fn strtok<'a>(s: &'a str, delims: &'a [char]) -> impl Iterator<Item = &'a str> + 'a {
    s.split(delims).filter(|f| !f.is_empty())
}

/// `strtol(s, &end, radix)` with a full-string check, for address parts.
fn strtol_full(s: &str, radix: u32) -> Option<i64> {
    let t = skip_space(s);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = if radix == 16 && (t.starts_with("0x") || t.starts_with("0X")) {
        &t[2..]
    } else {
        t
    };
    if t.is_empty() || !t.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(t, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `valid_host_name`.
fn host_name(a: &str) -> bool {
    let b = a.as_bytes();
    if b.is_empty() || b.len() > 255 || a.contains("..") {
        return false;
    }
    let last = b[b.len() - 1];
    if !last.is_ascii_alphanumeric() && last != b'*' {
        return false;
    }
    strtok(a, &['.']).all(|label| {
        let l = label.as_bytes();
        l[0].is_ascii_alphanumeric()
            && l[l.len() - 1].is_ascii_alphanumeric()
            && l.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    })
}

/// `valid_ipv4_address`.
fn ipv4(a: &str, wildcard: bool) -> bool {
    let Some(&last) = a.as_bytes().last() else {
        return false;
    };
    if a.contains("..") || (!last.is_ascii_digit() && last != b'*') {
        return false;
    }
    let mut octets = 0;
    let mut is_wildcard = false;
    for part in strtok(a, &['.']) {
        octets += 1;
        if wildcard && part == "*" {
            is_wildcard = true;
        } else if !strtol_full(part, 10).is_some_and(|v| (0..=255).contains(&v)) {
            return false;
        }
    }
    octets == 4 || (octets < 4 && is_wildcard)
}

/// `valid_ipv6_address`.
fn ipv6(a: &str, wildcard: bool) -> bool {
    let a = a.split('%').next().unwrap_or("");
    if a.is_empty() || a.ends_with(':') || a.matches("::").count() > 1 {
        return false;
    }
    let compressed = a.contains("::");
    let mut groups = 0;
    let mut is_wildcard = false;
    for part in strtok(a, &[':']) {
        groups += 1;
        if wildcard && part == "*" {
            is_wildcard = true;
        } else if !strtol_full(part, 16).is_some_and(|v| (0..=0xffff).contains(&v)) {
            return false;
        }
    }
    groups == 8 || (groups < 8 && (is_wildcard || compressed))
}

/// `valid_cidr_address`: `a.b.c.d/n`, n in 1..=32.
fn cidr(a: &str, wildcard: bool) -> bool {
    let Some((addr, mask)) = a.split_once('/') else {
        return false;
    };
    // atoi: leading digits, anything after ignored.
    let digits: String = skip_space(mask)
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mask: u32 = digits.parse().unwrap_or(0);
    (1..=32).contains(&mask) && ipv4(addr, wildcard)
}

/// `valid_internet_address`.
pub fn internet_address(a: &str, wildcard: bool, with_cidr: bool) -> bool {
    !a.is_empty()
        && ((with_cidr && cidr(a, wildcard))
            || ipv4(a, wildcard)
            || ipv6(a, wildcard)
            || host_name(a))
}

/// `xlator_option_validate_addr_list`: `a,b,…` or the NFS export form `/dir(a|b),…`.
pub fn address_list(v: &str) -> bool {
    if !v.starts_with('/') && !v.contains('(') {
        return strtok(v, &[',']).all(|a| internet_address(a, true, true));
    }
    strtok(v, &[',']).all(|entry| {
        let mut parts = strtok(entry, &['(']);
        let Some(dir) = parts.next() else {
            return false;
        };
        if !dir.starts_with('/') {
            return false;
        }
        let rest = entry[entry.find(dir).unwrap_or(0) + dir.len()..].trim_start_matches('(');
        let Some(addrs) = strtok(rest, &[')']).next() else {
            return false;
        };
        let mut any = false;
        for a in strtok(addrs, &['|']) {
            any = true;
            if !internet_address(a, true, true) {
                return false;
            }
        }
        any
    })
}

/// `valid_ipv4_subnetwork`: `a.b.c.d/n`, n in 0..=32.
fn ipv4_subnetwork(a: &str) -> bool {
    let Some((addr, len)) = a.split_once('/') else {
        return false;
    };
    !len.is_empty()
        && ipv4(addr, false)
        && strtol_full(len, 10).is_some_and(|n| (0..=32).contains(&n))
}

/// `xlator_option_validate_mntauth`: comma-separated client addresses.
pub fn mount_auth_list(v: &str) -> bool {
    let mut any = false;
    for a in strtok(v, &[',']) {
        any = true;
        let ok = a == "*"
            || match a.find(['*', '?', '[', '/']) {
                Some(i) if a.as_bytes()[i] != b'/' => true,
                Some(_) => ipv4_subnetwork(a),
                None => ipv4(a, false) || ipv6(a, false) || host_name(a),
            };
        if !ok {
            return false;
        }
    }
    any
}

/// `validate_list_elements`: `key:value,…` with every value accepted by `value_ok`.
fn list_elements(v: &str, value_ok: impl Fn(&str) -> bool) -> bool {
    let mut any = false;
    for entry in strtok(v, &[',']) {
        any = true;
        let mut fields = strtok(entry, &[':']);
        let (Some(_key), Some(value)) = (fields.next(), fields.next()) else {
            return false;
        };
        if !value_ok(value) {
            return false;
        }
    }
    any
}

/// `xlator_option_validate_priority_list`: `pattern:priority,…`.
pub fn priority_list(v: &str) -> bool {
    list_elements(v, |p| int32(p).is_some())
}

/// `xlator_option_validate_size_list`: a size, or `key:size,…`; each size a multiple of 512
/// and at least `min`.
pub fn size_list(v: &str, min: f64) -> bool {
    let size_ok = |s: &str| bytesize(s).is_some_and(|n| n as f64 >= min && n % 512 == 0);
    size_ok(v) || list_elements(v, size_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for w in ["on", "ON", "yes", "True", "enable", "1"] {
            assert_eq!(boolean(w), Some(true), "{w}");
        }
        for w in ["off", "No", "false", "DISABLE", "0"] {
            assert_eq!(boolean(w), Some(false), "{w}");
        }
        for w in ["", "y", "2", "onn", " on"] {
            assert_eq!(boolean(w), None, "{w}");
        }
    }

    #[test]
    fn ints_like_strtoll_base_0() {
        assert_eq!(int("42"), Some(42));
        assert_eq!(int("-1"), Some(-1));
        assert_eq!(int(" +7"), Some(7));
        assert_eq!(int("0x10"), Some(16));
        assert_eq!(int("0777"), Some(511));
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("-0"), None);
        assert_eq!(int("08"), None, "octal");
        assert_eq!(int("0x"), None);
        assert_eq!(int("12abc"), None);
        assert_eq!(int(""), None);
        assert_eq!(int("99999999999999999999"), None);
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytesize("4MB"), Some(4 << 20));
        assert_eq!(bytesize("4mb"), Some(4 << 20));
        assert_eq!(bytesize("128KB"), Some(128 << 10));
        assert_eq!(bytesize("512"), Some(512));
        assert_eq!(bytesize("512B"), Some(512));
        assert_eq!(bytesize("1.5KB"), Some(1536));
        assert_eq!(bytesize("1TB"), Some(1 << 40));
        assert_eq!(bytesize("4 MB"), None);
        assert_eq!(bytesize("4M"), None);
        assert_eq!(bytesize("lots"), None);
        assert_eq!(bytesize("-1"), None);
        assert_eq!(bytesize("10000000PB"), None);
    }

    #[test]
    fn percents_times_doubles() {
        assert_eq!(percent("10%"), Some(10.0));
        assert_eq!(percent("7.5"), Some(7.5));
        assert_eq!(percent("10 %"), None);
        assert_eq!(percent_or_bytesize("5%"), Some(PercentOrSize::Percent(5.0)));
        assert_eq!(
            percent_or_bytesize("1GB"),
            Some(PercentOrSize::Bytes((1u64 << 30) as f64))
        );
        assert_eq!(percent_or_bytesize("1B"), None);
        assert_eq!(time("42"), Some(42));
        assert_eq!(time("2m"), Some(120));
        assert_eq!(time("1hr"), Some(3600));
        assert_eq!(time("2days"), Some(172_800));
        assert_eq!(time("1wk"), Some(604_800));
        assert_eq!(time("1H"), None);
        assert_eq!(time("-5"), None);
        assert_eq!(double("1.5"), Some(1.5));
        assert_eq!(double("-2e3"), Some(-2000.0));
        assert_eq!(double("nan"), None);
        assert_eq!(double("1.5s"), None);
    }

    #[test]
    fn addresses() {
        assert!(internet_address("192.168.1.1", false, false));
        assert!(internet_address("192.168.*", true, true));
        assert!(!internet_address("192.168.*", false, false));
        assert!(internet_address("10.0.0.0/8", true, true));
        assert!(internet_address("::1", false, false));
        assert!(internet_address("fe80::1%eth0", false, false));
        assert!(internet_address("server-1.example.com", false, false));
        assert!(!internet_address("bad_host", false, false));
        assert!(!internet_address("a..b", false, false));
        assert!(address_list("*"));
        assert!(address_list("10.1.*,host-a,::1"));
        assert!(!address_list("10.1.*,bad host"));
        assert!(address_list("/dir(10.1.1.1|host-b),/other(*)"));
        assert!(!address_list("/dir"));
        assert!(mount_auth_list("*,10.0.0.0/24,host-a"));
        assert!(!mount_auth_list("10.0.0.0/33"));
    }

    #[test]
    fn lists() {
        assert!(priority_list("*.jpg:2,*.html:1"));
        assert!(!priority_list("*.jpg"));
        assert!(!priority_list("*.jpg:high"));
        assert!(size_list("1024", 0.0));
        assert!(size_list("a:1KB,b:2KB", 0.0));
        assert!(!size_list("a:1000", 0.0));
    }
}
