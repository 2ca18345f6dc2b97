//! `glustercli events list|watch` (the cluster's events: `/v1/events`, `/v1/events/stream`)
//! and `glustercli webhook add|list|delete|test` (`/v1/events/webhook`).

use clap::Subcommand;
use gd_api::{Event, WebhookDelReq, WebhookReq, WebhookTestResult};

use crate::{
    cmd::Context,
    error::CliError,
    output::{self, print_json, print_line, print_table},
};

/// `glustercli events ...`
#[derive(Debug, Clone, Subcommand)]
pub enum EventsCommand {
    /// List the cluster's recent events, oldest first (the cluster keeps the last 1,000)
    List {
        /// Only the events after this one (its SEQ)
        #[arg(long)]
        after: Option<i64>,
        /// At most this many
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// Print the cluster's events as they happen, until interrupted
    Watch {
        /// First the recorded events after this one (its SEQ), then the new ones
        #[arg(long)]
        after: Option<i64>,
    },
}

/// `glustercli webhook ...` (the signing secret is `--jwt-secret`: `--secret` is the REST
/// secret, a global option, and an argument's id is its field's name, so the field differs too)
#[derive(Debug, Clone, Subcommand)]
pub enum WebhookCommand {
    /// Deliver every event from now on to URL (a POST of GD1's eventsapi body)
    Add {
        /// Where events are POSTed (http:// or https://)
        url: String,
        /// Sent as `Authorization: Bearer <token>`
        #[arg(long)]
        bearer_token: Option<String>,
        /// Sign each delivery with a JWT (HS256) made with this secret, as GD1 does
        #[arg(long, value_name = "SECRET")]
        jwt_secret: Option<String>,
    },
    /// List the webhooks' URLs
    List,
    /// Stop delivering to URL
    Delete {
        /// The webhook's URL
        url: String,
    },
    /// Send a test event to URL from every online node
    Test {
        /// The URL to test
        url: String,
        /// Sent as `Authorization: Bearer <token>`
        #[arg(long)]
        bearer_token: Option<String>,
        /// Sign the test with a JWT made with this secret
        #[arg(long, value_name = "SECRET")]
        jwt_secret: Option<String>,
    },
}

/// Runs an `events` subcommand.
pub async fn run_events(ctx: &Context, cmd: EventsCommand) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        EventsCommand::List { after, limit } => {
            let mut query = vec![("limit", limit.to_string())];
            if let Some(a) = after {
                query.push(("after", a.to_string()));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let events: Vec<Event> = client.get_query("/v1/events", &query).await?;
            if ctx.json() {
                return Ok(print_json(&events)?);
            }
            let mut t = output::table(["SEQ", "TIME", "EVENT", "MESSAGE"]);
            for e in &events {
                t.add_row([
                    e.seq.to_string(),
                    e.ts.clone(),
                    e.event.clone(),
                    e.message.clone(),
                ]);
            }
            Ok(print_table(&t)?)
        }
        EventsCommand::Watch { after } => {
            let after = after.map(|a| a.to_string());
            let query: Vec<(&str, &str)> = after.iter().map(|a| ("after", a.as_str())).collect();
            let mut resp = client.stream("/v1/events/stream", &query).await?;
            let mut pending = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| CliError::Failed(format!("the event stream broke: {e}")))?
            {
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let line = String::from_utf8_lossy(&line);
                    let Some(data) = line.trim_end().strip_prefix("data:") else {
                        continue;
                    };
                    let Ok(e) = serde_json::from_str::<Event>(data.trim()) else {
                        continue;
                    };
                    if ctx.json() {
                        print_line(&serde_json::to_string(&e).unwrap_or_default())?;
                    } else {
                        print_line(&format!("{} {} {} {}", e.seq, e.ts, e.event, e.message))?;
                    }
                }
            }
            Err(CliError::Failed(
                "the event stream ended; resume with --after <the last SEQ>".into(),
            ))
        }
    }
}

/// Runs a `webhook` subcommand.
pub async fn run_webhook(ctx: &Context, cmd: WebhookCommand) -> Result<(), CliError> {
    let client = ctx.client()?;
    let req = |url: String, token: Option<String>, secret: Option<String>| WebhookReq {
        url,
        token: token.unwrap_or_default(),
        secret: secret.unwrap_or_default(),
    };
    match cmd {
        WebhookCommand::Add {
            url,
            bearer_token,
            jwt_secret: secret,
        } => {
            let _: serde_json::Value = client
                .post(
                    "/v1/events/webhook",
                    &req(url.clone(), bearer_token, secret),
                )
                .await?;
            Ok(print_line(&format!("Webhook {url} added"))?)
        }
        WebhookCommand::List => {
            let urls: Vec<String> = client.get("/v1/events/webhook").await?;
            if ctx.json() {
                return Ok(print_json(&urls)?);
            }
            if urls.is_empty() {
                return Ok(print_line("No webhooks")?);
            }
            Ok(print_line(&urls.join("\n"))?)
        }
        WebhookCommand::Delete { url } => {
            let _: serde_json::Value = client
                .delete_with_body("/v1/events/webhook", &WebhookDelReq { url: url.clone() })
                .await?;
            Ok(print_line(&format!("Webhook {url} deleted"))?)
        }
        WebhookCommand::Test {
            url,
            bearer_token,
            jwt_secret: secret,
        } => {
            let results: Vec<WebhookTestResult> = client
                .post(
                    "/v1/events/webhook/test",
                    &req(url.clone(), bearer_token, secret),
                )
                .await?;
            if ctx.json() {
                print_json(&results)?;
            } else {
                let mut t = output::table(["NODE", "DELIVERED", "ERROR"]);
                for r in &results {
                    t.add_row([
                        r.node.to_string(),
                        output::yes_no(r.ok).to_owned(),
                        r.error.clone(),
                    ]);
                }
                print_table(&t)?;
            }
            let failed = results.iter().filter(|r| !r.ok).count();
            match failed {
                0 => Ok(()),
                n => Err(CliError::Failed(format!(
                    "{n} of {} nodes could not deliver to {url}",
                    results.len()
                ))),
            }
        }
    }
}
