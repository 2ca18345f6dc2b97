//! The name, path and token rules of the API, as the OpenAPI document states them: JSON
//! Schema `pattern`s (ECMA-262 regular expressions). They live here, beside the types, so
//! the document, the daemon's checks and the tests that hold the two together read one text.

/// A volume name: 1 to 64 letters, digits, `_` and `-`, not starting with `-`, and not
/// `options-group` (the option groups' path beside the volumes').
pub const VOLUME_NAME_PATTERN: &str = "^(?!options-group$)[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$";

/// The longest volume name.
pub const VOLUME_NAME_MAX: usize = 64;

/// Checks a volume name against [`VOLUME_NAME_PATTERN`] (GD2's rule): the one check the daemon
/// and the CLI both apply. The error is a sentence for the user.
pub fn check_volume_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= VOLUME_NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-')
        // The option-group routes live beside the volumes': /v1/volumes/options-group.
        && name != "options-group";
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid volume name {name:?}: use 1 to {VOLUME_NAME_MAX} letters, digits, '_' and '-' \
             (not first), other than options-group"
        ))
    }
}

/// An option group's name: 1 to 64 letters, digits, `_` and `-`, and not `group` (the key
/// of GD1's `volume set <vol> group <name>`).
pub const GROUP_NAME_PATTERN: &str = "^(?!group$)[A-Za-z0-9_-]{1,64}$";

/// Checks an option group's name against [`GROUP_NAME_PATTERN`]. The error is a sentence for
/// the user.
pub fn check_group_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name != "group";
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid group name {name:?}: use 1 to 64 letters, digits, '-' and '_' (not \"group\")"
        ))
    }
}

/// A brick path: absolute, and no blank (Unicode white space), control character, `"`, `\`,
/// `` ` `` or `#` (volgen puts the path into translator names and option keys).
pub const BRICK_PATH_PATTERN: &str = "^/[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\"\\\\`#]*$";

/// A join token as a request may give it: 1 to 256 printable ASCII characters.
pub const JOIN_TOKEN_PATTERN: &str = "^[!-~]{1,256}$";

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    /// The `pattern` of `field` in the schema of `T`.
    fn pattern_of<T: PartialSchema>(field: &str) -> String {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let prop = &schema["properties"][field];
        // An optional field is `oneOf: [null, {…}]` or a plain schema.
        prop["pattern"]
            .as_str()
            .or_else(|| {
                prop["oneOf"]
                    .as_array()?
                    .iter()
                    .find_map(|s| s["pattern"].as_str())
            })
            .unwrap_or_else(|| panic!("no pattern on {field}: {prop}"))
            .to_owned()
    }

    #[test]
    fn the_schemas_state_the_rules() {
        assert_eq!(
            pattern_of::<crate::VolCreateReq>("name"),
            VOLUME_NAME_PATTERN
        );
        assert_eq!(pattern_of::<crate::BrickReq>("path"), BRICK_PATH_PATTERN);
        assert_eq!(
            pattern_of::<crate::OptionGroupReq>("name"),
            GROUP_NAME_PATTERN
        );
        assert_eq!(pattern_of::<crate::PeerAddReq>("token"), JOIN_TOKEN_PATTERN);
    }
}
