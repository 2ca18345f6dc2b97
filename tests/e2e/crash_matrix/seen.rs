//! What the crash matrix sees of a case's volume on every node, and whether that is one whole
//! state in which its operation is done or not.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{OPTION, ops::*};

/// What the cluster shows of volume `v`, from every node.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Seen {
    /// The volume's record as each node answers it (`None`: 404).
    pub(super) records: Vec<Option<Value>>,
    /// Brick directories with the volume-id xattr, and with `.glusterfs`.
    pub(super) marked: usize,
    pub(super) dot_glusterfs: usize,
    /// Nodes serving the client volfile, and serving it with the option, and with the set
    /// add-brick adds.
    pub(super) volfiles: usize,
    pub(super) volfiles_with_option: usize,
    pub(super) volfiles_with_added_set: usize,
    /// Nodes serving the client volfile with a decommissioned set.
    pub(super) volfiles_with_decommission: usize,
    /// Brick directories of the set add-brick adds with the volume-id xattr.
    pub(super) added_marked: usize,
    /// Whether the brick directory replace-brick brings has the volume-id xattr, and the one
    /// add-brick raising the replica count brings.
    pub(super) replaced_marked: usize,
    pub(super) raised_marked: usize,
    /// Running bricks and self-heal daemons of the volume, and running bricks of the set
    /// add-brick adds.
    pub(super) bricks: usize,
    pub(super) shds: usize,
    pub(super) added_bricks: usize,
    /// Whether the volume's lock is in the store.
    pub(super) locked: bool,
}

impl Seen {
    pub(super) fn exists(&self) -> bool {
        self.records[0].is_some()
    }

    pub(super) fn state(&self) -> Option<&str> {
        self.records[0].as_ref().and_then(|r| r["state"].as_str())
    }

    pub(super) fn expanded(&self) -> bool {
        self.records[0]
            .as_ref()
            .is_some_and(|r| r["subvols"].as_array().is_some_and(|s| s.len() == 2))
    }

    /// Whether the added set is decommissioned (a remove-brick started).
    pub(super) fn decommissioned(&self) -> bool {
        self.records[0]
            .as_ref()
            .is_some_and(|r| r["subvols"][1]["decommissioned"] == true)
    }

    pub(super) fn replaced(&self, v: &str) -> bool {
        self.has_brick(&replaced(v))
    }

    pub(super) fn raised(&self, v: &str) -> bool {
        self.has_brick(&raised(v))
    }

    /// Whether a brick is being reset.
    pub(super) fn resetting(&self) -> bool {
        self.records[0].as_ref().is_some_and(|r| {
            r["subvols"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["bricks"].as_array().into_iter().flatten())
                .any(|b| b["reset"] == true)
        })
    }

    /// The bricks of the first set that run (not being reset), and the nodes holding any
    /// brick, as the record says.
    pub(super) fn first_set_and_nodes(&self) -> (usize, usize) {
        let Some(r) = &self.records[0] else {
            return (0, 0);
        };
        let set = r["subvols"][0]["bricks"]
            .as_array()
            .map_or(0, |b| b.iter().filter(|b| b["reset"] != true).count());
        let hosts: BTreeSet<&str> = r["subvols"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["bricks"].as_array().into_iter().flatten())
            .filter_map(|b| b["host"].as_str())
            .collect();
        (set, hosts.len())
    }

    pub(super) fn has_brick(&self, dir: &str) -> bool {
        let new = format!("/{dir}");
        self.records[0].as_ref().is_some_and(|r| {
            r["subvols"][0]["bricks"].as_array().is_some_and(|b| {
                b.iter()
                    .any(|b| b["path"].as_str().is_some_and(|p| p.ends_with(&new)))
            })
        })
    }

    pub(super) fn has_option(&self) -> bool {
        self.records[0]
            .as_ref()
            .is_some_and(|r| r["options"][OPTION.0] == OPTION.1)
    }

    /// Whether the volume's processes are as its record says (what [`Seen::done`] asserts of
    /// them). After an undo that gives a record its bricks back, the reconciler's loop starts
    /// them again (a pass of the node's loop saw the record without them and stopped them),
    /// a moment after the transaction ended.
    pub(super) fn processes_follow(&self) -> bool {
        if !self.exists() {
            return (self.bricks, self.shds) == (0, 0);
        }
        let started = self.state() == Some("Started");
        let (set, nodes) = self.first_set_and_nodes();
        let n = self.records.len();
        (self.bricks, self.shds) == if started { (set, nodes) } else { (0, 0) }
            && self.added_bricks == if self.expanded() && started { n } else { 0 }
    }

    /// Whether `op` is done, after checking that the volume is in one whole state: the same
    /// on every node, its marks, volfiles and processes all matching it.
    pub(super) fn done(&self, op: Op, v: &str) -> bool {
        assert!(
            self.records.iter().all(|r| r == &self.records[0]),
            "{v}: the nodes disagree: {:?}",
            self.records
        );
        assert!(!self.locked, "{v}: its lock is left in the store");
        let n = self.records.len();
        if self.exists() {
            assert_eq!(
                (self.marked, self.dot_glusterfs, self.volfiles),
                (n, n, n),
                "{v} exists: every brick is marked and every node serves its volfile"
            );
            assert_eq!(
                self.volfiles_with_option,
                if self.has_option() { n } else { 0 },
                "{v}: the volfiles served say what the record says of the option"
            );
            let n_added = if self.expanded() { n } else { 0 };
            assert_eq!(
                self.volfiles_with_added_set, n_added,
                "{v}: the volfiles served say what the record says of the added set"
            );
            // A set remove-brick removed keeps its marks and data, as with GD1.
            if op != Op::RemoveForce {
                assert_eq!(
                    self.added_marked, n_added,
                    "{v}: the added set's marks say what the record says of it"
                );
            }
            assert_eq!(
                self.volfiles_with_decommission,
                if self.decommissioned() { n } else { 0 },
                "{v}: the volfiles served name the decommissioned set when the record does"
            );
            assert_eq!(
                self.replaced_marked,
                usize::from(self.replaced(v)),
                "{v}: the replacing brick is marked when the record has it"
            );
            assert_eq!(
                self.raised_marked,
                usize::from(self.raised(v)),
                "{v}: the brick raising the replica count is marked when the record has it"
            );
            let started = self.state() == Some("Started");
            let running = if started { n } else { 0 };
            let (set, nodes) = self.first_set_and_nodes();
            assert_eq!(
                (self.bricks, self.shds),
                if started { (set, nodes) } else { (0, 0) },
                "{v} is {:?}: its processes match",
                self.state()
            );
            assert_eq!(
                self.added_bricks,
                if self.expanded() { running } else { 0 },
                "{v}: the added set's bricks run when it is in the started volume"
            );
        } else {
            assert_eq!(
                (self.volfiles, self.bricks, self.shds),
                (0, 0, 0),
                "{v} is absent: no volfile served, no process"
            );
        }
        match op {
            Op::Create => {
                if !self.exists() {
                    assert_eq!(
                        (self.marked, self.dot_glusterfs),
                        (0, 0),
                        "{v} is absent: no brick keeps a mark"
                    );
                }
                self.exists()
            }
            Op::Set => self.has_option(),
            Op::Reset => !self.has_option(),
            Op::Start => self.state() == Some("Started"),
            Op::Stop => self.state() == Some("Stopped"),
            Op::Delete => !self.exists(),
            Op::Expand => self.expanded(),
            Op::Replace => self.replaced(v),
            Op::RemoveStart => self.decommissioned(),
            Op::RemoveForce => self.exists() && !self.expanded(),
            Op::RaiseReplica => self.raised(v),
            Op::ResetStart => self.resetting(),
            Op::ResetCommit => self.exists() && !self.resetting(),
        }
    }
}
