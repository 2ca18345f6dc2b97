//! Tests against the installed GlusterFS (10.3 from Debian, installed by `scripts/setup.sh`).
//! They fail, not skip, when GlusterFS is missing: the option table is what makes
//! `volume set` possible, so a machine without it cannot pass.
//!
//! GD1's own output is the oracle: `gluster volume get rep3 all` (every key GD1 knows, with
//! its value) and `gluster volume set help` (keys, defaults, descriptions), both captured from
//! GD1 10.3, copied into `crates/gd-volgen/tests/fixtures/gd1-volfiles/`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use gd_xlator::{
    LoadError, OptionType, ResolveError, Rule, ValidationError, Value, XlatorKind, XlatorTable,
};

fn table() -> &'static XlatorTable {
    static TABLE: OnceLock<XlatorTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        XlatorTable::load_default().unwrap_or_else(|e| {
            panic!(
                "GlusterFS must be installed for these tests (scripts/setup.sh installs it): {e}"
            )
        })
    })
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gd-volgen/tests/fixtures/gd1-volfiles")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `volume get <vol> all`: (key, value) in order, `(DEFAULT)` and `(null)` removed.
fn get_all() -> Vec<(String, Option<String>)> {
    fixture("rep3-get-all.txt")
        .lines()
        .skip(2)
        .filter_map(|line| {
            let (key, rest) = line.split_once(' ')?;
            let value = rest.trim();
            let value = value.strip_suffix("(DEFAULT)").unwrap_or(value).trim();
            let value = (value != "(null)" && !value.is_empty()).then(|| value.to_string());
            Some((key.to_string(), value))
        })
        .collect()
}

/// `volume set help`: key → (default, description).
fn set_help() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for block in fixture("volume-set-help.txt").split("\n\n") {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|s| s.trim().to_string())
        };
        if let Some(key) = field("Option: ") {
            out.insert(
                key,
                (
                    field("Default Value: ").unwrap_or_default(),
                    field("Description: ").unwrap_or_default(),
                ),
            );
        }
    }
    out
}

/// Why a GD1 key names no xlator option (None: it must resolve).
fn gd1_exception(key: &str) -> Option<&'static str> {
    if key.starts_with("performance.nfs.") || key.starts_with("nfs.") {
        return Some(
            "gNFS: the key configures the nfs/server graph; this GlusterFS has no nfs/server xlator",
        );
    }
    match key {
        "performance.client-io-threads"
        | "features.uss"
        | "network.compression"
        | "debug.trace"
        | "debug.error-gen"
        | "debug.delay-gen"
        | "features.sdfs"
        | "features.cloudsync"
        | "features.acl" => Some(
            "graph switch: GD1 adds or removes an xlator in volgen; the xlator declares no option of that name",
        ),
        "cluster.enable-shared-storage"
        | "cluster.brick-multiplex"
        | "cluster.brick-graceful-cleanup"
        | "cluster.max-bricks-per-process"
        | "cluster.daemon-log-level"
        | "glusterd.vol_count_per_thread"
        | "config.gfproxyd" => Some(
            "glusterd's own setting (cluster-wide or daemon placement), not an option of any xlator",
        ),
        "ganesha.enable" => Some("NFS-Ganesha integration, handled by glusterd, not an xlator"),
        _ => None,
    }
}

#[test]
fn loads_the_installed_xlators() {
    let t = table();
    let dir = t.dir().expect("a directory was loaded");
    assert!(
        dir.ends_with("xlator") && dir.to_string_lossy().contains("glusterfs"),
        "{}",
        dir.display()
    );
    let translators = t.translators().count();
    let options = t.option_count();
    eprintln!(
        "loaded {} libraries from {} ({translators} translators, {} transports and auth modules), \
         {options} options, {} warnings",
        t.xlators().len(),
        dir.display(),
        t.xlators().len() - translators,
        t.warnings().len()
    );
    for w in t.warnings() {
        eprintln!("  warning: {w}");
    }
    assert!(translators >= 50, "only {translators} translators");
    assert!(options >= 400, "only {options} options");
    assert!(
        t.xlator("rpc-transport/socket")
            .is_some_and(|x| x.kind == XlatorKind::Transport)
    );
    // Every option knows its table, and names are unique.
    let mut names: Vec<&str> = t.xlators().iter().map(|x| x.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), t.xlators().len());
    for x in t.xlators() {
        assert!(
            x.options
                .iter()
                .all(|o| o.xlator == x.name && !o.keys.is_empty()),
            "{}",
            x.name
        );
    }
}

#[test]
fn write_behind_cache_size() {
    let wb = table()
        .xlator("performance/write-behind")
        .expect("write-behind is installed");
    assert_eq!(wb.id, "write-behind");
    let o = wb.option("cache-size").expect("cache-size");
    assert_eq!(o.keys, ["cache-size", "window-size"]);
    assert_eq!(wb.option("window-size"), Some(o));
    assert_eq!(o.kind, OptionType::SizeT);
    assert_eq!(o.default.as_deref(), Some("1MB"));
    assert_eq!(o.min, Some(512.0 * 1024.0));
    assert_eq!(o.max, Some(1024.0 * 1024.0 * 1024.0));
    assert_eq!(o.xlator, "performance/write-behind");
    assert!(o.flags.settable() && o.flags.doc() && o.flags.client_opt());
    assert!(o.description.as_deref().is_some_and(|d| !d.is_empty()));
}

#[test]
fn one_library_answers_to_all_its_file_names() {
    let t = table();
    for (alias, name) in [
        ("afr", "cluster/replicate"),
        ("cluster/afr", "cluster/replicate"),
        ("replicate", "cluster/replicate"),
        ("dht", "cluster/distribute"),
        ("ec", "cluster/disperse"),
        ("stat-prefetch", "performance/md-cache"),
        ("posix-locks", "features/locks"),
        ("posix-acl", "features/access-control"),
    ] {
        assert_eq!(
            t.xlator(alias).map(|x| x.name.as_str()),
            Some(name),
            "{alias}"
        );
    }
}

#[test]
fn quorum_type_resolves_in_every_form() {
    let t = table();
    for key in [
        "cluster.quorum-type",
        "replicate.quorum-type",
        "afr.quorum-type",
        "cluster/replicate.quorum-type",
        "cluster/afr.quorum-type",
    ] {
        let r = t.resolve(key).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(r.targets.len(), 1, "{key}");
        let target = r.targets[0];
        assert_eq!(
            target.qualified_key(),
            "cluster/replicate.quorum-type",
            "{key}"
        );
        assert_eq!(target.option.allowed, ["none", "auto", "fixed"], "{key}");
        assert_eq!(target.option.default.as_deref(), Some("none"));
    }
    assert_eq!(
        t.resolve("cluster.quorum-type").unwrap().rule,
        Rule::Gd1Domain
    );
    assert_eq!(
        t.resolve("replicate.quorum-type").unwrap().rule,
        Rule::Xlator
    );
    assert!(t.validate("cluster.quorum-type", "auto").is_ok());
    let e = t
        .validate("cluster.quorum-type", "sometimes")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cluster.quorum-type") && e.contains("none, auto, fixed"),
        "{e}"
    );
}

#[test]
fn write_behind_window_size_validation() {
    let t = table();
    for key in [
        "performance.write-behind-window-size",
        "write-behind.window-size",
        "write-behind.cache-size",
    ] {
        let n = t
            .validate(key, "4MB")
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(n.value, "4MB");
        assert_eq!(n.targets.len(), 1);
        assert_eq!(n.targets[0].xlator, "performance/write-behind");
        assert_eq!(n.targets[0].option, "cache-size");
        assert_eq!(n.targets[0].value, Value::Bytes(4 << 20));
    }
    let e = t
        .validate("performance.write-behind-window-size", "lots")
        .unwrap_err();
    assert_eq!(e.key(), "performance.write-behind-window-size");
    let msg = e.to_string();
    assert!(
        msg.contains("performance.write-behind-window-size") && msg.contains("\"lots\""),
        "{msg}"
    );
    assert!(msg.contains("KB, MB, GB"), "says what is allowed: {msg}");
    let msg = t
        .validate("write-behind.window-size", "2GB")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("out of range") && msg.contains("1GB"), "{msg}");
}

#[test]
fn performance_cache_size_sets_io_cache_and_quick_read() {
    let n = table()
        .validate("performance.cache-size", "64MB")
        .expect("64MB is a valid cache size");
    let targets: Vec<(&str, &str)> = n
        .targets
        .iter()
        .map(|t| (t.xlator.as_str(), t.option.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            ("performance/io-cache", "cache-size"),
            ("performance/quick-read", "cache-size")
        ]
    );
    assert!(n.targets.iter().all(|t| t.value == Value::Bytes(64 << 20)));
}

#[test]
fn unknown_keys_are_named() {
    let t = table();
    let e = t.resolve("cluster.no-such-option").unwrap_err();
    assert!(matches!(e, ResolveError::UnknownKey { .. }));
    assert!(e.to_string().contains("cluster.no-such-option"), "{e}");
    let e = t.resolve("replicate.no-such-option").unwrap_err();
    assert!(
        e.to_string().contains("cluster/replicate") && e.to_string().contains("no-such-option"),
        "{e}"
    );
    let e = t.resolve("cluster/nothing.eager-lock").unwrap_err();
    assert!(
        matches!(e, ResolveError::UnknownXlator { ref xlator, .. } if xlator == "cluster/nothing"),
        "{e}"
    );
    let e = t.resolve("cluster.quorum-tipe").unwrap_err().to_string();
    assert!(
        e.contains("did you mean cluster/replicate.quorum-type"),
        "{e}"
    );
    let e = t.validate("performance.no-such-thing", "1").unwrap_err();
    assert!(matches!(e, ValidationError::Key(_)) && e.key() == "performance.no-such-thing");
    // GD2's invalid examples.
    for key in [
        "eager-lock",
        "..eager-lock",
        "a.b.afr.eager-lock",
        "afr.non-existent",
    ] {
        assert!(t.resolve(key).is_err(), "{key}");
    }
    assert!(matches!(
        t.resolve("user.cifs"),
        Err(ResolveError::InvalidKey { .. })
    ));
}

#[test]
fn gd1_names_follow_the_rules() {
    let t = table();
    let targets = |key: &str| -> Vec<String> {
        t.resolve(key)
            .unwrap_or_else(|e| panic!("{key}: {e}"))
            .targets
            .iter()
            .map(|t| t.qualified_key())
            .collect()
    };
    assert_eq!(
        targets("network.ping-timeout"),
        ["protocol/client.ping-timeout"]
    );
    assert_eq!(
        targets("performance.strict-o-direct"),
        ["performance/write-behind.strict-O_DIRECT"]
    );
    assert_eq!(
        targets("performance.stat-prefetch"),
        ["performance/md-cache.md-cache"]
    );
    assert_eq!(
        targets("performance.write-behind"),
        ["performance/write-behind.write-behind"]
    );
    assert_eq!(
        targets("write-behind"),
        ["performance/write-behind.write-behind"]
    );
    assert_eq!(
        targets("cluster.eager-lock"),
        ["cluster/replicate.eager-lock"]
    );
    assert_eq!(
        targets("disperse.eager-lock"),
        ["cluster/disperse.eager-lock"]
    );
    assert_eq!(
        targets("cluster.disperse-self-heal-daemon"),
        ["cluster/disperse.self-heal-daemon"]
    );
    assert_eq!(
        targets("cluster.lookup-optimize"),
        ["cluster/distribute.lookup-optimize"]
    );
    assert_eq!(
        targets("features.locks-revocation-secs"),
        ["features/locks.revocation-secs"]
    );
    assert_eq!(targets("auth.allow"), ["protocol/server.auth.addr.*.allow"]);
    assert_eq!(
        targets("cluster.heal-timeout"),
        [
            "cluster/replicate.heal-timeout",
            "cluster/disperse.heal-timeout"
        ]
    );
    assert_eq!(
        targets("network.tcp-window-size"),
        [
            "protocol/client.tcp-window-size",
            "protocol/server.tcp-window-size"
        ]
    );
    assert_eq!(
        targets("ssl.own-cert"),
        [
            "protocol/server.ssl-own-cert",
            "protocol/client.ssl-own-cert"
        ]
    );
    // Transport options belong to the protocol xlators, declared by the transport.
    let r = t.resolve("server.keepalive-time").unwrap();
    assert_eq!(r.targets[0].xlator.name, "protocol/server");
    assert_eq!(r.targets[0].option.key(), "transport.socket.keepalive-time");
    assert_eq!(r.targets[0].option.xlator, "rpc-transport/socket");
    assert_eq!(
        targets("protocol/client.transport.socket.ssl-enabled"),
        ["protocol/client.transport.socket.ssl-enabled"]
    );
    assert_eq!(
        targets("server.auth.addr./data/b1.allow"),
        ["protocol/server.auth.addr.*.allow"]
    );
}

#[test]
fn values_by_type() {
    let t = table();
    for ok in [
        "on", "OFF", "yes", "no", "true", "false", "enable", "disable", "1", "0",
    ] {
        assert_eq!(
            t.validate("cluster.eager-lock", ok)
                .map(|n| n.targets[0].value.clone())
                .ok(),
            Some(Value::Bool(gd_xlator::parse::boolean(ok).unwrap())),
            "{ok}"
        );
    }
    let e = t
        .validate("cluster.eager-lock", "maybe")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("on, off, yes, no, true, false, enable, disable, 1, 0"),
        "{e}"
    );
    assert!(
        t.validate("cluster.min-free-disk", "10%").is_ok(),
        "percent or size"
    );
    assert!(t.validate("cluster.min-free-disk", "5GB").is_ok());
    assert!(t.validate("cluster.min-free-disk", "150%").is_err());
    assert!(
        t.validate("cluster.min-free-inodes", "5%").is_ok(),
        "percent"
    );
    assert!(t.validate("network.ping-timeout", "20").is_ok(), "time");
    assert!(
        t.validate("network.ping-timeout", "1h").is_err(),
        "time above its max of 1013 s"
    );
    assert!(
        t.validate("performance.io-thread-count", "64").is_ok(),
        "int in range"
    );
    assert!(
        t.validate("performance.io-thread-count", "65").is_err(),
        "int above max"
    );
    assert!(
        t.validate("server.statedump-path", "/var/run/gluster")
            .is_ok(),
        "path"
    );
    assert!(
        t.validate("server.statedump-path", "var/run").is_err(),
        "relative path"
    );
    assert!(
        t.validate("auth.allow", "192.168.1.*,10.0.0.0/8,client-1")
            .is_ok(),
        "address list"
    );
    assert!(t.validate("auth.allow", "bad host").is_err());
    assert!(
        t.validate("mount/fuse.attribute-timeout", "0.5").is_ok(),
        "double"
    );
    assert!(t.validate("diagnostics.brick-log-level", "DEBUG").is_ok());
    assert!(
        t.validate("diagnostics.brick-log-level", "debug").is_err(),
        "enums are case-sensitive"
    );
    assert!(
        t.validate("cluster.eager-lock", "on\noption x y").is_err(),
        "no second volfile line"
    );
}

/// Every key GD1 10.3 knows (`volume get all`) resolves, except those that are not xlator
/// options, each for a stated reason.
#[test]
fn every_gd1_key_of_volume_get_all_resolves() {
    let t = table();
    let mut keys: Vec<String> = get_all().into_iter().map(|(k, _)| k).collect();
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    let mut resolved = 0;
    let mut exceptions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for key in &keys {
        match (t.resolve(key), gd1_exception(key)) {
            (Ok(_), None) => resolved += 1,
            (Err(_), Some(reason)) => exceptions.entry(reason).or_default().push(key.clone()),
            (Ok(r), Some(reason)) => failures.push(format!(
                "{key} resolves (to {:?}) but is listed as an exception: {reason}",
                r.targets
                    .iter()
                    .map(|t| t.qualified_key())
                    .collect::<Vec<_>>()
            )),
            (Err(e), None) => failures.push(e.to_string()),
        }
    }
    eprintln!(
        "volume get all: {} keys, {resolved} resolve, {} do not:",
        keys.len(),
        keys.len() - resolved
    );
    for (reason, keys) in &exceptions {
        eprintln!("  {} keys: {reason}: {}", keys.len(), keys.join(", "));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(resolved >= 300, "{resolved}");
}

/// `volume set help`: every key resolves (same exceptions), and where GD1 shows an xlator's
/// own description, the key resolves to an option with that description.
#[test]
fn volume_set_help_keys_resolve_to_the_options_gd1_describes() {
    let t = table();
    let every_description: Vec<&str> = t
        .xlators()
        .iter()
        .flat_map(|x| x.options.iter())
        .filter_map(|o| o.description.as_deref().map(str::trim))
        .collect();
    let help = set_help();
    let (mut resolved, mut described) = (0, 0);
    let mut failures = Vec::new();
    for (key, (_, description)) in &help {
        let r = match (t.resolve(key), gd1_exception(key)) {
            (Ok(r), None) => r,
            (Err(_), Some(_)) => continue,
            (Ok(_), Some(reason)) => {
                failures.push(format!(
                    "{key} resolves but is listed as an exception: {reason}"
                ));
                continue;
            }
            (Err(e), None) => {
                failures.push(e.to_string());
                continue;
            }
        };
        resolved += 1;
        // GD1's map carries its own text for this key, equal to the socket transport's, while
        // the option it sets is protocol/server's own transport.listen-backlog.
        if key == "transport.listen-backlog" || !every_description.contains(&description.as_str()) {
            continue;
        }
        described += 1;
        if !r
            .targets
            .iter()
            .any(|t| t.option.description.as_deref().map(str::trim) == Some(description))
        {
            failures.push(format!(
                "{key}: GD1 describes it as an xlator does, but it resolves to {:?}",
                r.targets
                    .iter()
                    .map(|t| t.qualified_key())
                    .collect::<Vec<_>>()
            ));
        }
    }
    eprintln!(
        "volume set help: {} keys, {resolved} resolve, {described} checked against the xlator description GD1 shows",
        help.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(described >= 150, "{described}");
}

/// Every value GD1 shows in `volume get all` (defaults and the volume's settings) is accepted.
#[test]
fn gd1_values_validate() {
    let t = table();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (key, value) in get_all() {
        let Some(value) = value else { continue };
        if t.resolve(&key).is_err() {
            continue;
        }
        // A default GD1 shows from the xlator table, a GD2 template: not a user value.
        if value.contains("{{") {
            continue;
        }
        // GD1's own spelling of "none" for a key it validates itself; glusterd.so's table
        // allows only none and server.
        if key == "cluster.server-quorum-type" && value == "off" {
            continue;
        }
        checked += 1;
        if let Err(e) = t.validate(&key, &value) {
            failures.push(e.to_string());
        }
    }
    eprintln!("volume get all: {checked} values validated");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 250, "{checked}");
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let e = XlatorTable::load(&missing).unwrap_err();
    assert!(matches!(e, LoadError::NotFound { ref path } if *path == missing));
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        XlatorTable::load(&file),
        Err(LoadError::NotADirectory { .. })
    ));
}

#[test]
fn a_fake_library_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("performance")).unwrap();
    let fake = dir.path().join("performance/fake.so");
    std::fs::write(&fake, "this is not a shared library\n").unwrap();
    std::fs::write(dir.path().join("performance/README"), "ignored").unwrap();
    // A real xlator beside it still loads, under the name of its directory.
    let real = table()
        .xlator("performance/write-behind")
        .unwrap()
        .path
        .clone();
    std::os::unix::fs::symlink(&real, dir.path().join("performance/write-behind.so")).unwrap();
    let t = XlatorTable::load(dir.path()).expect("a directory with a bad library still loads");
    assert_eq!(t.warnings().len(), 1, "{:?}", t.warnings());
    assert_eq!(t.warnings()[0].path, fake);
    assert!(
        t.warnings()[0].to_string().contains("fake.so"),
        "{}",
        t.warnings()[0]
    );
    let names: Vec<&str> = t.xlators().iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["performance/write-behind"]);
    assert!(
        t.validate("performance.write-behind-window-size", "4MB")
            .is_ok()
    );
    assert!(
        t.resolve("cluster.quorum-type").is_err(),
        "afr is not in this directory"
    );
}

#[test]
fn the_xlator_directory_is_found_with_the_highest_version() {
    let root = tempfile::tempdir().unwrap();
    for d in [
        "glusterfs/9.2/xlator",
        "x86_64-linux-gnu/glusterfs/10.10/xlator",
        "glusterfs/10.3/xlator",
        "glusterfs/11.0",
    ] {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    assert_eq!(
        gd_xlator::find_xlator_dir_in(&[root.path()]),
        Some(root.path().join("x86_64-linux-gnu/glusterfs/10.10/xlator"))
    );
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(gd_xlator::find_xlator_dir_in(&[empty.path()]), None);
    assert_eq!(
        gd_xlator::find_xlator_dir(),
        table().dir().map(|d| d.to_path_buf())
    );
}

#[test]
fn no_panic_on_arbitrary_keys_and_values() {
    let t = table();
    let long = "x".repeat(300);
    let keys = [
        "",
        ".",
        "a",
        "/",
        "/.",
        "a/",
        "a/.b",
        "cluster/",
        "cluster/replicate.",
        long.as_str(),
        "performance.",
        "auth.addr.*.allow",
        "server.auth.addr.[.allow",
        "ssl.",
        "cluster.*",
        "*",
        "*.*",
        "protocol/client.transport.*",
        "user.",
        "nfs..x",
        "é.é",
    ];
    let values = [
        "",
        " ",
        "-",
        "-0",
        "0x",
        "1e999",
        "nan",
        "%",
        "1.5.5MB",
        "*(*(*(a)))",
        "\u{0}",
        "`id`",
        "(",
        "/(",
        "/a(",
        "a:b:c",
    ];
    for key in keys {
        let _ = t.resolve(key);
        for value in values {
            let _ = t.validate(key, value);
        }
    }
    // Every option's own default parses or is refused cleanly.
    for x in t.xlators() {
        for o in &x.options {
            if let Some(d) = &o.default {
                let _ = gd_xlator::validate::check_value(o, d);
            }
        }
    }
}

#[test]
fn the_helper_process_reads_the_same_tables_and_takes_the_libraries_with_it() {
    let dir = gd_xlator::find_xlator_dir().expect("GlusterFS is installed");
    let helper = std::path::Path::new(env!("CARGO_BIN_EXE_glusterd2-xlators"));
    let through = XlatorTable::load_through(&dir, Some(helper)).expect("load through the helper");
    assert_eq!(
        through.read_by(),
        &gd_xlator::helper::ReadBy::Helper(helper.to_path_buf())
    );
    let here = XlatorTable::load_through(&dir, None).expect("load in this process");
    assert_eq!(here.read_by(), &gd_xlator::helper::ReadBy::InProcess);
    assert!(through.xlators().len() > 50, "{}", through.xlators().len());
    // Every table identical, infinite bounds included.
    assert_eq!(through.xlators(), here.xlators());
    assert_eq!(through.warnings(), here.warnings());

    // A helper that answers nothing useful: the tables are read in this process, and the
    // table says why.
    let fake = tempfile::tempdir().unwrap();
    let bad = fake.path().join("glusterd2-xlators");
    std::fs::write(&bad, "#!/bin/sh\necho '[1, 2'\n").unwrap();
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let fallback = XlatorTable::load_through(&dir, Some(&bad)).expect("load");
    match fallback.read_by() {
        gd_xlator::helper::ReadBy::InProcessAfter(why) => {
            assert!(why.contains("its output is not tables"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fallback.xlators(), here.xlators());

    // The helper refuses what is not a table request.
    let out = std::process::Command::new(helper)
        .args(["bogus", "/nonexistent.so"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(helper)
        .args(["xlator_api"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
