//! Option groups: named sets of options a volume takes in one `group=<name>` set.
//!
//! The shipped ones live in code ([`crate::options::builtin_groups`]), so a restart never
//! overwrites or loses anything (GD2 rewrote its group key at every start); groups users add
//! are one record each, `option-groups/<name>`.

use std::collections::BTreeMap;

use gd_api::{ErrorCode, OptionGroup, OptionGroupReq};
use gd_core::OpError;
use gd_core::keys::OPTION_GROUPS;
use gd_node::node::Node;
use gd_store::{
    Compare, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};

use crate::options;

/// The most groups users may add.
const GROUPS_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct GroupRecord {
    group: OptionGroup,
}

impl Record for GroupRecord {
    const KIND: &'static str = "option-group";
    const VERSION: u32 = 1;
}

/// Every group: the shipped ones, then the users', by name.
pub async fn list_groups(store: &dyn Store) -> Result<Vec<OptionGroup>, StoreError> {
    let mut out = options::builtin_groups();
    let r = store.range(OPTION_GROUPS, GROUPS_MAX + 1).await?;
    for kv in &r.kvs {
        let g: GroupRecord = record::decode(&kv.key, &kv.value)?;
        out.push(g.group);
    }
    Ok(out)
}

/// Groups by name, for expanding a request.
pub(crate) async fn group_map(
    store: &dyn Store,
) -> Result<BTreeMap<String, OptionGroup>, StoreError> {
    Ok(list_groups(store)
        .await?
        .into_iter()
        .map(|g| (g.name.clone(), g))
        .collect())
}

/// Checks a group's name (`gd_api::check_group_name`).
pub fn check_group_name(name: &str) -> Result<(), OpError> {
    gd_api::check_group_name(name)
        .map_err(|m| OpError::new(ErrorCode::InvalidRequest, m).field("name", name))
}

/// `POST /v1/volumes/options-group`.
pub async fn create_group(node: &Node, req: OptionGroupReq) -> Result<OptionGroup, OpError> {
    let name = req.name.as_str();
    check_group_name(name)?;
    let catalog = options::catalog();
    if catalog.is_option_key(name) {
        return Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!("{name:?} names an option; a group needs a name of its own"),
        )
        .field("name", name));
    }
    if options::builtin_group(name).is_some() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("{name} is a built-in group"),
        ));
    }
    if req.description.len() > 1024 {
        return Err(OpError::new(
            ErrorCode::InvalidRequest,
            "the description is longer than 1024 bytes",
        ));
    }
    catalog.check_group(&req.options)?;
    let group = OptionGroup {
        name: name.to_string(),
        options: req.options,
        description: req.description,
        built_in: false,
    };
    let store = node.store.as_ref();
    let existing = store.range(OPTION_GROUPS, GROUPS_MAX + 1).await?;
    if existing.kvs.len() >= GROUPS_MAX {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("there are already {GROUPS_MAX} groups; delete one first"),
        ));
    }
    let key = format!("{OPTION_GROUPS}{name}");
    let r = store
        .txn(
            Txn::new()
                .when([Compare::absent(&key)])
                .and_then([TxnOp::put(
                    &key,
                    record::encode(&GroupRecord {
                        group: group.clone(),
                    }),
                )]),
        )
        .await?;
    if !r.succeeded {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("group {name} already exists"),
        ));
    }
    Ok(group)
}

/// `DELETE /v1/volumes/options-group/{name}`.
pub async fn delete_group(node: &Node, name: &str) -> Result<(), OpError> {
    if options::builtin_group(name).is_some() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("{name} is a built-in group and cannot be deleted"),
        ));
    }
    check_group_name(name)?;
    let key = format!("{OPTION_GROUPS}{name}");
    let r = node
        .store
        .txn(
            Txn::new()
                .when([Compare::present(&key)])
                .and_then([TxnOp::delete(&key)]),
        )
        .await?;
    if r.succeeded {
        Ok(())
    } else {
        Err(OpError::new(ErrorCode::NotFound, format!("no group {name:?}")).field("name", name))
    }
}
