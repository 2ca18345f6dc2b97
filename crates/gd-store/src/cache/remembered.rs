//! The last answers to reads outside the replica's scope, kept (bounded) so that they can
//! still be answered, marked stale, while the store has no quorum.
//!
//! A node replicates only what it needs on every node (membership); following every key of
//! the cluster would deliver every change to every node, which a large cluster cannot afford.
//! A read it has made before is answered as it was then, with the revision and time of that
//! answer: true of the store at that revision, as a replica's answer is.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use super::Staleness;
use crate::{KeyValue, RangeResponse, Revision, TxnOpResponse, TxnResponse};

/// An answer to a read, as kept.
#[derive(Clone)]
pub(super) enum Answer {
    Get(Option<KeyValue>),
    Range(RangeResponse),
    Txn(TxnResponse),
}

/// What a read answers, to keep and give back.
pub(super) trait Answerable: Sized + Clone {
    fn into_answer(self) -> Answer;
    fn from_answer(a: Answer) -> Option<Self>;
    /// The store revision the answer is true at, when it says.
    fn revision(&self) -> Option<Revision>;
}

impl Answerable for Option<KeyValue> {
    fn into_answer(self) -> Answer {
        Answer::Get(self)
    }
    fn from_answer(a: Answer) -> Option<Self> {
        match a {
            Answer::Get(v) => Some(v),
            _ => None,
        }
    }
    fn revision(&self) -> Option<Revision> {
        None
    }
}

impl Answerable for RangeResponse {
    fn into_answer(self) -> Answer {
        Answer::Range(self)
    }
    fn from_answer(a: Answer) -> Option<Self> {
        match a {
            Answer::Range(v) => Some(v),
            _ => None,
        }
    }
    fn revision(&self) -> Option<Revision> {
        Some(self.revision)
    }
}

impl Answerable for TxnResponse {
    fn into_answer(self) -> Answer {
        Answer::Txn(self)
    }
    fn from_answer(a: Answer) -> Option<Self> {
        match a {
            Answer::Txn(v) => Some(v),
            _ => None,
        }
    }
    fn revision(&self) -> Option<Revision> {
        Some(self.revision)
    }
}

/// About how many bytes an answer takes.
fn size(a: &Answer) -> usize {
    let kv = |kv: &KeyValue| kv.key.len() + kv.value.len() + 64;
    64 + match a {
        Answer::Get(v) => v.as_ref().map_or(0, kv),
        Answer::Range(r) => r.kvs.iter().map(kv).sum(),
        Answer::Txn(t) => t
            .responses
            .iter()
            .map(|r| match r {
                TxnOpResponse::Get(Some(v)) => kv(v),
                _ => 16,
            })
            .sum(),
    }
}

/// The kept answers, oldest first out: at most `max_bytes` in all, none over an eighth of it.
pub(super) struct Remembered {
    answers: HashMap<String, (Answer, Staleness, usize)>,
    order: VecDeque<String>,
    bytes: usize,
    max_bytes: usize,
}

impl Remembered {
    pub(super) fn new(max_bytes: usize) -> Remembered {
        Remembered {
            answers: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Whether answers are kept at all.
    pub(super) fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    /// Keeps `answer` to `query`, true at `revision` (now).
    pub(super) fn keep(&mut self, query: String, answer: Answer, revision: Revision) {
        let n = size(&answer);
        if n > self.max_bytes / 8 {
            // Too large to keep: forget any older answer, which would now be wrong.
            self.forget(&query);
            return;
        }
        self.forget(&query);
        while self.bytes + n > self.max_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, _, m)) = self.answers.remove(&oldest) {
                self.bytes -= m;
            }
        }
        let stale = Staleness {
            revision,
            as_of: SystemTime::now(),
        };
        self.bytes += n;
        self.order.push_back(query.clone());
        self.answers.insert(query, (answer, stale, n));
    }

    fn forget(&mut self, query: &str) {
        if let Some((_, _, m)) = self.answers.remove(query) {
            self.bytes -= m;
            self.order.retain(|q| q != query);
        }
    }

    pub(super) fn get(&self, query: &str) -> Option<(Answer, Staleness)> {
        self.answers.get(query).map(|(a, s, _)| (a.clone(), *s))
    }

    pub(super) fn contains(&self, query: &str) -> bool {
        self.answers.contains_key(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(keys: &[&str], revision: Revision) -> Answer {
        Answer::Range(RangeResponse {
            kvs: keys
                .iter()
                .map(|k| KeyValue {
                    key: (*k).to_owned(),
                    value: vec![0; 100],
                    create_revision: 1,
                    mod_revision: 1,
                    version: 1,
                    lease: None,
                })
                .collect(),
            more: false,
            revision,
        })
    }

    #[test]
    fn keeps_answers_within_its_bound_oldest_out_first() {
        let mut r = Remembered::new(8 * 1024);
        r.keep("a".into(), range(&["x"], 5), 5);
        let (a, stale) = r.get("a").expect("kept");
        assert_eq!(stale.revision, 5);
        assert!(matches!(a, Answer::Range(ref v) if v.kvs.len() == 1));
        // A newer answer to the same read replaces it.
        r.keep("a".into(), range(&["x", "y"], 7), 7);
        assert_eq!(r.get("a").map(|(_, s)| s.revision), Some(7));
        // Filling past the bound drops the oldest.
        for i in 0..40 {
            r.keep(format!("q{i}"), range(&["k"], 9), 9);
        }
        assert!(r.bytes <= 8 * 1024);
        assert!(!r.contains("a"), "the oldest went first");
        assert!(r.contains("q39"));
        // An answer over an eighth of the bound is not kept, and the older one goes.
        let big: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        r.keep("q39".into(), range(&big, 10), 10);
        assert!(!r.contains("q39"));
        assert_eq!(r.order.len(), r.answers.len());
        // Kept nothing when disabled.
        let mut off = Remembered::new(0);
        off.keep("a".into(), range(&[], 1), 1);
        assert!(!off.enabled() && !off.contains("a"));
    }
}
