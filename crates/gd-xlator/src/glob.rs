//! `fnmatch(pattern, text, FNM_EXTMATCH)` as glibc does it, for GlusterFS's allowed-value
//! lists (`rdma*([ \t]),*([ \t])socket`) and pattern keys (`auth.addr.*.allow`).
//!
//! Supported: `*`, `?`, bracket expressions (`[a-z]`, `[!x]`, `[^x]`, `[[:digit:]]`),
//! backslash escapes, and the extended forms `?(a|b)`, `*(…)`, `+(…)`, `@(…)`, `!(…)`. No flag
//! is set, so `/` and a leading `.` are ordinary characters. Matching backtracks with a step
//! budget: a pattern that would take longer than [`STEP_BUDGET`] steps does not match, so a
//! hostile pattern or value cannot stall the caller.

/// The most matching steps one call may take.
pub const STEP_BUDGET: usize = 200_000;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Lit(char),
    AnyOne,
    Star,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Ext {
        kind: char,
        alts: Vec<Vec<Token>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum ClassItem {
    Char(char),
    Range(char, char),
    Named(String),
}

/// Whether `text` matches `pattern`. A malformed pattern matches only itself, literally (as
/// glibc treats an unclosed `[`).
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let pat: Vec<char> = pattern.chars().collect();
    let tokens = match parse(&pat, 0, &mut 0, false) {
        Some(t) => t,
        None => return pattern == text,
    };
    let text: Vec<char> = text.chars().collect();
    let mut budget = STEP_BUDGET;
    matches(&tokens, &text, &mut budget)
}

/// Parses `pat[*i..]` into tokens, up to the end, or (inside an extended group) up to the `|`
/// or `)` that ends the alternative.
fn parse(pat: &[char], depth: usize, i: &mut usize, in_group: bool) -> Option<Vec<Token>> {
    if depth > 16 {
        return None;
    }
    let mut out = Vec::new();
    while *i < pat.len() {
        let c = pat[*i];
        if in_group && (c == '|' || c == ')') {
            return Some(out);
        }
        if matches!(c, '?' | '*' | '+' | '@' | '!') && pat.get(*i + 1) == Some(&'(') {
            *i += 2;
            let mut alts = Vec::new();
            loop {
                alts.push(parse(pat, depth + 1, i, true)?);
                match pat.get(*i) {
                    Some('|') => *i += 1,
                    Some(')') => {
                        *i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
            out.push(Token::Ext { kind: c, alts });
            continue;
        }
        match c {
            '*' => {
                *i += 1;
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
            }
            '?' => {
                *i += 1;
                out.push(Token::AnyOne);
            }
            '\\' => {
                let next = *pat.get(*i + 1)?;
                *i += 2;
                out.push(Token::Lit(next));
            }
            '[' => match parse_class(pat, *i) {
                Some((token, end)) => {
                    out.push(token);
                    *i = end;
                }
                None => {
                    out.push(Token::Lit('['));
                    *i += 1;
                }
            },
            c => {
                *i += 1;
                out.push(Token::Lit(c));
            }
        }
    }
    if in_group { None } else { Some(out) }
}

/// Parses a bracket expression starting at `pat[start] == '['`; returns it and the index after
/// its `]`, or None when it is not closed (then `[` is literal).
fn parse_class(pat: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(pat.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let c = *pat.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, items }, i + 1));
        }
        first = false;
        if c == '[' && pat.get(i + 1) == Some(&':') {
            let rest = &pat[i + 2..];
            let end = rest.windows(2).position(|w| w == [':', ']'])?;
            items.push(ClassItem::Named(rest[..end].iter().collect()));
            i += 2 + end + 2;
            continue;
        }
        let c = if c == '\\' {
            i += 1;
            *pat.get(i)?
        } else {
            c
        };
        if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|&e| e != ']') {
            let hi = *pat.get(i + 2)?;
            items.push(ClassItem::Range(c, hi));
            i += 3;
        } else {
            items.push(ClassItem::Char(c));
            i += 1;
        }
    }
}

fn class_matches(negated: bool, items: &[ClassItem], c: char) -> bool {
    let hit = items.iter().any(|item| match item {
        ClassItem::Char(x) => *x == c,
        ClassItem::Range(lo, hi) => *lo <= c && c <= *hi,
        ClassItem::Named(name) => match name.as_str() {
            "alpha" => c.is_ascii_alphabetic(),
            "digit" => c.is_ascii_digit(),
            "alnum" => c.is_ascii_alphanumeric(),
            "upper" => c.is_ascii_uppercase(),
            "lower" => c.is_ascii_lowercase(),
            "space" => c.is_ascii_whitespace() || c == '\x0b',
            "blank" => c == ' ' || c == '\t',
            "punct" => c.is_ascii_punctuation(),
            "xdigit" => c.is_ascii_hexdigit(),
            "cntrl" => c.is_ascii_control(),
            "print" => c.is_ascii_graphic() || c == ' ',
            "graph" => c.is_ascii_graphic(),
            _ => false,
        },
    });
    hit != negated
}

fn matches(tokens: &[Token], text: &[char], budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Lit(c) => text.first() == Some(c) && matches(rest, &text[1..], budget),
        Token::AnyOne => !text.is_empty() && matches(rest, &text[1..], budget),
        Token::Class { negated, items } => {
            text.first()
                .is_some_and(|&c| class_matches(*negated, items, c))
                && matches(rest, &text[1..], budget)
        }
        Token::Star => (0..=text.len()).any(|k| matches(rest, &text[k..], budget)),
        Token::Ext { kind, alts } => {
            let whole =
                |s: &[char], budget: &mut usize| alts.iter().any(|alt| matches(alt, s, budget));
            match kind {
                '@' => (0..=text.len())
                    .any(|k| whole(&text[..k], budget) && matches(rest, &text[k..], budget)),
                '?' => {
                    matches(rest, text, budget)
                        || (1..=text.len())
                            .any(|k| whole(&text[..k], budget) && matches(rest, &text[k..], budget))
                }
                '!' => (0..=text.len())
                    .any(|k| !whole(&text[..k], budget) && matches(rest, &text[k..], budget)),
                // '*' and '+': one occurrence, then the same group again as '*'.
                _ => {
                    let again = Token::Ext {
                        kind: '*',
                        alts: alts.clone(),
                    };
                    let mut tail = Vec::with_capacity(rest.len() + 1);
                    tail.push(again);
                    tail.extend_from_slice(rest);
                    (*kind == '*' && matches(rest, text, budget))
                        || (1..=text.len()).any(|k| {
                            whole(&text[..k], budget) && matches(&tail, &text[k..], budget)
                        })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn plain_and_wildcards() {
        assert!(fnmatch("on", "on"));
        assert!(!fnmatch("on", "On"));
        assert!(fnmatch("auth.addr.*.allow", "auth.addr./data/b1.allow"));
        assert!(!fnmatch("auth.addr.*.allow", "auth.addr./data/b1.reject"));
        assert!(fnmatch("a?c", "abc"));
        assert!(!fnmatch("a?c", "ac"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(!fnmatch("[!a-c]x", "bx"));
        assert!(fnmatch("[[:digit:]]*", "9lives"));
        assert!(fnmatch("a\\*", "a*"));
        assert!(!fnmatch("a\\*", "ab"));
        assert!(fnmatch("[", "["), "an unclosed bracket is literal");
    }

    #[test]
    fn extended_patterns() {
        let p = "rdma*([ \t]),*([ \t])socket";
        assert!(fnmatch(p, "rdma,socket"));
        assert!(fnmatch(p, "rdma , \tsocket"));
        assert!(!fnmatch(p, "rdma;socket"));
        assert!(fnmatch("+(ab)", "abab"));
        assert!(!fnmatch("+(ab)", ""));
        assert!(fnmatch("x@(a|b)y", "xby"));
        assert!(!fnmatch("x@(a|b)y", "xaby"));
        assert!(fnmatch("x?(a)y", "xy"));
        assert!(fnmatch("!(foo)", "bar"));
        assert!(!fnmatch("!(foo)", "foo"));
    }

    #[test]
    fn hostile_patterns_end() {
        let p = "*(*(*(a)))b".repeat(4);
        let t = "a".repeat(60);
        assert!(!fnmatch(&p, &t));
    }
}
