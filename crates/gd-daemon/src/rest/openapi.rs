//! What the OpenAPI document says beyond the handlers' own annotations: the answers the
//! middleware and the shared extractors give on every route they apply to, and the rules of
//! the path parameters.
//!
//! A handler's annotation lists what the handler itself answers (404, 409, ...). The 401 of the
//! authentication middleware, the 400 and 413 of the body extractors and the body bound, the
//! 400 of the query-string extractor and of a path parameter that breaks its rule come from
//! code every route shares; adding them here, from the same facts the middleware acts on
//! (the route's security, its request body, its parameters), keeps every route's list complete
//! without repeating it in each annotation, where one forgotten line would make the document
//! lie. Path parameters get their rule (`pattern`, `format: uuid`) here for the same reason:
//! one parameter name, one rule, on every route that has it.

use utoipa::openapi::{
    OpenApi, RefOr, Response, ResponseBuilder, Schema,
    content::ContentBuilder,
    path::{Operation, Parameter, ParameterIn},
    schema::{KnownFormat, ObjectBuilder, Ref, SchemaFormat, Type},
};

use gd_feature::http::BODY_BYTES_MAX;

/// The rule of a path parameter.
enum Rule {
    /// A string matching a pattern (`gd_api`'s rules).
    Pattern(&'static str),
    /// A UUID.
    Uuid,
}

/// Path parameters by name: their rule, and what a value that breaks it gets (400).
const PATH_RULES: [(&str, Rule, &str); 4] = [
    (
        "volname",
        Rule::Pattern(gd_api::VOLUME_NAME_PATTERN),
        "The volume name breaks the naming rule",
    ),
    (
        "groupname",
        Rule::Pattern(gd_api::GROUP_NAME_PATTERN),
        "The group name breaks the naming rule",
    ),
    ("peerid", Rule::Uuid, "The peer id is not a UUID"),
    ("txnid", Rule::Uuid, "The transaction id is not a UUID"),
];

/// Adds the shared answers and the path parameters' rules to every operation of `api`.
pub(super) fn complete(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            complete_operation(op);
        }
    }
}

fn complete_operation(op: &mut Operation) {
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add_response(
            op,
            401,
            "Not authenticated: no token, or one that has expired, lives longer than this node \
             accepts, or was signed for another request or with another secret",
        );
    }
    if op.request_body.is_some() {
        add_response(
            op,
            400,
            "The body is not JSON, or not of the request's schema",
        );
        add_response(
            op,
            413,
            &format!("The body is larger than {BODY_BYTES_MAX} bytes (code 12)"),
        );
    }
    let mut answers = vec![];
    for param in op.parameters.iter_mut().flatten() {
        let RefOr::T(param) = param else { continue };
        match param.parameter_in {
            ParameterIn::Query => answers.push("The query string is malformed"),
            ParameterIn::Path => {
                if let Some(refused) = apply_rule(param) {
                    answers.push(refused);
                }
            }
            _ => {}
        }
    }
    for description in answers {
        add_response(op, 400, description);
    }
}

/// Puts the rule of `param` (by its name) on its schema; returns what a breach answers.
fn apply_rule(param: &mut Parameter) -> Option<&'static str> {
    let (_, rule, refused) = PATH_RULES.iter().find(|(name, ..)| *name == param.name)?;
    let schema = ObjectBuilder::new().schema_type(Type::String);
    let schema = match rule {
        Rule::Pattern(p) => schema.pattern(Some(*p)),
        Rule::Uuid => schema.format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
    };
    param.schema = Some(RefOr::T(Schema::Object(schema.build())));
    Some(refused)
}

/// Adds an answer with the error body, unless the operation documents that status already.
fn add_response(op: &mut Operation, status: u16, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(error_response(description)));
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorResp")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    fn spec() -> Value {
        serde_json::to_value(super::super::openapi(&crate::features::all())).unwrap()
    }

    fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
        let mut out = vec![];
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
        out
    }

    #[test]
    fn every_route_lists_the_answers_of_the_shared_code() {
        let spec = spec();
        for (method, path, op) in operations(&spec) {
            let has = |status: &str| op["responses"].get(status).is_some();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let open = ["/ping", "/version"].contains(&path.as_str());
            assert_eq!(secured, !open, "{method} {path}: security");
            if secured {
                assert!(has("401"), "{method} {path}: no 401");
            }
            if op.get("requestBody").is_some() {
                assert!(has("400") && has("413"), "{method} {path}: no 400 or 413");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    has("400"),
                    "{method} {path}: parameter {} but no 400",
                    p["name"]
                );
                let schema = &p["schema"];
                match p["name"].as_str().unwrap() {
                    "volname" => assert_eq!(schema["pattern"], gd_api::VOLUME_NAME_PATTERN),
                    "groupname" => assert_eq!(schema["pattern"], gd_api::GROUP_NAME_PATTERN),
                    "peerid" | "txnid" => assert_eq!(schema["format"], "uuid"),
                    _ => {}
                }
            }
            // Every error answer carries the error body.
            for (status, resp) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorResp",
                        "{method} {path}: {status}"
                    );
                }
            }
        }
    }

    /// The base of a pattern that starts with a negative lookahead (which the `regex` crate
    /// does not have), and the one string the lookahead excludes.
    fn split_lookahead(pattern: &str) -> (regex::Regex, String) {
        let rest = pattern.strip_prefix("^(?!").expect("a lookahead");
        let (excluded, base) = rest.split_once("$)").expect("the lookahead's end");
        (
            regex::Regex::new(&format!("^{base}")).unwrap(),
            excluded.to_owned(),
        )
    }

    /// Strings near the rules: their characters and the ones they refuse.
    fn near_names() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_-]{0,70}",
            "[A-Za-z0-9_ ./é\\-\n]{0,10}",
            Just("options-group".to_owned()),
            Just("group".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn the_volume_name_pattern_is_check_name(name in near_names()) {
            let (re, excluded) = split_lookahead(gd_api::VOLUME_NAME_PATTERN);
            let stated = re.is_match(&name) && name != excluded;
            prop_assert_eq!(gd_api::check_volume_name(&name).is_ok(), stated, "{:?}", name);
        }

        #[test]
        fn the_group_name_pattern_is_the_group_rule(name in near_names()) {
            let (re, excluded) = split_lookahead(gd_api::GROUP_NAME_PATTERN);
            let stated = re.is_match(&name) && name != excluded;
            prop_assert_eq!(
                gd_api::check_group_name(&name).is_ok(),
                stated,
                "{:?}",
                name
            );
        }

        #[test]
        fn the_brick_path_pattern_is_volgens_rule(
            path in "/?[a-z/\\x00-\\x21\\x7e-\\xa1\u{1680}\u{2000}-\u{200b}\u{2028}-\u{2030}\u{205f}\u{3000}\u{feff}\"\\\\`#é]{0,12}"
        ) {
            let re = regex::Regex::new(gd_api::BRICK_PATH_PATTERN).unwrap();
            prop_assert_eq!(
                gd_volgen::check_brick_path(&path).is_ok(),
                re.is_match(&path),
                "{:?}",
                path
            );
        }

    }
}
