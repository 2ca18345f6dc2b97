//! `glustercli volume set|get|reset` and `glustercli volume option-group ...`: the options of a
//! volume, and the option groups (profiles) that set several options at once.
//!
//! `volume set` takes GD1's `KEY VALUE` pairs; a key is an option (`performance.cache-size`,
//! `cluster/replicate.eager-lock`), a `user.*` key, a group's name with `on` or `off`, or `group`
//! with a group's name as its value. Which keys exist and which values they take is the
//! daemon's business (it reads the xlators' tables); the CLI checks only what needs no daemon:
//! pairs that are complete, keys that are not empty nor given twice, a `volume reset` that says
//! what to reset. Those mistakes are usage errors (exit 2) and send nothing.
//!
//! An option key goes into the path of `GET /v1/volumes/{vol}/options/{key}` as it is, slashes
//! included (the daemon's route is a wildcard), with everything else percent-encoded
//! ([`encode_path`]).

use std::collections::BTreeMap;

use clap::{ArgGroup, Args, Subcommand, builder::NonEmptyStringValueParser};
use comfy_table::Table;
use gd_api::{
    GroupOption, OptionGroup, OptionGroupReq, VolOptionReq, VolOptionResetReq, VolumeInfo,
    VolumeOptionGetResp,
};

use crate::{
    client::encode_path,
    cmd::{Context, Usage, volume::parse_volume_name},
    error::CliError,
    output,
};

/// The collection path of volumes.
const VOLUMES: &str = "/v1/volumes";

/// The collection path of option groups.
const OPTION_GROUPS: &str = "/v1/volumes/options-group";

/// The word of `volume get` that lists every option.
pub const ALL: &str = "all";

/// `volume set`.
#[derive(Debug, Clone, Args)]
#[command(override_usage = "glustercli volume set <VOLNAME> <KEY> <VALUE> [<KEY> <VALUE>...]")]
pub struct SetArgs {
    /// The volume
    #[arg(value_name = "VOLNAME", value_parser = parse_volume_name)]
    pub name: String,
    /// Keys and their values, in pairs. A key is an option (performance.cache-size), a user.*
    /// key, an option group's name (value on or off), or `group` (value: a group's name)
    #[arg(
        value_name = "KEY VALUE",
        required = true,
        allow_negative_numbers = true
    )]
    pub pairs: Vec<String>,
}

/// `volume get`.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// The volume
    #[arg(value_name = "VOLNAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The option (e.g. performance.cache-size or cluster/replicate.eager-lock), or `all` for
    /// every option
    #[arg(value_name = "KEY|all", value_parser = parse_option_key)]
    pub key: String,
}

/// `volume reset`.
#[derive(Debug, Clone, Args)]
#[command(
    override_usage = "glustercli volume reset <VOLNAME> <KEY>... [--force]\n       \
    glustercli volume reset <VOLNAME> --all [--force]"
)]
#[command(group(ArgGroup::new("what").args(["keys", "all"]).required(true)))]
pub struct ResetArgs {
    /// The volume
    #[arg(value_name = "VOLNAME", value_parser = parse_volume_name)]
    pub name: String,
    /// The options (or option groups) to reset to their defaults
    #[arg(value_name = "KEY", value_parser = NonEmptyStringValueParser::new())]
    pub keys: Vec<String>,
    /// Reset every option: the volume gets the options a new volume has
    #[arg(long)]
    pub all: bool,
    /// Accepted for GD2 compatibility (no option needs it)
    #[arg(short, long)]
    pub force: bool,
}

/// The `volume option-group` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum OptionGroupCommand {
    /// List the option groups and the options each one sets
    List,
    /// Create an option group: `volume set <VOLNAME> <GROUP> on` then sets its options
    Create(GroupCreateArgs),
    /// Delete an option group (the built-in groups cannot be deleted)
    Delete(GroupDeleteArgs),
}

/// `volume option-group create`.
#[derive(Debug, Clone, Args)]
pub struct GroupCreateArgs {
    /// The group's name
    #[arg(value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub name: String,
    /// The options the group sets and their values
    #[arg(value_name = "KEY=VALUE", required = true, value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// What the group is for
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

/// `volume option-group delete`.
#[derive(Debug, Clone, Args)]
pub struct GroupDeleteArgs {
    /// The group's name
    #[arg(value_name = "NAME", value_parser = parse_path_word)]
    pub name: String,
}

/// The checks clap cannot express, as usage errors of their subcommand: `volume set`'s pairs and `volume
/// option-group create`'s keys.
pub fn check_set(args: &SetArgs) -> Result<(), Usage> {
    set_request(args)
        .map(drop)
        .map_err(|msg| Usage::at(&["volume", "set"], msg))
}

/// Like [`check_set`], for `volume option-group`.
pub fn check_group(cmd: &OptionGroupCommand) -> Result<(), Usage> {
    match cmd {
        OptionGroupCommand::Create(args) => group_request(args)
            .map(drop)
            .map_err(|msg| Usage::at(&["volume", "option-group", "create"], msg)),
        OptionGroupCommand::List | OptionGroupCommand::Delete(_) => Ok(()),
    }
}

/// Runs `volume set`.
pub async fn set(ctx: &Context, args: SetArgs) -> Result<(), CliError> {
    let req = set_request(&args).map_err(CliError::Usage)?;
    let vol: VolumeInfo = ctx
        .client()?
        .post(&format!("{VOLUMES}/{}/options", args.name), &req)
        .await?;
    if ctx.json() {
        output::print_json(&vol)?;
    } else {
        output::print_line(&format!(
            "Options set successfully for {} volume",
            args.name
        ))?;
    }
    Ok(())
}

/// Runs `volume get`.
pub async fn get(ctx: &Context, args: GetArgs) -> Result<(), CliError> {
    let client = ctx.client()?;
    let opts: Vec<VolumeOptionGetResp> = if args.key == ALL {
        let opts: Vec<VolumeOptionGetResp> = client
            .get(&format!("{VOLUMES}/{}/options", args.name))
            .await?;
        if ctx.json() {
            output::print_json(&opts)?;
            return Ok(());
        }
        opts
    } else {
        let opt: VolumeOptionGetResp = client.get(&option_path(&args.name, &args.key)).await?;
        if ctx.json() {
            output::print_json(&opt)?;
            return Ok(());
        }
        vec![opt]
    };
    output::print_table(&options_table(&opts))?;
    Ok(())
}

/// Runs `volume reset`.
pub async fn reset(ctx: &Context, args: ResetArgs) -> Result<(), CliError> {
    let req = reset_request(&args).map_err(CliError::Usage)?;
    let vol: VolumeInfo = ctx
        .client()?
        .delete_with_body(&format!("{VOLUMES}/{}/options", args.name), &req)
        .await?;
    if ctx.json() {
        output::print_json(&vol)?;
    } else {
        output::print_line(&format!(
            "Volume options reset successfully for {}",
            args.name
        ))?;
    }
    Ok(())
}

/// Runs a `volume option-group` command.
pub async fn option_group(ctx: &Context, cmd: OptionGroupCommand) -> Result<(), CliError> {
    match cmd {
        OptionGroupCommand::List => {
            let groups: Vec<OptionGroup> = ctx.client()?.get(OPTION_GROUPS).await?;
            if ctx.json() {
                output::print_json(&groups)?;
            } else {
                output::print_table(&groups_table(&groups))?;
            }
        }
        OptionGroupCommand::Create(args) => {
            let req = group_request(&args).map_err(CliError::Usage)?;
            let group: OptionGroup = ctx.client()?.post(OPTION_GROUPS, &req).await?;
            if ctx.json() {
                output::print_json(&group)?;
            } else {
                output::print_line(&format!("Option group {} created", group.name))?;
            }
        }
        OptionGroupCommand::Delete(args) => {
            ctx.client()?
                .delete(&format!(
                    "{OPTION_GROUPS}/{}",
                    encode_path(&args.name, false)
                ))
                .await?;
            // The API answers 204 without a body: with --json there is nothing to print.
            if !ctx.json() {
                output::print_line(&format!("Option group {} deleted", args.name))?;
            }
        }
    }
    Ok(())
}

// ---- requests ----

/// The path of `GET /v1/volumes/{vol}/options/{key}`: the key's slashes kept, everything else
/// that is not unreserved percent-encoded.
pub fn option_path(volume: &str, key: &str) -> String {
    format!("{VOLUMES}/{volume}/options/{}", encode_path(key, true))
}

/// `KEY VALUE` words as a map; fails on a key without its value, an empty key, or a key given
/// twice (one of the two values would be lost).
pub fn pairs_map(words: &[String]) -> Result<BTreeMap<String, String>, String> {
    if words.len() % 2 == 1 {
        let last = words.last().map_or("", String::as_str);
        return Err(format!(
            "{last:?} has no value: give the options as KEY VALUE pairs"
        ));
    }
    let mut map = BTreeMap::new();
    for pair in words.chunks(2) {
        let (key, value) = (&pair[0], &pair[1]);
        if key.is_empty() {
            return Err("an option key is empty".to_owned());
        }
        if map.insert(key.clone(), value.clone()).is_some() {
            return Err(format!("the option {key:?} is given more than once"));
        }
    }
    Ok(map)
}

/// `KEY=VALUE` pairs as a map; fails on a key given twice.
pub fn key_value_map(pairs: &[(String, String)]) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        if map.insert(k.clone(), v.clone()).is_some() {
            return Err(format!("the option {k:?} is given more than once"));
        }
    }
    Ok(map)
}

/// The body of `POST /v1/volumes/{vol}/options` for `volume set`.
pub fn set_request(args: &SetArgs) -> Result<VolOptionReq, String> {
    Ok(VolOptionReq {
        options: pairs_map(&args.pairs)?,
        ..VolOptionReq::default()
    })
}

/// The body of `DELETE /v1/volumes/{vol}/options` for `volume reset`: keys or `--all`, not
/// both, not neither (clap's group checks it too).
pub fn reset_request(args: &ResetArgs) -> Result<VolOptionResetReq, String> {
    match (args.keys.is_empty(), args.all) {
        (true, false) => Err("give the options to reset, or --all".to_owned()),
        (false, true) => Err("give either the options to reset or --all, not both".to_owned()),
        _ => Ok(VolOptionResetReq {
            options: args.keys.clone(),
            force: args.force,
            all: args.all,
        }),
    }
}

/// The body of `POST /v1/volumes/options-group` for `volume option-group create`.
pub fn group_request(args: &GroupCreateArgs) -> Result<OptionGroupReq, String> {
    let options = key_value_map(&args.options)?
        .into_iter()
        .map(|(name, on_value)| GroupOption { name, on_value })
        .collect();
    Ok(OptionGroupReq {
        name: args.name.clone(),
        options,
        description: args.description.clone().unwrap_or_default(),
        allow_advanced_options: false,
        allow_experimental_options: false,
        allow_deprecated_options: false,
    })
}

// ---- parsing ----

/// Parses `KEY=VALUE` (the value may be empty and contain `=`; the key may not be empty).
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, there is no '=' in {s:?}"))?;
    if key.is_empty() {
        return Err(format!("the option key is empty in {s:?}"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Parses an option key that goes into a request path: not empty, and no `.` or `..` segment
/// (URL parsers remove those, even percent-encoded, so the daemon would see another path).
pub fn parse_option_key(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the option key is empty".to_owned());
    }
    if s.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(format!(
            "invalid option key {s:?}: '.' and '..' cannot be parts of a key"
        ));
    }
    Ok(s.to_owned())
}

/// Parses a name that becomes one segment of a request path: not empty, not `.` nor `..`.
pub fn parse_path_word(s: &str) -> Result<String, String> {
    match s {
        "" => Err("the name is empty".to_owned()),
        "." | ".." => Err(format!("invalid name {s:?}")),
        _ => Ok(s.to_owned()),
    }
}

// ---- printing ----

/// The table of `volume get`: Name, Modified, Value, Default Value, Option Level (GD2's
/// columns).
pub fn options_table(opts: &[VolumeOptionGetResp]) -> Table {
    let mut t = output::table(["Name", "Modified", "Value", "Default Value", "Option Level"]);
    for o in opts {
        t.add_row(vec![
            o.key.clone(),
            output::yes_no(o.modified).to_owned(),
            o.value.clone(),
            o.default_value.clone(),
            o.option_level.clone(),
        ]);
    }
    t
}

/// The table of `volume option-group list`: Name, Built-in, Options (`k=v`, one a line: GD1's
/// groups hold up to 28), Description.
pub fn groups_table(groups: &[OptionGroup]) -> Table {
    let mut t = output::table(["Name", "Built-in", "Options", "Description"]);
    for g in groups {
        let options: Vec<String> = g
            .options
            .iter()
            .map(|o| format!("{}={}", o.name, o.on_value))
            .collect();
        t.add_row(vec![
            g.name.clone(),
            output::yes_no(g.built_in).to_owned(),
            options.join("\n"),
            g.description.clone(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::cmd::volume::VolumeCommand;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn volume(args: &[&str]) -> Result<VolumeCommand, clap::Error> {
        let argv = ["glustercli", "volume"].iter().chain(args);
        match Cli::try_parse_checked_from(argv)?.command {
            Command::Volume(cmd) => Ok(cmd),
            other => panic!("not a volume command: {other:?}"),
        }
    }

    #[test]
    fn pairs() {
        assert_eq!(
            pairs_map(&words(&["b", "2", "a", ""])).unwrap(),
            [
                ("a".to_owned(), String::new()),
                ("b".to_owned(), "2".to_owned())
            ]
            .into()
        );
        assert_eq!(pairs_map(&[]).unwrap(), BTreeMap::new());
        for (w, why) in [
            (
                &["a"][..],
                "\"a\" has no value: give the options as KEY VALUE pairs",
            ),
            (&["a", "1", "b"], "\"b\" has no value"),
            (&["", "1"], "an option key is empty"),
            (
                &["a", "1", "a", "1"],
                "the option \"a\" is given more than once",
            ),
        ] {
            let e = pairs_map(&words(w)).unwrap_err();
            assert!(e.contains(why), "{w:?}: {e}");
        }
    }

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_value("user.x=a=b"),
            Ok(("user.x".into(), "a=b".into()))
        );
        assert_eq!(parse_key_value("k="), Ok(("k".into(), String::new())));
        assert!(parse_key_value("k").unwrap_err().contains("no '='"));
        assert!(parse_key_value("=v").unwrap_err().contains("key is empty"));
        let pairs = [
            ("a".to_owned(), "1".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ];
        assert!(
            key_value_map(&pairs)
                .unwrap_err()
                .contains("more than once")
        );
    }

    #[test]
    fn keys_and_names_in_paths() {
        assert_eq!(
            parse_option_key("cluster/replicate.eager-lock"),
            Ok("cluster/replicate.eager-lock".into())
        );
        assert_eq!(parse_option_key("..a/b.."), Ok("..a/b..".into()));
        for bad in ["", ".", "..", "a/../b", "./a", "a/."] {
            assert!(parse_option_key(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_path_word("db/oltp"), Ok("db/oltp".into()));
        for bad in ["", ".", ".."] {
            assert!(parse_path_word(bad).is_err(), "{bad}");
        }
        assert_eq!(
            option_path("gv0", "cluster/replicate.eager-lock"),
            "/v1/volumes/gv0/options/cluster/replicate.eager-lock"
        );
        assert_eq!(
            option_path("gv0", "a b?c"),
            "/v1/volumes/gv0/options/a%20b%3Fc"
        );
    }

    #[test]
    fn set_parses_and_checks() {
        let VolumeCommand::Set(args) = volume(&["set", "gv0", "a.b", "-1", "user.x", "y"]).unwrap()
        else {
            panic!("not set")
        };
        assert_eq!(args.name, "gv0");
        assert_eq!(
            serde_json::to_value(set_request(&args).unwrap()).unwrap(),
            json!({"options": {"a.b": "-1", "user.x": "y"}, "allow-advanced-options": false,
                   "allow-experimental-options": false, "allow-deprecated-options": false})
        );
        for args in [
            &["set", "gv0", "a.b"][..],
            &["set", "gv0", "a.b", "on", "c"],
            &["set", "gv0"],
            &["set", "gv0", "a", "1", "a", "2"],
        ] {
            let e = volume(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
    }

    #[test]
    fn get_and_reset_parse() {
        let VolumeCommand::Get(args) = volume(&["get", "gv0", "all"]).unwrap() else {
            panic!("not get")
        };
        assert_eq!((args.name.as_str(), args.key.as_str()), ("gv0", ALL));
        let VolumeCommand::Reset(args) = volume(&["reset", "gv0", "a", "b", "-f"]).unwrap() else {
            panic!("not reset")
        };
        assert_eq!(
            reset_request(&args).unwrap(),
            VolOptionResetReq {
                options: words(&["a", "b"]),
                force: true,
                all: false
            }
        );
        let VolumeCommand::Reset(args) = volume(&["reset", "gv0", "--all"]).unwrap() else {
            panic!("not reset")
        };
        assert_eq!(
            reset_request(&args).unwrap(),
            VolOptionResetReq {
                options: Vec::new(),
                force: false,
                all: true
            }
        );
        for args in [&["reset", "gv0"][..], &["reset", "gv0", "a", "--all"]] {
            assert_eq!(volume(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
        // The same rule without clap (a hand-built command).
        let neither = ResetArgs {
            name: "v".into(),
            keys: Vec::new(),
            all: false,
            force: false,
        };
        assert!(reset_request(&neither).unwrap_err().contains("or --all"));
        let both = ResetArgs {
            keys: words(&["a"]),
            all: true,
            ..neither
        };
        assert!(reset_request(&both).unwrap_err().contains("not both"));
    }

    #[test]
    fn group_create_parses() {
        let VolumeCommand::OptionGroup(OptionGroupCommand::Create(args)) = volume(&[
            "option-group",
            "create",
            "g",
            "b.c=2",
            "a.b=1",
            "--description",
            "d",
        ])
        .unwrap() else {
            panic!("not option-group create")
        };
        assert_eq!(
            serde_json::to_value(group_request(&args).unwrap()).unwrap(),
            json!({"name": "g", "options": [{"name": "a.b", "onvalue": "1"},
                                            {"name": "b.c", "onvalue": "2"}],
                   "description": "d", "allow-advanced-options": false,
                   "allow-experimental-options": false, "allow-deprecated-options": false})
        );
        let e = volume(&["option-group", "create", "g", "a=1", "a=2"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("Usage: glustercli volume option-group create"),
            "{e}"
        );
        let e = volume(&["option-group", "create", "g", "a"]).unwrap_err();
        assert!(e.to_string().contains("expected KEY=VALUE"), "{e}");
    }

    #[test]
    fn tables() {
        let opt = |key: &str, value: &str, modified| VolumeOptionGetResp {
            key: key.into(),
            value: value.into(),
            modified,
            default_value: "on".into(),
            option_level: "basic".into(),
            kind: "bool".into(),
            description: "x".into(),
        };
        assert_eq!(
            options_table(&[opt("a.b", "off", true), opt("cluster/x.y", "on", false)]).to_string(),
            "\
+-------------+----------+-------+---------------+--------------+
| Name        | Modified | Value | Default Value | Option Level |
+===============================================================+
| a.b         | yes      | off   | on            | basic        |
| cluster/x.y | no       | on    | on            | basic        |
+-------------+----------+-------+---------------+--------------+"
        );
        let group = OptionGroup {
            name: "g".into(),
            options: vec![
                GroupOption {
                    name: "a".into(),
                    on_value: "1".into(),
                },
                GroupOption {
                    name: "b".into(),
                    on_value: "".into(),
                },
            ],
            description: String::new(),
            built_in: false,
        };
        assert_eq!(
            groups_table(&[group]).to_string(),
            "\
+------+----------+---------+-------------+
| Name | Built-in | Options | Description |
+=========================================+
| g    | no       | a=1     |             |
|      |          | b=      |             |
+------+----------+---------+-------------+"
        );
    }
}
