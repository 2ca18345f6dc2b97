//! Whether one `key = value` may be stored: user keys by their text, volgen-only switches by
//! their value, xlator options by the xlators' own types, never an option volgen derives.

use gd_api::ErrorCode;
use gd_core::OpError;
use gd_xlator::{ValidationError, is_user_key, validate::check_text};

use super::catalog::{Catalog, TargetSet, resolve_err};

impl Catalog {
    /// Checks `key = value` for `vol` and returns the key to store it under.
    pub(super) fn accept(
        &self,
        key: &str,
        value: &str,
        reserved: &TargetSet,
    ) -> Result<String, OpError> {
        if is_user_key(key) {
            check_key_text(key)?;
            check_text(value).map_err(|reason| {
                OpError::new(
                    ErrorCode::InvalidRequest,
                    format!("invalid value for {key}: {reason}"),
                )
                .field("key", key)
            })?;
            return Ok(key.to_string());
        }
        self.available()?;
        if let Some(toggle) = self.volgen_only(key) {
            return check_volgen_only(key, value, toggle).map(|()| key.to_string());
        }
        let targets = self.targets(key)?;
        let stored = self.stored_key(key, &targets);
        let known_to_volgen = self.builtin_key(&stored).is_some();
        if !known_to_volgen {
            if let Some((x, o)) = targets.iter().find(|t| reserved.contains(*t)) {
                return Err(OpError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "{key} ({x} option {o}) is derived by glusterd2 from the volume's layout and cannot be set"
                    ),
                )
                .field("key", key));
            }
            if let Ok(r) = self.xlators.resolve(key)
                && let Some(t) = r.targets.iter().find(|t| t.option.is_pattern())
            {
                return Err(OpError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "{key} is the pattern option {} of {}; set it through a key that names one option (auth.allow, auth.reject)",
                        t.option.key(),
                        t.xlator.name
                    ),
                )
                .field("key", key));
            }
        }
        self.xlators.validate(key, value).map_err(|e| match e {
            ValidationError::Key(k) => resolve_err(k),
            ValidationError::Value(v) => OpError::new(ErrorCode::InvalidRequest, v.to_string())
                .field("key", key)
                .field("option", format!("{}.{}", v.xlator, v.option))
                .field("type", v.kind.as_str()),
        })?;
        Ok(stored)
    }
}

/// Checks a value for a key only volgen reads (see [`Catalog::volgen_only`]).
pub(super) fn check_volgen_only(key: &str, value: &str, toggle: bool) -> Result<(), OpError> {
    let bad = |why: String| {
        OpError::new(
            ErrorCode::InvalidRequest,
            format!("invalid value {value:?} for {key}: {why}"),
        )
        .field("key", key)
    };
    check_text(value).map_err(bad)?;
    if toggle && gd_volgen::options::parse_bool(value).is_none() {
        return Err(bad(format!(
            "expected one of {}",
            gd_xlator::validate::BOOL_WORDS
        )));
    }
    Ok(())
}

fn check_key_text(key: &str) -> Result<(), OpError> {
    let ok = key.len() <= gd_xlator::KEY_MAX_BYTES
        && key
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`'));
    if ok {
        Ok(())
    } else {
        Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!(
                "invalid key {:?}: printable characters without quotes or backslashes, at most {} bytes",
                key.chars().take(64).collect::<String>(),
                gd_xlator::KEY_MAX_BYTES
            ),
        ))
    }
}
