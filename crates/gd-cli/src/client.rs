//! A small typed client of glusterd2's REST API.
//!
//! Every command of the CLI, and the daemon's end-to-end tests, talk to glusterd2 through this
//! one type so that authentication (a per-request JWT, GD2's scheme), timeouts, TLS options and
//! the decoding of error bodies (`{"errors":[...]}`) are done once, the same way everywhere.
//!
//! Errors are a typed [`ClientError`] rather than strings: callers match on "the daemon is not
//! there" ([`ClientError::Unreachable`]) versus "the daemon said no" ([`ClientError::Api`], with
//! the decoded [`ErrorResp`] and its stable codes) to choose hints and exit codes. An API error
//! reads as the daemon's message alone: the message is written for people and says everything
//! once, while the error's `fields` repeat parts of it for programs (which read the JSON).

use std::{
    error::Error as StdError,
    fmt, fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use gd_api::{ErrorCode, ErrorResp};
use serde::{Serialize, de::DeserializeOwned};

pub use reqwest::{Method, StatusCode, Url};

mod follow;

pub use follow::FOLLOW_MAX;

/// The endpoint glusterd2 listens on by default (GD2's `clientaddress`).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:24007";

/// The header with which the daemon marks an answer served from its local cache.
pub const STALE_HEADER: &str = "x-gluster-stale-revision";
/// The header of a paged list's answer that carries the next page's token.
pub const CONTINUE_HEADER: &str = "x-gluster-continue";
/// How many items the CLI asks for per page of a paged list.
pub const PAGE: usize = 500;
/// How many pages the CLI follows at most (5 million items).
pub const PAGES_MAX: usize = 10_000;

/// The default request timeout (GD2's CLI uses 30 s too).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a stream (`events watch`) lasts; the command then ends, and may resume.
pub const STREAM_MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// Who signs the request tokens, and with which secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The JWT issuer (`iss`); glusterd2 only knows [`gd_auth::CLI_USER`].
    pub user: String,
    /// The shared secret (the contents of `<localstatedir>/auth` on the server).
    pub secret: String,
}

impl Credentials {
    /// Credentials of `user` with `secret`.
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    // Never print the secret, even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// How to build a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The base URL of the daemon (`http(s)://host:port`); request paths are joined to it.
    pub endpoint: Url,
    /// When `None`, requests carry no `Authorization` header (for daemons with auth off).
    pub credentials: Option<Credentials>,
    /// The timeout of a whole request (connect, send, read the answer).
    pub timeout: Duration,
    /// PEM certificates (one or a bundle) trusted as the only roots for https endpoints.
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any server certificate (no verification at all).
    pub insecure: bool,
}

impl ClientConfig {
    /// A configuration for `endpoint` with no credentials, the default timeout and the system's
    /// TLS roots.
    pub fn new(endpoint: Url) -> Self {
        Self {
            endpoint,
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            ca_pem: None,
            insecure: false,
        }
    }

    /// Signs every request with `credentials`.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trusts the certificates of a PEM bundle (and only them) for https endpoints.
    pub fn ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// Like [`ClientConfig::ca_pem`], reading the bundle from a file.
    pub fn ca_file(self, path: &Path) -> Result<Self, ClientError> {
        let pem = fs::read(path).map_err(|source| ClientError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(self.ca_pem(pem))
    }

    /// Skips the verification of server certificates.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made (refused, no route, DNS, TLS handshake...).
    #[error("cannot reach glusterd2 at {endpoint}: {reason}. Is glusterd2 running?")]
    Unreachable {
        /// The daemon's base URL.
        endpoint: String,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        reason: String,
    },
    /// The daemon did not answer within the timeout.
    #[error("glusterd2 at {endpoint} did not answer within {}", humantime::format_duration(*timeout))]
    Timeout {
        /// The daemon's base URL.
        endpoint: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The daemon answered with an error status and a well-formed error body; it reads as the
    /// messages of the body's errors.
    #[error("{}", format_error_resp(body))]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The decoded `{"errors":[...]}` body.
        body: ErrorResp,
    },
    /// The daemon (or something in front of it) answered with an error status and a body that is
    /// not an [`ErrorResp`].
    #[error("{method} {path}: {status}{}", body_suffix(body))]
    Status {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// The HTTP status.
        status: StatusCode,
        /// The body, as text (possibly empty).
        body: String,
    },
    /// A success answer whose body is not the expected type.
    #[error("cannot decode the answer to {method} {path}: {reason}")]
    Decode {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// The decoder's error.
        reason: String,
    },
    /// The connection broke after it was made (while sending or reading).
    #[error("request to glusterd2 at {endpoint} failed: {reason}")]
    Transport {
        /// The daemon's base URL.
        endpoint: String,
        /// The innermost cause.
        reason: String,
    },
    /// A local file (the CA certificate) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An operation still running when the client stopped following it.
    #[error("{operation} is still running after {}; see `glustercli transaction status {id}`", humantime::format_duration(*waited))]
    StillRunning {
        /// What it does.
        operation: String,
        /// Its transaction.
        id: uuid::Uuid,
        /// How long it was followed.
        waited: Duration,
    },
    /// The client cannot be built from its configuration (bad certificate, bad path...).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// The HTTP status of an answered request, `None` when there was no answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } | ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API code of the first error of an [`ClientError::Api`] answer, when it is a known one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { body, .. } => body
                .errors
                .first()
                .and_then(|e| ErrorCode::from_u32(e.code)),
            _ => None,
        }
    }

    /// Whether the daemon refused the request's credentials (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }
}

/// The messages of an error body, joined by "; ". The fields are left out: they restate parts
/// of the message for programs.
fn format_error_resp(body: &ErrorResp) -> String {
    if body.errors.is_empty() {
        return "the daemon reported an error without a message".to_owned();
    }
    body.errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The text of a `Warning` header the daemon sent about what it had to force (code 299,
/// `299 <agent> "<text>"`, `\` escaping), unescaped; `None` for other warnings (the stale
/// answer's 110 has its own line) and for malformed values.
fn forced_warning(value: &str) -> Option<String> {
    let rest = value.strip_prefix("299 ")?;
    let (_agent, quoted) = rest.split_once(' ')?;
    let inner = quoted.strip_prefix('"')?;
    let mut text = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.push(chars.next()?),
            '"' => return Some(text),
            c => text.push(c),
        }
    }
    None
}

/// ": <body>" for a short non-empty text body, nothing otherwise.
fn body_suffix(body: &str) -> String {
    const MAX: usize = 200;
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    match body.char_indices().nth(MAX) {
        Some((i, _)) => format!(": {}...", &body[..i]),
        None => format!(": {body}"),
    }
}

/// The innermost cause of an error: reqwest's own message only says "error sending request".
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Parses an endpoint: `http(s)://host[:port]`; a bare `host[:port]` means `http://`.
pub fn parse_endpoint(s: &str) -> Result<Url, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty endpoint".to_owned());
    }
    let with_scheme = if s.contains("://") {
        s.to_owned()
    } else {
        format!("http://{s}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| format!("invalid endpoint {s:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "invalid endpoint {s:?}: the scheme must be http or https"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("invalid endpoint {s:?}: no host"));
    }
    Ok(url)
}

/// A client of one glusterd2 endpoint. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Url,
    credentials: Option<Credentials>,
    timeout: Duration,
}

impl Client {
    /// Builds a client; fails only on a bad TLS configuration.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("glustercli/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &config.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                ClientError::Config(format!("invalid CA certificate: {}", root_cause(&e)))
            })?;
            if certs.is_empty() {
                return Err(ClientError::Config(
                    "invalid CA certificate: no PEM certificate found".to_owned(),
                ));
            }
            // GD2's semantics: the given CA replaces the system's roots.
            builder = builder.tls_certs_only(certs);
        }
        if config.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|e| {
            ClientError::Config(format!("cannot set up the HTTP client: {}", root_cause(&e)))
        })?;
        Ok(Self {
            http,
            endpoint: config.endpoint,
            credentials: config.credentials,
            timeout: config.timeout,
        })
    }

    /// The daemon's base URL.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Whether requests are signed (credentials were configured).
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// `GET path`, decoding the answer as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.request::<(), T>(Method::GET, path, &[], None).await
    }

    /// `GET path?k=v&...` (the pairs are URL-encoded), decoding the answer as `T`.
    pub async fn get_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        self.request::<(), T>(Method::GET, path, query, None).await
    }

    /// Every item of a paged list (`GET path?query&limit=PAGE`, then each next page by the
    /// answer's `X-Gluster-Continue` token), so that no one answer holds the whole list.
    /// Bounded: a daemon that keeps giving tokens is followed for [`PAGES_MAX`] pages.
    pub async fn get_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, ClientError> {
        let page_size = PAGE.to_string();
        let mut all = vec![];
        let mut token: Option<String> = None;
        for _ in 0..PAGES_MAX {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", &page_size));
            if let Some(t) = &token {
                q.push(("continue", t));
            }
            let (page, headers): (Vec<T>, _) = self
                .request_full::<(), _>(Method::GET, path, &q, None)
                .await?;
            all.extend(page);
            token = headers
                .get(CONTINUE_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(all);
            }
        }
        Err(ClientError::Decode {
            method: Method::GET,
            path: path.to_owned(),
            reason: format!("the list did not end within {PAGES_MAX} pages"),
        })
    }

    /// `POST path` with a JSON body, decoding the answer as `Resp`.
    pub async fn post<Req, Resp>(&self, path: &str, body: &Req) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        self.request(Method::POST, path, &[], Some(body)).await
    }

    /// `DELETE path`, ignoring the answer's body (204 in the API).
    pub async fn delete(&self, path: &str) -> Result<(), ClientError> {
        self.request::<(), serde::de::IgnoredAny>(Method::DELETE, path, &[], None)
            .await
            .map(drop)
    }

    /// `DELETE path` with a JSON body, decoding the answer as `Resp` (the option reset answers
    /// the volume).
    pub async fn delete_with_body<Req, Resp>(
        &self,
        path: &str,
        body: &Req,
    ) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        self.request(Method::DELETE, path, &[], Some(body)).await
    }

    /// `DELETE path?k=v&...` (the pairs are URL-encoded), ignoring the answer's body.
    pub async fn delete_query(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(), ClientError> {
        self.request::<(), serde::de::IgnoredAny>(Method::DELETE, path, query, None)
            .await
            .map(drop)
    }

    /// Any request (a stale answer, one the daemon served from its cache while the store had
    /// no quorum, is announced on stderr): `body` is sent as JSON, a success answer is decoded as `Resp` (an empty body
    /// decodes as JSON `null`, so `()` and `Option<_>` fit 204 answers), an error answer becomes
    /// [`ClientError::Api`] or [`ClientError::Status`].
    pub async fn request<Req, Resp>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Req>,
    ) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        Ok(self.request_full(method, path, query, body).await?.0)
    }

    /// [`Client::request`], with the answer's headers.
    async fn request_full<Req, Resp>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Req>,
    ) -> Result<(Resp, reqwest::header::HeaderMap), ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let resp = self.send(method.clone(), path, query, body).await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if let Some(rev) = resp
            .headers()
            .get(STALE_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            // The daemon answered from its local cache: say so, on stderr, so scripts reading
            // stdout are not disturbed.
            eprintln!(
                "Warning: the cluster store has no quorum; this answer comes from the node's local \
                 cache (store revision {rev}) and may be out of date"
            );
        }
        // What the daemon had to force to do it (a process killed): on stderr too.
        for w in resp.headers().get_all(reqwest::header::WARNING) {
            if let Some(text) = w.to_str().ok().and_then(forced_warning) {
                eprintln!("Warning: {text}");
            }
        }
        let bytes = resp.bytes().await.map_err(|e| self.transport_error(&e))?;
        if !status.is_success() {
            return Err(decode_error(method, path, status, &bytes));
        }
        if status == StatusCode::ACCEPTED {
            let done = Box::pin(self.accepted(method, path, &bytes)).await?;
            return Ok((done, headers));
        }
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &bytes
        };
        let decoded = serde_json::from_slice(bytes).map_err(|e| ClientError::Decode {
            method,
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok((decoded, headers))
    }

    /// Sends a signed request and returns the raw answer, whatever its status: for callers (tests)
    /// that check statuses and headers themselves.
    pub async fn send<Req>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Req>,
    ) -> Result<reqwest::Response, ClientError>
    where
        Req: Serialize + ?Sized,
    {
        self.send_within(method, path, query, body, None).await
    }

    /// `GET path?query` whose answer is a stream that lasts (server-sent events): no bound
    /// but [`STREAM_MAX`] on the whole answer; a non-2xx answer is an error.
    pub async fn stream(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, ClientError> {
        let resp = self
            .send_within::<()>(Method::GET, path, query, None, Some(STREAM_MAX))
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await.map_err(|e| self.transport_error(&e))?;
            return Err(decode_error(Method::GET, path, status, &bytes));
        }
        Ok(resp)
    }

    async fn send_within<Req>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Req>,
        timeout: Option<std::time::Duration>,
    ) -> Result<reqwest::Response, ClientError>
    where
        Req: Serialize + ?Sized,
    {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|e| ClientError::Config(format!("invalid request path {path:?}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut req = self.http.request(method.clone(), url.clone());
        if let Some(c) = &self.credentials {
            // The token covers the query too (`gd_auth::qsh`), exactly as the URL sends it.
            let target = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let token = gd_auth::issue_token(
                &c.user,
                &c.secret,
                method.as_str(),
                &target,
                gd_auth::TOKEN_VALIDITY,
            );
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        req.send().await.map_err(|e| self.send_error(&e))
    }

    fn send_error(&self, e: &reqwest::Error) -> ClientError {
        if e.is_timeout() {
            ClientError::Timeout {
                endpoint: self.endpoint_str(),
                timeout: self.timeout,
            }
        } else if e.is_connect() {
            ClientError::Unreachable {
                endpoint: self.endpoint_str(),
                reason: root_cause(e),
            }
        } else if e.is_builder() {
            ClientError::Config(root_cause(e))
        } else {
            self.transport_error(e)
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> ClientError {
        if e.is_timeout() {
            return ClientError::Timeout {
                endpoint: self.endpoint_str(),
                timeout: self.timeout,
            };
        }
        ClientError::Transport {
            endpoint: self.endpoint_str(),
            reason: root_cause(e),
        }
    }

    /// The endpoint as the user wrote it (without the trailing "/" the URL parser adds).
    fn endpoint_str(&self) -> String {
        let s = self.endpoint.as_str();
        if self.endpoint.path() == "/" {
            s.trim_end_matches('/').to_owned()
        } else {
            s.to_owned()
        }
    }
}

/// Percent-encodes `s` for a request path: every byte but RFC 3986's unreserved characters
/// (letters, digits, `-._~`) and, when `keep_slash`, `/` becomes `%XX` (UTF-8 bytes).
///
/// With `keep_slash`, a value that the daemon takes in a wildcard route (an option key such as
/// `cluster/replicate.eager-lock`) keeps its slashes as they are; without, a value becomes one
/// path segment. Either way `?`, `#`, `%`, spaces and `\` cannot change the URL's meaning. Dot
/// segments (`.`, `..`) are not encoded: URL parsers remove them even when encoded, so callers
/// refuse them first.
pub fn encode_path(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The error of a non-success answer: the decoded [`ErrorResp`] when the body is one.
fn decode_error(method: Method, path: &str, status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorResp>(body) {
        Ok(body) => ClientError::Api { status, body },
        Err(_) => ClientError::Status {
            method,
            path: path.to_owned(),
            status,
            body: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

#[cfg(test)]
mod tests;
