//! The volfile model: an ordered list of translators, its parser and its printer.
//!
//! A volfile is what every GlusterFS process loads to build its translator graph. The model
//! keeps exactly what the text says and nothing more: translators in file order (children
//! before parents, the last one is the graph's top), each with its type, its options in file
//! order and its subvolumes. Keeping file order lets the printer reproduce GD1's files byte
//! for byte, so that our generated volfiles can be diffed against GD1's as text.
//!
//! The parser follows the grammar of `libglusterfs` (`graph.l`/`graph.y`): lower-case keywords
//! `volume`, `type`, `option`, `subvolumes` (final `s` or `S`), `end-volume`; words are runs of
//! characters other than blanks, `"` and `\`, or a `"…"` string in which `\x` stands for `x`;
//! `#` at the start of a word comments out the rest of the line. It is stricter than
//! glusterfs where glusterfs would only log and carry on (a duplicate option, an unknown
//! subvolume): such a file is a bug we want to see. It refuses backticks anywhere, because
//! glusterfs runs `` `…` `` through a shell before parsing, and control characters in words;
//! so every graph it returns passes [`Graph::validate`]. Input is bounded by
//! [`MAX_VOLFILE_BYTES`]; parsing is linear and never panics.
//!
//! The printer writes GD1's layout (`graph-print.c`): `volume N`, then `type`, options and
//! `subvolumes` indented by four spaces, `end-volume`, a blank line between volumes and none
//! after the last. A word that the lexer would split or misread is printed quoted, so that
//! `parse(print(g)) == g` for every valid graph; GD1's own files never need quotes.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::Error;

/// The largest volfile [`Graph::parse`] accepts, in bytes.
///
/// A client volfile costs about 700 bytes per brick, so this leaves room for volumes of
/// thousands of bricks while bounding the memory a hostile input can make us use.
pub const MAX_VOLFILE_BYTES: usize = 16 << 20;

/// One translator ("xlator") of a graph: a `volume … end-volume` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Xlator {
    /// The name other translators list it under (`rep3-client-0`, `/data/b1`, …).
    pub name: String,
    /// The translator type, `<category>/<name>` (`protocol/client`): the `.so` glusterfs loads.
    pub xl_type: String,
    /// The options, in file order. Keys are unique.
    pub options: Vec<(String, String)>,
    /// The children, in order; each must be defined earlier in the graph.
    pub subvolumes: Vec<String>,
}

impl Xlator {
    /// A translator with no options and no children.
    pub fn new(name: impl Into<String>, xl_type: impl Into<String>) -> Self {
        Xlator {
            name: name.into(),
            xl_type: xl_type.into(),
            options: Vec::new(),
            subvolumes: Vec::new(),
        }
    }

    /// The value of option `key`, if set.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets option `key`: replaces its value where it stands, or appends it.
    pub fn set_option(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.options.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.options.push((key, value)),
        }
    }
}

/// A translator graph, as a volfile lists it: children before parents, the top last.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    /// The translators in file order.
    pub xlators: Vec<Xlator>,
}

impl Graph {
    /// Parses volfile text. Errors name the line they were found on.
    pub fn parse(text: &str) -> Result<Graph, Error> {
        Parser::new(text)?.parse()
    }

    /// The graph's top: the last translator, the one glusterfs hands requests to.
    pub fn top(&self) -> Option<&Xlator> {
        self.xlators.last()
    }

    /// The translator named `name`.
    pub fn get(&self, name: &str) -> Option<&Xlator> {
        self.xlators.iter().find(|x| x.name == name)
    }

    /// Checks what glusterfs needs to load the graph and what the printer needs to write it
    /// unambiguously: at least one translator; names unique; every word non-empty and free of
    /// newlines, control characters and backticks; option keys unique per translator; every
    /// subvolume defined earlier and listed once.
    pub fn validate(&self) -> Result<(), Error> {
        if self.xlators.is_empty() {
            return Err(Error::InvalidGraph(
                "a graph needs at least one translator".into(),
            ));
        }
        let mut defined: HashSet<&str> = HashSet::with_capacity(self.xlators.len());
        for xl in &self.xlators {
            check_word(&xl.name, "translator name")?;
            check_word(&xl.xl_type, "translator type")?;
            if defined.contains(xl.name.as_str()) {
                return Err(Error::InvalidGraph(format!(
                    "translator {:?} is defined twice",
                    xl.name
                )));
            }
            let mut keys: HashSet<&str> = HashSet::with_capacity(xl.options.len());
            for (key, value) in &xl.options {
                check_word(key, "option key")?;
                check_word(value, "option value")?;
                if !keys.insert(key) {
                    return Err(Error::InvalidGraph(format!(
                        "translator {:?} sets option {:?} twice",
                        xl.name, key
                    )));
                }
            }
            let mut children: HashSet<&str> = HashSet::with_capacity(xl.subvolumes.len());
            for child in &xl.subvolumes {
                if !defined.contains(child.as_str()) {
                    return Err(Error::InvalidGraph(format!(
                        "translator {:?} lists subvolume {:?}, which is not defined before it",
                        xl.name, child
                    )));
                }
                if !children.insert(child) {
                    return Err(Error::InvalidGraph(format!(
                        "translator {:?} lists subvolume {:?} twice",
                        xl.name, child
                    )));
                }
            }
            defined.insert(&xl.name);
        }
        Ok(())
    }

    /// Validates the graph and prints it as volfile text.
    pub fn to_volfile(&self) -> Result<String, Error> {
        self.validate()?;
        Ok(self.to_string())
    }
}

/// Prints the volfile text. Use [`Graph::to_volfile`] unless the graph is known valid: an
/// invalid graph prints, but not necessarily as text that parses back to it.
impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, xl) in self.xlators.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str("volume ")?;
            write_word(f, &xl.name)?;
            f.write_str("\n    type ")?;
            write_word(f, &xl.xl_type)?;
            f.write_str("\n")?;
            for (key, value) in &xl.options {
                f.write_str("    option ")?;
                write_word(f, key)?;
                f.write_str(" ")?;
                write_word(f, value)?;
                f.write_str("\n")?;
            }
            if !xl.subvolumes.is_empty() {
                f.write_str("    subvolumes")?;
                for child in &xl.subvolumes {
                    f.write_str(" ")?;
                    write_word(f, child)?;
                }
                f.write_str("\n")?;
            }
            f.write_str("end-volume\n")?;
        }
        Ok(())
    }
}

/// The separators of the glusterfs lexer; nothing else separates words.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

const KEYWORDS: [&str; 5] = ["volume", "type", "option", "subvolumes", "end-volume"];

/// Whether `word` can be printed bare and read back as the same single word.
fn is_bare_word(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('#')
        && !word.chars().any(|c| is_blank(c) || c == '"' || c == '\\')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

fn write_word(f: &mut fmt::Formatter<'_>, word: &str) -> fmt::Result {
    if is_bare_word(word) {
        return f.write_str(word);
    }
    f.write_str("\"")?;
    for c in word.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        fmt::Write::write_char(f, c)?;
    }
    f.write_str("\"")
}

/// A word the printer can write and glusterfs can read: non-empty, no control characters
/// (a quoted string cannot hold a newline), no backtick (glusterfs would run it as a command).
pub(crate) fn check_word(word: &str, what: &str) -> Result<(), Error> {
    if word.is_empty() {
        return Err(Error::InvalidGraph(format!("empty {what}")));
    }
    if let Some(c) = word.chars().find(|&c| c.is_control() || c == '`') {
        return Err(Error::InvalidGraph(format!(
            "{what} {word:?} contains the character {c:?}"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Volume,
    Type,
    Option,
    Subvolumes,
    EndVolume,
}

impl Keyword {
    /// The keyword an unquoted word stands for, exactly as the glusterfs lexer decides.
    fn of(word: &str) -> Option<Keyword> {
        match word {
            "volume" => Some(Keyword::Volume),
            "type" => Some(Keyword::Type),
            "option" => Some(Keyword::Option),
            "subvolumes" | "subvolumeS" => Some(Keyword::Subvolumes),
            "end-volume" => Some(Keyword::EndVolume),
            _ => None,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Keyword::Volume => "volume",
            Keyword::Type => "type",
            Keyword::Option => "option",
            Keyword::Subvolumes => "subvolumes",
            Keyword::EndVolume => "end-volume",
        }
    }
}

#[derive(Debug)]
enum Token {
    Keyword(Keyword),
    Word(String),
}

struct Parser<'a> {
    rest: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    peeked: Option<(Token, usize)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self, Error> {
        if text.len() > MAX_VOLFILE_BYTES {
            return Err(Error::Parse {
                line: 1,
                message: format!(
                    "volfile of {} bytes is larger than the limit of {MAX_VOLFILE_BYTES}",
                    text.len()
                ),
            });
        }
        Ok(Parser {
            rest: text.chars().peekable(),
            line: 1,
            peeked: None,
        })
    }

    fn error<T>(&self, line: usize, message: impl Into<String>) -> Result<T, Error> {
        Err(Error::Parse {
            line,
            message: message.into(),
        })
    }

    /// The next token and the line it starts on; `None` at the end of the input.
    fn lex(&mut self) -> Result<Option<(Token, usize)>, Error> {
        loop {
            let Some(&c) = self.rest.peek() else {
                return Ok(None);
            };
            match c {
                '\n' => {
                    self.line += 1;
                    self.rest.next();
                }
                c if is_blank(c) => {
                    self.rest.next();
                }
                '#' => {
                    while let Some(&c) = self.rest.peek() {
                        if c == '\n' {
                            break;
                        }
                        if c == '`' {
                            return self.backtick();
                        }
                        self.rest.next();
                    }
                }
                '`' => return self.backtick(),
                '"' => {
                    let line = self.line;
                    self.rest.next();
                    let mut word = String::new();
                    loop {
                        match self.rest.next() {
                            None | Some('\n') => {
                                return self.error(line, "quoted string is not closed on its line");
                            }
                            Some('"') => break,
                            Some('\\') => match self.rest.next() {
                                None | Some('\n') => {
                                    return self
                                        .error(line, "quoted string is not closed on its line");
                                }
                                Some(c) => self.push_word_char(&mut word, c)?,
                            },
                            Some(c) => self.push_word_char(&mut word, c)?,
                        }
                    }
                    return Ok(Some((Token::Word(word), line)));
                }
                '\\' => return self.error(self.line, "a backslash is only allowed inside quotes"),
                _ => {
                    let mut word = String::new();
                    while let Some(&c) = self.rest.peek() {
                        if is_blank(c) || c == '"' || c == '\\' {
                            break;
                        }
                        self.push_word_char(&mut word, c)?;
                        self.rest.next();
                    }
                    let token = match Keyword::of(&word) {
                        Some(k) => Token::Keyword(k),
                        None => Token::Word(word),
                    };
                    return Ok(Some((token, self.line)));
                }
            }
        }
    }

    /// Adds `c` to a word, refusing what [`Graph::validate`] would refuse.
    fn push_word_char(&self, word: &mut String, c: char) -> Result<(), Error> {
        if c == '`' {
            return self.backtick();
        }
        if c.is_control() {
            return self.error(
                self.line,
                format!("control character U+{:04X} in a word", u32::from(c)),
            );
        }
        word.push(c);
        Ok(())
    }

    fn backtick<T>(&self) -> Result<T, Error> {
        self.error(
            self.line,
            "backtick (glusterfs runs `…` as a shell command) is not accepted",
        )
    }

    fn next(&mut self) -> Result<Option<(Token, usize)>, Error> {
        match self.peeked.take() {
            Some(t) => Ok(Some(t)),
            None => self.lex(),
        }
    }

    fn peek(&mut self) -> Result<Option<&(Token, usize)>, Error> {
        if self.peeked.is_none() {
            self.peeked = self.lex()?;
        }
        Ok(self.peeked.as_ref())
    }

    /// A word (never a keyword), for `what` in volume `volume`.
    fn word(&mut self, what: &str) -> Result<String, Error> {
        match self.next()? {
            Some((Token::Word(w), line)) => {
                if w.is_empty() {
                    return self.error(line, format!("{what} is empty"));
                }
                Ok(w)
            }
            Some((Token::Keyword(k), line)) => self.error(
                line,
                format!("expected {what}, found keyword '{}'", k.text()),
            ),
            None => self.error(
                self.line,
                format!("expected {what}, found the end of the file"),
            ),
        }
    }

    fn parse(mut self) -> Result<Graph, Error> {
        let mut graph = Graph::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        while let Some((token, line)) = self.next()? {
            match token {
                Token::Keyword(Keyword::Volume) => {}
                Token::Keyword(k) => {
                    return self.error(line, format!("expected 'volume', found '{}'", k.text()));
                }
                Token::Word(w) => {
                    return self.error(line, format!("expected 'volume', found {w:?}"));
                }
            }
            let name = self.word("a volume name after 'volume'")?;
            if index.contains_key(&name) {
                return self.error(line, format!("volume {name:?} is defined twice"));
            }
            match self.next()? {
                Some((Token::Keyword(Keyword::Type), _)) => {}
                Some((_, l)) => {
                    return self.error(l, format!("volume {name:?}: 'type' must come first"));
                }
                None => {
                    return self.error(self.line, format!("volume {name:?}: 'type' is missing"));
                }
            }
            let mut xl = Xlator::new(name, String::new());
            // Sets, so that a hostile file with huge lists stays linear.
            let mut keys: HashSet<String> = HashSet::new();
            let mut children: HashSet<String> = HashSet::new();
            xl.xl_type = self.word("a translator type after 'type'")?;
            loop {
                let Some((token, line)) = self.next()? else {
                    return self.error(
                        self.line,
                        format!("volume {:?}: 'end-volume' is missing", xl.name),
                    );
                };
                match token {
                    Token::Keyword(Keyword::Option) => {
                        let key = self.word("an option key after 'option'")?;
                        let value = self.word(&format!("a value for option {key:?}"))?;
                        if !keys.insert(key.clone()) {
                            return self.error(
                                line,
                                format!("volume {:?}: option {key:?} is set twice", xl.name),
                            );
                        }
                        xl.options.push((key, value));
                    }
                    Token::Keyword(Keyword::Subvolumes) => {
                        if !xl.subvolumes.is_empty() {
                            return self.error(
                                line,
                                format!("volume {:?}: 'subvolumes' is given twice", xl.name),
                            );
                        }
                        while let Some((Token::Word(_), _)) = self.peek()? {
                            let Some((Token::Word(child), child_line)) = self.next()? else {
                                break;
                            };
                            if child == xl.name {
                                return self.error(
                                    child_line,
                                    format!("volume {:?} lists itself as a subvolume", xl.name),
                                );
                            }
                            if !index.contains_key(&child) {
                                return self.error(
                                    child_line,
                                    format!(
                                        "volume {:?}: subvolume {child:?} is not defined before it",
                                        xl.name
                                    ),
                                );
                            }
                            if !children.insert(child.clone()) {
                                return self.error(
                                    child_line,
                                    format!(
                                        "volume {:?}: subvolume {child:?} is listed twice",
                                        xl.name
                                    ),
                                );
                            }
                            xl.subvolumes.push(child);
                        }
                        if xl.subvolumes.is_empty() {
                            return self.error(
                                line,
                                format!("volume {:?}: 'subvolumes' lists no volume", xl.name),
                            );
                        }
                    }
                    Token::Keyword(Keyword::EndVolume) => break,
                    Token::Keyword(Keyword::Type) => {
                        return self
                            .error(line, format!("volume {:?}: 'type' is given twice", xl.name));
                    }
                    Token::Keyword(Keyword::Volume) => {
                        return self.error(
                            line,
                            format!(
                                "volume {:?}: 'end-volume' is missing before the next 'volume'",
                                xl.name
                            ),
                        );
                    }
                    Token::Word(w) => {
                        return self.error(
                            line,
                            format!(
                                "volume {:?}: expected 'option', 'subvolumes' or 'end-volume', found {w:?}",
                                xl.name
                            ),
                        );
                    }
                }
            }
            index.insert(xl.name.clone(), graph.xlators.len());
            graph.xlators.push(xl);
        }
        if graph.xlators.is_empty() {
            return self.error(self.line, "the volfile defines no volume");
        }
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> (usize, String) {
        match Graph::parse(text) {
            Err(Error::Parse { line, message }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn parses_and_prints_canonical_text() {
        let text = "volume a-posix\n    type storage/posix\n    option directory /d\nend-volume\n\n\
                    volume a\n    type debug/io-stats\n    subvolumes a-posix\nend-volume\n";
        let g = Graph::parse(text).unwrap();
        assert_eq!(g.xlators.len(), 2);
        assert_eq!(g.top().unwrap().name, "a");
        assert_eq!(g.get("a-posix").unwrap().option("directory"), Some("/d"));
        assert_eq!(g.to_volfile().unwrap(), text);
    }

    #[test]
    fn accepts_free_layout_comments_and_quotes() {
        let text = "# header\nvolume x type t option k \"a b\\\"c\" end-volume\n\
                    volume y\n type t2 # trailing\n subvolumeS x option k2 v#2\nend-volume";
        let g = Graph::parse(text).unwrap();
        assert_eq!(g.xlators[0].option("k"), Some("a b\"c"));
        assert_eq!(g.xlators[1].subvolumes, vec!["x"]);
        assert_eq!(g.xlators[1].option("k2"), Some("v#2"));
        // Quoted on the way out, read back the same.
        assert_eq!(Graph::parse(&g.to_volfile().unwrap()).unwrap(), g);
    }

    #[test]
    fn keywords_are_lower_case_and_quoted_when_used_as_words() {
        // `Volume` is a plain word to the glusterfs lexer.
        let g = Graph::parse("volume Volume type t end-volume").unwrap();
        assert_eq!(g.xlators[0].name, "Volume");
        let mut g = Graph::default();
        let mut xl = Xlator::new("volume", "type");
        xl.set_option("#k", "end-volume");
        g.xlators.push(xl);
        let text = g.to_volfile().unwrap();
        assert!(text.contains("option \"#k\" \"end-volume\""), "{text}");
        assert_eq!(Graph::parse(&text).unwrap(), g);
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(parse_err("").0, 1);
        assert_eq!(parse_err("\n\nvolume a\n type t\n").0, 5);
        let (line, msg) = parse_err(
            "volume a\n type t\nend-volume\nvolume b\n type t\n subvolumes c\nend-volume\n",
        );
        assert_eq!(line, 6);
        assert!(msg.contains("not defined before"), "{msg}");
        assert_eq!(parse_err("volume a\n option k v\n type t\nend-volume").0, 2);
        assert_eq!(parse_err("volume a\n type t\n option k\nend-volume").0, 4);
        assert_eq!(
            parse_err("volume a\n type t\n option k v\n option k w\nend-volume").0,
            4
        );
        assert_eq!(
            parse_err("volume a\n type t\nend-volume\nvolume a\n type t\nend-volume").0,
            4
        );
        assert_eq!(
            parse_err("volume a\n type t\n subvolumes a\nend-volume").0,
            3
        );
        assert_eq!(parse_err("volume a\n type t\n type u\nend-volume").0, 3);
        assert_eq!(parse_err("volume a\n type t\nvolume b").0, 3);
        assert_eq!(
            parse_err("volume a\n type t\n option k \"v\nw\"\nend-volume").0,
            3
        );
        assert_eq!(parse_err("volume a\n type t\n subvolumes\nend-volume").0, 3);
        assert_eq!(parse_err("stray\n").0, 1);
        assert_eq!(parse_err("volume \"\" type t end-volume").0, 1);
        assert!(
            parse_err("volume a\n type t\x0b\nend-volume")
                .1
                .contains("U+000B")
        );
        assert_eq!(parse_err("volume a\n type \"t\tu\"\nend-volume").0, 2);
    }

    #[test]
    fn refuses_backticks_anywhere() {
        for text in [
            "volume a type t option k `id` end-volume",
            "volume a type t option k \"`id`\" end-volume",
            "volume a type t end-volume # `reboot`",
        ] {
            let (_, msg) = parse_err(text);
            assert!(msg.contains("backtick"), "{msg}");
        }
        let mut g = Graph::default();
        g.xlators.push(Xlator::new("a", "t"));
        g.xlators[0].set_option("k", "`id`");
        assert!(g.to_volfile().is_err());
    }

    #[test]
    fn long_lists_parse_in_linear_time() {
        let n = 200_000;
        let mut text = String::from("volume a\n type t\n");
        for i in 0..n {
            text.push_str(&format!(" option k{i} v\n"));
        }
        text.push_str("end-volume\nvolume b\n type t\n subvolumes a\nend-volume\n");
        // A quadratic parser would take minutes here.
        let g = Graph::parse(&text).unwrap();
        assert_eq!(g.xlators[0].options.len(), n);
    }

    #[test]
    fn refuses_oversized_input() {
        let big = " ".repeat(MAX_VOLFILE_BYTES + 1);
        assert!(parse_err(&big).1.contains("limit"));
    }

    #[test]
    fn validate_catches_malformed_graphs() {
        let mut g = Graph::default();
        assert!(g.validate().is_err());
        g.xlators.push(Xlator::new("a", "t"));
        g.xlators.push(Xlator::new("b", "t"));
        g.xlators[1].subvolumes.push("c".into());
        assert!(g.validate().is_err());
        g.xlators[1].subvolumes = vec!["a".into(), "a".into()];
        assert!(g.validate().is_err());
        g.xlators[1].subvolumes = vec!["a".into()];
        g.validate().unwrap();
        g.xlators[1].options.push(("k".into(), "v".into()));
        g.xlators[1].options.push(("k".into(), "w".into()));
        assert!(g.validate().is_err());
        g.xlators[1].options.pop();
        g.xlators[1].set_option("k", "line\nbreak");
        assert!(g.validate().is_err());
    }

    #[test]
    fn set_option_keeps_position() {
        let mut xl = Xlator::new("a", "t");
        xl.set_option("x", "1");
        xl.set_option("y", "2");
        xl.set_option("x", "3");
        assert_eq!(
            xl.options,
            vec![("x".into(), "3".into()), ("y".into(), "2".into())]
        );
    }
}
