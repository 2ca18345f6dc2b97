//! Expected tables: the CLI's tables as they must look, built from the cells they hold, for
//! outputs whose cells vary from run to run or machine to machine (addresses, brick
//! directories, host names, the installed xlators' options, the daemon's built-in groups).
//! The layout is comfy-table's ASCII preset as the CLI uses it, written out here on its own.

use gd_api::{OptionGroup, VolumeOptionGetResp};

/// A table: `header`, then `rows`, each column as wide as its widest cell.
pub fn table<R: AsRef<[S]>, S: AsRef<str>>(header: &[&str], rows: &[R]) -> String {
    let cell = |r: &R, c: usize| r.as_ref()[c].as_ref().len();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c))
                .fold(header[c].len(), usize::max)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect();
    let rule = format!("{rule}+\n");
    let mut out = rule.clone() + &line(header.to_vec());
    out += &format!("+{}+\n", "=".repeat(rule.len() - 3));
    for r in rows {
        out += &line(r.as_ref().iter().map(AsRef::as_ref).collect());
    }
    out + &rule
}

/// `volume status`'s text for one volume: per brick, its address, online, port and pid.
pub fn volume_status(volume: &str, bricks: &[[String; 4]]) -> String {
    let table = table(&["Brick", "Online", "Port", "Pid"], bricks);
    format!("Status of volume: {volume}\n{table}")
}

/// `volume get`'s table of `opts`: one row each, in the daemon's order.
pub fn options_table(opts: &[VolumeOptionGetResp]) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let rows: Vec<[&str; 5]> = opts
        .iter()
        .map(|o| {
            [
                &o.key,
                yes_no(o.modified),
                &o.value,
                &o.default_value,
                &o.option_level,
            ]
        })
        .collect();
    let header = ["Name", "Modified", "Value", "Default Value", "Option Level"];
    table(&header, &rows)
}

/// `option-group list`'s table of `groups`: a group's name, whether it is built in and its
/// description on the line of its first option, each further option on a line of its own.
pub fn groups_table(groups: &[OptionGroup]) -> String {
    let mut rows: Vec<[String; 4]> = vec![];
    for g in groups {
        for (i, o) in g.options.iter().enumerate() {
            let first = |s: &str| if i == 0 { s.to_owned() } else { String::new() };
            let built_in = if g.built_in { "yes" } else { "no" };
            rows.push([
                first(&g.name),
                first(built_in),
                format!("{}={}", o.name, o.on_value),
                first(&g.description),
            ]);
        }
    }
    table(&["Name", "Built-in", "Options", "Description"], &rows)
}
