//! REST authentication, GD2's scheme.
//!
//! Each node has a secret (`<localstatedir>/auth`, 64 hex characters, mode 0600) created at its
//! first start. A client that can read it signs a short-lived HS256 JWT per request with claims
//! `iss` (the user, `glustercli`), `iat`, `exp` and `qsh`, the hex SHA-256 of the request
//! ([`qsh`]): `METHOD&path`, and `METHOD&path&canonical-query` when the request has a query.
//! The hash ties the token to one request, so a leaked token cannot be replayed on another
//! path, nor with other query parameters (a token for `DELETE /v1/peers/X` does not delete
//! with `?force=true`). The query is canonical ([`canonical_query`]: parameters decoded, sorted,
//! encoded one way) so that client and server agree however a library spelled it.
//!
//! A verifier also bounds a token's lifetime (`exp - iat`, [`DEFAULT_MAX_LIFETIME`] unless
//! configured): the hash limits where a leaked token works, the bound limits for how long, and
//! a token minted for a century would otherwise be as good as the secret.
//!
//! GD2 clients and ours interoperate: the same claims, the same secret file, and for requests
//! without a query the same hash. A GD2 client hashes a request with a query as if it had none,
//! and is refused: accepting that is exactly the replay the query hash prevents.

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

/// The longest lifetime (`exp - iat`) a verifier accepts unless configured otherwise.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

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
    #[error(
        "token is valid for {lifetime_s} s (exp - iat), longer than the {max_s} s this node accepts"
    )]
    LifetimeTooLong { lifetime_s: u64, max_s: u64 },
    #[error("token signature is invalid (wrong secret?)")]
    BadSignature,
    #[error("token was issued for another request (qsh mismatch)")]
    QshMismatch,
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// The request hash of `METHOD target`, where `target` is the path and, after a `?`, the
/// query as sent: hex SHA-256 of `METHOD&path`, or of `METHOD&path&canonical-query` when the
/// query has a parameter ([`canonical_query`]). The first form is GD2's.
pub fn qsh(method: &str, target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = canonical_query(query);
    let method = method.to_ascii_uppercase();
    let text = if query.is_empty() {
        format!("{method}&{path}")
    } else {
        format!("{method}&{path}&{query}")
    };
    hex::encode(Sha256::digest(text))
}

/// A query string in the one form both ends hash: every `key=value` parameter decoded as a
/// server reads it (`application/x-www-form-urlencoded`: `+` is a blank, `%XX` a byte), sorted
/// by key then value (as bytes), percent-encoded again with every byte but `A-Z a-z 0-9 - . _ ~`
/// as `%XX` (upper-case hex), and joined with `&`. Empty parameters (`a&&b`) are dropped and a
/// key without `=` has an empty value, as a server reads them. `""` for no parameter.
pub fn canonical_query(query: &str) -> String {
    let mut params: Vec<(Vec<u8>, Vec<u8>)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect();
    params.sort();
    let mut out = String::with_capacity(query.len());
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(k, &mut out);
        out.push('=');
        percent_encode(v, &mut out);
    }
    out
}

/// `+` as a blank, `%XX` as the byte; anything else, a malformed `%` included, as it is.
fn form_decode(s: &str) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Appends `bytes` with every byte but the unreserved ones (RFC 3986) as `%XX`.
fn percent_encode(bytes: &[u8], out: &mut String) {
    for &c in bytes {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs a token for one request, `method target` (`target`: the path and the query as sent,
/// see [`qsh`]).
pub fn issue_token(
    user: &str,
    secret: &str,
    method: &str,
    target: &str,
    validity: Duration,
) -> String {
    let iat = now_s();
    let claims = Claims {
        iss: user.to_owned(),
        iat,
        exp: iat.saturating_add(validity.as_secs()),
        qsh: qsh(method, target),
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

/// Checks a token for the request `method target` (`target`: the path and the query as sent,
/// see [`qsh`]): signature with the secret of its issuer (`secret_of`), expiry, a lifetime
/// (`exp - iat`) of at most `max_lifetime`, and the request hash.
pub fn verify_token(
    token: &str,
    secret_of: impl Fn(&str) -> Option<String>,
    method: &str,
    target: &str,
    max_lifetime: Duration,
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
    // With `iat` at most CLOCK_SKEW_S ahead, this also bounds how long from now it is valid.
    let lifetime_s = claims.exp.saturating_sub(claims.iat);
    if lifetime_s > max_lifetime.as_secs() {
        return Err(AuthError::LifetimeTooLong {
            lifetime_s,
            max_s: max_lifetime.as_secs(),
        });
    }
    if claims.qsh != qsh(method, target) {
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

    const DAY: Duration = DEFAULT_MAX_LIFETIME;

    fn sha(text: &str) -> String {
        hex::encode(Sha256::digest(text))
    }

    #[test]
    fn qsh_is_gd2s_without_a_query_and_covers_a_query() {
        assert_eq!(qsh("get", "/v1/peers"), sha("GET&/v1/peers"));
        // No parameter is no query.
        assert_eq!(qsh("GET", "/v1/peers?"), sha("GET&/v1/peers"));
        assert_eq!(qsh("GET", "/v1/peers?&&"), sha("GET&/v1/peers"));
        assert_eq!(
            qsh("delete", "/v1/peers/X?force=true"),
            sha("DELETE&/v1/peers/X&force=true")
        );
        assert_ne!(
            qsh("DELETE", "/v1/peers/X?force=true"),
            qsh("DELETE", "/v1/peers/X")
        );
    }

    #[test]
    fn the_query_is_canonical() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1"), "a=1&b=2");
        // Sorted by key, then value; empty parameters dropped; a bare key has an empty value.
        assert_eq!(canonical_query("k=b&k=a&&j"), "j=&k=a&k=b");
        // One encoding, however the client spelled it: `+` and `%20` are a blank, hex case and
        // needless escapes do not matter, reserved characters are always escaped.
        for spelled in ["v=a b", "v=a+b", "v=a%20b", "v=%61%20b"] {
            assert_eq!(canonical_query(spelled), "v=a%20b", "{spelled}");
        }
        assert_eq!(canonical_query("p=%2f%2Fx"), "p=%2F%2Fx");
        assert_eq!(canonical_query("p=/x&q=a%26b"), "p=%2Fx&q=a%26b");
        assert_eq!(canonical_query("k%3D=v%3D"), "k%3D=v%3D");
        assert_eq!(canonical_query("u=%C3%A9&v=é"), "u=%C3%A9&v=%C3%A9");
        assert_eq!(canonical_query("x=a-._~Z9"), "x=a-._~Z9");
        // A malformed escape is kept as it is (and then escaped), never a panic.
        assert_eq!(canonical_query("x=%&y=%4&z=%zz"), "x=%25&y=%254&z=%25zz");
        // Bytes that are not UTF-8 stay distinct.
        assert_ne!(canonical_query("x=%FF"), canonical_query("x=%FE"));
    }

    proptest::proptest! {
        /// Any query: no panic, and the canonical form is its own canonical form.
        #[test]
        fn canonical_query_is_total_and_stable(q in "[a-z%+=&0-9A-F/ é]{0,40}") {
            let c = canonical_query(&q);
            proptest::prop_assert_eq!(canonical_query(&c), c.clone());
            proptest::prop_assert!(c.bytes().all(|b| b.is_ascii_graphic()));
        }
    }

    #[test]
    fn a_token_covers_its_query() {
        let t = issue_token(CLI_USER, "s3cret", "DELETE", "/v1/peers/X", TOKEN_VALIDITY);
        verify_token(&t, secrets, "DELETE", "/v1/peers/X", DAY).unwrap();
        assert_eq!(
            verify_token(&t, secrets, "DELETE", "/v1/peers/X?force=true", DAY),
            Err(AuthError::QshMismatch)
        );
        let t = issue_token(
            CLI_USER,
            "s3cret",
            "DELETE",
            "/v1/peers/X?force=true",
            TOKEN_VALIDITY,
        );
        verify_token(&t, secrets, "DELETE", "/v1/peers/X?force=true", DAY).unwrap();
        verify_token(&t, secrets, "DELETE", "/v1/peers/X?force=%74rue&", DAY).unwrap();
        for other in [
            "/v1/peers/X",
            "/v1/peers/X?force=false",
            "/v1/peers/X?force=true&x=1",
        ] {
            assert_eq!(
                verify_token(&t, secrets, "DELETE", other, DAY),
                Err(AuthError::QshMismatch),
                "{other}"
            );
        }
        let t = issue_token(
            CLI_USER,
            "s3cret",
            "GET",
            "/v1/volumes?b=2&a=1",
            TOKEN_VALIDITY,
        );
        verify_token(&t, secrets, "GET", "/v1/volumes?a=1&b=2", DAY).unwrap();
    }

    fn signed(claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap()
    }

    #[test]
    fn a_token_lives_at_most_the_maximum() {
        let now = now_s();
        let token = |iat: u64, exp: u64| {
            signed(&Claims {
                iss: CLI_USER.into(),
                iat,
                exp,
                qsh: qsh("GET", "/"),
            })
        };
        let century = 100 * 365 * 24 * 3600;
        assert_eq!(
            verify_token(&token(now, now + century), secrets, "GET", "/", DAY),
            Err(AuthError::LifetimeTooLong {
                lifetime_s: century,
                max_s: 24 * 3600
            })
        );
        assert_eq!(
            AuthError::LifetimeTooLong {
                lifetime_s: century,
                max_s: 86400
            }
            .to_string(),
            "token is valid for 3153600000 s (exp - iat), longer than the 86400 s this node accepts"
        );
        // An old iat does not hide a long life, nor does a far exp that is already valid.
        assert!(matches!(
            verify_token(
                &token(now - 3600, now + DAY.as_secs()),
                secrets,
                "GET",
                "/",
                DAY
            ),
            Err(AuthError::LifetimeTooLong { .. })
        ));
        assert!(matches!(
            verify_token(&token(now, u64::MAX), secrets, "GET", "/", DAY),
            Err(AuthError::LifetimeTooLong { .. })
        ));
        // Exactly the maximum is fine, and the maximum is the verifier's.
        verify_token(&token(now, now + DAY.as_secs()), secrets, "GET", "/", DAY).unwrap();
        let minute = Duration::from_secs(60);
        assert!(matches!(
            verify_token(&token(now, now + 120), secrets, "GET", "/", minute),
            Err(AuthError::LifetimeTooLong { .. })
        ));
        let t = issue_token(CLI_USER, "s3cret", "GET", "/", TOKEN_VALIDITY);
        verify_token(&t, secrets, "GET", "/", TOKEN_VALIDITY).unwrap();
    }

    #[test]
    fn token_round_trip_and_refusals() {
        let t = issue_token(CLI_USER, "s3cret", "GET", "/v1/peers", TOKEN_VALIDITY);
        let c = verify_token(&t, secrets, "GET", "/v1/peers", DAY).unwrap();
        assert_eq!(c.iss, CLI_USER);
        assert_eq!(
            verify_token(&t, secrets, "POST", "/v1/peers", DAY),
            Err(AuthError::QshMismatch)
        );
        let wrong = issue_token(CLI_USER, "other", "GET", "/v1/peers", TOKEN_VALIDITY);
        assert_eq!(
            verify_token(&wrong, secrets, "GET", "/v1/peers", DAY),
            Err(AuthError::BadSignature)
        );
        let stranger = issue_token("mallory", "s3cret", "GET", "/v1/peers", TOKEN_VALIDITY);
        assert_eq!(
            verify_token(&stranger, secrets, "GET", "/v1/peers", DAY),
            Err(AuthError::UnknownUser("mallory".into()))
        );
        assert!(matches!(
            verify_token("garbage", secrets, "GET", "/", DAY),
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
        assert_eq!(
            verify_token(&signed(&claims), secrets, "GET", "/", DAY),
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

/// The claims of a webhook delivery's token, GD1's eventsapi's (`iss` gluster, `sub` the
/// event's name, `iat` the event's time, `exp` a minute from now).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventClaims {
    pub iss: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
}

/// The `Authorization: Bearer` token of a webhook delivery signed with the webhook's
/// `secret`, as GD1's glustereventsd signs them (HS256).
pub fn event_token(secret: &str, subject: &str, iat: u64) -> String {
    let claims = EventClaims {
        iss: "gluster".to_owned(),
        sub: subject.to_owned(),
        iat,
        exp: now_s().saturating_add(60),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing with an in-memory key cannot fail")
}
