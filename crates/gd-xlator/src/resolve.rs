//! From a user's key to the xlator options it sets.
//!
//! Two naming schemes are in use and both are accepted:
//!
//! - GD2's: `[<category>/]<xlator>.<option>` (`cluster/replicate.eager-lock`,
//!   `replicate.eager-lock`, `afr.eager-lock`, `protocol/client.transport.socket.ssl-enabled`),
//!   where the xlator may be named by its identifier or any file name it is installed under,
//!   and the option by its name or any alias. A bare `<xlator>` means the xlator's own on/off
//!   option (GlusterFS declares `write-behind` in write-behind's table).
//! - GD1's `<domain>.<name>` (`cluster.eager-lock`, `performance.cache-size`,
//!   `network.ping-timeout`): see [`crate::gd1`] for the domains and the few irregular names.
//!
//! The steps, in order:
//! 1. a key with `/` before its first `.` is GD2's full form;
//! 2. an irregular GD1 name goes where GD1 sends it;
//! 3. a key whose first part names an xlator is GD2's short form (`replicate.eager-lock`,
//!    `disperse.eager-lock`, `changelog.rollover-time`); if that xlator lacks the option, the
//!    GD1 rules still get a try (`client.event-threads` is protocol/client's, `client.ssl` is
//!    a GD1 name);
//! 4. a GD1 domain: in its xlator groups, in order, the first of these that finds anything
//!    gives the targets: the option named `<name>`; the option named by the whole key
//!    (`auth.allow`); the option `<domain>-<name>` (`ssl.own-cert` → `ssl-own-cert`);
//!    `<name>` as `<xlator>-<option>` (`performance.write-behind-window-size`); `<name>` as
//!    an xlator, meaning its on/off option (`performance.stat-prefetch` → md-cache's).
//!
//! Within an xlator an option name matches its key or aliases exactly, then ignoring case and
//! `_`/`-` (`strict-o-direct` is `strict-O_DIRECT`), then with the transport prefixes
//! `transport.socket.` and `transport.` (`server.keepalive-time`), then a pattern key
//! (`auth.addr.*.allow`). The protocol xlators also own the options of the installed
//! transports, which they pass on (GD2 did the same).
//!
//! `user.*` keys are not xlator options: GD1 stores them verbatim for hook scripts; the caller
//! handles them ([`is_user_key`]).

use crate::error::{InvalidValue, ResolveError, ValidationError};
use crate::gd1;
use crate::model::{OptionDef, Xlator, XlatorKind};
use crate::table::{Normalized, SetTarget, XlatorTable};
use crate::validate;

/// The longest key accepted, in bytes.
pub const KEY_MAX_BYTES: usize = 256;

/// A key mapped to the options it sets.
#[derive(Debug, Clone)]
pub struct Resolved<'t> {
    /// The key as given.
    pub key: String,
    /// The options it sets (usually one; `performance.cache-size` sets two).
    pub targets: Vec<Target<'t>>,
    /// Which rule matched.
    pub rule: Rule,
}

/// One option a key sets.
#[derive(Debug, Clone, Copy)]
pub struct Target<'t> {
    /// The xlator the option is set on.
    pub xlator: &'t Xlator,
    /// The option. Its `xlator` field names the table that declares it, which for transport
    /// options is the transport (`rpc-transport/socket`), not [`Self::xlator`].
    pub option: &'t OptionDef,
}

impl Target<'_> {
    /// GD2's normalised key: `<xlator name>.<canonical option>` (`cluster/replicate.eager-lock`).
    pub fn qualified_key(&self) -> String {
        format!("{}.{}", self.xlator.name, self.option.key())
    }
}

/// How a key was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `<category>/<xlator>.<option>` or `<category>/<xlator>`.
    Qualified,
    /// `<xlator>.<option>` or `<xlator>`.
    Xlator,
    /// An irregular GD1 name ([`crate::gd1`]).
    Gd1Irregular,
    /// A GD1 domain and a naming rule.
    Gd1Domain,
}

/// Whether `key` is a `user.*` key (stored verbatim, for hook scripts; not an xlator option).
pub fn is_user_key(key: &str) -> bool {
    key.starts_with("user.") && key.len() > "user.".len()
}

fn resolve<'t>(table: &'t XlatorTable, key: &str) -> Result<Resolved<'t>, ResolveError> {
    check_key(key)?;
    if is_user_key(key) {
        return Err(invalid(
            key,
            "user.* keys are stored as they are for hook scripts; they are not xlator options",
        ));
    }
    if table.is_empty() {
        return Err(ResolveError::NoTables {
            key: key.to_string(),
        });
    }
    let done = |targets: Vec<Target<'t>>, rule| {
        Ok(Resolved {
            key: key.to_string(),
            targets,
            rule,
        })
    };

    // 1. <category>/<xlator>[.<option>]
    let dot = key.find('.');
    if let Some(slash) = key.find('/')
        && dot.is_none_or(|d| slash < d)
    {
        let (xname, option) = match key[slash..].find('.') {
            Some(d) => (&key[..slash + d], Some(&key[slash + d + 1..])),
            None => (key, None),
        };
        let xl = table
            .xlator(xname)
            .ok_or_else(|| ResolveError::UnknownXlator {
                key: key.to_string(),
                xlator: xname.to_string(),
            })?;
        let found = match option {
            Some(o) => find_option(table, xl, o),
            None => toggle(xl),
        };
        return match found {
            Some(option) => done(vec![Target { xlator: xl, option }], Rule::Qualified),
            None => Err(ResolveError::UnknownOption {
                key: key.to_string(),
                xlator: xl.name.clone(),
                option: option.unwrap_or(&xl.id).to_string(),
            }),
        };
    }

    // A bare <xlator>: its on/off option.
    let Some(dot) = dot else {
        if let Some(xl) = table.xlator(key)
            && let Some(option) = toggle(xl)
        {
            return done(vec![Target { xlator: xl, option }], Rule::Xlator);
        }
        return Err(invalid(
            key,
            "expected <domain>.<option> (cluster.quorum-type), <xlator>.<option> \
             (replicate.quorum-type) or <category>/<xlator>.<option>",
        ));
    };
    let (head, name) = (&key[..dot], &key[dot + 1..]);

    // 2. GD1's irregular names.
    if let Some(pairs) = gd1::irregular(key) {
        let targets: Vec<Target<'t>> = pairs
            .iter()
            .filter_map(|&(xname, oname)| {
                let xl = table.xlator(xname)?;
                let option = find_option(table, xl, oname)?;
                Some(Target { xlator: xl, option })
            })
            .collect();
        if !targets.is_empty() {
            return done(targets, Rule::Gd1Irregular);
        }
    }

    // 3. <xlator>.<option>
    let named = table.xlator(head);
    if let Some(xl) = named
        && let Some(option) = find_option(table, xl, name)
    {
        return done(vec![Target { xlator: xl, option }], Rule::Xlator);
    }

    // 4. GD1 domains.
    if let Some(groups) = gd1::domain(head) {
        let groups: Vec<Vec<&'t Xlator>> = groups
            .iter()
            .map(|g| members(table, g))
            .filter(|g| !g.is_empty())
            .collect();
        let strategies: [&dyn Fn(&'t Xlator) -> Option<&'t OptionDef>; 5] = [
            &|xl| find_option(table, xl, name),
            &|xl| find_option(table, xl, key),
            &|xl| find_option(table, xl, &format!("{head}-{name}")),
            &|xl| prefixed(table, xl, name),
            &|xl| {
                table
                    .xlator(name)
                    .filter(|t| t.name == xl.name)
                    .and_then(toggle)
            },
        ];
        for strategy in strategies {
            for group in &groups {
                let targets: Vec<Target<'t>> = group
                    .iter()
                    .filter_map(|&xl| strategy(xl).map(|option| Target { xlator: xl, option }))
                    .collect();
                if !targets.is_empty() {
                    return done(targets, Rule::Gd1Domain);
                }
            }
        }
    }

    match named {
        Some(xl) => Err(ResolveError::UnknownOption {
            key: key.to_string(),
            xlator: xl.name.clone(),
            option: name.to_string(),
        }),
        None => Err(ResolveError::UnknownKey {
            key: key.to_string(),
            hints: hints(table, key),
        }),
    }
}

fn invalid(key: &str, reason: &str) -> ResolveError {
    ResolveError::InvalidKey {
        key: key.chars().take(KEY_MAX_BYTES).collect(),
        reason: reason.to_string(),
    }
}

/// A key is printable ASCII without spaces, quotes, backslashes or backticks, at most
/// [`KEY_MAX_BYTES`] long, with no empty `.`-separated part.
fn check_key(key: &str) -> Result<(), ResolveError> {
    if key.is_empty() {
        return Err(invalid(key, "the key is empty"));
    }
    if key.len() > KEY_MAX_BYTES {
        return Err(invalid(
            key,
            &format!("the key is longer than {KEY_MAX_BYTES} bytes"),
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\'' | '\\' | '`'))
    {
        return Err(invalid(
            key,
            &format!("the key contains the character {c:?}"),
        ));
    }
    if key.starts_with('.') || key.ends_with('.') || key.contains("..") {
        return Err(invalid(key, "a key has no empty part between dots"));
    }
    Ok(())
}

/// The loaded xlators a group names (`<category>/*` for all of a category).
fn members<'t>(table: &'t XlatorTable, group: &[&str]) -> Vec<&'t Xlator> {
    let mut out: Vec<&'t Xlator> = Vec::new();
    for name in group {
        if let Some(category) = name.strip_suffix("/*") {
            out.extend(table.translators().filter(|x| x.category == category));
        } else if let Some(x) = table.xlator(name) {
            out.push(x);
        }
    }
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// The option `name` of `xl` (see the module documentation for the matching order), also
/// among the transport options when `xl` is a protocol xlator.
pub(crate) fn find_option<'t>(
    table: &'t XlatorTable,
    xl: &'t Xlator,
    name: &str,
) -> Option<&'t OptionDef> {
    let protocol = xl.kind == XlatorKind::Xlator
        && (xl.name == "protocol/client" || xl.name == "protocol/server");
    let tables = || std::iter::once(xl).chain(table.transports().filter(move |_| protocol));
    let all = || tables().flat_map(|t| t.options.iter());
    if let Some(o) = all().find(|o| o.has_key(name)) {
        return Some(o);
    }
    let norm = normalize(name);
    if let Some(o) = all().find(|o| o.keys.iter().any(|k| normalize(k) == norm)) {
        return Some(o);
    }
    for prefix in ["transport.socket.", "transport."] {
        if name.starts_with("transport.") {
            break;
        }
        let long = format!("{prefix}{name}");
        if let Some(o) = all().find(|o| o.has_key(&long)) {
            return Some(o);
        }
    }
    all().find(|o| {
        o.keys
            .iter()
            .any(|k| k.contains(['*', '?', '[']) && crate::glob::fnmatch(k, name))
    })
}

/// `write-behind-window-size` as `<xlator>-<option>` of `xl`.
fn prefixed<'t>(table: &'t XlatorTable, xl: &'t Xlator, name: &str) -> Option<&'t OptionDef> {
    std::iter::once(&xl.id)
        .chain(xl.aliases.iter())
        .filter(|a| !a.contains('/'))
        .find_map(|a| {
            let rest = name.strip_prefix(a.as_str())?.strip_prefix('-')?;
            find_option(table, xl, rest)
        })
}

/// The on/off option of `xl`: the option named after it (`write-behind`, or `md-cache` for
/// `stat-prefetch`), which GlusterFS ≥ 5 declares for the xlators volgen can leave out.
fn toggle(xl: &Xlator) -> Option<&OptionDef> {
    std::iter::once(&xl.id)
        .chain(xl.aliases.iter())
        .find_map(|a| xl.option(a))
}

fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Up to three qualified keys for a "did you mean": options of the key's GD1 domain (or of
/// the xlator it names) whose name is within two edits of the key's option part.
fn hints(table: &XlatorTable, key: &str) -> Vec<String> {
    let Some((head, name)) = key.split_once('.') else {
        return Vec::new();
    };
    if name.len() > 64 {
        return Vec::new();
    }
    let xlators: Vec<&Xlator> = match gd1::domain(head) {
        Some(groups) => groups.iter().flat_map(|g| members(table, g)).collect(),
        None => table.xlator(head).into_iter().collect(),
    };
    let name = normalize(name);
    let mut scored: Vec<(usize, String)> = xlators
        .iter()
        .flat_map(|x| x.options.iter().map(move |o| (x, o)))
        .filter_map(|(x, o)| {
            let d = distance(&name, &normalize(o.key()));
            (d <= 2 && d < o.key().len() / 2).then(|| (d, format!("{}.{}", x.name, o.key())))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// Levenshtein distance (both strings are at most 64 bytes here).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl XlatorTable {
    /// Maps a user's key to the xlator options it sets. Accepted forms:
    /// `<category>/<xlator>.<option>` (`cluster/replicate.eager-lock`),
    /// `<xlator>.<option>` (`replicate.eager-lock`, `afr.eager-lock`), GD1's names
    /// (`cluster.eager-lock`, `performance.cache-size`), and a bare `<xlator>` or
    /// `<category>/<xlator>` for the option that turns the xlator on (`write-behind`).
    /// See [`crate::resolve`].
    pub fn resolve(&self, key: &str) -> Result<Resolved<'_>, ResolveError> {
        resolve(self, key)
    }

    /// Resolves `key` and checks `value` for every option it sets, by type, range and
    /// allowed values (see [`crate::validate`]).
    pub fn validate(&self, key: &str, value: &str) -> Result<Normalized, ValidationError> {
        let resolved = self.resolve(key)?;
        let mut targets = Vec::with_capacity(resolved.targets.len());
        for t in &resolved.targets {
            match validate::check_value(t.option, value) {
                Ok(v) => targets.push(SetTarget {
                    xlator: t.xlator.name.clone(),
                    option: t.option.key().to_string(),
                    value: v,
                }),
                Err(reason) => {
                    return Err(ValidationError::Value(Box::new(InvalidValue {
                        key: key.to_string(),
                        xlator: t.xlator.name.clone(),
                        option: t.option.key().to_string(),
                        kind: t.option.kind.to_string(),
                        value: value.chars().take(200).collect(),
                        reason,
                    })));
                }
            }
        }
        Ok(Normalized {
            key: key.to_string(),
            value: value.to_string(),
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_syntax() {
        assert!(check_key("cluster.quorum-type").is_ok());
        assert!(check_key("server.auth.addr./data/b1.allow").is_ok());
        for bad in [
            "",
            "..eager-lock",
            "a..b",
            ".a",
            "a.",
            "a b",
            "a\nb",
            "a`b`",
            "é.x",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_key(&"a".repeat(KEY_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn user_keys() {
        assert!(is_user_key("user.cifs"));
        assert!(!is_user_key("user."));
        assert!(!is_user_key("cluster.user"));
    }

    #[test]
    fn distances() {
        assert_eq!(distance("quorum-type", "quorum-type"), 0);
        assert_eq!(distance("quorum-tipe", "quorum-type"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn empty_table_refuses_every_key() {
        let t = XlatorTable::empty();
        assert!(matches!(
            t.resolve("cluster.quorum-type"),
            Err(ResolveError::NoTables { .. })
        ));
        assert!(matches!(
            t.resolve("bad key"),
            Err(ResolveError::InvalidKey { .. })
        ));
    }
}
