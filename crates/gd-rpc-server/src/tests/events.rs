//! EVENT_NOTIFY: a rebalance process's status push reaches the event sink with the volume of
//! the `rebalance/<vol>` volfile its connection fetched, and gets no reply, as with GD1; other
//! ops are answered, and a push from a connection that is no rebalance process is dropped.

use std::sync::{Arc, Mutex};

use gd_sunrpc::programs::dump;

use super::*;

/// Records the pushes it receives.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Dict)>>);

#[async_trait]
impl EventSink for Recorder {
    async fn defrag_status(&self, volume: &str, status: Dict) {
        self.0.lock().unwrap().push((volume.to_owned(), status));
    }
}

/// Serves any key, as the volume layer serves `rebalance/<vol>` to local processes.
struct AnyVolfile;

#[async_trait]
impl VolfileSource for AnyVolfile {
    async fn volfile(&self, key: &str) -> Option<String> {
        Some(format!(
            "volume {key}\n    type debug/io-stats\nend-volume\n"
        ))
    }
}

fn status_push(files: u64) -> handshake::EventNotifyReq {
    let mut d = Dict::new();
    d.set_u64("files", files);
    d.set_i32("status", 1);
    handshake::EventNotifyReq {
        op: handshake::EVENT_DEFRAG_STATUS,
        dict: d.to_xdata().unwrap(),
    }
}

impl Client {
    /// Sends EVENT_NOTIFY without waiting for a reply (a status push gets none).
    async fn push(&mut self, req: &handshake::EventNotifyReq) {
        self.xid += 1;
        let call = CallHeader::new(
            self.xid,
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::EVENT_NOTIFY,
        );
        self.io
            .write_all(&call.to_record(req).unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_rebalance_status_push_reaches_the_sink_with_its_volume_and_no_reply() {
    let server = SunRpcServer::default();
    server.set_volfile_source(Arc::new(AnyVolfile));
    let sink = Arc::new(Recorder::default());
    server.set_event_sink(sink.clone());
    let cancel = CancellationToken::new();

    let mut rebalance = Client::connect(&server, &cancel);
    assert!(rebalance.getspec("rebalance/v1").await.op_ret > 0);
    rebalance.push(&status_push(42)).await;
    eventually("the push reaches the sink", || {
        !sink.0.lock().unwrap().is_empty()
    })
    .await;
    let (volume, status) = sink.0.lock().unwrap()[0].clone();
    assert_eq!(volume, "v1");
    assert_eq!(status.get_u64("files").unwrap(), Some(42));
    // No reply was sent: the next record on the connection answers the next call.
    let _: dump::CommonRsp = rebalance
        .ok(dump::PROGRAM, dump::VERSION, dump::PING, &())
        .await;

    // Another op is answered -1, an empty status 0 (GD1's answers).
    let other = handshake::EventNotifyReq {
        op: 7,
        dict: vec![],
    };
    let rsp: handshake::EventNotifyRsp = rebalance
        .ok(
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::EVENT_NOTIFY,
            &other,
        )
        .await;
    assert_eq!(rsp.op_ret, -1);
    let empty = handshake::EventNotifyReq {
        op: handshake::EVENT_DEFRAG_STATUS,
        dict: vec![],
    };
    let rsp: handshake::EventNotifyRsp = rebalance
        .ok(
            handshake::PROGRAM,
            handshake::VERSION,
            handshake::EVENT_NOTIFY,
            &empty,
        )
        .await;
    assert_eq!(rsp.op_ret, 0);

    // A connection that fetched no rebalance volfile pushes in vain, and gets no reply either.
    let mut mount = Client::connect(&server, &cancel);
    assert!(mount.getspec("v1").await.op_ret > 0);
    mount.push(&status_push(7)).await;
    let _: dump::CommonRsp = mount
        .ok(dump::PROGRAM, dump::VERSION, dump::PING, &())
        .await;
    assert_eq!(sink.0.lock().unwrap().len(), 1);
    cancel.cancel();
}
