//! A started volume's space, measured through a temporary FUSE mount as GD2 did.

use super::{mount::TempMount, *};

/// How long measuring a volume's space through a temporary mount may take.
pub(super) const SIZE_TIMEOUT: Duration = Duration::from_secs(30);

/// A started volume's space as its clients see it, measured as GD2 did: a temporary
/// read-only FUSE mount under the run directory, `statvfs`, unmount. `None` when the volume
/// is not started or the mount did not come up in time. Returns once the temporary client
/// has exited, so no call leaves a process behind.
pub async fn volume_size(node: &Node, vol: &VolumeRecord) -> Option<gd_api::SizeInfo> {
    if vol.state != VolumeState::Started {
        return None;
    }
    let mount = match TempMount::open(node, &vol.name, &["--read-only"], SIZE_TIMEOUT).await {
        Ok(m) => m,
        Err(e) => {
            tracing::debug!(volume = %vol.name, error = %e, "no space measured");
            return None;
        }
    };
    let size = mount
        .call(SIZE_TIMEOUT, |dir| nix::sys::statvfs::statvfs(dir).ok())
        .await
        .flatten()
        .map(|st| {
            let (frag, blocks, avail, bfree) = (
                st.fragment_size(),
                st.blocks(),
                st.blocks_available(),
                st.blocks_free(),
            );
            let capacity = blocks * frag;
            gd_api::SizeInfo {
                capacity,
                used: capacity.saturating_sub(bfree * frag),
                free: avail * frag,
            }
        });
    mount.close().await;
    size
}
