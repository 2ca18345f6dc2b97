//! The backends every case runs on: the local store in a temporary directory, and a real etcd
//! member on free loopback ports, one per test.

use std::net::TcpListener;
use std::sync::Arc;

use gd_store::managed::{EtcdMemberConfig, EtcdProcess};
use gd_store::{EtcdStore, LocalStore, Store, etcd::EtcdOptions};

pub enum Kind {
    Local,
    Etcd { url: String },
}

pub struct Backend {
    pub kind: Kind,
    pub store: Arc<dyn Store>,
    pub etcd: Option<EtcdProcess>,
    pub _dir: tempfile::TempDir,
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// Two distinct free ports on 127.0.0.1 (both listeners are held until both are picked).
pub fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    (
        a.local_addr().expect("port").port(),
        b.local_addr().expect("port").port(),
    )
}

impl Backend {
    pub async fn local() -> Backend {
        let dir = tempdir();
        let store = LocalStore::open(&dir.path().join("store.redb"))
            .await
            .expect("open the local store");
        Backend {
            kind: Kind::Local,
            store,
            etcd: None,
            _dir: dir,
        }
    }

    pub async fn etcd() -> Backend {
        let dir = tempdir();
        let mut last_error = None;
        // A port picked free can be taken by a parallel test before etcd binds it: retry.
        for attempt in 0..3 {
            let (client, peer) = free_ports();
            let cfg = EtcdMemberConfig::new(
                "conformance",
                dir.path().join(format!("etcd-{attempt}")),
                format!("http://127.0.0.1:{client}"),
                format!("http://127.0.0.1:{peer}"),
            );
            match EtcdProcess::start(cfg).await {
                Ok(etcd) => {
                    let url = etcd.client_url().to_owned();
                    let store =
                        EtcdStore::connect(std::slice::from_ref(&url), EtcdOptions::default())
                            .await
                            .expect("connect to the etcd just started");
                    return Backend {
                        kind: Kind::Etcd { url },
                        store,
                        etcd: Some(etcd),
                        _dir: dir,
                    };
                }
                Err(e) if e.to_string().contains("not found") => {
                    panic!("the etcd conformance tests need an etcd binary: {e}")
                }
                Err(e) => last_error = Some(e),
            }
        }
        panic!(
            "cannot start etcd for the conformance suite: {}",
            last_error.expect("an error")
        );
    }

    /// Another client of the same store (a second connection for etcd).
    pub async fn client(&self) -> Arc<dyn Store> {
        match &self.kind {
            Kind::Local => self.store.clone(),
            Kind::Etcd { url } => {
                EtcdStore::connect(std::slice::from_ref(url), EtcdOptions::default())
                    .await
                    .expect("connect a second etcd client")
            }
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(etcd) = self.etcd.take() {
            etcd.kill().await.expect("kill etcd");
        }
    }
}
