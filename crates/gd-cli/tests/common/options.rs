//! The fake's options: volume options (`/v1/volumes/{name}/options`: set, list, get one,
//! reset), option groups (`/v1/volumes/options-group`) and cluster options
//! (`/v1/cluster/options`), with the option table a key resolves against.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use gd_api::{
    ClusterOptionGetResp, ClusterOptionReq, ErrorCode, GroupOption, OptionGroup, OptionGroupReq,
    VolOptionReq, VolOptionResetReq, VolumeInfo, VolumeOptionGetResp,
};

use super::{
    refusal::{Refusal, error, parse_body},
    server::AppState,
    volumes::find_volume,
};

/// The volume options the fake daemon knows, as a full listing shows them (`<category>/<xlator>.
/// <option>`, name order, default values, not modified). A key also resolves by
/// `<xlator>.<option>` and GD1's `<category>.<option>` ([`resolve_option`]).
pub fn option_table() -> Vec<VolumeOptionGetResp> {
    [
        ("cluster/replicate.eager-lock", "on", "advanced", "bool"),
        ("cluster/replicate.self-heal-daemon", "on", "basic", "bool"),
        (
            "features/shard.shard-block-size",
            "64MB",
            "advanced",
            "sizet",
        ),
        ("performance/io-cache.cache-size", "32MB", "basic", "sizet"),
        ("performance/read-ahead.read-ahead", "on", "basic", "bool"),
    ]
    .map(|(key, default, level, kind)| VolumeOptionGetResp {
        key: key.to_owned(),
        value: default.to_owned(),
        modified: false,
        default_value: default.to_owned(),
        option_level: level.to_owned(),
        kind: kind.to_owned(),
        description: String::new(),
    })
    .into()
}

/// The full name of the option `key` names, if the fake daemon knows it.
pub fn resolve_option(key: &str) -> Option<String> {
    option_table().into_iter().map(|o| o.key).find(|full| {
        let (category, rest) = full.split_once('/').expect("category/xlator.option");
        let option = rest.split_once('.').expect("xlator.option").1;
        key == full || key == rest || key == format!("{category}.{option}")
    })
}

/// The option groups at start: the built-in `virt`.
pub fn option_groups() -> Vec<OptionGroup> {
    vec![OptionGroup {
        name: "virt".into(),
        options: vec![
            GroupOption {
                name: "performance.read-ahead".into(),
                on_value: "off".into(),
            },
            GroupOption {
                name: "cluster/replicate.eager-lock".into(),
                on_value: "enable".into(),
            },
        ],
        description: "For hosting virtual machine images".into(),
        built_in: true,
    }]
}

/// The cluster options at start: none modified.
pub fn cluster_options() -> Vec<ClusterOptionGetResp> {
    [
        ("cluster.brick-multiplex", "off"),
        ("cluster.max-bricks-per-process", "250"),
        ("cluster.server-quorum-ratio", "51"),
    ]
    .map(|(key, default)| ClusterOptionGetResp {
        key: key.to_owned(),
        value: default.to_owned(),
        default: default.to_owned(),
        modified: false,
        description: String::new(),
    })
    .into()
}

fn bad_request(message: impl Into<String>) -> Refusal {
    error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
}

/// The full name of `key`, or the daemon's 400.
fn known_option(key: &str) -> Result<String, Refusal> {
    resolve_option(key).ok_or_else(|| bad_request(format!("option {key} does not exist")))
}

/// The group `name`, or the daemon's 400.
fn known_group(groups: &[OptionGroup], name: &str) -> Result<OptionGroup, Refusal> {
    groups
        .iter()
        .find(|g| g.name == name)
        .cloned()
        .ok_or_else(|| bad_request(format!("option group {name} does not exist")))
}

/// The full names and values a group sets.
fn group_values(group: &OptionGroup) -> Result<Vec<(String, String)>, Refusal> {
    group
        .options
        .iter()
        .map(|o| Ok((known_option(&o.name)?, o.on_value.clone())))
        .collect()
}

/// `POST /v1/volumes/{name}/options`: all the keys or none; options are stored under their
/// full names, `user.*` keys as given.
pub(super) async fn set_options(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<VolumeInfo>, Refusal> {
    let req: VolOptionReq = parse_body(&body)?;
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if req.options.is_empty() {
        return Err(bad_request("no options given"));
    }
    let groups = state.groups.lock().unwrap().clone();
    let mut options = vols[i].options.clone();
    for (k, v) in &req.options {
        if k == "group" {
            options.extend(group_values(&known_group(&groups, v)?)?);
        } else if let Some(g) = groups.iter().find(|g| g.name == *k) {
            let values = group_values(g)?;
            match v.as_str() {
                "on" => options.extend(values),
                "off" => values.iter().for_each(|(full, _)| {
                    options.remove(full);
                }),
                _ => {
                    return Err(bad_request(format!(
                        "the value of group {k} must be on or off"
                    )));
                }
            }
        } else if k.starts_with("user.") {
            options.insert(k.clone(), v.clone());
        } else {
            options.insert(known_option(k)?, v.clone());
        }
    }
    vols[i].options = options;
    Ok(Json(vols[i].clone()))
}

/// `DELETE /v1/volumes/{name}/options`: the keys (options, groups, `user.*` keys), or all.
pub(super) async fn reset_options(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<VolumeInfo>, Refusal> {
    let req: VolOptionResetReq = parse_body(&body)?;
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if req.all {
        vols[i].options.clear();
        return Ok(Json(vols[i].clone()));
    }
    if req.options.is_empty() {
        return Err(bad_request("no options given"));
    }
    let groups = state.groups.lock().unwrap().clone();
    let mut options = vols[i].options.clone();
    for k in &req.options {
        if let Some(g) = groups.iter().find(|g| g.name == *k) {
            for (full, _) in group_values(g)? {
                options.remove(&full);
            }
        } else if k.starts_with("user.") {
            options.remove(k);
        } else {
            options.remove(&known_option(k)?);
        }
    }
    vols[i].options = options;
    Ok(Json(vols[i].clone()))
}

/// A volume's value of an option, under the name `key`.
fn option_of(vol: &VolumeInfo, mut opt: VolumeOptionGetResp, key: &str) -> VolumeOptionGetResp {
    if let Some(v) = vol.options.get(&opt.key) {
        opt.value = v.clone();
        opt.modified = true;
    }
    opt.key = key.to_owned();
    opt
}

/// `GET /v1/volumes/{name}/options`: every known option, with the volume's values.
pub(super) async fn list_options(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<VolumeOptionGetResp>>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let vol = &vols[find_volume(&vols, &name)?];
    Ok(Json(
        option_table()
            .into_iter()
            .map(|o| {
                let key = o.key.clone();
                option_of(vol, o, &key)
            })
            .collect(),
    ))
}

/// `GET /v1/volumes/{name}/options/{*key}`: one option, named as asked.
pub(super) async fn get_option(
    State(state): State<Arc<AppState>>,
    Path((name, key)): Path<(String, String)>,
) -> Result<Json<VolumeOptionGetResp>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let vol = &vols[find_volume(&vols, &name)?];
    let full = resolve_option(&key).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("option {key} not found"),
        )
    })?;
    let opt = option_table()
        .into_iter()
        .find(|o| o.key == full)
        .expect("resolved");
    Ok(Json(option_of(vol, opt, &key)))
}

/// `GET /v1/volumes/options-group`.
pub(super) async fn list_groups(State(state): State<Arc<AppState>>) -> Json<Vec<OptionGroup>> {
    Json(state.groups.lock().unwrap().clone())
}

/// `POST /v1/volumes/options-group`: 201 + the new group (not built-in).
pub(super) async fn create_group(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let req: OptionGroupReq = parse_body(&body)?;
    let mut groups = state.groups.lock().unwrap();
    if groups.iter().any(|g| g.name == req.name) {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("option group {} already exists", req.name),
        ));
    }
    if req.options.is_empty() {
        return Err(bad_request("an option group needs options"));
    }
    for o in &req.options {
        known_option(&o.name)?;
    }
    let group = OptionGroup {
        name: req.name,
        options: req.options,
        description: req.description,
        built_in: false,
    };
    groups.push(group.clone());
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

/// `DELETE /v1/volumes/options-group/{name}`: 204; built-in groups are refused.
pub(super) async fn delete_group(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, Refusal> {
    let mut groups = state.groups.lock().unwrap();
    let Some(i) = groups.iter().position(|g| g.name == name) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("option group {name} not found"),
        ));
    };
    if groups[i].built_in {
        return Err(bad_request(format!(
            "option group {name} is built in and cannot be deleted"
        )));
    }
    groups.remove(i);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/cluster/options`.
pub(super) async fn get_cluster_options(
    State(state): State<Arc<AppState>>,
) -> Json<Vec<ClusterOptionGetResp>> {
    Json(state.cluster_options.lock().unwrap().clone())
}

/// `POST /v1/cluster/options`: all the keys or none; answers every cluster option.
pub(super) async fn set_cluster_options(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Vec<ClusterOptionGetResp>>, Refusal> {
    let req: ClusterOptionReq = parse_body(&body)?;
    let mut opts = state.cluster_options.lock().unwrap();
    let mut new = opts.clone();
    for (k, v) in &req.options {
        let o = new
            .iter_mut()
            .find(|o| o.key == *k)
            .ok_or_else(|| bad_request(format!("{k} is not a cluster option")))?;
        o.value = v.clone();
        o.modified = *v != o.default;
    }
    *opts = new;
    Ok(Json(opts.clone()))
}
