//! The self-heal daemon's graph: the replicate and disperse sets of every healing volume under
//! one io-stats top.

use super::Volgen;
use super::client::add_clients_and_sets;
use super::stack::Stack;
use crate::Error;
use crate::graph::Graph;
use crate::options::GraphKind;
use crate::volume::Volume;

impl Volgen<'_> {
    /// The self-heal daemon's volfile for `vols`, skipping the volumes that do not heal
    /// (distribute).
    ///
    /// For one healing volume it is GD1 10.3's `<vol>-shd.vol` (volfile id `shd/<vol>`), whose
    /// top is named after the volume: GD1 runs one daemon per node and attaches each volume's
    /// graph to it. For several, it is one graph with every volume's sets under a top named
    /// `glustershd`, as GD1 wrote before the daemon was multiplexed, for a daemon that loads
    /// them all at once.
    pub fn shd_volfile(&self, vols: &[Volume]) -> Result<Graph, Error> {
        let mut healing: Vec<&Volume> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for vol in vols {
            vol.validate()?;
            if !seen.insert(vol.name.as_str()) {
                return Err(Error::InvalidVolume(format!(
                    "volume {:?} is listed twice",
                    vol.name
                )));
            }
            if vol.volume_type.heals() {
                healing.push(vol);
            }
        }
        let (top_name, top_vol) = match healing.as_slice() {
            [] => return Err(Error::NothingToHeal),
            [only] => (only.name.as_str(), Some(*only)),
            _ => ("glustershd", None),
        };
        let mut all = Stack::default();
        let mut tops = Vec::new();
        for vol in &healing {
            let overlay = vec![
                ("cluster.background-self-heal-count", "0".to_string()),
                ("cluster.metadata-self-heal", "on".to_string()),
                ("cluster.data-self-heal", "on".to_string()),
                ("cluster.entry-self-heal", "on".to_string()),
            ];
            let ctx = self.context(vol, GraphKind::Shd, overlay)?;
            let mut g = Stack::default();
            let sets = add_clients_and_sets(&ctx, &mut g, true)?;
            ctx.apply(&mut g.xlators, None)?;
            for xl in g.xlators.iter_mut().filter(|x| sets.contains(&x.name)) {
                xl.set_option("iam-self-heal-daemon", "yes");
            }
            all.xlators.append(&mut g.xlators);
            tops.extend(sets);
        }
        // The log level and threads of a client process; the option pass of a self-heal graph
        // does not reach io-stats, so the builder sets them.
        let (log_level, threads) = match top_vol {
            Some(vol) => {
                let ctx = self.context(vol, GraphKind::Client, Vec::new())?;
                (
                    ctx.value_checked("diagnostics.client-log-level")?
                        .unwrap_or("INFO")
                        .to_string(),
                    ctx.value_checked("config.client-threads")?
                        .unwrap_or("16")
                        .to_string(),
                )
            }
            None => ("INFO".to_string(), "16".to_string()),
        };
        let top = all.push_over(top_name.to_string(), "debug/io-stats", tops);
        top.set_option("log-level", log_level);
        top.set_option("threads", threads);
        all.finish()
    }
}
