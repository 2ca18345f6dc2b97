//! A graph under construction: translators pushed bottom-up, finished into a checked
//! [`Graph`] with each translator's options in print order.

use crate::Error;
use crate::graph::{Graph, Xlator};

/// A graph under construction, bottom-up; options in the order they were set.
#[derive(Default)]
pub(super) struct Stack {
    pub(super) xlators: Vec<Xlator>,
}

impl Stack {
    /// Adds a translator on top of the previous one.
    pub(super) fn push(&mut self, name: impl Into<String>, xl_type: &str) -> &mut Xlator {
        let below = self.xlators.last().map(|x| vec![x.name.clone()]);
        self.push_over(name.into(), xl_type, below.unwrap_or_default())
    }

    /// Adds a translator over `children`.
    pub(super) fn push_over(
        &mut self,
        name: String,
        xl_type: &str,
        children: Vec<String>,
    ) -> &mut Xlator {
        let mut xl = Xlator::new(name, xl_type);
        xl.subvolumes = children;
        self.xlators.push(xl);
        let last = self.xlators.len() - 1;
        &mut self.xlators[last]
    }

    /// Puts each translator's options in print order (newest first, like a GlusterFS dict)
    /// and checks the graph.
    pub(super) fn finish(mut self) -> Result<Graph, Error> {
        for xl in &mut self.xlators {
            xl.options.reverse();
        }
        let graph = Graph {
            xlators: self.xlators,
        };
        graph.validate()?;
        Ok(graph)
    }
}
