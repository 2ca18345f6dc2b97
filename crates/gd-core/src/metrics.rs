//! A node's own figures, counted as it works: REST requests, transactions and their steps,
//! store requests, process starts. One [`Metrics`] per node (not a global), so the nodes
//! of an in-process cluster and of the scale benchmark each count their own.
//!
//! Why here: the engine, the store and the reconciler each count something, and they live
//! in different crates; this is the lowest crate they all see. What the cluster *is* (its
//! volumes, bricks, peers) is not counted here: the metrics feature reads it from the store
//! at each scrape, so any node answers it and nothing is kept twice.
//!
//! Counters are `gd2_*`: gluster-prometheus has nothing for the management plane's own work.

use std::{collections::BTreeMap, fmt::Write, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Registry, Unit},
};

/// A REST request: its route as declared (`/v1/volumes/{volname}`, so one series per route,
/// not per volume), its method and its status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

/// A REST route and method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

/// A transaction's operation and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TxnLabels {
    pub operation: String,
    pub outcome: &'static str,
}

/// A transaction's operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

/// A step this node ran: its name, whether it was the step or its undo, and whether it
/// succeeded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub step: String,
    pub phase: &'static str,
    pub ok: bool,
}

/// A kind of store request (`get`, `range`, `txn`...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub request: &'static str,
}

/// Who a watch event was delivered to: the node's own watches (`node`: its transaction
/// inbox, reconciler, membership...) or its store replica (`replica`); and the part of the
/// key space it is under (a prefix of `crate::keys`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatcherLabels {
    pub watcher: &'static str,
    pub prefix: &'static str,
}

/// A kind of process glusterd2 runs (`brick`, `self-heal`...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcessLabels {
    pub kind: String,
}

type Timings<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latencies from 1 ms to about 65 s, doubling.
fn timing() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Store requests are faster: from 100 µs to about 6.5 s.
fn store_timing() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

/// Every figure a node counts. Cheap to share (`Arc`); each family is itself shared, so a
/// scrape registers clones of them ([`Metrics::register`]).
#[derive(Clone)]
pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Timings<RouteLabels>,
    pub transactions: Family<TxnLabels, Counter>,
    pub transaction_seconds: Timings<OperationLabels>,
    pub step_seconds: Timings<StepLabels>,
    pub store_seconds: Timings<StoreLabels>,
    pub store_errors: Family<StoreLabels, Counter>,
    pub watch_events: Family<WatcherLabels, Counter>,
    /// The same events, all prefixes together: `[node, replica]`.
    watch_totals: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
    pub process_starts: Family<ProcessLabels, Counter>,
    pub process_restarts: Family<ProcessLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(timing),
            transactions: Family::default(),
            transaction_seconds: Family::new_with_constructor(timing),
            step_seconds: Family::new_with_constructor(timing),
            store_seconds: Family::new_with_constructor(store_timing),
            store_errors: Family::default(),
            watch_events: Family::default(),
            watch_totals: std::sync::Arc::default(),
            process_starts: Family::default(),
            process_restarts: Family::default(),
        }
    }
}

impl Metrics {
    /// Adds every family to `registry` (under their `gd2_` names).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "gd2_http_requests",
            "REST requests answered, by route, method and status",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "gd2_http_request_duration",
            "Time to answer a REST request",
            Unit::Seconds,
            self.request_seconds.clone(),
        );
        registry.register(
            "gd2_transactions",
            "Cluster transactions this node initiated, by operation and outcome",
            self.transactions.clone(),
        );
        registry.register_with_unit(
            "gd2_transaction_duration",
            "Time from a transaction's start to its end, on its initiator",
            Unit::Seconds,
            self.transaction_seconds.clone(),
        );
        registry.register_with_unit(
            "gd2_step_duration",
            "Time this node took to run a transaction step or its undo",
            Unit::Seconds,
            self.step_seconds.clone(),
        );
        registry.register_with_unit(
            "gd2_store_request_duration",
            "Time the store took to answer a request of this node",
            Unit::Seconds,
            self.store_seconds.clone(),
        );
        registry.register(
            "gd2_store_request_errors",
            "Store requests of this node that failed",
            self.store_errors.clone(),
        );
        registry.register(
            "gd2_store_watch_events",
            "Store changes delivered to this node's watches, by watcher and by the part of the \
             key space they are under",
            self.watch_events.clone(),
        );
        registry.register(
            "gd2_process_starts",
            "GlusterFS processes this node started, by kind",
            self.process_starts.clone(),
        );
        registry.register(
            "gd2_process_restarts",
            "GlusterFS processes this node started again after they had died, by kind",
            self.process_restarts.clone(),
        );
    }

    /// Counts a REST request.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a transaction this node initiated.
    pub fn transaction(&self, operation: &str, outcome: &'static str, took: Duration) {
        self.transactions
            .get_or_create(&TxnLabels {
                operation: operation.to_owned(),
                outcome,
            })
            .inc();
        self.transaction_seconds
            .get_or_create(&OperationLabels {
                operation: operation.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a step (or undo) this node ran.
    pub fn step(&self, step: &str, phase: &'static str, ok: bool, took: Duration) {
        self.step_seconds
            .get_or_create(&StepLabels {
                step: step.to_owned(),
                phase,
                ok,
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a process start; `restart` when the process had run and died.
    pub fn process_start(&self, kind: &str, restart: bool) {
        let labels = ProcessLabels {
            kind: kind.to_owned(),
        };
        self.process_starts.get_or_create(&labels).inc();
        if restart {
            self.process_restarts.get_or_create(&labels).inc();
        }
    }
}

impl Metrics {
    /// Counts a store change (of `key`) delivered to one of this node's watches (`watcher`:
    /// `node` or `replica`).
    pub fn watch_event(&self, watcher: &'static str, key: &str) {
        self.watch_events
            .get_or_create(&WatcherLabels {
                watcher,
                prefix: crate::keys::top_prefix(key),
            })
            .inc();
        let i = usize::from(watcher != "node");
        self.watch_totals[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Store changes delivered to this node's watches so far (`node`, `replica`), every
    /// prefix together.
    pub fn watch_events_of(&self, watcher: &str) -> u64 {
        let i = usize::from(watcher != "node");
        self.watch_totals[i].load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every store change delivered to this node's watches so far, all watchers together.
    pub fn watch_events_total(&self) -> u64 {
        self.watch_events_of("node") + self.watch_events_of("replica")
    }
}

impl gd_store::StoreObserver for Metrics {
    fn watch_event(&self, key: &str) {
        Metrics::watch_event(self, "node", key);
    }

    fn observe(&self, request: &'static str, took: Duration, ok: bool) {
        let labels = StoreLabels { request };
        self.store_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        if !ok {
            self.store_errors.get_or_create(&labels).inc();
        }
    }
}

/// A gauge's labels, in the order given; shared by the figures of one object (a brick's six
/// capacity figures carry the same labels).
pub type Labels = std::sync::Arc<Vec<(&'static str, String)>>;

/// Makes [`Labels`].
pub fn labels<const N: usize>(pairs: [(&'static str, String); N]) -> Labels {
    std::sync::Arc::new(pairs.into())
}

/// Figures read at a scrape (the cluster as the store holds it), grouped by metric name:
/// gauges only, as gluster-prometheus exports them, so its dashboards read ours. Written as
/// they were set (no hashing of label sets: a scrape of thousands of bricks stays cheap).
#[derive(Default, Debug)]
pub struct Gauges {
    families: BTreeMap<&'static str, GaugeFamily>,
}

/// A metric's help text and its samples.
type GaugeFamily = (&'static str, Vec<(Labels, i64)>);

impl Gauges {
    /// Sets the gauge `name` with `labels` to `value` (`help` says what the metric is). Each
    /// label set is given once per metric.
    pub fn set(&mut self, name: &'static str, help: &'static str, labels: Labels, value: i64) {
        self.families
            .entry(name)
            .or_insert_with(|| (help, vec![]))
            .1
            .push((labels, value));
    }

    /// Adds `other`'s samples (a metric set in both keeps every sample, under one name).
    pub fn merge(&mut self, other: Gauges) {
        for (name, (help, samples)) in other.families {
            self.families
                .entry(name)
                .or_insert_with(|| (help, vec![]))
                .1
                .extend(samples);
        }
    }

    /// Appends the gauges in OpenMetrics text (without the final `# EOF`). Written here
    /// rather than through prometheus-client's encoder: a scrape of a large cluster has tens
    /// of thousands of samples, and its per-label formatting was half of the scrape's time.
    pub fn write(&self, out: &mut String) {
        for (name, (help, samples)) in &self.families {
            out.push_str("# HELP ");
            out.push_str(name);
            out.push(' ');
            escape(out, help, false);
            out.push_str("\n# TYPE ");
            out.push_str(name);
            out.push_str(" gauge\n");
            for (labels, value) in samples {
                out.push_str(name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(k);
                        out.push_str("=\"");
                        escape(out, v, true);
                        out.push('"');
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {value}");
            }
        }
    }
}

/// OpenMetrics escaping: a backslash and a newline always, a double quote in label values.
fn escape(out: &mut String, s: &str, quoted: bool) {
    if !s
        .bytes()
        .any(|b| b == b'\\' || b == b'\n' || (quoted && b == b'"'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quoted => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// A byte or inode count as a gauge's value (saturating: no file system has 2^63 bytes).
pub fn as_gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_openmetrics_with_their_labels_escaped() {
        let mut g = Gauges::default();
        g.set(
            "b_up",
            "1 when up",
            labels([("path", "/a\"b\\c\nd".into())]),
            1,
        );
        g.set("a_count", "Things", labels([]), 3);
        let mut other = Gauges::default();
        other.set("b_up", "1 when up", labels([("path", "/x".into())]), 0);
        g.merge(other);
        let mut text = String::new();
        g.write(&mut text);
        assert_eq!(
            text,
            "# HELP a_count Things\n# TYPE a_count gauge\na_count 3\n\
             # HELP b_up 1 when up\n# TYPE b_up gauge\n\
             b_up{path=\"/a\\\"b\\\\c\\nd\"} 1\nb_up{path=\"/x\"} 0\n"
        );
    }

    #[test]
    fn counted_figures_appear_in_the_text() {
        let m = Metrics::default();
        m.request(
            "/v1/volumes/{volname}",
            "GET",
            404,
            Duration::from_millis(3),
        );
        m.transaction("volume-create", "committed", Duration::from_millis(300));
        m.step("vol-create.store", "do", true, Duration::from_millis(20));
        gd_store::StoreObserver::observe(&m, "get", Duration::from_micros(400), false);
        m.process_start("brick", true);
        let mut reg = Registry::default();
        m.register(&mut reg);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        for want in [
            r#"gd2_http_requests_total{route="/v1/volumes/{volname}",method="GET",status="404"} 1"#,
            r#"gd2_http_request_duration_seconds_count{route="/v1/volumes/{volname}",method="GET"} 1"#,
            r#"gd2_transactions_total{operation="volume-create",outcome="committed"} 1"#,
            r#"gd2_step_duration_seconds_count{step="vol-create.store",phase="do",ok="true"} 1"#,
            r#"gd2_store_request_errors_total{request="get"} 1"#,
            r#"gd2_process_restarts_total{kind="brick"} 1"#,
        ] {
            assert!(text.contains(want), "{want} missing from:\n{text}");
        }
    }
}
