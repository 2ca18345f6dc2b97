//! The brick graph: what a brick's `glusterfsd` loads, from posix at the bottom to the server
//! and its io-stats at the top.

use super::stack::Stack;
use super::{BrickEnv, Volgen};
use crate::Error;
use crate::graph::Graph;
use crate::options::{GraphKind, check_value};
use crate::volume::{Volume, VolumeType};

impl Volgen<'_> {
    /// The volfile of the brick at `position` in `vol.bricks`: what its `glusterfsd` loads
    /// (GD1's `<vol>.<host>.<path>.vol`, volfile id [`crate::Brick::volfile_id`]).
    pub fn brick_volfile(
        &self,
        vol: &Volume,
        position: usize,
        env: &BrickEnv,
    ) -> Result<Graph, Error> {
        let ctx = self.context(vol, GraphKind::Brick, Vec::new())?;
        let brick = vol.bricks.get(position).ok_or_else(|| Error::NoSuchBrick {
            volume: vol.name.clone(),
            position,
        })?;
        if ctx.flag("features.read-only", false)? && ctx.flag("features.worm", false)? {
            return Err(Error::InvalidOption {
                key: "features.worm".into(),
                value: ctx.value("features.worm").unwrap_or_default().into(),
                reason: "read-only and worm cannot both be on".into(),
            });
        }
        if let Some(bind) = &env.bind_address {
            check_value("bind address", bind)?;
        }
        check_value("workdir", &env.workdir)?;

        let name = vol.name.as_str();
        let path = brick.path.as_str();
        let id = vol.id.to_string();
        let mut g = Stack::default();

        let posix = g.push(format!("{name}-posix"), "storage/posix");
        posix.set_option("directory", path);
        posix.set_option("volume-id", &id);
        if ctx.flag("features.quota", false)?
            || ctx.flag("storage.build-pgfid", false)?
            || ctx.flag("features.trash", false)?
        {
            posix.set_option("update-link-count-parent", "on");
        }
        posix.set_option("fips-mode-rchecksum", "on");
        let shared = match brick.fsid {
            Some(fsid) => vol
                .bricks
                .iter()
                .filter(|b| b.peer_id == brick.peer_id && b.fsid == Some(fsid))
                .count(),
            None => 1,
        };
        posix.set_option("shared-brick-count", shared.to_string());

        if vol.is_arbiter(position) {
            g.push(format!("{name}-arbiter"), "features/arbiter");
        }
        let trash = g.push(format!("{name}-trash"), "features/trash");
        trash.set_option("trash-dir", ".trashcan");
        trash.set_option("brick-path", path);
        trash.set_option("trash-internal-op", "off");

        let bitrot = ctx.value("features.bitrot").unwrap_or("disable");
        check_value("features.bitrot", bitrot)?;
        let bitrot_on = ctx.flag("features.bitrot", false)?;
        let changelog = g.push(format!("{name}-changelog"), "features/changelog");
        changelog.set_option("changelog-brick", path);
        changelog.set_option("changelog-dir", format!("{path}/.glusterfs/changelogs"));
        changelog.set_option(
            "changelog-notification",
            if bitrot_on { "on" } else { "off" },
        );
        let stub = g.push(format!("{name}-bitrot-stub"), "features/bitrot-stub");
        stub.set_option("export", path);
        stub.set_option("bitrot", bitrot);

        if ctx.flag("features.acl", true)? {
            g.push(format!("{name}-access-control"), "features/access-control");
        }
        g.push(format!("{name}-locks"), "features/locks");
        g.push(format!("{name}-worm"), "features/worm");
        g.push(format!("{name}-read-only"), "features/read-only")
            .set_option("read-only", "off");
        g.push(format!("{name}-leases"), "features/leases");
        g.push(format!("{name}-upcall"), "features/upcall");
        g.push(format!("{name}-io-threads"), "performance/io-threads");
        g.push(format!("{name}-selinux"), "features/selinux");
        let marker = g.push(format!("{name}-marker"), "features/marker");
        marker.set_option("volume-uuid", &id);
        marker.set_option(
            "timestamp-file",
            format!(
                "{}/vols/{name}/marker.tstamp",
                env.workdir.trim_end_matches('/')
            ),
        );
        marker.set_option("quota-version", vol.quota_version.to_string());
        g.push(format!("{name}-barrier"), "features/barrier");
        let index = g.push(format!("{name}-index"), "features/index");
        index.set_option("index-base", format!("{path}/.glusterfs/indices"));
        if matches!(vol.volume_type, VolumeType::Disperse { .. }) {
            index.set_option("xattrop64-watchlist", "trusted.ec.dirty");
        } else {
            index.set_option("xattrop-dirty-watchlist", "trusted.afr.dirty");
            index.set_option("xattrop-pending-watchlist", format!("trusted.afr.{name}-"));
        }
        let server_quota = ctx.value("features.quota").unwrap_or("off");
        check_value("features.quota", server_quota)?;
        let quota = g.push(format!("{name}-quota"), "features/quota");
        quota.set_option("volume-uuid", name);
        quota.set_option("server-quota", server_quota);

        let io_stats = g.push(path, "debug/io-stats");
        io_stats.set_option("unique-id", path);
        io_stats.set_option("volume-id", &id);
        io_stats.set_option("log-level", "INFO");
        io_stats.set_option("threads", "16");

        let server = g.push(format!("{name}-server"), "protocol/server");
        server.set_option("transport-type", vol.transport.as_str());
        if let Some(bind) = &env.bind_address {
            server.set_option("transport.socket.bind-address", bind);
        }
        if let Some(family) = ctx.value_checked("transport.address-family")? {
            server.set_option("transport.address-family", family);
        }
        server.set_option(format!("auth.login.{path}.allow"), vol.username.to_string());
        server.set_option(
            format!("auth.login.{}.password", vol.username),
            vol.password.to_string(),
        );
        server.set_option("auth-path", path);

        ctx.apply(&mut g.xlators, Some(path))?;
        g.finish()
    }
}
