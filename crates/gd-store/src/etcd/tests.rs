//! Unit tests of how etcd-client errors are told.

use super::*;

#[test]
fn a_connection_given_up_on_is_said_in_words() {
    let e = ec::Error::GRpcStatus(tonic::Status::unavailable(
        "h2 protocol error: http2 error: transport error: keep-alive timed out: operation \
         timed out",
    ));
    let got = map_error(e, 0, Duration::from_secs(5));
    assert!(
        matches!(&got, StoreError::Unavailable { reason }
            if reason.starts_with("the etcd member this request went to stopped answering")),
        "{got:?}"
    );
    assert!(got.retryable());
}
