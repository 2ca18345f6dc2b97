//! `glustercli transaction list|status|wait`: cluster operations that are running, and how
//! the ones of the last hour ended (`/v1/transactions`).
//!
//! An operation that outlasts the daemon's answer wait is followed by the command that
//! started it; these are for the operations whose client went away, and for scripts.

use clap::Subcommand;
use gd_api::Transaction;
use uuid::Uuid;

use crate::{
    client::FOLLOW_MAX,
    cmd::Context,
    error::CliError,
    output::{self, print_json, print_line, print_table},
};

/// `glustercli transaction ...`
#[derive(Debug, Clone, Subcommand)]
pub enum TransactionCommand {
    /// List the running transactions and those that ended within the hour, newest first
    List {
        /// How many ended transactions to list (at most 1000)
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(0..=1000))]
        ended: u16,
    },
    /// Show one transaction: where it is, or how it ended
    Status {
        /// The transaction's id
        id: Uuid,
    },
    /// Wait until a transaction has ended; exits 1 if it failed
    Wait {
        /// The transaction's id
        id: Uuid,
    },
}

/// Runs a `transaction` subcommand.
pub async fn run(ctx: &Context, cmd: TransactionCommand) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        TransactionCommand::List { ended } => {
            let list: Vec<Transaction> = client
                .get_query("/v1/transactions", &[("ended", &ended.to_string())])
                .await?;
            if ctx.json() {
                return Ok(print_json(&list)?);
            }
            let mut t = output::table(["ID", "OPERATION", "STATE", "STARTED", "STEP / ERROR"]);
            for txn in &list {
                t.add_row([
                    txn.id.to_string(),
                    txn.operation.clone(),
                    state(txn).to_owned(),
                    txn.started.clone(),
                    detail(txn),
                ]);
            }
            Ok(print_table(&t)?)
        }
        TransactionCommand::Status { id } => {
            let txn: Transaction = client.get(&format!("/v1/transactions/{id}")).await?;
            show(ctx, &txn)
        }
        TransactionCommand::Wait { id } => {
            let txn: Transaction = client.get(&format!("/v1/transactions/{id}")).await?;
            let txn = if txn.state.ended() {
                txn
            } else {
                client.follow(&txn, FOLLOW_MAX).await?
            };
            show(ctx, &txn)?;
            match txn.error {
                Some(_) => Err(CliError::Failed(format!("{} failed", txn.operation))),
                None => Ok(()),
            }
        }
    }
}

fn show(ctx: &Context, txn: &Transaction) -> Result<(), CliError> {
    if ctx.json() {
        return Ok(print_json(txn)?);
    }
    let mut lines = vec![
        format!("Transaction: {}", txn.id),
        format!("Operation: {}", txn.operation),
        format!("State: {}", state(txn)),
        format!("Started: {}", txn.started),
    ];
    if let Some(f) = &txn.finished {
        lines.push(format!("Finished: {f}"));
    }
    if let Some(step) = &txn.current_step {
        lines.push(format!("Step: {step}"));
    }
    if let Some(e) = &txn.error {
        lines.push(format!("Error: {}", e.message));
    }
    if !txn.undo_pending.is_empty() {
        lines.push(format!(
            "Undo pending on: {} (done when they return)",
            txn.undo_pending.join(", ")
        ));
    }
    for n in &txn.notes {
        lines.push(format!("Note: {n}"));
    }
    if let Some(by) = &txn.ended_by {
        lines.push(format!("Ended by: {by}"));
    }
    Ok(print_line(&lines.join("\n"))?)
}

fn state(txn: &Transaction) -> &'static str {
    match txn.state {
        gd_api::TxnState::Running => "running",
        gd_api::TxnState::Undoing => "undoing",
        gd_api::TxnState::Succeeded => "succeeded",
        gd_api::TxnState::Failed => "failed",
    }
}

fn detail(txn: &Transaction) -> String {
    match (&txn.current_step, &txn.error) {
        (_, Some(e)) => e.message.clone(),
        (Some(step), None) => step.clone(),
        (None, None) => String::new(),
    }
}
