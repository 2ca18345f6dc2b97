//! Hosts for tests of what crosses a network: each host is a network namespace (its own
//! interfaces, ports and routes), a UTS namespace (its own hostname) and its own
//! `/etc/netns/<ns>/hosts`, which `ip netns exec` binds over `/etc/hosts`. The hosts sit on one
//! bridge; the root namespace gets the bridge's first address only so that the test process
//! can watch the daemons (every command of the flow under test runs inside a host).
//!
//! The test creates its namespaces, veth pairs and bridge, and removes them (and the
//! `/etc/netns` entries) when dropped; it uses only addresses of its own subnet.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};

use crate::{Daemon, NodeDirs, bin, read, run_bounded, tail, wait_for};

/// One host of a [`Net`].
pub struct Host {
    /// Its hostname (also its name in every host's `/etc/hosts`).
    pub name: String,
    /// Its network namespace.
    pub ns: String,
    pub ip: String,
}

/// A set of hosts on one bridge; removed when dropped.
pub struct Net {
    pub hosts: Vec<Host>,
    bridge: String,
    tag: String,
}

const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files\n\
networks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n";

fn run(cmd: &mut Command) -> anyhow::Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

fn ip(args: &[&str]) -> anyhow::Result<Output> {
    run(Command::new("ip").args(args))
}

impl Net {
    /// Hosts named `names`, in namespaces `<tag>-<name>`, at `<subnet>.11`, `.12`… on bridge
    /// `<tag>-br` (at `<subnet>.1`). `subnet` is the first three octets of a /24.
    pub fn new(tag: &str, subnet: &str, names: &[&str]) -> anyhow::Result<Net> {
        let bridge = format!("{tag}-br");
        let hosts: Vec<Host> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Host {
                name: (*n).to_owned(),
                ns: format!("{tag}-{n}"),
                ip: format!("{subnet}.{}", 11 + i),
            })
            .collect();
        let net = Net {
            hosts,
            bridge,
            tag: tag.to_owned(),
        };
        // Leftovers of a run that was killed.
        net.remove();
        // Never take addresses the machine uses: its own network may be any private or
        // documentation range.
        let prefix = format!("{subnet}.");
        for table in [&["-o", "addr"][..], &["route"][..]] {
            let out = String::from_utf8_lossy(&ip(table)?.stdout).into_owned();
            if let Some(line) = out.lines().find(|l| l.contains(&prefix)) {
                bail!("subnet {subnet}.0/24 is in use on this machine ({line}); choose another");
            }
        }
        ip(&["link", "add", &net.bridge, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{subnet}.1/24"), "dev", &net.bridge])?;
        ip(&["link", "set", &net.bridge, "up"])?;
        let mut etc_hosts = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        for h in &net.hosts {
            etc_hosts.push_str(&format!("{}\t{}\n", h.ip, h.name));
        }
        for (i, h) in net.hosts.iter().enumerate() {
            let outside = format!("{tag}{i}h");
            let inside = format!("{tag}{i}n");
            ip(&["netns", "add", &h.ns])?;
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ])?;
            ip(&["link", "set", &inside, "netns", &h.ns])?;
            ip(&["link", "set", &outside, "master", &net.bridge])?;
            ip(&["link", "set", &outside, "up"])?;
            ip(&["-n", &h.ns, "link", "set", &inside, "name", "eth0"])?;
            ip(&[
                "-n",
                &h.ns,
                "addr",
                "add",
                &format!("{}/24", h.ip),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &h.ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &h.ns, "link", "set", "lo", "up"])?;
            let etc = Path::new("/etc/netns").join(&h.ns);
            std::fs::create_dir_all(&etc)?;
            std::fs::write(etc.join("hosts"), &etc_hosts)?;
            std::fs::write(etc.join("hostname"), format!("{}\n", h.name))?;
            // Names resolve from the hosts file only: nothing leaves the machine (GD1 also
            // looks up every probing peer's name in reverse, which stalls on a dead resolver).
            std::fs::write(etc.join("nsswitch.conf"), NSSWITCH)?;
        }
        Ok(net)
    }

    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .expect("a host of this net")
    }

    /// The host's end of the link on the bridge's side (in the root namespace).
    fn link(&self, host: &str) -> String {
        let i = self
            .hosts
            .iter()
            .position(|h| h.name == host)
            .expect("a host of this net");
        format!("{}{i}h", self.tag)
    }

    /// Cuts `host` off the network: its link to the bridge goes down (it keeps its own
    /// loopback, its processes and its address; nothing it sends leaves, nothing reaches it).
    pub fn cut(&self, host: &str) -> anyhow::Result<()> {
        ip(&["link", "set", &self.link(host), "down"]).map(drop)
    }

    /// Puts `host` back on the network: its link up, and none of the drops below.
    pub fn restore(&self, host: &str) -> anyhow::Result<()> {
        self.iptables(host, &["-F"])?;
        ip(&["link", "set", &self.link(host), "up"]).map(drop)
    }

    /// Drops everything that reaches `host` from the network (what it sends still leaves):
    /// a one-way loss.
    pub fn drop_incoming(&self, host: &str) -> anyhow::Result<()> {
        self.iptables(host, &["-A", "INPUT", "-i", "eth0", "-j", "DROP"])
    }

    /// Drops everything between `a` and `b`, both ways (each still reaches the others).
    pub fn drop_between(&self, a: &str, b: &str) -> anyhow::Result<()> {
        let (ia, ib) = (self.host(a).ip.clone(), self.host(b).ip.clone());
        self.iptables(a, &["-A", "INPUT", "-s", &ib, "-j", "DROP"])?;
        self.iptables(b, &["-A", "INPUT", "-s", &ia, "-j", "DROP"])
    }

    /// Drops every TCP connection to or from `ports` on `host`'s network side, both ways (its
    /// loopback untouched): e.g. its etcd member's client and peer ports.
    pub fn drop_ports(&self, host: &str, ports: &[u16]) -> anyhow::Result<()> {
        for p in ports {
            let p = p.to_string();
            for (chain, dev, dir) in [
                ("INPUT", "-i", "--dport"),
                ("INPUT", "-i", "--sport"),
                ("OUTPUT", "-o", "--dport"),
                ("OUTPUT", "-o", "--sport"),
            ] {
                self.iptables(
                    host,
                    &["-A", chain, dev, "eth0", "-p", "tcp", dir, &p, "-j", "DROP"],
                )?;
            }
        }
        Ok(())
    }

    /// `iptables <args>` in `host`'s network namespace.
    fn iptables(&self, host: &str, args: &[&str]) -> anyhow::Result<()> {
        run(Command::new("ip")
            .args(["netns", "exec", &self.host(host).ns, "iptables", "-w"])
            .args(args))
        .map(drop)
    }

    /// A command run on `host`: in its network namespace, with its `/etc/hosts`, and with its
    /// own hostname (a UTS namespace; the name is passed as an argument, never through a
    /// shell's text).
    pub fn command(&self, host: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let h = self.host(host);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &h.ns, "unshare", "--uts", "--"])
            .args(["sh", "-c", "hostname \"$0\" && exec \"$@\""])
            .arg(&h.name)
            .arg(program);
        cmd
    }

    /// Starts `glusterd2` on `host` the way the README does: only its directories given (and a
    /// log file), no address or store flags. Waits (at most 30 s) until it answers `/ping`.
    pub fn start_glusterd2(&self, host: &str, dirs: &NodeDirs) -> anyhow::Result<Daemon> {
        let h = self.host(host);
        let log_file = dirs.log.join("glusterd2.log");
        let mut cmd = crate::glusterd2_command(self.command(host, bin("glusterd2")), dirs)?;
        let child = cmd.spawn().context("spawn glusterd2 in its namespace")?;
        let mut d = Daemon {
            child: Some(child),
            ip: h.ip.clone(),
            port: 24007,
            log_file,
        };
        let url = format!("{}/ping", d.url());
        let started = wait_for("glusterd2 to answer /ping", Duration::from_secs(30), || {
            if let Some(status) = d.try_exit() {
                return Some(Err(status));
            }
            crate::http_status(&url)
                .filter(|s| *s == 200)
                .map(|_| Ok(()))
        })
        .and_then(|r| r.map_err(|s| anyhow::anyhow!("glusterd2 on {host} exited with {s}")));
        if let Err(e) = started {
            bail!(
                "{e}\n--- stderr ---\n{}\n--- glusterd2 log ---\n{}",
                tail(&read(&dirs.log.join("stderr.log")), 20),
                tail(&d.log(), 30)
            );
        }
        Ok(d)
    }

    /// `glustercli` run on `host` with `args`, bounded by 90 s. It uses its default endpoint
    /// (this host's glusterd2 on loopback) and the node's secret file.
    pub fn cli(&self, host: &str, dirs: &NodeDirs, args: &[&str]) -> Output {
        let mut cmd = self.command(host, bin("glustercli"));
        cmd.arg("--secret-file").arg(dirs.secret_file()).args(args);
        run_bounded(cmd, Duration::from_secs(90))
    }

    /// Runs `f` on a thread inside `host`'s network namespace: sockets it opens are that
    /// host's (and stay so when returned).
    pub fn in_host<T: Send>(&self, host: &str, f: impl FnOnce() -> T + Send) -> T {
        let ns = Path::new("/var/run/netns").join(&self.host(host).ns);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let file = std::fs::File::open(&ns).expect("the host's namespace");
                    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                        .expect("enter the host's namespace");
                    f()
                })
                .join()
                .expect("the thread in the host's namespace")
        })
    }

    /// The join token of `host`'s glusterd2, as its administrator reads it there.
    pub fn join_token(&self, host: &str, dirs: &NodeDirs) -> String {
        let out = self.cli(host, dirs, &["peer", "token"]);
        assert!(
            out.status.success(),
            "peer token on {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn remove(&self) {
        for i in 0..self.hosts.len() {
            // A namespace outlives its name while the kernel holds sockets of it (connections
            // to a host cut off, still retransmitting); its link's end here ends both ends.
            let _ = Command::new("ip")
                .args(["link", "delete", &format!("{}{i}h", self.tag)])
                .stderr(Stdio::null())
                .status();
        }
        for h in &self.hosts {
            let _ = Command::new("ip")
                .args(["netns", "delete", &h.ns])
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&h.ns));
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A client host's FUSE mount: the mount lives in the mount namespace of a holder process run
/// on the client host (so it resolves the servers' names with that host's `/etc/hosts`), and
/// every access goes through `nsenter` into it. Unmounted and ended when dropped.
pub struct ClientMount {
    holder: std::process::Child,
    pub dir: PathBuf,
    pub log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl ClientMount {
    /// `mount -t glusterfs <server>:/<volume>` on `host`.
    pub fn new(net: &Net, host: &str, server: &str, volume: &str) -> anyhow::Result<ClientMount> {
        let tmp = tempfile::Builder::new().prefix("gd2-netmnt-").tempdir()?;
        let dir = tmp.path().join("mnt");
        std::fs::create_dir(&dir)?;
        let log = tmp.path().join("client.log");
        let mut holder = net.command(host, "sleep");
        let holder = holder
            .arg("3600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let m = ClientMount {
            holder,
            dir,
            log,
            _tmp: tmp,
        };
        // The holder is in its namespaces once it runs `sleep`.
        wait_for("the client host's holder", Duration::from_secs(10), || {
            let comm = std::fs::read_to_string(format!("/proc/{}/comm", m.holder.id())).ok()?;
            (comm.trim() == "sleep").then_some(())
        })?;
        let out = m.run(
            &[
                "mount",
                "-t",
                "glusterfs",
                "-o",
                &format!("log-file={}", m.log.display()),
                &format!("{server}:/{volume}"),
                m.dir.to_str().context("utf-8 path")?,
            ],
            Duration::from_secs(60),
        );
        if !out.status.success() {
            bail!(
                "mount failed: {}; client log:\n{}",
                String::from_utf8_lossy(&out.stderr),
                tail(&read(&m.log), 30)
            );
        }
        wait_for("the mount to answer", Duration::from_secs(30), || {
            m.run(&["ls", m.dir.to_str()?], Duration::from_secs(10))
                .status
                .success()
                .then_some(())
        })
        .map_err(|e| anyhow::anyhow!("{e}; client log:\n{}", tail(&read(&m.log), 30)))?;
        Ok(m)
    }

    /// Runs `args` in the client's namespaces (mount and network), bounded.
    pub fn run(&self, args: &[&str], bound: Duration) -> Output {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.holder.id().to_string(), "-m", "-n", "--"])
            .args(args);
        run_bounded(cmd, bound)
    }

    /// Writes `bytes` to `name` under the mount (through a file outside it).
    pub fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.write_within(name, bytes, Duration::from_secs(30))
    }

    /// [`ClientMount::write`] bounded by `bound` (a write to a replica set one of whose
    /// servers was just cut off waits for the client to give up on it: the volume's
    /// `network.ping-timeout`, 42 s by default).
    pub fn write_within(&self, name: &str, bytes: &[u8], bound: Duration) -> anyhow::Result<()> {
        let src = self._tmp.path().join("src");
        std::fs::write(&src, bytes)?;
        let dst = self.dir.join(name);
        let out = self.run(
            &[
                "cp",
                src.to_str().context("utf-8")?,
                dst.to_str().context("utf-8")?,
            ],
            bound,
        );
        if !out.status.success() {
            bail!("write {name}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// The content of `name` under the mount.
    pub fn read(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.dir.join(name);
        let out = self.run(
            &["cat", path.to_str().context("utf-8")?],
            Duration::from_secs(30),
        );
        if !out.status.success() {
            bail!("read {name}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(out.stdout)
    }
}

impl Drop for ClientMount {
    fn drop(&mut self) {
        if let Some(d) = self.dir.to_str() {
            let _ = self.run(&["umount", "-l", d], Duration::from_secs(10));
            crate::kill_processes_matching(d);
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
