use super::*;

#[test]
fn endpoints_parse() {
    assert_eq!(
        parse_endpoint("http://127.0.0.1:24007").unwrap().as_str(),
        "http://127.0.0.1:24007/"
    );
    assert_eq!(
        parse_endpoint(" node1:24007 ").unwrap().as_str(),
        "http://node1:24007/"
    );
    assert_eq!(
        parse_endpoint("https://[::1]:24007").unwrap().host_str(),
        Some("[::1]")
    );
    assert!(parse_endpoint("").is_err());
    assert!(parse_endpoint("ftp://x").is_err());
    assert!(parse_endpoint("http://").is_err());
}

#[test]
fn error_bodies_decode() {
    let body = br#"{"errors":[{"code":4,"message":"token expired"}]}"#;
    let e = decode_error(Method::GET, "/v1/peers", StatusCode::UNAUTHORIZED, body);
    assert!(e.is_unauthorized());
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized));
    assert_eq!(e.to_string(), "token expired");

    let body = serde_json::to_vec(&ErrorResp {
        errors: vec![
            gd_api::ApiError {
                code: 2,
                message: "a txn step failed".into(),
                fields: [("step".to_owned(), "x".to_owned())].into(),
            },
            gd_api::ApiError {
                code: 1,
                message: "second".into(),
                fields: Default::default(),
            },
        ],
    })
    .unwrap();
    let e = decode_error(
        Method::POST,
        "/v1/volumes",
        StatusCode::INTERNAL_SERVER_ERROR,
        &body,
    );
    assert_eq!(e.to_string(), "a txn step failed; second");
    assert_eq!(e.code(), Some(ErrorCode::TxnStepFailed));

    let e = decode_error(
        Method::GET,
        "/v1/peers",
        StatusCode::BAD_GATEWAY,
        b"upstream down\n",
    );
    assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(
        e.to_string(),
        "GET /v1/peers: 502 Bad Gateway: upstream down"
    );
    let e = decode_error(Method::GET, "/x", StatusCode::NOT_FOUND, b"");
    assert_eq!(e.to_string(), "GET /x: 404 Not Found");
}

#[test]
fn a_refused_brick_check_reads_as_one_sentence() {
    // The daemon's answer: the message for people, the same facts as fields for programs.
    let body = br#"{"errors":[{"code":3,"message":"brick check failed on 127.0.0.2:24007: brick /srv/b1 is on the root file system (use allow-root-dir or force to accept it)","fields":{"error":"brick /srv/b1 is on the root file system (use allow-root-dir or force to accept it)","peer-id":"5d1f4e5c-8f2a-4c36-9d8e-3c1f0b0e7a11","step":"volume-create.validate-bricks"}}]}"#;
    let e = decode_error(Method::POST, "/v1/volumes", StatusCode::BAD_REQUEST, body);
    assert_eq!(
        e.to_string(),
        "brick check failed on 127.0.0.2:24007: brick /srv/b1 is on the root file system \
         (use allow-root-dir or force to accept it)"
    );
}

#[test]
fn forced_warnings_are_unescaped_and_others_ignored() {
    assert_eq!(
        forced_warning(r#"299 glusterd2 "on 127.0.0.2:24007: brick /a \"b\" (pid 7) was killed""#)
            .as_deref(),
        Some(r#"on 127.0.0.2:24007: brick /a "b" (pid 7) was killed"#)
    );
    assert_eq!(
        forced_warning(r#"110 glusterd2 "stale: the store has no quorum""#),
        None
    );
    for bad in [
        "299",
        "299 glusterd2",
        "299 glusterd2 unquoted",
        r#"299 g "open"#,
        "299 g \"x\\",
    ] {
        assert_eq!(forced_warning(bad), None, "{bad}");
    }
}

#[test]
fn paths_are_percent_encoded() {
    assert_eq!(
        encode_path("cluster/replicate.eager-lock", true),
        "cluster/replicate.eager-lock"
    );
    assert_eq!(
        encode_path("cluster/replicate.eager-lock", false),
        "cluster%2Freplicate.eager-lock"
    );
    assert_eq!(encode_path("a-Z_0.9~", false), "a-Z_0.9~");
    assert_eq!(
        encode_path("a b?c#d%e\\f+g&h=i:j@k", true),
        "a%20b%3Fc%23d%25e%5Cf%2Bg%26h%3Di%3Aj%40k"
    );
    assert_eq!(encode_path("é/x", true), "%C3%A9/x");
    assert_eq!(encode_path("", true), "");
    // The encoded key survives the join with the endpoint unchanged.
    let base = parse_endpoint("http://h:1").unwrap();
    let path = format!("/v1/volumes/v/options/{}", encode_path("a b/c?d#e", true));
    assert_eq!(
        base.join(&path).unwrap().path(),
        "/v1/volumes/v/options/a%20b/c%3Fd%23e"
    );
}

#[test]
fn long_bodies_are_cut() {
    let s = body_suffix(&"é".repeat(500));
    assert!(
        s.ends_with("...") && s.chars().count() == 2 + 200 + 3,
        "{s}"
    );
}

#[test]
fn credentials_debug_hides_the_secret() {
    let c = Credentials::new("glustercli", "topsecret");
    assert!(!format!("{c:?}").contains("topsecret"));
}

#[test]
fn bad_ca_is_a_config_error() {
    let cfg = ClientConfig::new(parse_endpoint("https://127.0.0.1:1").unwrap())
        .ca_pem(b"not a pem".to_vec());
    assert!(matches!(Client::new(cfg), Err(ClientError::Config(_))));
    let missing = ClientConfig::new(parse_endpoint("https://127.0.0.1:1").unwrap())
        .ca_file(Path::new("/nonexistent/ca.pem"));
    assert!(matches!(missing, Err(ClientError::Io { .. })));
}
