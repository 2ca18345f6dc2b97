//! The create and delete steps that run on the brick nodes: brick checks (protected directories, file systems), brick marking with undo, the records.

use super::*;
use gd_core::keys::BRICKS;

// ---- steps ----

/// Brick checks on this node (changes nothing but a test xattr).
pub(crate) struct ValidateBricks {
    pub(crate) node: Arc<Node>,
}

/// What refuses a brick, as the answer names it ("brick check failed on <node>: ...").
const BRICK_CHECK: &str = "brick check";

#[async_trait]
impl Step for ValidateBricks {
    const NAME: &'static str = "volume-create.validate-bricks";
    type Args = BrickArgs;

    async fn run(&self, a: &BrickArgs) -> Result<(), StepError> {
        let refused = |reason: String| StepError::refused(BRICK_CHECK, reason);
        let me = self.node.identity().peer_id;
        // Bricks this node already serves, for the overlap check.
        let refs = self.node.store.range(&format!("{BRICKS}{me}/"), 0).await?;
        let existing: Vec<String> = refs
            .kvs
            .iter()
            .filter_map(|kv| record::decode::<BrickRef>(&kv.key, &kv.value).ok())
            .map(|r| r.path)
            .collect();
        let protected = ProtectedDirs::of(&self.node.config);
        for b in a.bricks.iter().filter(|b| b.peer_id == me) {
            for e in &existing {
                if b.path == *e
                    || b.path.starts_with(&format!("{e}/"))
                    || e.starts_with(&format!("{}/", b.path))
                {
                    return Err(refused(format!(
                        "brick {} overlaps {e}, a brick of another volume on this node",
                        b.path
                    )));
                }
            }
            let path = PathBuf::from(&b.path);
            tokio::task::spawn_blocking({
                let (force, flags, protected) = (a.force, a.flags, protected.clone());
                move || {
                    protected.check(&path)?;
                    check_brick(&path, force, flags)
                }
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(refused)?;
        }
        Ok(())
    }

    async fn undo(&self, _: &BrickArgs) -> Result<(), StepError> {
        Ok(())
    }
}

/// The directories no brick may be, even with `force`: marking one (an xattr on `/etc`) or
/// exporting one (the node's secrets under its state directory) is never what was meant.
///
/// A brick is refused when it is one of [`SYSTEM_DIRS`], inside one of [`PSEUDO_FS_DIRS`], or
/// is, is inside or holds one of the node's own directories (state, run and log directories,
/// and [`DAEMON_STATE_DIRS`]). Paths are compared as given and with their symlinks resolved on
/// the brick's node (a link to `/etc` is `/etc`; with `/lib` a link to `usr/lib`, `/usr/lib`
/// is `/lib`); a brick that does not exist yet is resolved through its longest existing
/// ancestor.
#[derive(Debug, Clone)]
pub(super) struct ProtectedDirs {
    /// Each as configured and as resolved.
    system: Vec<(PathBuf, PathBuf)>,
    pseudo: Vec<(PathBuf, PathBuf)>,
    own: Vec<(PathBuf, PathBuf)>,
}

/// The root and the directories of the operating system itself.
pub(super) const SYSTEM_DIRS: [&str; 11] = [
    "/", "/etc", "/usr", "/boot", "/proc", "/sys", "/dev", "/bin", "/sbin", "/lib", "/lib64",
];
/// The kernel's and devices' file systems: nothing under them can hold data.
pub(super) const PSEUDO_FS_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];
/// The state directories of glusterd2 and GD1 at their usual places, whatever this node uses.
pub(super) const DAEMON_STATE_DIRS: [&str; 2] = ["/var/lib/glusterd2", "/var/lib/glusterd"];
/// How many symlinks resolving one brick path may follow (Linux's `MAXSYMLINKS`).
pub(super) const SYMLINK_HOPS_MAX: usize = 40;

impl ProtectedDirs {
    pub(super) fn of(config: &gd_node::config::Config) -> ProtectedDirs {
        ProtectedDirs::new(
            [&config.localstatedir, &config.rundir, &config.logdir]
                .into_iter()
                .cloned(),
        )
    }

    /// The protected directories of a node whose own directories are `own`.
    pub(super) fn new(own: impl IntoIterator<Item = PathBuf>) -> ProtectedDirs {
        let own = own
            .into_iter()
            .chain(DAEMON_STATE_DIRS.iter().map(PathBuf::from));
        let both = |p: PathBuf| {
            let r = resolve(&p).unwrap_or_else(|_| p.clone());
            (p, r)
        };
        ProtectedDirs {
            system: SYSTEM_DIRS.iter().map(PathBuf::from).map(both).collect(),
            pseudo: PSEUDO_FS_DIRS.iter().map(PathBuf::from).map(both).collect(),
            own: own.map(both).collect(),
        }
    }

    /// Refuses `path` if it is, or resolves to, a protected directory (see the type).
    pub(super) fn check(&self, path: &Path) -> Result<(), String> {
        let real = resolve(path).map_err(|e| format!("brick {}: {e}", path.display()))?;
        if let Some(what) = self.refusal(path, |d| &d.0) {
            return Err(format!(
                "brick {} is {what}: refused even with force",
                path.display()
            ));
        }
        match self.refusal(&real, |d| &d.1) {
            None => Ok(()),
            Some(what) => Err(format!(
                "brick {} resolves to {}, which is {what}: refused even with force",
                path.display(),
                real.display()
            )),
        }
    }

    /// What protected directory `path` is, is inside or holds, comparing it with each
    /// directory as `form` gives it (as configured, or resolved).
    fn refusal(&self, path: &Path, form: fn(&(PathBuf, PathBuf)) -> &PathBuf) -> Option<String> {
        if self.system.iter().any(|d| path == form(d)) {
            return Some("a system directory".to_owned());
        }
        if let Some(d) = self.pseudo.iter().find(|d| path.starts_with(form(d))) {
            return Some(format!("inside {} (a kernel file system)", d.0.display()));
        }
        self.own.iter().find_map(|d| {
            let what = format!("{} (a directory of the management daemon)", d.0.display());
            let dir = form(d);
            if path == dir {
                Some(what)
            } else if path.starts_with(dir) {
                Some(format!("inside {what}"))
            } else if dir.starts_with(path) {
                Some(format!("a parent of {what}, which the brick would export"))
            } else {
                None
            }
        })
    }
}

/// `path` with its symlinks resolved as far as it exists: its longest existing ancestor made
/// canonical, the rest (not made yet) appended. A dangling symlink on the way is followed to
/// where it points, as any later use of the path would once the target exists.
pub(super) fn resolve(path: &Path) -> Result<PathBuf, String> {
    let mut path = path.to_path_buf();
    for _ in 0..=SYMLINK_HOPS_MAX {
        let mut rest: Vec<std::ffi::OsString> = vec![];
        let mut cur = path.as_path();
        let next = loop {
            if let Ok(mut real) = std::fs::canonicalize(cur) {
                real.extend(rest.iter().rev());
                return Ok(real);
            }
            if let Ok(target) = std::fs::read_link(cur) {
                let mut target = cur.parent().unwrap_or(Path::new("/")).join(target);
                target.extend(rest.iter().rev());
                break target;
            }
            match (cur.parent(), cur.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    cur = parent;
                }
                _ => return Err("its path cannot be resolved".into()),
            }
        };
        path = next;
    }
    Err(format!(
        "its path goes through more than {SYMLINK_HOPS_MAX} symbolic links"
    ))
}

/// The brick checks of GD2 (research/gd2.md §5.5), relaxed by `force` and the flags.
pub(super) fn check_brick(
    path: &Path,
    force: bool,
    flags: gd_api::CreateFlags,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let p = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("brick {p}: {e}")),
    };
    // The nearest existing directory: the brick itself, or the ancestor it will be made in.
    let existing = match &meta {
        Some(m) if !m.is_dir() => return Err(format!("brick {p} exists and is not a directory")),
        Some(_) => path.to_path_buf(),
        None => {
            if !(flags.create_brick_dir || force) {
                return Err(format!(
                    "brick {p} does not exist (use create-brick-dir to create it)"
                ));
            }
            path.ancestors()
                .find(|a| a.is_dir())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"))
        }
    };
    let dev = std::fs::metadata(&existing)
        .map_err(|e| format!("{}: {e}", existing.display()))?
        .dev();
    if meta.is_some() && !(force || flags.allow_mount_as_brick) {
        let parent_dev = path
            .parent()
            .and_then(|pp| std::fs::metadata(pp).ok())
            .map(|m| m.dev());
        if parent_dev.is_some_and(|d| d != dev) {
            return Err(format!(
                "brick {p} is a mount point (use allow-mount-as-brick to accept it)"
            ));
        }
    }
    if !(force || flags.allow_root_dir) {
        let root = std::fs::metadata("/").map_err(|e| e.to_string())?.dev();
        if dev == root {
            return Err(format!(
                "brick {p} is on the root file system (use allow-root-dir or force to accept it)"
            ));
        }
    }
    // xattrs must work where the brick lives.
    let probe = "trusted.glusterfs.test-xattr-support";
    xattr::set(&existing, probe, b"probe")
        .map_err(|e| format!("brick {p}: extended attributes do not work here: {e}"))?;
    let _ = xattr::remove(&existing, probe);
    if !(force || flags.reuse_bricks) {
        for a in existing.ancestors() {
            for key in [VOLUME_ID_XATTR, GFID_XATTR] {
                if xattr::get(a, key).ok().flatten().is_some() {
                    return Err(format!(
                        "brick {p}: {} carries {key}: it is (or is inside) a brick of a volume (use reuse-bricks or force)",
                        a.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Marks this node's bricks for the volume; undo takes back exactly what this made.
pub(crate) struct InitBricks {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for InitBricks {
    const NAME: &'static str = "volume-create.init-bricks";
    type Args = BrickArgs;

    async fn run(&self, a: &BrickArgs) -> Result<(), StepError> {
        let me = self.node.identity().peer_id;
        let bricks = a.bricks_of(me);
        let (id, force, create) = (a.volume_id, a.force, a.flags.create_brick_dir || a.force);
        let protected = ProtectedDirs::of(&self.node.config);
        tokio::task::spawn_blocking(move || {
            for b in &bricks {
                // Again, right before marking: a symlink may have changed since the checks.
                protected.check(Path::new(&b.path))?;
                init_brick(Path::new(&b.path), id, create, force)?;
            }
            Ok::<(), String>(())
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(())
    }

    /// A brick a started volume's reconciler ran meanwhile (add-brick) is stopped first, by
    /// its pid file: the record that named it is gone by now.
    async fn undo(&self, a: &BrickArgs) -> Result<(), StepError> {
        let bricks = a.bricks_of(self.node.identity().peer_id);
        for b in &bricks {
            super::replace::stop_brick(&self.processes, &self.node, &a.volume, b).await;
        }
        let id = a.volume_id;
        tokio::task::spawn_blocking(move || {
            for b in &bricks {
                undo_init_brick(Path::new(&b.path), id);
            }
        })
        .await
        .map_err(|e| StepError::Failed(e.to_string()))
    }
}

/// A marker left in a brick directory this transaction created, so undo removes only that.
pub(super) const CREATED_MARKER: &str = "trusted.glusterd2.created-by";

pub(super) fn init_brick(
    path: &Path,
    volume_id: Uuid,
    create: bool,
    force: bool,
) -> Result<(), String> {
    let p = path.display();
    if !path.exists() {
        if !create {
            return Err(format!("brick {p} does not exist"));
        }
        std::fs::create_dir_all(path).map_err(|e| format!("cannot create brick {p}: {e}"))?;
        let _ = xattr::set(path, CREATED_MARKER, volume_id.as_bytes());
    }
    match xattr::get(path, VOLUME_ID_XATTR).map_err(|e| format!("brick {p}: {e}"))? {
        Some(v) if v == volume_id.as_bytes() => {}
        Some(_) if !force => return Err(format!("brick {p} belongs to another volume")),
        _ => xattr::set(path, VOLUME_ID_XATTR, volume_id.as_bytes())
            .map_err(|e| format!("brick {p}: cannot set {VOLUME_ID_XATTR}: {e}"))?,
    }
    let gl = path.join(".glusterfs");
    std::fs::create_dir_all(&gl).map_err(|e| format!("cannot create {}: {e}", gl.display()))?;
    Ok(())
}

pub(super) fn undo_init_brick(path: &Path, volume_id: Uuid) {
    // Only what this volume made: its volume-id xattr, an empty .glusterfs, a directory it
    // created (with whatever a brick's run left in it).
    if xattr::get(path, VOLUME_ID_XATTR)
        .ok()
        .flatten()
        .is_some_and(|v| v == volume_id.as_bytes())
    {
        let _ = xattr::remove(path, VOLUME_ID_XATTR);
        let _ = std::fs::remove_dir(path.join(".glusterfs"));
    }
    if xattr::get(path, CREATED_MARKER)
        .ok()
        .flatten()
        .is_some_and(|v| v == volume_id.as_bytes())
    {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// Writes the volume and its brick references, if the name is still free.
pub(crate) struct StoreVolume {
    pub(crate) node: Arc<Node>,
}

#[async_trait]
impl Step for StoreVolume {
    const NAME: &'static str = "volume-create.store";
    type Args = VolumeRecord;

    async fn run(&self, vol: &VolumeRecord) -> Result<(), StepError> {
        let key = volume_key(&vol.name);
        let mut ops = vec![TxnOp::put(&key, record::encode(vol))];
        for b in vol.bricks() {
            let r = BrickRef {
                volume: vol.name.clone(),
                volume_id: vol.id,
                path: b.path.clone(),
            };
            ops.push(TxnOp::put(
                brick_ref_key(b.peer_id, b.id),
                record::encode(&r),
            ));
        }
        let resp = self
            .node
            .store
            .txn(Txn::new().when([Compare::absent(&key)]).and_then(ops))
            .await?;
        if !resp.succeeded {
            // Idempotent: a retry of this very step finds its own volume.
            match get_volume(self.node.store.as_ref(), &vol.name).await? {
                Some(v) if v.id == vol.id => {}
                _ => return Err(format!("volume {} already exists", vol.name).into()),
            }
        }
        Ok(())
    }

    async fn undo(&self, vol: &VolumeRecord) -> Result<(), StepError> {
        remove_records(&self.node, vol, false).await
    }
}

/// Deletes a volume's records (only the volume with that id, and only as it was read: one
/// read, one write conditional on it); `unless_started`: refused if it is started.
pub(super) async fn remove_records(
    node: &Node,
    vol: &VolumeRecord,
    unless_started: bool,
) -> Result<(), StepError> {
    let key = volume_key(&vol.name);
    let Some(kv) = node.store.get(&key).await? else {
        return Ok(());
    };
    let stored: VolumeRecord = record::decode(&key, &kv.value)?;
    if stored.id != vol.id {
        return Ok(());
    }
    if unless_started && stored.state == VolumeState::Started {
        return Err(format!("volume {} was started meanwhile", vol.name).into());
    }
    let mut ops = vec![TxnOp::delete(&key)];
    for b in stored.bricks() {
        ops.push(TxnOp::delete(brick_ref_key(b.peer_id, b.id)));
    }
    let done = node
        .store
        .txn(
            Txn::new()
                .when([Compare::mod_revision(
                    &key,
                    gd_store::CompareOp::Equal,
                    kv.mod_revision,
                )])
                .and_then(ops),
        )
        .await?;
    if !done.succeeded {
        return Err(format!(
            "volume {} changed while it was being deleted; try again",
            vol.name
        )
        .into());
    }
    Ok(())
}

/// Deletes a volume's records; undo writes them back.
pub(crate) struct DeleteVolume {
    pub(crate) node: Arc<Node>,
}

#[async_trait]
impl Step for DeleteVolume {
    const NAME: &'static str = "volume-delete.store";
    type Args = VolumeRecord;

    async fn run(&self, vol: &VolumeRecord) -> Result<(), StepError> {
        remove_records(&self.node, vol, true).await
    }

    async fn undo(&self, vol: &VolumeRecord) -> Result<(), StepError> {
        StoreVolume {
            node: self.node.clone(),
        }
        .run(vol)
        .await
    }
}
