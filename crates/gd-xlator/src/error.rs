//! The errors and warnings of this crate. Each says what was refused, naming the key, the
//! path or the value, and what would have been accepted.

use std::fmt;
use std::path::PathBuf;

/// Why the option tables could not be loaded at all. A single library that fails is not an
/// error but a [`LoadWarning`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The xlator directory does not exist.
    #[error("xlator directory {path} does not exist")]
    NotFound {
        /// The directory asked for.
        path: PathBuf,
    },
    /// The path exists but is not a directory.
    #[error("xlator directory {path} is not a directory")]
    NotADirectory {
        /// The path asked for.
        path: PathBuf,
    },
    /// The directory could not be read.
    #[error("cannot read xlator directory {path}: {source}")]
    Read {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No xlator directory was found in the usual places (GlusterFS is not installed).
    #[error(
        "no GlusterFS xlator directory found (is GlusterFS installed?); searched {}",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotInstalled {
        /// The patterns searched.
        searched: Vec<PathBuf>,
    },
}

/// A library that was skipped, or read with a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// The file.
    pub path: PathBuf,
    /// What happened.
    pub message: String,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Why a key does not name an option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The key is not well formed.
    #[error("invalid option key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key names an xlator that is not installed.
    #[error("unknown option {key:?}: no xlator named {xlator:?} is installed")]
    UnknownXlator {
        /// The key as given.
        key: String,
        /// The xlator part of the key.
        xlator: String,
    },
    /// The xlator exists but has no such option.
    #[error("unknown option {key:?}: {xlator} has no option {option:?}")]
    UnknownOption {
        /// The key as given.
        key: String,
        /// The xlator.
        xlator: String,
        /// The option part of the key.
        option: String,
    },
    /// No installed xlator has an option of that name.
    #[error("unknown option {key:?}: no installed xlator has it{}", hint_suffix(.hints))]
    UnknownKey {
        /// The key as given.
        key: String,
        /// Keys with a similar name, for a "did you mean".
        hints: Vec<String>,
    },
    /// No option tables are loaded (GlusterFS is not installed), so no key can be checked.
    #[error("cannot check option {key:?}: no GlusterFS xlators are installed on this node")]
    NoTables {
        /// The key as given.
        key: String,
    },
}

fn hint_suffix(hints: &[String]) -> String {
    if hints.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", hints.join(", "))
    }
}

impl ResolveError {
    /// The key the error is about.
    pub fn key(&self) -> &str {
        match self {
            ResolveError::InvalidKey { key, .. }
            | ResolveError::UnknownXlator { key, .. }
            | ResolveError::UnknownOption { key, .. }
            | ResolveError::UnknownKey { key, .. }
            | ResolveError::NoTables { key } => key,
        }
    }
}

/// Why a value is refused for a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The key does not name an option.
    #[error(transparent)]
    Key(#[from] ResolveError),
    /// The value is not acceptable for the option.
    #[error(transparent)]
    Value(Box<InvalidValue>),
}

/// A value refused for an option, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for {key} ({xlator} option {option}, type {kind}): {reason}")]
pub struct InvalidValue {
    /// The key as given.
    pub key: String,
    /// The xlator the option belongs to.
    pub xlator: String,
    /// The option's canonical name.
    pub option: String,
    /// The option's type.
    pub kind: String,
    /// The value as given (cut to 200 characters).
    pub value: String,
    /// What is wrong and what is allowed.
    pub reason: String,
}

impl ValidationError {
    /// The key the error is about.
    pub fn key(&self) -> &str {
        match self {
            ValidationError::Key(e) => e.key(),
            ValidationError::Value(v) => &v.key,
        }
    }
}
