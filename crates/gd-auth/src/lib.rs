//! REST authentication, GD2's scheme.
//!
//! Each node has a secret (`<localstatedir>/auth`, 64 hex characters, mode 0600) created at its
//! first start. A client that can read it signs a short-lived HS256 JWT per request with claims
//! `iss` (the user, `glustercli`), `iat`, `exp` and `qsh`: the SHA-256 of `METHOD&path`, which
//! ties the token to one request so a leaked token cannot be replayed on another path.
//! GD2 clients and ours interoperate: the same claims, the same hash, the same secret file.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The user (JWT issuer) of the local CLI, GD2's only application name.
pub const CLI_USER: &str = "glustercli";

/// How long a token the CLI issues stays valid (GD2's clients use 120 s too).
pub const TOKEN_VALIDITY: Duration = Duration::from_secs(120);

/// How far a token's `iat` may lie in the future (clock skew between nodes).
const CLOCK_SKEW_S: u64 = 60;

/// The claims of a request token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
    pub qsh: String,
}

/// Why a token was refused. The messages go back to the caller in a 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing Authorization header: send 'Authorization: Bearer <token>'")]
    MissingHeader,
    #[error("malformed Authorization header: expected 'Bearer <token>'")]
    MalformedHeader,
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error("token expired")]
    Expired,
    #[error("token signature is invalid (wrong secret?)")]
    BadSignature,
    #[error("token was issued for another request (qsh mismatch)")]
    QshMismatch,
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// The query-string hash: hex SHA-256 of `METHOD&path` (the path without its query).
pub fn qsh(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    hex::encode(Sha256::digest(format!(
        "{}&{}",
        method.to_ascii_uppercase(),
        path
    )))
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs a token for one request.
pub fn issue_token(
    user: &str,
    secret: &str,
    method: &str,
    path: &str,
    validity: Duration,
) -> String {
    let iat = now_s();
    let claims = Claims {
        iss: user.to_owned(),
        iat,
        exp: iat + validity.as_secs(),
        qsh: qsh(method, path),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing with an in-memory key cannot fail")
}

/// Extracts the token from an `Authorization` header value (`Bearer <token>`, any case).
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::MissingHeader)?;
    let (scheme, token) = header
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedHeader)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::MalformedHeader);
    }
    Ok(token.trim())
}

/// Checks a token for a request: signature with the secret of its issuer (`secret_of`), expiry
/// and the request hash.
pub fn verify_token(
    token: &str,
    secret_of: impl Fn(&str) -> Option<String>,
    method: &str,
    path: &str,
) -> Result<Claims, AuthError> {
    // Read the issuer before verifying, to pick the secret; nothing else is trusted yet.
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .map_err(|e| AuthError::Invalid(e.to_string()))?;
    let user = unverified.claims.iss;
    let secret = secret_of(&user).ok_or(AuthError::UnknownUser(user.clone()))?;

    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation.set_issuer(&[user.as_str()]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
        jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthError::BadSignature,
        _ => AuthError::Invalid(e.to_string()),
    })?;
    let claims = data.claims;
    if claims.iat > now_s() + CLOCK_SKEW_S {
        return Err(AuthError::Invalid("token issued in the future".into()));
    }
    if claims.qsh != qsh(method, path) {
        return Err(AuthError::QshMismatch);
    }
    Ok(claims)
}

/// A fresh secret: 32 random bytes, hex encoded (GD2's format).
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Reads a secret file, trimming surrounding whitespace.
pub fn read_secret(path: &Path) -> io::Result<String> {
    let s = fs::read_to_string(path)?;
    let s = s.trim();
    if s.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(s.to_owned())
}

/// Reads the secret at `path`, creating it (mode 0600) when it does not exist yet.
/// An existing file's mode is tightened to 0600 if it is readable by others.
pub fn load_or_create_secret(path: &Path) -> io::Result<String> {
    match read_secret(path) {
        Ok(s) => {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
            }
            Ok(s)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let secret = generate_secret();
            write_private_atomic(path, secret.as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(e),
    }
}

/// Writes a private (0600) file so that a crash leaves either the old or the new content:
/// `<path>.tmp`, fsync, rename. For secrets and identities.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(user: &str) -> Option<String> {
        (user == CLI_USER).then(|| "s3cret".to_owned())
    }

    #[test]
    fn qsh_matches_gd2_definition() {
        // sha256("GET&/v1/peers")
        assert_eq!(
            qsh("get", "/v1/peers?x=1"),
            hex::encode(Sha256::digest(b"GET&/v1/peers"))
        );
    }

    #[test]
    fn token_round_trip_and_refusals() {
        let t = issue_token(CLI_USER, "s3cret", "GET", "/v1/peers", TOKEN_VALIDITY);
        let c = verify_token(&t, secrets, "GET", "/v1/peers").unwrap();
        assert_eq!(c.iss, CLI_USER);
        assert_eq!(
            verify_token(&t, secrets, "POST", "/v1/peers"),
            Err(AuthError::QshMismatch)
        );
        let wrong = issue_token(CLI_USER, "other", "GET", "/v1/peers", TOKEN_VALIDITY);
        assert_eq!(
            verify_token(&wrong, secrets, "GET", "/v1/peers"),
            Err(AuthError::BadSignature)
        );
        let stranger = issue_token("mallory", "s3cret", "GET", "/v1/peers", TOKEN_VALIDITY);
        assert_eq!(
            verify_token(&stranger, secrets, "GET", "/v1/peers"),
            Err(AuthError::UnknownUser("mallory".into()))
        );
        assert!(matches!(
            verify_token("garbage", secrets, "GET", "/"),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn expired_token_is_refused() {
        let claims = Claims {
            iss: CLI_USER.into(),
            iat: now_s() - 300,
            exp: now_s() - 100,
            qsh: qsh("GET", "/"),
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert_eq!(
            verify_token(&t, secrets, "GET", "/"),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::MissingHeader));
        assert_eq!(
            bearer_token(Some("Basic abc")),
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(
            bearer_token(Some("Bearer")),
            Err(AuthError::MalformedHeader)
        );
    }

    #[test]
    fn secret_file_is_created_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth");
        let a = load_or_create_secret(&p).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_or_create_secret(&p).unwrap(), a);
        fs::write(&p, "").unwrap();
        assert!(read_secret(&p).is_err());
    }
}
