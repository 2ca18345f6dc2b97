//! A real etcd cluster of several members on loopback, for the benchmarks that measure what a
//! cluster of agents costs its store (a production store has 3 or 5 voters, each write
//! replicated to a quorum before it is answered).

use std::sync::Arc;

use gd_store::managed::{EtcdMemberConfig, EtcdProcess};
use tempfile::TempDir;

use crate::free_port;

/// Members named `m0`, `m1`, ..., one per address, data in a temporary directory.
pub struct TestEtcdCluster {
    pub members: Vec<EtcdProcess>,
    /// Each member's client URL, in member order.
    pub client_urls: Vec<String>,
    _dir: TempDir,
}

impl TestEtcdCluster {
    /// Starts one member on each of `ips` together (each waits for the cluster's leader).
    pub async fn start(ips: &[String]) -> anyhow::Result<TestEtcdCluster> {
        let dir = tempfile::Builder::new().prefix("gd2-etcd-").tempdir()?;
        let urls: Vec<(String, String)> = ips
            .iter()
            .map(|ip| {
                (
                    format!("http://{ip}:{}", free_port(ip)),
                    format!("http://{ip}:{}", free_port(ip)),
                )
            })
            .collect();
        let initial = urls
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}={peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let starts: Vec<_> = urls
            .iter()
            .enumerate()
            .map(|(i, (client, peer))| {
                let mut cfg = EtcdMemberConfig::new(
                    format!("m{i}"),
                    dir.path().join(format!("m{i}")),
                    client.clone(),
                    peer.clone(),
                );
                cfg.initial_cluster = Some(initial.clone());
                cfg.initial_cluster_token = "gd2-bench".to_owned();
                cfg.log_file = dir.path().join(format!("m{i}.log"));
                tokio::spawn(EtcdProcess::start(cfg))
            })
            .collect();
        let mut members = vec![];
        for s in starts {
            members.push(s.await??);
        }
        Ok(TestEtcdCluster {
            members,
            client_urls: urls.into_iter().map(|(client, _)| client).collect(),
            _dir: dir,
        })
    }

    /// Every client URL, comma-separated (glusterd2's `etcdendpoints`).
    pub fn endpoints(&self) -> String {
        self.client_urls.join(",")
    }

    /// A raw (not namespaced) client of the cluster.
    pub async fn store(&self) -> anyhow::Result<Arc<gd_store::EtcdStore>> {
        Ok(gd_store::EtcdStore::connect(&self.client_urls, Default::default()).await?)
    }
}
