//! Health, version and the description of the API itself.

use std::sync::Arc;

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use gd_api::{API_VERSION, Endpoint, VersionResp};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::SharedState;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(version))
}

/// Routes that serve the API document; they are not part of it.
pub(super) fn document_routes(api: Arc<utoipa::openapi::OpenApi>) -> Router<SharedState> {
    // Kept as the bytes it is served as: the document as a tree is ten times their size.
    let tree = serde_json::to_value(api.as_ref()).unwrap_or(Value::Null);
    let eps = Arc::new(endpoints_of(&tree));
    let spec = axum::body::Bytes::from(serde_json::to_vec(&tree).unwrap_or_default());
    drop(tree);
    Router::new()
        .route(
            "/v1/openapi.json",
            get(move |_: State<SharedState>| {
                let s = spec.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], s) }
            }),
        )
        .route(
            "/endpoints",
            get(move |_: State<SharedState>| {
                let e = eps.clone();
                async move { Json(e.as_ref().clone()) }
            }),
        )
}

/// Liveness probe: 200 with an empty body while the daemon serves requests.
#[utoipa::path(get, path = "/ping", tag = "meta", operation_id = "Ping",
    responses((status = 200, description = "The daemon is up")))]
async fn ping() -> StatusCode {
    StatusCode::OK
}

/// The daemon's version and API version.
#[utoipa::path(get, path = "/version", tag = "meta", operation_id = "Version",
    responses((status = 200, description = "Versions", body = VersionResp)))]
async fn version() -> Json<VersionResp> {
    Json(VersionResp {
        glusterd_version: env!("CARGO_PKG_VERSION").to_owned(),
        api_version: API_VERSION,
    })
}

/// GD2's `/endpoints` listing, derived from the OpenAPI document so it cannot drift.
pub(crate) fn endpoints_of(spec: &Value) -> Vec<Endpoint> {
    let schema_name = |v: Option<&Value>| -> String {
        let Some(schema) = v else {
            return String::new();
        };
        let r = schema
            .get("$ref")
            .or_else(|| schema.get("items").and_then(|i| i.get("$ref")));
        let name = r
            .and_then(Value::as_str)
            .and_then(|s| s.rsplit('/').next())
            .unwrap_or("");
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            format!("[]{name}")
        } else {
            name.to_owned()
        }
    };
    let mut out = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(op) = item.get(method) else { continue };
            let request = op.pointer("/requestBody/content/application~1json/schema");
            let response = ["200", "201"].iter().find_map(|s| {
                op.pointer(&format!("/responses/{s}/content/application~1json/schema"))
            });
            out.push(Endpoint {
                name: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                description: op
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                methods: vec![method.to_ascii_uppercase()],
                path: path.clone(),
                request_type: schema_name(request),
                response_type: schema_name(response),
            });
        }
    }
    out
}
