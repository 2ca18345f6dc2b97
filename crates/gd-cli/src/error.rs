//! The errors a command can end with, their hints and their exit codes.
//!
//! One place decides what the user reads after "Error: " and which status the process exits
//! with, so commands just return `Result<(), CliError>` with `?`.

use std::io;

use uuid::Uuid;

use crate::{
    client::ClientError,
    secret::{DEFAULT_SECRET_FILE, SecretFileError, SecretSource},
};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The daemon refused our credentials (HTTP 401); `source` holds its message.
    #[error("{source}")]
    Unauthorized {
        /// The 401 answer.
        source: ClientError,
        /// Where the secret that was refused came from.
        secret: SecretSource,
    },
    /// The secret file exists (or was named) but cannot be read.
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
    /// Writing to stdout failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
    /// No peer has the name or address given on the command line.
    #[error("no peer matches {0}")]
    NoPeerMatch(String),
    /// Several peers have the name or address given on the command line.
    #[error("{} peers match {arg}: {}", ids.len(), join_ids(ids))]
    AmbiguousPeer {
        /// The name or address.
        arg: String,
        /// The peers it matches.
        ids: Vec<Uuid>,
    },
    /// The user answered no to a confirmation question.
    #[error("{0}")]
    Cancelled(String),
    /// An operation the command waited for ended in failure.
    #[error("{0}")]
    Failed(String),
    /// The command line is wrong in a way found after parsing (exit status 2, as clap's).
    #[error("{0}")]
    Usage(String),
}

fn join_ids(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Output(e)
    }
}

impl CliError {
    /// A second line telling the user what to try, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Unauthorized { secret, .. } => Some(format!(
                "{secret}; check --secret-file/--secret: the secret is <localstatedir>/auth on the server \
                 ({} by default)",
                DEFAULT_SECRET_FILE
            )),
            CliError::SecretFile(e) if e.source.kind() == io::ErrorKind::PermissionDenied => Some(
                "the secret file is readable by root only: run glustercli as root, or pass --secret-file/--secret"
                    .to_owned(),
            ),
            CliError::Client(ClientError::Unreachable { endpoint, reason }) if endpoint.starts_with("https") => {
                let r = reason.to_ascii_lowercase();
                (r.contains("certificate") || r.contains("tls") || r.contains("handshake"))
                    .then(|| "pass the CA that signed glusterd2's certificate with --cacert, or use --insecure".to_owned())
            }
            CliError::Client(ClientError::Timeout { .. }) => Some("use --timeout to wait longer".to_owned()),
            CliError::NoPeerMatch(_) => {
                Some("give the peer's id, name or address as `glustercli peer list` shows them".to_owned())
            }
            CliError::AmbiguousPeer { .. } => Some("give the peer's id instead".to_owned()),
            CliError::Client(ClientError::Transport { endpoint, .. }) if endpoint.starts_with("http:") => {
                Some("if glusterd2 serves TLS, use an https:// endpoint".to_owned())
            }
            _ => None,
        }
    }

    /// Whether this is stdout being closed early (`glustercli peer list | head -1`): not worth
    /// an error message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The process's exit status: 2 for usage errors (as clap's), 1 for every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            _ if self.is_broken_pipe() => 0,
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::StatusCode;

    #[test]
    fn unauthorized_shows_the_daemon_message_and_a_hint() {
        let source = ClientError::Api {
            status: StatusCode::UNAUTHORIZED,
            body: gd_api::ErrorResp::new(
                gd_api::ErrorCode::Unauthorized,
                "token signature is invalid (wrong secret?)",
            ),
        };
        let e = CliError::Unauthorized {
            source,
            secret: SecretSource::Flag,
        };
        assert_eq!(e.to_string(), "token signature is invalid (wrong secret?)");
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("--secret-file/--secret") && hint.contains("<localstatedir>/auth"),
            "{hint}"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn peer_resolution_errors() {
        let e = CliError::NoPeerMatch("node9".into());
        assert_eq!(e.to_string(), "no peer matches node9");
        assert!(e.hint().unwrap().contains("peer list"));
        let e = CliError::AmbiguousPeer {
            arg: "10.0.0.1".into(),
            ids: vec![Uuid::nil(), Uuid::max()],
        };
        assert_eq!(
            e.to_string(),
            "2 peers match 10.0.0.1: 00000000-0000-0000-0000-000000000000, \
             ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
        assert_eq!(e.hint().as_deref(), Some("give the peer's id instead"));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        let e = CliError::Cancelled("volume v was not deleted".into());
        assert_eq!((e.exit_code(), e.hint()), (1, None));
    }

    #[test]
    fn broken_pipe_is_quiet() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(e.is_broken_pipe());
        assert_eq!(e.exit_code(), 0);
    }
}
