//! The layering (flags over environment over file over defaults), the values each key takes,
//! the messages that name a bad key, and the shipped example file.

use std::{collections::HashMap, path::Path};

use clap::Parser;

use super::*;

fn load(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut argv = vec!["glusterd2"];
    argv.extend_from_slice(args);
    let flags = Flags::try_parse_from(argv).expect("flags parse");
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load(flags, |k| env.get(k).cloned())
}

#[test]
fn defaults_are_gd2s() {
    let c = load(&[], &[]).unwrap();
    assert_eq!(c.localstatedir, PathBuf::from("/var/lib/glusterd2"));
    assert_eq!(c.client_addr, "0.0.0.0:24007".parse().unwrap());
    assert_eq!(c.pidfile, PathBuf::from("/var/run/glusterd2/glusterd2.pid"));
    assert_eq!(c.store, StoreMode::Auto);
    assert!(c.restauth);
    assert_eq!(c.peer_join, PeerJoin::Token);
    // Listening everywhere: no address is configured, they are derived at run time.
    assert_eq!(c.peer_address, None);
    assert_eq!(c.peer_port, 24007);
    assert_eq!(c.etcd_client_url, None);
    assert_eq!(c.etcd_peer_url, None);
}

#[test]
fn relative_directories_become_absolute() {
    let c = load(
        &[
            "--localstatedir",
            "state",
            "--rundir",
            "./run",
            "--xlatordir",
            "/",
        ],
        &[],
    )
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(c.localstatedir, cwd.join("state"));
    assert_eq!(c.rundir, cwd.join("./run"));
    assert_eq!(c.pidfile, cwd.join("./run").join("glusterd2.pid"));
    assert_eq!(c.xlatordir, Some(PathBuf::from("/")));
    let e = load(&["--xlatordir", "/no/such/dir"], &[]).unwrap_err();
    assert!(e.to_string().contains("xlatordir"), "{e}");
}

#[test]
fn flags_beat_env_beat_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gd2.toml");
    std::fs::write(
        &f,
        "localstatedir = \"/file\"\nrundir = \"/file-run\"\nlogdir = \"/file-log\"\nrestauth = false\netcdendpoints = [\"http://127.0.0.9:2379\"]\n",
    )
    .unwrap();
    let c = load(
        &["--config", f.to_str().unwrap(), "--localstatedir", "/flag"],
        &[("GD2_LOCALSTATEDIR", "/env"), ("GD2_RUNDIR", "/env-run")],
    )
    .unwrap();
    assert_eq!(c.localstatedir, PathBuf::from("/flag"));
    assert_eq!(c.rundir, PathBuf::from("/env-run"));
    assert_eq!(c.logdir, PathBuf::from("/file-log"));
    assert!(!c.restauth);
    assert_eq!(c.etcd_endpoints, vec!["http://127.0.0.9:2379"]);
    assert_eq!(c.resolve_store_mode(false).0, StoreMode::Etcd);
}

#[test]
fn unknown_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gd2.toml");
    std::fs::write(&f, "localstatedir = \"/x\"\nbogus-key = 1\n").unwrap();
    let err = load(&["--config", f.to_str().unwrap()], &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("bogus-key"), "{err}");
}

#[test]
fn bad_values_are_named() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["--clientaddress", "nowhere:x"], &[], "clientaddress"),
        (&["--loglevel", "loud"], &[], "loglevel"),
        (&["--etcdendpoints", "ftp://x"], &[], "etcdendpoints"),
        (&["--store", "etcd"], &[], "etcdendpoints"),
        (&[], &[("GD2_STORE", "raft")], "GD2_STORE"),
        (&[], &[("GD2_RESTAUTH", "maybe")], "GD2_RESTAUTH"),
        (&["--cert-file", "/nonexistent.pem"], &[], "together"),
    ];
    for (args, env, needle) in cases {
        let err = load(args, env).unwrap_err().to_string();
        assert!(err.contains(needle), "{args:?} {env:?}: {err}");
    }
}

#[test]
fn token_max_lifetime_from_flag_env_and_file() {
    let day = std::time::Duration::from_secs(24 * 3600);
    assert_eq!(load(&[], &[]).unwrap().token_max_lifetime, day);
    let c = load(&["--token-max-lifetime", "1h"], &[]).unwrap();
    assert_eq!(c.token_max_lifetime.as_secs(), 3600);
    let c = load(&[], &[("GD2_TOKEN_MAX_LIFETIME", "10m")]).unwrap();
    assert_eq!(c.token_max_lifetime.as_secs(), 600);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "token-max-lifetime = \"7d\"\n").unwrap();
    let c = load(&["--config", f.to_str().unwrap()], &[]).unwrap();
    assert_eq!(c.token_max_lifetime, 7 * day);
    let e = load(&[], &[("GD2_TOKEN_MAX_LIFETIME", "long")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("GD2_TOKEN_MAX_LIFETIME"), "{e}");
    let e = load(&["--token-max-lifetime", "1m"], &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "invalid token-max-lifetime: 1m is shorter than the 2m tokens glustercli and other nodes sign"
    );
}

#[test]
fn peer_join_from_flag_env_and_file() {
    assert_eq!(
        load(&["--peer-join", "open"], &[]).unwrap().peer_join,
        PeerJoin::Open
    );
    assert_eq!(
        load(&[], &[("GD2_PEER_JOIN", "open")]).unwrap().peer_join,
        PeerJoin::Open
    );
    let e = load(&[], &[("GD2_PEER_JOIN", "anyone")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("GD2_PEER_JOIN") && e.contains("token, open"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "peer-join = \"open\"\n").unwrap();
    let c = load(&["--config", f.to_str().unwrap()], &[]).unwrap();
    assert_eq!(c.peer_join, PeerJoin::Open);
}

#[test]
fn addresses() {
    let c = load(&["--clientaddress", "127.0.0.2:24007"], &[]).unwrap();
    assert_eq!(c.peer_address.as_deref(), Some("127.0.0.2:24007"));
    assert_eq!(c.etcd_client_url.as_deref(), Some("http://127.0.0.2:24379"));
    assert_eq!(c.etcd_peer_url.as_deref(), Some("http://127.0.0.2:24380"));
    let c = load(&["--clientaddress", "[::1]:24007"], &[]).unwrap();
    assert_eq!(c.peer_address.as_deref(), Some("[::1]:24007"));
    // A wildcard listener with a peer address advertises that; a peer address without a
    // host only sets the port.
    let c = load(&["--peeraddress", "192.0.2.5:24008"], &[]).unwrap();
    assert_eq!(c.peer_address.as_deref(), Some("192.0.2.5:24008"));
    assert_eq!(c.etcd_client_url, None);
    let c = load(&["--peeraddress", ":24008"], &[]).unwrap();
    assert_eq!((c.peer_address, c.peer_port), (None, 24008));
    let c = load(&["--etcdcurls", "http://192.0.2.5:2379"], &[]).unwrap();
    assert_eq!(c.etcd_client_url.as_deref(), Some("http://192.0.2.5:2379"));
    assert_eq!(c.etcd_peer_url, None);
    assert_eq!(
        load(&["--store", "local"], &[])
            .unwrap()
            .resolve_store_mode(true)
            .0,
        StoreMode::Local
    );
    assert_eq!(
        load(&[], &[]).unwrap().resolve_store_mode(true).0,
        StoreMode::Managed
    );
    assert_eq!(
        load(&[], &[]).unwrap().resolve_store_mode(false).0,
        StoreMode::Local
    );
}

/// The shipped example parses, has no unknown keys, and states the defaults.
#[test]
fn shipped_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/glusterd2.toml.example");
    let flags = Flags {
        config: Some(path),
        ..Flags::default()
    };
    let c = Config::load(flags, |_| None).expect("example config loads");
    assert_eq!(c.localstatedir, PathBuf::from("/var/lib/glusterd2"));
    assert_eq!(c.client_addr.port(), DEFAULT_CLIENT_PORT);
    assert_eq!(c.store, StoreMode::Auto);
    assert!(c.restauth);
}

#[test]
fn a_metrics_token_file_must_hold_a_token() {
    assert!(load(&[], &[]).unwrap().metrics_token_file.is_none());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("token");
    std::fs::write(&f, "t0ken\n").unwrap();
    let c = load(&[], &[("GD2_METRICS_TOKEN_FILE", f.to_str().unwrap())]).unwrap();
    assert_eq!(c.metrics_token_file.as_deref(), Some(f.as_path()));
    let conf = dir.path().join("c.toml");
    std::fs::write(
        &conf,
        format!("metrics-token-file = {:?}\n", f.to_str().unwrap()),
    )
    .unwrap();
    let c = load(&["--config", conf.to_str().unwrap()], &[]).unwrap();
    assert_eq!(c.metrics_token_file.as_deref(), Some(f.as_path()));
    std::fs::write(&f, " \n").unwrap();
    let e = load(&["--metrics-token-file", f.to_str().unwrap()], &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("invalid metrics-token-file:") && e.ends_with("is empty"),
        "{e}"
    );
    let e = load(&["--metrics-token-file", "/nonexistent/t"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/t cannot be read"), "{e}");
}

#[test]
fn an_otlp_endpoint_is_an_http_url() {
    assert!(load(&[], &[]).unwrap().otlp_endpoint.is_none());
    let c = load(&["--otlp-endpoint", "http://collector:4318/"], &[]).unwrap();
    assert_eq!(c.otlp_endpoint.as_deref(), Some("http://collector:4318"));
    let c = load(&[], &[("GD2_OTLP_ENDPOINT", "https://c.example:4318")]).unwrap();
    assert_eq!(c.otlp_endpoint.as_deref(), Some("https://c.example:4318"));
    let e = load(&["--otlp-endpoint", "collector:4317"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("invalid otlp-endpoint:"), "{e}");
}
