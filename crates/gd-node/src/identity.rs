//! Node identity: this node's peer id and the id of the cluster it belongs to.
//!
//! Created at the first start and kept in `<localstatedir>/uuid.toml` (GD2's file and keys),
//! because a node must stay the same peer across restarts: the store knows it by this id.
//! The cluster id selects the store namespace `gluster-<cluster-id>/`.

use std::{fs, path::Path};

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

    /// Writes the identity atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        write_atomic(&dir.join(FILE), toml::to_string(self)?.as_bytes())
    }
}

/// Writes a file so that a crash leaves either the old or the new content: temp file, fsync,
/// rename. The file is private (0600): these files hold identities and secrets.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    gd_auth::write_private_atomic(path, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// The secret node-to-node calls are signed with, created when the cluster forms (at the
/// first peer add) and handed to every node that joins. Kept in `<localstatedir>/cluster-secret`.
pub mod cluster_secret {
    use super::*;

    const FILE: &str = "cluster-secret";

    pub fn load(dir: &Path) -> anyhow::Result<Option<String>> {
        match gd_auth::read_secret(&dir.join(FILE)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!(
                "cannot read {}: {e}",
                dir.join(FILE).display()
            )),
        }
    }

    pub fn save(dir: &Path, secret: &str) -> anyhow::Result<()> {
        write_atomic(&dir.join(FILE), secret.as_bytes())
    }

    pub fn remove(dir: &Path) -> anyhow::Result<()> {
        match fs::remove_file(dir.join(FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
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
