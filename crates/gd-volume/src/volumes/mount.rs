//! Temporary FUSE mounts of a started volume on this node: GD2 measured a volume's space
//! through one, and GD1's replace-brick and add-brick mark new bricks for heal through one.

use super::*;

/// Where a temporary mount's graph comes from.
enum Source<'a> {
    /// This node's volfile server, by the volume's name.
    Server,
    /// A volfile made here.
    File(&'a std::path::Path),
}

/// A volume mounted under the run directory until [`TempMount::close`].
pub(super) struct TempMount {
    dir: std::path::PathBuf,
    pidfile: std::path::PathBuf,
}

impl TempMount {
    /// Mounts `volume` from this node's volfile server with the client's `extra` arguments
    /// (`--read-only`, `--client-pid=-12`...) and waits, within `timeout`, until the mount
    /// answers. A mount that does not come up is cleaned away (`Err` says why).
    pub(super) async fn open(
        node: &Node,
        volume: &str,
        extra: &[&str],
        timeout: Duration,
    ) -> Result<TempMount, String> {
        Self::open_from(node, volume, Source::Server, extra, timeout).await
    }

    /// Mounts the graph in the volfile `path` (of volume `volume`), as [`TempMount::open`].
    pub(super) async fn open_volfile(
        node: &Node,
        volume: &str,
        path: &std::path::Path,
        extra: &[&str],
        timeout: Duration,
    ) -> Result<TempMount, String> {
        Self::open_from(node, volume, Source::File(path), extra, timeout).await
    }

    async fn open_from(
        node: &Node,
        volume: &str,
        source: Source<'_>,
        extra: &[&str],
        timeout: Duration,
    ) -> Result<TempMount, String> {
        let dir = node
            .config
            .rundir
            .join(format!("gd2mount-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mount = TempMount {
            pidfile: dir.with_extension("pid"),
            dir,
        };
        match tokio::time::timeout(timeout, mount.mount(node, volume, source, extra)).await {
            Ok(Ok(())) => Ok(mount),
            Ok(Err(e)) => {
                mount.close().await;
                Err(e)
            }
            Err(_) => {
                mount.close().await;
                Err(format!(
                    "a temporary mount of {volume} did not come up within {} s",
                    timeout.as_secs()
                ))
            }
        }
    }

    async fn mount(
        &self,
        node: &Node,
        volume: &str,
        source: Source<'_>,
        extra: &[&str],
    ) -> Result<(), String> {
        gd_node::process::adopt_daemons();
        let bin = bricks::find_executable("glusterfs")
            .ok_or("glusterfs is not installed (Debian: glusterfs-client)")?;
        let log = node.config.logdir.join("gd2mount.log");
        let mut command = tokio::process::Command::new(bin);
        command
            .arg("--process-name=fuse")
            .arg(format!("--pid-file={}", self.pidfile.display()))
            .args(extra);
        match source {
            Source::Server => command
                .arg(format!("--volfile-server={}", node_ip(node)))
                .arg(format!(
                    "--volfile-server-port={}",
                    node.config.client_addr.port()
                ))
                .arg(format!("--volfile-id={volume}")),
            Source::File(path) => command.arg(format!("--volfile={}", path.display())),
        };
        let status = command
            .arg(format!("--log-file={}", log.display()))
            .arg(&self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .map_err(|e| format!("cannot run glusterfs: {e}"))?;
        if !status.success() {
            return Err(format!(
                "a temporary mount of {volume} failed ({status}; see {})",
                log.display()
            ));
        }
        // The launcher returns before the mount answers: wait for it (bounded by the caller).
        // A call into a FUSE mount blocks until its client answers: never on the runtime.
        loop {
            let dir = self.dir.clone();
            let answers = tokio::task::spawn_blocking(move || {
                let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
                mounts
                    .lines()
                    .any(|l| l.split_whitespace().nth(1) == dir.to_str())
                    && nix::sys::statvfs::statvfs(&dir).is_ok()
            })
            .await
            .unwrap_or(false);
            if answers {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `f` on the mount's directory off the runtime (a call into a FUSE mount blocks
    /// until its client answers), bounded by `timeout`.
    pub(super) async fn call<T: Send + 'static>(
        &self,
        timeout: Duration,
        f: impl FnOnce(&std::path::Path) -> T + Send + 'static,
    ) -> Option<T> {
        let dir = self.dir.clone();
        tokio::time::timeout(timeout, tokio::task::spawn_blocking(move || f(&dir)))
            .await
            .ok()?
            .ok()
    }

    /// Unmounts, and returns once the client has exited (found by its pid file, stopped if the
    /// unmount did not end it), so no mount leaves a process behind.
    pub(super) async fn close(self) {
        let client = std::fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .and_then(|pid| {
                let mountpoint = self.dir.as_os_str().as_encoded_bytes();
                gd_node::process::Proc::find(pid, |args| args.contains(&mountpoint))
            });
        let _ = tokio::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status()
            .await;
        if let Some(p) = client {
            // Unmounted, it exits by itself; stopping it covers a mount that never came up.
            gd_node::process::stop_all(&[p]).await;
        }
        let _ = std::fs::remove_file(&self.pidfile);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Names each of `clients` (`<vol>-client-<i>`) to AFR in the xattr `key` on the root of a
/// temporary mount (client pid -12, the one AFR takes these from), as GD1's replace-brick,
/// add-brick and reset-brick do, so that AFR blames those bricks on their sets' other bricks
/// and the self-heal daemons fill them. The mount's graph comes from the node's volfile
/// server, or from `volfile` (one that is not served yet).
pub(super) async fn mark_for_heal(
    node: &Node,
    volume: &str,
    volfile: Option<&std::path::Path>,
    key: &'static str,
    clients: Vec<String>,
) -> Result<(), String> {
    let extra = [super::replace::ADD_REPLICA_MOUNT_PID];
    let timeout = super::replace::MARK_MOUNT_TIMEOUT;
    let mount = match volfile {
        Some(path) => TempMount::open_volfile(node, volume, path, &extra, timeout).await?,
        None => TempMount::open(node, volume, &extra, timeout).await?,
    };
    let marked = mount
        .call(timeout, move |dir| {
            for c in &clients {
                let mut value = c.clone().into_bytes();
                value.push(0);
                xattr::set(dir, key, &value).map_err(|e| format!("{c}: {e}"))?;
            }
            Ok::<(), String>(())
        })
        .await
        .unwrap_or_else(|| Err(format!("no answer within {} s", timeout.as_secs())));
    mount.close().await;
    marked
}
