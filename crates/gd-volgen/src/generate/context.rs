//! The option pass: the value of an option for one graph (the builder's, the volume's or the
//! table's default), and GD1's pass that sets every table entry on the translators of its type.

use crate::Error;
use crate::graph::Xlator;
use crate::options::{Action, GraphKind, OptionTable, check_value, parse_bool};
use crate::volume::Volume;

/// The translator types whose options the self-heal graph takes (GD1's `shd_option_handler`).
const SHD_OPTION_TYPES: [&str; 3] = ["protocol/client", "cluster/replicate", "cluster/disperse"];

/// What one option pass needs: the table, the volume, the graph kind and GD1's `mod_dict`
/// (values the builder imposes over the volume's).
pub(super) struct Context<'a> {
    pub(super) table: &'a OptionTable,
    pub(super) vol: &'a Volume,
    pub(super) kind: GraphKind,
    pub(super) overlay: Vec<(&'static str, String)>,
}

impl Context<'_> {
    /// The value of `key` for this graph: the builder's, else the volume's, else the table's
    /// default.
    pub(super) fn value(&self, key: &str) -> Option<&str> {
        self.overlay
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.vol.options.get(key))
            .or_else(|| self.table.default_of(key))
    }

    /// [`Context::value`], checked to be writable as one volfile word.
    pub(super) fn value_checked(&self, key: &str) -> Result<Option<&str>, Error> {
        match self.value(key) {
            Some(v) => check_value(key, v).map(|()| Some(v)),
            None => Ok(None),
        }
    }

    /// The boolean value of `key`, `fallback` when it has none.
    pub(super) fn flag(&self, key: &str, fallback: bool) -> Result<bool, Error> {
        match self.value(key) {
            None => Ok(fallback),
            Some(v) => parse_bool(v).ok_or_else(|| Error::InvalidOption {
                key: key.to_string(),
                value: v.to_string(),
                reason: "expected on/off, yes/no, true/false, enable/disable or 1/0".into(),
            }),
        }
    }

    /// GD1's option passes: every table entry, in order, onto every translator of its type.
    /// On a brick, the server's `auth.*` entries come first: GD1 sets them in the server
    /// builder's own pass, before the generic one.
    pub(super) fn apply(
        &self,
        xlators: &mut [Xlator],
        brick_path: Option<&str>,
    ) -> Result<(), Error> {
        let auth_first = self
            .table
            .entries()
            .iter()
            .filter(|e| matches!(e.action, Action::ServerAuth(_)));
        let the_rest = self
            .table
            .entries()
            .iter()
            .filter(|e| !matches!(e.action, Action::ServerAuth(_)));
        for entry in auth_first.chain(the_rest) {
            if !entry.graphs.contains(self.kind) {
                continue;
            }
            if self.kind == GraphKind::Shd && !SHD_OPTION_TYPES.contains(&&*entry.xlator_type) {
                continue;
            }
            let option = match &entry.action {
                Action::Set(option) => option.to_string(),
                Action::ServerAuth(suffix) => match brick_path {
                    Some(path) => format!("auth.addr.{path}.{suffix}"),
                    None => continue,
                },
                Action::Toggle | Action::Builder => continue,
            };
            let value = self
                .overlay
                .iter()
                .find(|(k, _)| *k == entry.key)
                .map(|(_, v)| v.as_str())
                .or_else(|| self.vol.options.get(&entry.key))
                .or(entry.default.as_deref());
            let Some(value) = value else { continue };
            let mut targets = xlators
                .iter_mut()
                .filter(|x| x.xl_type == entry.xlator_type)
                .peekable();
            if targets.peek().is_none() {
                continue;
            }
            check_value(&entry.key, value)?;
            for xl in targets {
                xl.set_option(option.as_str(), value);
            }
        }
        Ok(())
    }
}
