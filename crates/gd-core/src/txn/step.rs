//! Steps: what a node does for one step of a transaction, typed, and the registry that finds
//! a step by the name stored in the transaction.
//!
//! Why typed: a step's arguments cross the store (the initiator writes them, every node of the
//! step reads them), so both sides must agree on one type. A [`Step`] names itself once
//! ([`Step::NAME`]) and declares its arguments ([`Step::Args`]); the initiator builds its call
//! with [`Call::of`], which encodes exactly that type, and the engine decodes it before the
//! step runs. A step that refuses its input (a brick already in use) says so with
//! [`StepError::Refused`], so the initiator answers the caller's mistake as one (a 4xx), not
//! as a cluster failure.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use super::opt_ms;

/// Why a step did not succeed on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// The step refused its input: the request was wrong, and nothing was changed.
    /// `check` names what refused it, as the answer says it ("brick check" → "brick check
    /// failed on <node>: <reason>").
    Refused { check: &'static str, reason: String },
    /// The step could not do its work.
    Failed(String),
}

impl StepError {
    pub fn refused(check: &'static str, reason: impl Into<String>) -> StepError {
        StepError::Refused {
            check,
            reason: reason.into(),
        }
    }
}

impl From<String> for StepError {
    fn from(e: String) -> StepError {
        StepError::Failed(e)
    }
}

impl From<&str> for StepError {
    fn from(e: &str) -> StepError {
        StepError::Failed(e.to_owned())
    }
}

impl From<gd_store::StoreError> for StepError {
    fn from(e: gd_store::StoreError) -> StepError {
        StepError::Failed(e.to_string())
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Refused { reason, .. } => f.write_str(reason),
            StepError::Failed(e) => f.write_str(e),
        }
    }
}

/// What a node does for one kind of step. Both directions must be idempotent: a step may run
/// twice after a crash, and undo may run where `run` never did.
#[async_trait]
pub trait Step: Send + Sync + 'static {
    /// The name the transaction stores ("volume-create.init-bricks"): unique in the cluster.
    const NAME: &'static str;
    /// The arguments, as the initiator gives them to every node of the step.
    type Args: Serialize + DeserializeOwned + Send + Sync;

    async fn run(&self, args: &Self::Args) -> Result<(), StepError>;
    async fn undo(&self, args: &Self::Args) -> Result<(), StepError>;
    /// [`Step::run`] with a note for the user on success (see [`super::Note`]); this is what
    /// the engine calls. Steps with something to say implement it.
    async fn run_noted(&self, args: &Self::Args) -> Result<Option<String>, StepError> {
        self.run(args).await.map(|()| None)
    }

    /// The call of this step on `nodes` with `args`, for a [`super::Transaction`].
    fn call(nodes: Vec<Uuid>, args: &Self::Args) -> Call
    where
        Self: Sized,
    {
        Call::of::<Self>(nodes, args)
    }
}

/// One step of a transaction as the initiator describes it (and the store keeps it): which
/// step, on which nodes, with which arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The [`Step::NAME`] of a registered step.
    pub name: String,
    /// The nodes that run it.
    pub nodes: Vec<Uuid>,
    /// Its arguments ([`Step::Args`], encoded), handed to the step on every node.
    #[serde(default)]
    pub args: serde_json::Value,
    /// How long the step may take on all of its nodes (default [`super::STEP_TIMEOUT`]).
    #[serde(default, with = "opt_ms")]
    pub timeout: Option<Duration>,
    /// Why its arguments could not be encoded, if they could not: the engine refuses such a
    /// transaction before it takes any lock.
    #[serde(skip)]
    pub(super) unencodable: Option<String>,
}

impl Call {
    /// The call of step `S` on `nodes` with `args`.
    pub fn of<S: Step>(nodes: Vec<Uuid>, args: &S::Args) -> Call {
        let (args, unencodable) = match serde_json::to_value(args) {
            Ok(v) => (v, None),
            Err(e) => (serde_json::Value::Null, Some(e.to_string())),
        };
        Call {
            name: S::NAME.to_owned(),
            nodes,
            args,
            timeout: None,
            unencodable,
        }
    }

    /// A call by name with arguments as they are: for tests of the engine itself (steps use
    /// [`Call::of`]).
    pub fn raw(name: impl Into<String>, nodes: Vec<Uuid>, args: serde_json::Value) -> Call {
        Call {
            name: name.into(),
            nodes,
            args,
            timeout: None,
            unencodable: None,
        }
    }

    /// This call with a bound other than [`super::STEP_TIMEOUT`].
    pub fn within(mut self, timeout: Duration) -> Call {
        self.timeout = Some(timeout);
        self
    }
}

/// A step behind its name, taking its arguments as stored.
#[async_trait]
pub(super) trait Handler: Send + Sync {
    async fn run(&self, args: &serde_json::Value) -> Result<Option<String>, StepError>;
    async fn undo(&self, args: &serde_json::Value) -> Result<(), StepError>;
}

struct Typed<S>(S);

impl<S: Step> Typed<S> {
    fn decode(args: &serde_json::Value) -> Result<S::Args, StepError> {
        S::Args::deserialize(args)
            .map_err(|e| StepError::Failed(format!("bad arguments for step {}: {e}", S::NAME)))
    }
}

#[async_trait]
impl<S: Step> Handler for Typed<S> {
    async fn run(&self, args: &serde_json::Value) -> Result<Option<String>, StepError> {
        self.0.run_noted(&Self::decode(args)?).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), StepError> {
        self.0.undo(&Self::decode(args)?).await
    }
}

/// A step name registered twice.
#[derive(Debug, thiserror::Error)]
#[error("internal: step {0} is registered twice")]
pub struct DuplicateStep(pub &'static str);

/// The steps a node knows, by name. Every node registers the same ones.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers step `S`; refuses a second step of the same name.
    pub fn add<S: Step>(&mut self, step: S) -> Result<&mut Registry, DuplicateStep> {
        if self.handlers.contains_key(S::NAME) {
            return Err(DuplicateStep(S::NAME));
        }
        self.handlers.insert(S::NAME, Arc::new(Typed(step)));
        Ok(self)
    }

    /// The registered step names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.handlers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    pub(super) fn get(&self, name: &str) -> Option<&Arc<dyn Handler>> {
        self.handlers.get(name)
    }
}
