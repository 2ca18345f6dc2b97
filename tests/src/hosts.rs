//! Clusters of three network-namespace hosts (see [`crate::netns`]) with their defaults, for
//! benchmarks that run the classic glusterd (GD1, 10.3) and glusterd2 side by side: each side
//! on hosts of its own, peers joined by host name, the CLI run on a server.
//!
//! GD1 runs one `glusterd` per host with its own working, run and log directories, as
//! GlusterFS's own `tests/cluster.rc` runs several on one machine.

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

use crate::{
    Daemon, NodeDirs, Reaper, netns::Net, node_root, run_bounded, stderr, stdout, wait_for,
    wait_peers, wait_voters,
};

/// Where GD1's tools look for glusterd when told nothing (`DEFAULT_GLUSTERD_SOCKFILE`).
const GD1_DEFAULT_SOCKET: &str = "/var/run/glusterd.socket";

/// GD1 on the hosts of a [`Net`]; every process it started is killed when dropped.
pub struct Gd1Hosts {
    _reaper: Reaper,
    bases: Vec<tempfile::TempDir>,
    pub net: Net,
    names: Vec<String>,
}

impl Gd1Hosts {
    /// GD1 on hosts `names` in namespaces `<tag>-<name>` of `<subnet>.0/24`; the first probes
    /// the others, and every host sees them connected.
    pub fn new(tag: &str, subnet: &str, names: &[&str]) -> Gd1Hosts {
        let hosts = Gd1Hosts::started(tag, subnet, names);
        hosts.join();
        hosts
    }

    /// GD1 on hosts `names`, each on its own: no peer probed yet.
    pub fn started(tag: &str, subnet: &str, names: &[&str]) -> Gd1Hosts {
        let net = Net::new(tag, subnet, names).unwrap();
        let bases: Vec<tempfile::TempDir> = names
            .iter()
            .map(|_| {
                tempfile::Builder::new()
                    .prefix("gd1-bench-")
                    .tempdir()
                    .unwrap()
            })
            .collect();
        let hosts = Gd1Hosts {
            _reaper: Reaper(
                bases
                    .iter()
                    .map(|b| b.path().display().to_string())
                    .collect(),
            ),
            bases,
            net,
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        for i in 0..names.len() {
            hosts.start(i);
        }
        hosts
    }

    /// The first host probes the others by name; returns when every host sees every other
    /// connected.
    pub fn join(&self) {
        let n = self.names.len();
        for h in &self.names[1..] {
            let out = self.cli(0, &["peer", "probe", h]);
            assert!(out.status.success(), "probe {h}: {}", stdout(&out));
        }
        for i in 0..n {
            wait_for("GD1 peers connected", Duration::from_secs(120), || {
                let out = stdout(&self.cli(i, &["peer", "status"]));
                (out.matches("Peer in Cluster (Connected)").count() == n - 1).then_some(())
            })
            .unwrap();
        }
    }

    /// Host `i`'s glusterd's pid (from its pid file).
    pub fn pid(&self, i: usize) -> Option<i32> {
        std::fs::read_to_string(self.base(i).join("glusterd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Host `i`'s GD1 directory.
    pub fn base(&self, i: usize) -> &Path {
        self.bases[i].path()
    }

    /// Where host `i`'s bricks go (made: GD1 creates a brick's directory, not its parents).
    pub fn bricks(&self, i: usize) -> PathBuf {
        let dir = self.base(i).join("bricks");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `gluster --mode=script <args>` on host `i`, against its own glusterd.
    pub fn cli(&self, i: usize, args: &[&str]) -> Output {
        let mut cmd = self.net.command(&self.names[i], "gluster");
        cmd.arg("--mode=script")
            .arg(format!("--glusterd-sock={}", self.socket(i).display()))
            .args(args);
        run_bounded(cmd, Duration::from_secs(180))
    }

    /// Host `i`'s glusterd socket. The first host's is GD1's default, because the heal
    /// commands' `glfsheal`, which the `gluster` CLI runs, always fetches its volfile there
    /// (unix sockets are shared by the hosts, which differ only in their network).
    fn socket(&self, i: usize) -> PathBuf {
        if i == 0 {
            PathBuf::from(GD1_DEFAULT_SOCKET)
        } else {
            self.base(i).join("glusterd/gd.sock")
        }
    }

    fn start(&self, i: usize) {
        let base = self.base(i);
        for d in ["glusterd", "run", "log"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        let opt = |k: &str, v: &Path| format!("management.{k}={}", v.display());
        let mut cmd = self.net.command(&self.names[i], "glusterd");
        for (k, v) in [
            ("working-directory", base.join("glusterd")),
            ("run-directory", base.join("run")),
            ("glusterd-sockfile", self.socket(i)),
            ("logging-directory", base.join("log")),
        ] {
            cmd.arg("--xlator-option").arg(opt(k, &v));
        }
        cmd.arg(format!(
            "--log-file={}",
            base.join("log/glusterd.log").display()
        ))
        .arg(format!(
            "--pid-file={}",
            base.join("glusterd.pid").display()
        ));
        let out = run_bounded(cmd, Duration::from_secs(30));
        assert!(out.status.success(), "glusterd: {}", stderr(&out));
        wait_for("GD1 to answer", Duration::from_secs(30), || {
            self.cli(i, &["volume", "list"])
                .status
                .success()
                .then_some(())
        })
        .unwrap();
    }
}

/// glusterd2 on the hosts of a [`Net`], started as the README says; every process it started
/// is killed when dropped.
pub struct Gd2Hosts {
    _reaper: Reaper,
    pub daemons: Vec<Daemon>,
    pub dirs: Vec<NodeDirs>,
    pub net: Net,
    names: Vec<String>,
}

impl Gd2Hosts {
    /// glusterd2 on hosts `names` in namespaces `<tag>-<name>` of `<subnet>.0/24`; the first
    /// adds the others by name (with their join tokens), every node sees every peer online and
    /// the store has a voter on each.
    pub fn new(tag: &str, subnet: &str, names: &[&str]) -> Gd2Hosts {
        Gd2Hosts::with_clients(tag, subnet, names, &[])
    }

    /// As [`Gd2Hosts::new`], with hosts `clients` on the same net that run no glusterd2 (after
    /// the servers: `<subnet>.<11 + servers>` on).
    pub fn with_clients(tag: &str, subnet: &str, names: &[&str], clients: &[&str]) -> Gd2Hosts {
        let hosts = Gd2Hosts::started_with_clients(tag, subnet, names, clients);
        hosts.join();
        hosts.wait_voters();
        hosts
    }

    /// glusterd2 on hosts `names`, each a cluster of its own: no peer added yet.
    pub fn started(tag: &str, subnet: &str, names: &[&str]) -> Gd2Hosts {
        Gd2Hosts::started_with_clients(tag, subnet, names, &[])
    }

    fn started_with_clients(tag: &str, subnet: &str, names: &[&str], clients: &[&str]) -> Gd2Hosts {
        let all: Vec<&str> = names.iter().chain(clients).copied().collect();
        let net = Net::new(tag, subnet, &all).unwrap();
        let dirs: Vec<NodeDirs> = names.iter().map(|_| NodeDirs::new()).collect();
        let reaper = Reaper(
            dirs.iter()
                .map(|d| node_root(d).display().to_string())
                .collect(),
        );
        let daemons: Vec<Daemon> = names
            .iter()
            .zip(&dirs)
            .map(|(h, d)| net.start_glusterd2(h, d).unwrap())
            .collect();
        Gd2Hosts {
            _reaper: reaper,
            daemons,
            dirs,
            net,
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// The first host adds the others by name (with their join tokens, as their
    /// administrators read them); returns when every node sees every peer online.
    pub fn join(&self) {
        let first = &self.names[0];
        for (i, h) in self.names.iter().enumerate().skip(1) {
            let token = self.net.join_token(h, &self.dirs[i]);
            let out = self
                .net
                .cli(first, &self.dirs[0], &["peer", "add", h, "--token", &token]);
            assert!(out.status.success(), "peer add {h}: {}", stderr(&out));
        }
        for (d, n) in self.dirs.iter().zip(&self.daemons) {
            wait_peers(d, n, self.names.len(), true, Duration::from_secs(120)).unwrap();
        }
    }

    /// Waits until the store has the voters the cluster's size wants (the membership
    /// controller's default: 1 for 1–2 nodes, 3 from 3, 5 from 7 on).
    pub fn wait_voters(&self) {
        let ips: Vec<String> = self
            .names
            .iter()
            .map(|h| self.net.host(h).ip.clone())
            .collect();
        let want = match ips.len() {
            0..=2 => 1,
            3..=6 => 3,
            _ => 5,
        };
        wait_voters(&ips, want.min(ips.len()), Duration::from_secs(180)).unwrap();
    }

    /// Where host `i`'s bricks go (the CLI's `--create-brick-dir` makes them).
    pub fn bricks(&self, i: usize) -> PathBuf {
        node_root(&self.dirs[i]).join("bricks")
    }

    /// `glustercli <args>` on host `i`, against its own glusterd2.
    pub fn cli(&self, i: usize, args: &[&str]) -> Output {
        self.net.cli(&self.names[i], &self.dirs[i], args)
    }
}
