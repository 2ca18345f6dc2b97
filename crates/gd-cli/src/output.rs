//! Printing results: tables for people, JSON for scripts.
//!
//! Commands build their table or pick the API value and hand it here, so every command looks
//! the same and `--json` always prints the API's own type (the JSON a script would get from
//! the REST API, pretty-printed). Writes go through `io::Result` instead of `println!`, which
//! panics when stdout is closed (`glustercli peer list | head -1`).

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// A table with the CLI's style and the given column headers.
///
/// No wrapping: ids and addresses stay on one line whatever the terminal width.
pub fn table<I, S>(headers: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_style(presets::ASCII_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            headers
                .into_iter()
                .map(Into::into)
                .collect::<Vec<comfy_table::Cell>>(),
        );
    t
}

/// "yes" or "no".
pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A value as pretty JSON.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    serde_json::to_string_pretty(value).map_err(io::Error::other)
}

/// Prints a value as pretty JSON, with a final newline.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    print_line(&to_json(value)?)
}

/// Prints a table.
pub fn print_table(table: &Table) -> io::Result<()> {
    print_line(&table.to_string())
}

/// Prints text and a newline to stdout.
pub fn print_line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Writes raw bytes to stdout (generated scripts).
pub fn print_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_style() {
        let mut t = table(["A", "Long header"]);
        t.add_row(vec!["x".to_owned(), "y".to_owned()]);
        assert_eq!(
            t.to_string(),
            "+---+-------------+\n\
             | A | Long header |\n\
             +=================+\n\
             | x | y           |\n\
             +---+-------------+"
        );
    }

    #[test]
    fn json_is_pretty() {
        assert_eq!(
            to_json(&serde_json::json!({"a": 1})).unwrap(),
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(yes_no(true), "yes");
        assert_eq!(yes_no(false), "no");
    }
}
