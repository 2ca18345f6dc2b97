//! The volume feature's REST routes: volumes (create, list, info, delete, start, stop, their
//! bricks' status), their options, option groups and cluster options. Thin: each handler
//! decodes the request, calls the operation and answers with what it returned.

mod options;
mod volumes;

use gd_feature::Cluster;
use utoipa_axum::router::OpenApiRouter;

/// Every route of the volume feature, with its OpenAPI annotations.
pub fn routes() -> OpenApiRouter<Cluster> {
    volumes::routes().merge(options::routes())
}
