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

use crate::{
    cli::{GlobalOpts, SECRET_ENV, STATE_DIR_ENV, default_secret_file},
    error::CliError,
};

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
/// `env_secret` is the value of `$GD2_AUTH_SECRET`, passed in so that tests need not touch the
/// process environment.
pub fn resolve(
    opts: &GlobalOpts,
    env_secret: Option<String>,
) -> Result<(Option<String>, SecretSource), CliError> {
    if let Some(s) = opts
        .secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Ok((Some(s.to_owned()), SecretSource::Flag));
    }
    if let Some(path) = &opts.secret_file {
        let secret = read(path)?;
        return Ok((Some(secret), SecretSource::File(path.clone())));
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
        Err(source) => Err(CliError::SecretFile { path, source }),
    }
}

fn read(path: &Path) -> Result<String, CliError> {
    gd_auth::read_secret(path).map_err(|source| CliError::SecretFile {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

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

        let (s, src) = resolve(
            &opts(&["--secret", "flag", "--secret-file", f]),
            Some("env".into()),
        )
        .unwrap();
        assert_eq!((s.as_deref(), src), (Some("flag"), SecretSource::Flag));

        let (s, src) = resolve(&opts(&["--secret-file", f]), Some("env".into())).unwrap();
        assert_eq!(
            (s.as_deref(), src),
            (Some("fromfile"), SecretSource::File(file.clone()))
        );

        let (s, src) = resolve(&opts(&[]), Some(" env ".into())).unwrap();
        assert_eq!((s.as_deref(), src), (Some("env"), SecretSource::Env));
    }

    #[test]
    fn explicit_file_problems_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = resolve(&opts(&["--secret-file", missing.to_str().unwrap()]), None).unwrap_err();
        assert!(matches!(e, CliError::SecretFile { .. }), "{e}");
        // A directory cannot be read as a file, even by root.
        let e = resolve(
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
        assert!(resolve(&opts(&["--secret-file", empty.to_str().unwrap()]), None).is_err());
    }
}
