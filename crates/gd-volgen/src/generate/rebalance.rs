//! The rebalance process's graph (GD1's `<vol>-rebalance.vol`): the volume as a trusted client
//! sees it — its bricks, sets and DHT — with none of a mount's caches, under io-stats.

use super::Volgen;
use super::client::add_distribute;
use super::stack::Stack;
use crate::Error;
use crate::graph::Graph;
use crate::options::GraphKind;
use crate::volume::Volume;

impl Volgen<'_> {
    /// The volfile the rebalance process of `vol` loads (volfile id `rebalance/<vol>`), as GD1
    /// 10.3's `build_rebalance_volfile` writes it: trusted clients (the volume's login), the
    /// replicate or disperse sets, parallel-readdir's readdir-aheads (with the volume's values,
    /// not a mount's split of the cache), DHT, io-stats. A volume of one set has nothing to
    /// rebalance, and no such volfile.
    pub fn rebalance_volfile(&self, vol: &Volume) -> Result<Graph, Error> {
        let ctx = self.context(vol, GraphKind::Client, Vec::new())?;
        if vol.bricks.len() <= vol.volume_type.set_size() {
            return Err(Error::NothingToRebalance(vol.name.clone()));
        }
        let mut g = Stack::default();
        add_distribute(&ctx, &mut g, true)?;
        let top = g.push(vol.name.as_str(), "debug/io-stats");
        top.set_option("log-level", "INFO");
        top.set_option("threads", "16");
        ctx.apply(&mut g.xlators, None)?;
        g.finish()
    }
}
