//! A started volume's space, measured through a temporary FUSE mount as GD2 did.

use super::*;

/// How long measuring a volume's space through a temporary mount may take.
pub(super) const SIZE_TIMEOUT: Duration = Duration::from_secs(30);

/// A started volume's space as its clients see it, measured as GD2 did: a temporary
/// read-only FUSE mount under the run directory, `statvfs`, unmount. `None` when the volume
/// is not started or the mount did not come up in time. Returns once the temporary client
/// has exited (found by its pid file, stopped if the unmount did not end it), so no call
/// leaves a process behind.
pub async fn volume_size(node: &Node, vol: &VolumeRecord) -> Option<gd_api::SizeInfo> {
    if vol.state != VolumeState::Started {
        return None;
    }
    let dir = node
        .config
        .rundir
        .join(format!("gd2mount-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).ok()?;
    let pidfile = dir.with_extension("pid");
    let ip = node_ip(node);
    let log = node.config.logdir.join("gd2mount.log");
    let mounted = async {
        gd_node::process::adopt_daemons();
        let status = tokio::process::Command::new(bricks::find_executable("glusterfs")?)
            .arg("--process-name=fuse")
            .arg(format!("--pid-file={}", pidfile.display()))
            .arg("--read-only")
            .arg(format!("--volfile-server={ip}"))
            .arg(format!(
                "--volfile-server-port={}",
                node.config.client_addr.port()
            ))
            .arg(format!("--volfile-id={}", vol.name))
            .arg(format!("--log-file={}", log.display()))
            .arg(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .ok()?;
        if !status.success() {
            return None;
        }
        // The launcher returns before the mount answers: wait for it (bounded by the caller).
        loop {
            let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
            if mounts
                .lines()
                .any(|l| l.split_whitespace().nth(1) == dir.to_str())
                && let Ok(st) = nix::sys::statvfs::statvfs(&dir)
            {
                let (frag, blocks, avail, bfree) = (
                    st.fragment_size(),
                    st.blocks(),
                    st.blocks_available(),
                    st.blocks_free(),
                );
                let capacity = blocks * frag;
                return Some(gd_api::SizeInfo {
                    capacity,
                    used: capacity.saturating_sub(bfree * frag),
                    free: avail * frag,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let size = tokio::time::timeout(SIZE_TIMEOUT, mounted)
        .await
        .ok()
        .flatten();
    let client = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .and_then(|pid| {
            let mountpoint = dir.as_os_str().as_encoded_bytes();
            gd_node::process::Proc::find(pid, |args| args.contains(&mountpoint))
        });
    let _ = tokio::process::Command::new("umount")
        .arg("-l")
        .arg(&dir)
        .status()
        .await;
    if let Some(p) = client {
        // Unmounted, it exits by itself; stopping it covers a mount that never came up.
        gd_node::process::stop_all(&[p]).await;
    }
    let _ = std::fs::remove_file(&pidfile);
    let _ = std::fs::remove_dir(&dir);
    size
}
