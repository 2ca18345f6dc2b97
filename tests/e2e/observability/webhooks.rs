//! Webhooks on three real nodes, delivering to a small HTTP receiver of the test's own: GD2's
//! API; every node's test delivery; each event delivered with GD1's body and a JWT signed with
//! the webhook's secret, in order, exactly once while nothing fails; retried while the
//! receiver fails; none lost when the delivering node is killed mid-stream (another takes
//! over; a repeat carries the same id); nothing after the webhook is deleted.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use gd_testkit::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const SECRET: &str = "webhook-s3cret";

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    auth: String,
    by: String,
    body: Value,
}

/// The receiver: answers 503 to the next `fail` requests, 200 to the others.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    fail: Arc<AtomicU32>,
}

fn receiver(addr: &str) -> Receiver {
    let listener = TcpListener::bind(addr).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let fail = Arc::new(AtomicU32::new(0));
    let (g, f) = (got.clone(), fail.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    headers.insert(k.to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            // A request cut short (its sender killed mid-way) was not delivered: no answer.
            let Ok(body) = reader
                .read_exact(&mut body)
                .map_err(drop)
                .and_then(|()| serde_json::from_slice::<Value>(&body).map_err(drop))
            else {
                continue;
            };
            let failing = f
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !failing {
                g.lock().unwrap().push(Got {
                    auth: headers.get("authorization").cloned().unwrap_or_default(),
                    by: headers
                        .get("x-gluster-delivered-by")
                        .cloned()
                        .unwrap_or_default(),
                    body,
                });
            }
            let status = if failing {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    Receiver { url, got, fail }
}

impl Receiver {
    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The deliveries of events (not tests), in the order received.
    fn events(&self) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| g.body["event"] != "TEST")
            .collect()
    }
}

/// Checks a delivery's JWT: HS256 with the secret, GD1's claims, `sub` its event.
fn signed(g: &Got) {
    let token = g.auth.strip_prefix("Bearer ").expect("a bearer token");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_issuer(&["gluster"]);
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &v,
    )
    .unwrap_or_else(|e| panic!("{e}: {g:?}"))
    .claims;
    assert_eq!(claims["sub"], g.body["event"], "{claims}");
    assert_eq!(claims["iat"], g.body["ts"], "{claims}");
}

/// The events the cluster recorded after `seq`, as listed.
fn recorded_after(t: &Three, seq: i64) -> Vec<Value> {
    let (_, all) = t.api(0, "GET", &format!("/v1/events?after={seq}"), None);
    all.as_array().unwrap().clone()
}

/// Waits until the receiver has every event recorded after `seq` (at least once).
fn all_delivered(t: &Three, r: &Receiver, seq: i64) -> Vec<Value> {
    wait_for("every event delivered", WAIT, || {
        let want = recorded_after(t, seq);
        let got = r.events();
        want.iter()
            .all(|e| got.iter().any(|g| g.body["id"] == e["id"]))
            .then_some(want)
    })
    .unwrap()
}

#[test]
fn webhooks_get_every_event_once_in_order_signed_and_through_a_failover() {
    let mut t = three(74);
    let r = receiver("127.0.74.9:0");
    let add = json!({"url": r.url, "secret": SECRET});
    let out = t.cli(0, &["webhook", "add", &r.url, "--jwt-secret", SECRET]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("Webhook {} added", r.url));
    let (_, from) = t.api(0, "GET", "/v1/events", None);
    let from = from
        .as_array()
        .unwrap()
        .last()
        .map_or(0, |e| e["seq"].as_i64().unwrap());
    let (s, b) = t.api(1, "POST", "/v1/events/webhook", Some(add.clone()));
    assert_eq!(s, 409, "{b}");
    let (s, b) = t.api(
        1,
        "POST",
        "/v1/events/webhook",
        Some(json!({"url": "ftp://x"})),
    );
    assert_eq!(s, 400, "{b}");
    let (s, b) = t.api(2, "GET", "/v1/events/webhook", None);
    assert_eq!((s, b), (200, json!([r.url])), "the secret is never shown");
    let out = t.cli(1, &["webhook", "list"]);
    assert_eq!(stdout(&out).trim(), r.url);

    // Every node's test delivery arrives, signed.
    let (s, b) = t.api(2, "POST", "/v1/events/webhook/test", Some(add.clone()));
    assert_eq!(s, 200, "{b}");
    assert_eq!(b.as_array().unwrap().len(), 3);
    assert!(b.as_array().unwrap().iter().all(|n| n["ok"] == true), "{b}");
    let tests: Vec<Got> = r
        .got()
        .into_iter()
        .filter(|g| g.body["event"] == "TEST")
        .collect();
    assert_eq!(tests.len(), 3);
    tests.iter().for_each(signed);
    let (_, b) = t.api(
        0,
        "POST",
        "/v1/events/webhook/test",
        Some(json!({"url": "http://127.0.74.9:1/x"})),
    );
    assert!(b.as_array().unwrap().iter().all(|n| n["ok"] == false && n["error"].as_str().unwrap().contains("cannot be reached")), "{b}");
    let out = t.cli(0, &["webhook", "test", "http://127.0.74.9:1/x"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("3 of 3 nodes could not deliver to http://127.0.74.9:1/x"),
        "{}",
        stderr(&out)
    );

    // Events, each delivered once, in order, with GD1's body.
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "w")).collect();
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes",
        Some(create_body(
            "wv",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    for i in 0..3 {
        let out = t.cli(i, &["volume", "set", "wv", "user.step", &i.to_string()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let want = all_delivered(&t, &r, from);
    let got = r.events();
    assert_eq!(got.len(), want.len(), "once each: {got:#?}");
    for (g, e) in got.iter().zip(&want) {
        assert_eq!(g.body["id"], e["id"]);
        assert_eq!(g.body["seq"], e["seq"]);
        assert_eq!(g.body["nodeid"], e["node"]);
        signed(g);
    }
    let created = got
        .iter()
        .find(|g| g.body["event"] == "VOLUME_CREATE")
        .expect("VOLUME_CREATE");
    assert_eq!(created.body["message"]["volume"], "wv");
    assert!(
        got.iter().any(
            |g| g.body["event"] == "VOLUME_SET" && g.body["message"]["option.user.step"] == "2"
        )
    );

    // The receiver fails a while: the deliveries are retried, still in order.
    r.fail.store(3, Ordering::SeqCst);
    let mark = want.last().unwrap()["seq"].as_i64().unwrap();
    let out = t.cli(1, &["volume", "set", "wv", "user.step", "retried"]);
    assert!(out.status.success(), "{}", stderr(&out));
    all_delivered(&t, &r, mark);
    assert_eq!(
        r.fail.load(Ordering::SeqCst),
        0,
        "the failures were answered"
    );

    // The delivering node is killed while events come: another delivers the rest.
    let deliverer = r.events().last().unwrap().by.clone();
    let (_, peers) = t.api(0, "GET", "/v1/peers", None);
    let victim = peers
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["id"] == deliverer.as_str())
        .map(|_| {
            let addr = peers
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == deliverer.as_str())
                .unwrap()["peer-addresses"][0]
                .as_str()
                .unwrap()
                .to_owned();
            t.ips
                .iter()
                .position(|ip| addr.starts_with(ip.as_str()))
                .unwrap()
        })
        .expect("the deliverer is a peer");
    let other = (victim + 1) % 3;
    let mark = r.events().last().unwrap().body["seq"].as_i64().unwrap();
    let ip = t.ips[victim].clone();
    let mut daemon = Some(t.daemons.remove(victim));
    let other_daemon = if other > victim { other - 1 } else { other };
    for i in 0..6 {
        // The victim's store member dies with it: the store may be electing a leader a moment.
        let value = format!("f{i}");
        wait_for("an option set", WAIT, || {
            cli_on(
                &t.daemons[other_daemon],
                &t.dirs[other],
                &["volume", "set", "wv", "user.step", &value],
            )
            .status
            .success()
            .then_some(())
        })
        .unwrap();
        if i == 1
            && let Some(d) = daemon.take()
        {
            d.kill9();
        }
    }
    // Wait for a node that is not the victim to deliver, then bring the victim back.
    wait_for("another node delivering", WAIT, || {
        r.events()
            .iter()
            .rev()
            .find(|g| g.by != deliverer)
            .map(|_| ())
    })
    .unwrap();
    t.daemons
        .insert(victim, start_daemon(&t.dirs[victim], &ip, &[]).unwrap());
    let want = all_delivered(&t, &r, mark);
    let got: Vec<Got> = r
        .events()
        .into_iter()
        .filter(|g| g.body["seq"].as_i64().unwrap() > mark)
        .collect();
    // Nothing lost; a repeat is the same delivery again; the first of each come in order.
    let mut first: Vec<i64> = vec![];
    for g in &got {
        signed(g);
        let seq = g.body["seq"].as_i64().unwrap();
        if let Some(earlier) = got.iter().find(|x| x.body["id"] == g.body["id"]) {
            assert_eq!(earlier.body, g.body, "a repeat carries the same event");
        }
        if !first.contains(&seq) {
            first.push(seq);
        }
    }
    let want_seqs: Vec<i64> = want.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(first, want_seqs, "{got:#?}");
    assert!(
        want.iter().any(|e| e["event"] == "peer.offline"),
        "{want:#?}"
    );

    // Deleted: nothing more arrives.
    let out = t.cli(2, &["webhook", "delete", &r.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (s, b) = t.api(
        2,
        "DELETE",
        "/v1/events/webhook",
        Some(json!({"url": r.url})),
    );
    assert_eq!(s, 404, "{b}");
    assert!(b.to_string().contains("does not exist"), "{b}");
    let before = r.got().len();
    let out = t.cli(0, &["volume", "set", "wv", "user.step", "after"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(r.got().len(), before);
}
