//! Request bodies and query strings: the size bound, and extractors (JSON body, raw body,
//! query string) whose rejection is the API's error body, so a malformed request gets
//! `{"errors":[...]}` with code `InvalidRequest` like every other bad input.
//!
//! A JSON body is decoded as the document describes it ([`decode`]): serde also reads a struct
//! from an array of its fields in order (`[]` as an edit that changes nothing), which the
//! document does not allow and no client means, so an array where an object belongs is
//! refused.
//!
//! A body larger than [`BODY_BYTES_MAX`] is refused with 413 and code `PayloadTooLarge`
//! whichever way it is sent: a `Content-Length` over the bound is refused before anything is
//! read ([`limit_body`]), and a body without one (chunked) is read up to the bound and no
//! further (axum's `DefaultBodyLimit`, set to the same bound by [`limit_bodies`]); the
//! extractors turn that into the same answer.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Request},
    http::{StatusCode, header::CONTENT_LENGTH},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use gd_api::ErrorCode;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::{ApiErr, BODY_BYTES_MAX};

/// Bounds the request bodies of every route of `router` to [`BODY_BYTES_MAX`].
pub fn limit_bodies<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::from_fn(limit_body))
}

/// The answer to a body over the bound.
pub fn too_large() -> ApiErr {
    ApiErr::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {BODY_BYTES_MAX} bytes"),
    )
    .field("limit", BODY_BYTES_MAX.to_string())
}

/// Refuses a request whose `Content-Length` is over the bound before its body is read.
/// A `Content-Length` that is not a number is refused too (hyper refuses most of them first).
async fn limit_body(req: Request, next: Next) -> Response {
    if let Some(len) = req.headers().get(CONTENT_LENGTH) {
        match len.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(n) if n > BODY_BYTES_MAX as u64 => return too_large().into_response(),
            Some(_) => {}
            None => {
                return ApiErr::new(ErrorCode::InvalidRequest, "malformed Content-Length header")
                    .into_response();
            }
        }
    }
    next.run(req).await
}

/// The error body of a rejected request body: 413 when it was too large, else 400.
fn body_rejection(status: StatusCode, text: &str) -> ApiErr {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        malformed(text)
    }
}

pub fn malformed(why: impl std::fmt::Display) -> ApiErr {
    ApiErr::new(
        ErrorCode::InvalidRequest,
        format!("malformed request body: {why}"),
    )
}

/// Decodes a JSON document as `T`, refusing an array where `T` has an object (a struct that
/// serde would read from its fields in order): `T` is encoded again, and wherever that gives
/// an object the document must have one.
pub fn decode<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<T, ApiErr> {
    let value = T::deserialize(doc).map_err(malformed)?;
    let shape = serde_json::to_value(&value).map_err(|e| {
        ApiErr::new(
            ErrorCode::Internal,
            format!("internal error (a bug): a decoded request does not encode: {e}"),
        )
    })?;
    match array_for_object(doc, &shape) {
        None => Ok(value),
        Some(path) => Err(malformed(format!(
            "{}: expected an object, found an array",
            if path.is_empty() { "the body" } else { &path }
        ))),
    }
}

/// An optional body: none (or blanks only) or `null` asks for `T::default()`; anything else
/// is decoded as [`decode`] does.
pub fn optional_body<T: DeserializeOwned + Serialize + Default>(body: &[u8]) -> Result<T, ApiErr> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let doc: Value = serde_json::from_slice(body).map_err(malformed)?;
    Ok(decode::<Option<T>>(&doc)?.unwrap_or_default())
}

/// Where `doc` has an array and `shape` (the same value, encoded by its type) an object:
/// the path (`subvols[0].bricks[1]`; empty for the whole document).
fn array_for_object(doc: &Value, shape: &Value) -> Option<String> {
    let join = |head: String, inner: String| {
        if inner.is_empty() || inner.starts_with('[') {
            head + &inner
        } else {
            format!("{head}.{inner}")
        }
    };
    match (doc, shape) {
        (Value::Array(_), Value::Object(_)) => Some(String::new()),
        (Value::Object(d), Value::Object(s)) => s
            .iter()
            .find_map(|(k, sv)| Some(join(k.clone(), array_for_object(d.get(k)?, sv)?))),
        (Value::Array(d), Value::Array(s)) => d
            .iter()
            .zip(s)
            .enumerate()
            .find_map(|(i, (dv, sv))| Some(join(format!("[{i}]"), array_for_object(dv, sv)?))),
        _ => None,
    }
}

/// A JSON body of type `T` (see [`decode`]).
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned + Serialize,
    S: Send + Sync,
{
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiErr> {
        // axum's extractor checks the content type and the syntax (its errors have a line and
        // column); the document is then decoded as `T`.
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(doc)) => decode(&doc).map(JsonBody),
            Err(rejection) => Err(body_rejection(rejection.status(), &rejection.body_text())),
        }
    }
}

/// The body as bytes (for a body that may be empty), bounded like every body.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiErr> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(rejection) => Err(body_rejection(rejection.status(), &rejection.body_text())),
        }
    }
}

/// A query-string extractor whose rejection is the API's error body too.
pub struct QueryArgs<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryArgs<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiErr;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiErr> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryArgs(v)),
            Err(rejection) => Err(ApiErr::new(
                ErrorCode::InvalidRequest,
                format!("malformed query string: {}", rejection.body_text()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, routing::post};
    use gd_api::ErrorResp;
    use tower::ServiceExt;

    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Opt {
        #[serde(default)]
        force: bool,
    }

    #[test]
    fn an_optional_body_is_absent_null_or_decoded_strictly() {
        for absent in [&b""[..], b"  \n", b"null"] {
            assert_eq!(optional_body::<Opt>(absent).unwrap(), Opt::default());
        }
        assert_eq!(
            optional_body::<Opt>(br#"{"force": true}"#).unwrap(),
            Opt { force: true }
        );
        for bad in [&b"{"[..], br#"{"forse": true}"#, b"[true]"] {
            let e = optional_body::<Opt>(bad).unwrap_err();
            assert!(
                e.0.message.starts_with("malformed request body: "),
                "{}",
                e.0.message
            );
        }
    }

    fn app() -> Router {
        limit_bodies(
            Router::new()
                .route(
                    "/json",
                    post(|JsonBody(v): JsonBody<serde_json::Value>| async move { Json(v) }),
                )
                .route(
                    "/raw",
                    post(|RawBody(b): RawBody| async move { b.len().to_string() }),
                ),
        )
    }

    async fn send(req: axum::http::Request<Body>) -> (StatusCode, Option<ErrorResp>) {
        let resp = app().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 2 * BODY_BYTES_MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).ok())
    }

    /// A JSON document of exactly `n` bytes: a string.
    fn document(n: usize) -> Vec<u8> {
        let mut v = vec![b'"'];
        v.resize(n - 1, b'a');
        v.push(b'"');
        v
    }

    /// The body as a stream of 64 KiB chunks, so it has no length (sent chunked).
    fn chunked(bytes: Vec<u8>) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(64 << 10)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Body::from_stream(futures::stream::iter(chunks))
    }

    fn post_to(path: &str, body: Body, length: Option<usize>) -> axum::http::Request<Body> {
        let mut b = axum::http::Request::post(path).header("content-type", "application/json");
        if let Some(n) = length {
            b = b.header(CONTENT_LENGTH, n);
        }
        b.body(body).unwrap()
    }

    fn assert_too_large(answer: (StatusCode, Option<ErrorResp>)) {
        let (status, body) = answer;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let body = body.expect("the JSON error body");
        assert_eq!(body.errors[0].code, ErrorCode::PayloadTooLarge.as_u32());
        assert_eq!(
            body.errors[0].message,
            format!("the request body is larger than {BODY_BYTES_MAX} bytes")
        );
    }

    #[tokio::test]
    async fn a_body_over_the_bound_gets_413_with_the_error_body() {
        for path in ["/json", "/raw"] {
            // Declared too long: refused before reading (nothing is sent).
            assert_too_large(send(post_to(path, Body::empty(), Some(BODY_BYTES_MAX + 1))).await);
            // With its length, one byte over.
            let over = document(BODY_BYTES_MAX + 1);
            let n = over.len();
            assert_too_large(send(post_to(path, Body::from(over), Some(n))).await);
            // Chunked, without a length, one byte over and far over.
            for n in [BODY_BYTES_MAX + 1, 4 * BODY_BYTES_MAX] {
                assert_too_large(send(post_to(path, chunked(document(n)), None)).await);
            }
        }
    }

    #[tokio::test]
    async fn a_body_at_the_bound_is_read() {
        let (status, _) = send(post_to(
            "/json",
            Body::from(document(BODY_BYTES_MAX)),
            Some(BODY_BYTES_MAX),
        ))
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = send(post_to("/raw", chunked(document(BODY_BYTES_MAX)), None)).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn an_array_is_no_object() {
        use gd_api::{PeerEditReq, VolCreateReq};
        fn message<T>(r: Result<T, ApiErr>) -> String {
            r.map(drop).unwrap_err().0.message.clone()
        }
        // serde alone reads `[]` as an edit that changes nothing.
        assert!(serde_json::from_str::<PeerEditReq>("[]").is_ok());
        assert_eq!(
            message(decode::<PeerEditReq>(&serde_json::json!([]))),
            "malformed request body: the body: expected an object, found an array"
        );
        // A brick as its fields in order (peerid, host, path): serde would take it.
        let create = |brick: Value| {
            serde_json::json!({"name": "v", "subvols": [
                {"type": "distribute", "bricks": [{"host": "h", "path": "/b/1"}, brick]}
            ]})
        };
        assert_eq!(
            message(decode::<VolCreateReq>(&create(serde_json::json!([
                null, "h", "/b/2"
            ])))),
            "malformed request body: subvols[0].bricks[1]: expected an object, found an array"
        );
        let ok = decode::<VolCreateReq>(&create(serde_json::json!({"path": "/b/2"}))).unwrap();
        assert_eq!(ok.subvols[0].bricks[1].path, "/b/2");
        // Arrays where arrays belong, maps, absent and null optional fields are as they were.
        let edit =
            serde_json::json!({"metadata": {"k": "v"}, "delete-metadata": ["x"], "zone": null});
        let e: PeerEditReq = decode(&edit).unwrap();
        assert_eq!(e.delete_metadata, ["x"]);
        assert_eq!(
            message(decode::<PeerEditReq>(&serde_json::json!({"bogus": 1}))),
            "malformed request body: unknown field `bogus`, expected one of `zone`, `metadata`, `delete-metadata`"
        );
    }

    #[tokio::test]
    async fn malformed_bodies_and_lengths_get_400() {
        let (status, body) = send(post_to("/json", Body::from("{"), None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let message = &body.expect("error body").errors[0].message;
        assert!(message.starts_with("malformed request body: "), "{message}");
        let req = axum::http::Request::post("/raw")
            .header(CONTENT_LENGTH, "lots")
            .body(Body::empty())
            .unwrap();
        let (status, body) = send(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body.expect("error body").errors[0].message,
            "malformed Content-Length header"
        );
    }
}
