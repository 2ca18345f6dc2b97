//! Node identity: this node's peer id and the id of the cluster it belongs to.
//!
//! Created at the first start and kept in `<localstatedir>/uuid.toml` (GD2's file and keys),
//! because a node must stay the same peer across restarts: the store knows it by this id.
//! The cluster id selects the store namespace `gluster-<cluster-id>/`.

use std::{fs, io::Write, path::Path};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// This node's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Identity {
    pub peer_id: Uuid,
    pub cluster_id: Uuid,
}

const FILE: &str = "uuid.toml";

impl Identity {
    /// Reads the identity from `dir`, creating a new one on first start.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<(Identity, bool)> {
        let path = dir.join(FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let id: Identity = toml::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{} is damaged: {}",
                        path.display(),
                        e.to_string().trim_end()
                    )
                })?;
                if id.peer_id.is_nil() || id.cluster_id.is_nil() {
                    anyhow::bail!("{} holds a nil id", path.display());
                }
                Ok((id, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = Identity {
                    peer_id: Uuid::new_v4(),
                    cluster_id: Uuid::new_v4(),
                };
                id.save(dir)?;
                Ok((id, true))
            }
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the identity atomically (temp file, fsync, rename).
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(FILE);
        let tmp = dir.join(format!("{FILE}.tmp"));
        let text = toml::to_string(self)?;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = Identity::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (b, created) = Identity::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(a, b);
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(
            text.contains("peer-id") && text.contains("cluster-id"),
            "{text}"
        );
    }

    #[test]
    fn damaged_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "peer-id = \"nope\"\n").unwrap();
        let err = Identity::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
