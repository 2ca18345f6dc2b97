//! Traces on three real nodes exporting to an OTLP/HTTP receiver of the test's own (the
//! OpenTelemetry protocol's protobuf messages, decoded with `opentelemetry-proto`): a volume
//! create is one trace — the REST request, the transaction, and the steps every node ran.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use gd_testkit::*;
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value::Value as Any,
    trace::v1::Span,
};
use prost::Message;
use serde_json::json;

/// The spans received, as they came.
type Spans = Arc<Mutex<Vec<Span>>>;

/// An OTLP/HTTP receiver: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`.
fn receiver(addr: &str) -> (String, Spans) {
    let listener = TcpListener::bind(addr).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let spans: Spans = Arc::default();
    let got = spans.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let got = got.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                // One request after another on the connection.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut headers = BTreeMap::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.trim_end().split_once(':') {
                            headers.insert(k.to_ascii_lowercase(), v.trim().to_ascii_lowercase());
                        }
                    }
                    let mut body = vec![];
                    if headers
                        .get("transfer-encoding")
                        .is_some_and(|v| v.contains("chunked"))
                    {
                        loop {
                            let mut size = String::new();
                            reader.read_line(&mut size).unwrap();
                            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                            let mut chunk = vec![0; n + 2];
                            reader.read_exact(&mut chunk).unwrap();
                            if n == 0 {
                                break;
                            }
                            body.extend_from_slice(&chunk[..n]);
                        }
                    } else {
                        let len: usize = headers
                            .get("content-length")
                            .and_then(|l| l.parse().ok())
                            .unwrap_or(0);
                        body = vec![0; len];
                        reader.read_exact(&mut body).unwrap();
                    }
                    let req = ExportTraceServiceRequest::decode(body.as_slice())
                        .expect("an OTLP trace export");
                    let mut g = got.lock().unwrap();
                    for rs in req.resource_spans {
                        for ss in rs.scope_spans {
                            g.extend(ss.spans);
                        }
                    }
                    drop(g);
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
                    );
                }
            });
        }
    });
    (endpoint, spans)
}

/// A span's attribute as text.
fn attr(s: &Span, key: &str) -> Option<String> {
    s.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            Any::StringValue(v) => Some(v.clone()),
            Any::IntValue(v) => Some(v.to_string()),
            other => Some(format!("{other:?}")),
        }
    })
}

#[test]
fn a_volume_create_is_one_trace_with_the_steps_of_every_node() {
    let (endpoint, spans) = receiver("127.0.75.9:0");
    let t = three_with(75, &[("GD2_OTLP_ENDPOINT", endpoint.as_str())]);
    let (_, peers) = t.api(0, "GET", "/v1/peers", None);
    let ids: BTreeSet<String> = peers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "t")).collect();
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes",
        Some(create_body(
            "tv",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");

    // The batches come within seconds (each node exports every 5 s).
    let trace = wait_for(
        "the create's trace from every node",
        Duration::from_secs(60),
        || {
            let all = spans.lock().unwrap().clone();
            let txn = all.iter().find(|s| {
                s.name == "transaction" && attr(s, "kind").as_deref() == Some("volume-create")
            })?;
            let same: Vec<Span> = all
                .iter()
                .filter(|s| s.trace_id == txn.trace_id)
                .cloned()
                .collect();
            let nodes: BTreeSet<String> = same
                .iter()
                .filter(|s| s.name == "step")
                .filter_map(|s| attr(s, "node"))
                .collect();
            (nodes == ids).then_some(same)
        },
    )
    .unwrap();
    // One trace: the request that started it, the transaction under it, every step of it.
    let request = trace
        .iter()
        .find(|s| s.name == "request" && attr(s, "path").as_deref() == Some("/v1/volumes"))
        .expect("the REST request's span");
    let txn = trace.iter().find(|s| s.name == "transaction").unwrap();
    assert_eq!(
        txn.parent_span_id, request.span_id,
        "the transaction is the request's child"
    );
    let steps: Vec<&Span> = trace.iter().filter(|s| s.name == "step").collect();
    let names: BTreeSet<String> = steps.iter().filter_map(|s| attr(s, "step")).collect();
    for want in [
        "volume-create.validate-bricks",
        "volume-create.init-bricks",
        "volume-create.store",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(
        steps.iter().all(|s| s.parent_span_id == txn.span_id),
        "every step is the transaction's child"
    );
}
