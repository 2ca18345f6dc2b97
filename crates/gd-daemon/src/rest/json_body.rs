//! Extractors (JSON body, query string) whose rejection is the API's error body, so a
//! malformed request gets `{"errors":[...]}` with code `InvalidRequest` like every other bad
//! input.

use axum::{
    Json,
    extract::{FromRequest, Request},
};
use gd_api::ErrorCode;
use serde::de::DeserializeOwned;

use super::ApiErr;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiErr> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(ApiErr::new(
                ErrorCode::InvalidRequest,
                format!("malformed request body: {}", rejection.body_text()),
            )),
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
