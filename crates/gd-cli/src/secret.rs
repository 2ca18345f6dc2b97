//! Where the REST secret comes from.
//!
//! GD2's order, most specific first: `--secret`, `--secret-file`, `$GD2_AUTH_SECRET`, then the
//! default file `/var/lib/glusterd2/auth` (`$GD2_STATE_DIR/auth` when that is set). Only the default file may be absent (the daemon may
//! run with auth off, or the CLI on a machine without the secret): requests then carry no token.
//! Any other failure (an explicit file that is missing, a file we may not read, an empty file)
//! is reported, because silently sending no token would only turn it into a confusing 401.

use std::{
    fmt, io,
    path::{Path, PathBuf},
};

/// The secret file read when neither `--secret`, `--secret-file` nor `$GD2_AUTH_SECRET` is given.
pub const DEFAULT_SECRET_FILE: &str = "/var/lib/glusterd2/auth";

/// The environment variable naming the daemon's state directory (GD2's `GD2_STATE_DIR`); when
/// set, the default secret file is `$GD2_STATE_DIR/auth`.
pub const STATE_DIR_ENV: &str = "GD2_STATE_DIR";

/// The default secret file, given the value of `$GD2_STATE_DIR`.
pub fn default_secret_file(state_dir: Option<&std::ffi::OsStr>) -> PathBuf {
    match state_dir.filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("auth"),
        None => PathBuf::from(DEFAULT_SECRET_FILE),
    }
}

/// The environment variable holding the secret itself.
pub const SECRET_ENV: &str = "GD2_AUTH_SECRET";

/// The secret file named or found cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the secret file {}: {source}", path.display())]
pub struct SecretFileError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

/// Where the secret used for the requests came from; for the hint of a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `--secret`.
    Flag,
    /// A file, `--secret-file` or the default one.
    File(PathBuf),
    /// `$GD2_AUTH_SECRET`.
    Env,
    /// None: the default file does not exist, requests are not signed.
    Missing(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Flag => write!(f, "the secret given with --secret was used"),
            SecretSource::File(p) => write!(f, "the secret was read from {}", p.display()),
            SecretSource::Env => write!(f, "the secret was taken from ${SECRET_ENV}"),
            SecretSource::Missing(p) => write!(
                f,
                "no token was sent because {} does not exist",
                p.display()
            ),
        }
    }
}

/// The secret to sign requests with (`None`: do not sign), and where it came from.
///
/// `flag` is `--secret`, `file` `--secret-file`, and `env_secret` the value of
/// `$GD2_AUTH_SECRET`, passed in so that tests need not touch the process environment.
pub fn resolve(
    flag: Option<&str>,
    file: Option<&Path>,
    env_secret: Option<String>,
) -> Result<(Option<String>, SecretSource), SecretFileError> {
    if let Some(s) = flag.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok((Some(s.to_owned()), SecretSource::Flag));
    }
    if let Some(path) = file {
        let secret = read(path)?;
        return Ok((Some(secret), SecretSource::File(path.to_owned())));
    }
    if let Some(s) = env_secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Ok((Some(s.to_owned()), SecretSource::Env));
    }
    let path = default_secret_file(std::env::var_os(STATE_DIR_ENV).as_deref());
    match gd_auth::read_secret(&path) {
        Ok(s) => Ok((Some(s), SecretSource::File(path))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((None, SecretSource::Missing(path))),
        Err(source) => Err(SecretFileError { path, source }),
    }
}

fn read(path: &Path) -> Result<String, SecretFileError> {
    gd_auth::read_secret(path).map_err(|source| SecretFileError {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{cli::Cli, global::GlobalOpts};

    /// [`resolve`] with the flags of a parsed command line.
    fn resolve_with(
        o: &GlobalOpts,
        env: Option<String>,
    ) -> Result<(Option<String>, SecretSource), SecretFileError> {
        resolve(o.secret.as_deref(), o.secret_file.as_deref(), env)
    }

    fn opts(args: &[&str]) -> GlobalOpts {
        let mut v = vec!["glustercli"];
        v.extend_from_slice(args);
        v.push("version");
        Cli::try_parse_from(v).unwrap().global
    }

    #[test]
    fn precedence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth");
        std::fs::write(&file, "fromfile\n").unwrap();
        let f = file.to_str().unwrap();

        let (s, src) = resolve_with(
            &opts(&["--secret", "flag", "--secret-file", f]),
            Some("env".into()),
        )
        .unwrap();
        assert_eq!((s.as_deref(), src), (Some("flag"), SecretSource::Flag));

        let (s, src) = resolve_with(&opts(&["--secret-file", f]), Some("env".into())).unwrap();
        assert_eq!(
            (s.as_deref(), src),
            (Some("fromfile"), SecretSource::File(file.clone()))
        );

        let (s, src) = resolve_with(&opts(&[]), Some(" env ".into())).unwrap();
        assert_eq!((s.as_deref(), src), (Some("env"), SecretSource::Env));
    }

    #[test]
    fn explicit_file_problems_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e =
            resolve_with(&opts(&["--secret-file", missing.to_str().unwrap()]), None).unwrap_err();
        assert_eq!(e.path, missing, "{e}");
        // A directory cannot be read as a file, even by root.
        let e = resolve_with(
            &opts(&["--secret-file", dir.path().to_str().unwrap()]),
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("cannot read the secret file"),
            "{e}"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "  \n").unwrap();
        assert!(resolve_with(&opts(&["--secret-file", empty.to_str().unwrap()]), None).is_err());
    }
}
