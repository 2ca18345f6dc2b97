//! Typed steps: one name per step, arguments decoded as the step declares them, a refusal
//! told from a failure, and no transaction naming a step nobody registered.

use std::sync::Arc;

use async_trait::async_trait;
use gd_core::txn::{Call, Engine, Step, StepError, Transaction, TxnError};
use gd_store::{LocalStore, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

/// A check with typed arguments: refuses a brick named "/etc", fails on "broken".
struct CheckBricks;

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckArgs {
    bricks: Vec<String>,
}

#[async_trait]
impl Step for CheckBricks {
    const NAME: &'static str = "check-bricks";
    type Args = CheckArgs;

    async fn run(&self, args: &CheckArgs) -> Result<(), StepError> {
        for b in &args.bricks {
            match b.as_str() {
                "/etc" => return Err(StepError::refused("brick check", "brick /etc is /etc")),
                "broken" => return Err("the disk is broken".into()),
                _ => {}
            }
        }
        Ok(())
    }
    async fn undo(&self, _: &CheckArgs) -> Result<(), StepError> {
        Ok(())
    }
}

#[tokio::test]
async fn steps_are_typed_and_the_engine_refuses_what_nobody_registered() {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let a = node(&store, "A", &log, false).await;
    let mut reg = registry("A", &log);
    reg.add(CheckBricks).unwrap();
    // One name, one step.
    let again = reg.add(CheckBricks).map(|_| ()).unwrap_err();
    assert_eq!(
        again.to_string(),
        "internal: step check-bricks is registered twice"
    );
    assert_eq!(
        reg.names(),
        ["check-bricks", "commit", "create", "validate"]
    );
    let engine = Engine::new(store.clone(), a.id, reg);
    let cancel = CancellationToken::new();
    tokio::spawn(engine.clone().run_participant(cancel.clone()));
    let lease = store.lease_grant(30).await.unwrap();
    let txn = |name: &str, steps: Vec<Call>| Transaction {
        operation: format!("volume create {name}"),
        locks: vec![name.to_owned()],
        steps,
        ..Default::default()
    };

    // A name nobody registered: refused before anything is locked or written.
    let err = engine
        .execute(
            txn(
                "v20",
                vec![
                    call::<Validate>(vec![a.id], json!({})),
                    Call::raw("volume-frobnicate", vec![a.id], json!({})),
                ],
            ),
            lease,
        )
        .await
        .unwrap_err();
    match &err {
        TxnError::Invalid(m) => assert_eq!(m, "no step is registered as volume-frobnicate"),
        other => panic!("{other:?}"),
    }
    assert!(entries(&log).is_empty(), "{:?}", entries(&log));
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    assert!(store.range("locks/", 0).await.unwrap().kvs.is_empty());

    // A step that refuses its input says which check refused it.
    let check = |bricks: &[&str]| {
        CheckBricks::call(
            vec![a.id],
            &CheckArgs {
                bricks: bricks.iter().map(|b| b.to_string()).collect(),
            },
        )
    };
    let err = engine
        .execute(txn("v21", vec![check(&["/srv/b1", "/etc"])]), lease)
        .await
        .unwrap_err();
    match &err {
        TxnError::StepFailed {
            step,
            error,
            refused,
            ..
        } => {
            assert_eq!(step, "check-bricks");
            assert_eq!(error, "brick /etc is /etc");
            assert_eq!(refused.as_deref(), Some("brick check"));
        }
        other => panic!("{other:?}"),
    }
    // One that fails is not a refusal.
    let err = engine
        .execute(txn("v22", vec![check(&["broken"])]), lease)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TxnError::StepFailed { error, refused: None, .. } if error == "the disk is broken"),
        "{err:?}"
    );
    // Arguments of another shape fail the step with a clear error, on the node.
    let err = engine
        .execute(
            txn(
                "v23",
                vec![Call::raw("check-bricks", vec![a.id], json!({"disks": 3}))],
            ),
            lease,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TxnError::StepFailed { error, refused: None, .. }
            if error.starts_with("bad arguments for step check-bricks: missing field `bricks`")),
        "{err:?}"
    );
    engine
        .execute(txn("v24", vec![check(&["/srv/b1"])]), lease)
        .await
        .unwrap();
    cancel.cancel();
    a.cancel.cancel();
}
