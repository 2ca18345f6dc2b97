//! The addresses this node advertises to other hosts (DESIGN §3.14).
//!
//! A node started with the defaults listens on every address (`:24007`), so its configuration
//! says nothing about how other hosts reach it, and a loopback address must never leave the
//! machine. Such a node *derives* its addresses:
//! - its peer record lists every non-loopback address of its interfaces (and the names users
//!   added it by, which `peers::upsert_self` keeps);
//! - its *advertised IP* — what its etcd member advertises to the other members — is learned
//!   at the first join it takes part in: the initiator takes the source address the kernel
//!   picks toward the new peer, and the joining node takes the address the initiator reached
//!   it at. Until then (a node alone) it is loopback, which nobody else needs. The learned IP
//!   is kept in `<localstatedir>/address.toml` so that restarts advertise the same.
//!
//! A node given explicit addresses (`clientaddress` with a host, `peeraddress`, `etcdcurls`,
//! `etcdpurls`) advertises exactly those and learns nothing.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket},
    path::PathBuf,
    sync::RwLock,
};

use serde::{Deserialize, Serialize};

use crate::config::{Config, DEFAULT_ETCD_CLIENT_PORT, DEFAULT_ETCD_PEER_PORT, fmt_host_port};

const FILE: &str = "address.toml";
/// Bounds the interface addresses a peer record lists.
const INTERFACE_ADDRESSES_MAX: usize = 16;

/// The URLs of this node's managed etcd member: what it advertises, and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdUrls {
    pub client: String,
    pub peer: String,
    pub listen_client: String,
    pub listen_peer: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Persisted {
    /// The IP other hosts reach this node at, learned at a join.
    advertise: IpAddr,
}

/// This node's addresses; see the module documentation.
#[derive(Debug)]
pub struct Addresses {
    client_addr: SocketAddr,
    /// `peeraddress`, or the client address when it names a host.
    fixed_peer: Option<String>,
    /// The port other nodes reach this node's REST/SunRPC listener at.
    peer_port: u16,
    etcd_client: Option<String>,
    etcd_peer: Option<String>,
    learned: RwLock<Option<IpAddr>>,
    file: PathBuf,
}

impl Addresses {
    /// The addresses of the node `config` describes, with the IP it learned earlier, if any.
    pub fn load(config: &Config) -> anyhow::Result<Addresses> {
        let file = config.localstatedir.join(FILE);
        let learned = match std::fs::read_to_string(&file) {
            Ok(text) => {
                let p: Persisted = toml::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{} is damaged: {}",
                        file.display(),
                        e.to_string().trim_end()
                    )
                })?;
                if p.advertise.is_loopback() || p.advertise.is_unspecified() {
                    anyhow::bail!(
                        "{} is damaged: {} is not an address other hosts can reach",
                        file.display(),
                        p.advertise
                    );
                }
                Some(p.advertise)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => anyhow::bail!("cannot read {}: {e}", file.display()),
        };
        Ok(Addresses {
            client_addr: config.client_addr,
            fixed_peer: config.peer_address.clone(),
            peer_port: config.peer_port,
            etcd_client: config.etcd_client_url.clone(),
            etcd_peer: config.etcd_peer_url.clone(),
            learned: RwLock::new(learned),
            file,
        })
    }

    /// Whether this node derives its addresses (listens everywhere, no address configured).
    pub fn derived(&self) -> bool {
        self.client_addr.ip().is_unspecified() && self.fixed_peer.is_none()
    }

    fn learned(&self) -> Option<IpAddr> {
        *self.learned.read().unwrap_or_else(|e| e.into_inner())
    }

    fn loopback(&self) -> IpAddr {
        match self.client_addr.ip() {
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }

    /// The IP this node's etcd member advertises: the configured one, the learned one, or
    /// loopback while the node is alone.
    pub fn advertised_ip(&self) -> IpAddr {
        if !self.client_addr.ip().is_unspecified() {
            return self.client_addr.ip();
        }
        if let Some(ip) = self
            .fixed_peer
            .as_deref()
            .and_then(|a| a.parse::<SocketAddr>().ok())
        {
            return ip.ip();
        }
        self.learned().unwrap_or_else(|| self.loopback())
    }

    /// What other nodes reach this node at, best first, for its peer record.
    pub fn peer_addresses(&self) -> Vec<String> {
        if let Some(a) = &self.fixed_peer {
            return vec![a.clone()];
        }
        self.derived_addresses(self.peer_port)
    }

    /// What clients reach this node's listener at, for its peer record.
    pub fn client_addresses(&self) -> Vec<String> {
        if !self.client_addr.ip().is_unspecified() {
            return vec![self.client_addr.to_string()];
        }
        self.derived_addresses(self.client_addr.port())
    }

    fn derived_addresses(&self, port: u16) -> Vec<String> {
        let mut ips: Vec<IpAddr> = self.learned().into_iter().collect();
        for ip in interface_ips(self.client_addr.ip()) {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        if ips.is_empty() {
            ips.push(self.loopback());
        }
        ips.into_iter().map(|ip| fmt_host_port(ip, port)).collect()
    }

    /// The managed etcd member's URLs: the configured ones, or the advertised IP's (listening
    /// on every address of the listener's family, so other hosts reach it at whichever
    /// address they learned).
    pub fn etcd_urls(&self) -> EtcdUrls {
        let ip = self.advertised_ip();
        let listen_ip = if self.client_addr.ip().is_unspecified() {
            self.client_addr.ip()
        } else {
            ip
        };
        let pick = |given: &Option<String>, port: u16| match given {
            Some(url) => (url.clone(), url.clone()),
            None => (
                format!("http://{}", fmt_host_port(ip, port)),
                format!("http://{}", fmt_host_port(listen_ip, port)),
            ),
        };
        let (client, listen_client) = pick(&self.etcd_client, DEFAULT_ETCD_CLIENT_PORT);
        let (peer, listen_peer) = pick(&self.etcd_peer, DEFAULT_ETCD_PEER_PORT);
        EtcdUrls {
            client,
            peer,
            listen_client,
            listen_peer,
        }
    }

    /// Records `ip` as the address other hosts reach this node at, if this node derives its
    /// addresses and `ip` is new and not loopback. Returns whether anything changed.
    pub fn learn(&self, ip: IpAddr) -> anyhow::Result<bool> {
        if !self.derived() || ip.is_loopback() || ip.is_unspecified() || !is_local(ip) {
            return Ok(false);
        }
        let mut learned = self.learned.write().unwrap_or_else(|e| e.into_inner());
        if *learned == Some(ip) {
            return Ok(false);
        }
        let text = toml::to_string(&Persisted { advertise: ip })?;
        crate::identity::write_atomic(&self.file, text.as_bytes())?;
        *learned = Some(ip);
        tracing::info!(%ip, "this node now advertises this address to other hosts");
        Ok(true)
    }

    /// Whether this node has learned (or was given) an address other hosts reach it at.
    pub fn reachable(&self) -> bool {
        !self.advertised_ip().is_loopback()
    }
}

/// The source address this host uses toward `target` (the route's, as the kernel picks it;
/// nothing is sent), unless it is loopback: `target` is then on this machine.
pub fn source_toward(target: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(any).ok()?;
    sock.connect(target).ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Whether `ip` is an address of this host (binding to it succeeds).
pub fn is_local(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// This host's non-loopback interface addresses a listener on `wildcard` accepts on (IPv4
/// for `0.0.0.0`, both families for `[::]`), without link-local IPv6 (unusable without a
/// scope). Bounded.
pub fn interface_ips(wildcard: IpAddr) -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return vec![];
    };
    let mut out = vec![];
    for ifa in addrs {
        let Some(addr) = ifa.address else { continue };
        let ip = if let Some(v4) = addr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            if wildcard.is_ipv4() {
                continue;
            }
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        let link_local_v6 = matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
        if ip.is_loopback() || ip.is_unspecified() || link_local_v6 || out.contains(&ip) {
            continue;
        }
        out.push(ip);
        if out.len() == INTERFACE_ADDRESSES_MAX {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, flags: &[&str]) -> Config {
        let mut args = vec!["glusterd2", "--localstatedir"];
        let d = dir.to_str().unwrap();
        args.push(d);
        args.extend_from_slice(flags);
        crate::config::load_for_tests(&args)
    }

    #[test]
    fn explicit_addresses_are_advertised_as_given_and_nothing_is_learned() {
        let dir = tempfile::tempdir().unwrap();
        let a =
            Addresses::load(&config(dir.path(), &["--clientaddress", "127.0.0.2:24007"])).unwrap();
        assert!(!a.derived());
        assert_eq!(a.peer_addresses(), vec!["127.0.0.2:24007"]);
        assert_eq!(a.client_addresses(), vec!["127.0.0.2:24007"]);
        let urls = a.etcd_urls();
        assert_eq!(urls.client, "http://127.0.0.2:24379");
        assert_eq!(urls.listen_client, "http://127.0.0.2:24379");
        assert_eq!(urls.peer, "http://127.0.0.2:24380");
        let ip = interface_ips(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            .into_iter()
            .next()
            .unwrap_or(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
        assert!(!a.learn(ip).unwrap());
        assert!(!dir.path().join(FILE).exists());
    }

    #[test]
    fn a_wildcard_node_never_advertises_loopback_once_it_learned_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &[]);
        let a = Addresses::load(&cfg).unwrap();
        assert!(a.derived());
        // Alone: loopback for etcd, but etcd listens everywhere.
        let urls = a.etcd_urls();
        assert_eq!(urls.client, "http://127.0.0.1:24379");
        assert_eq!(urls.listen_client, "http://0.0.0.0:24379");
        assert_eq!(urls.listen_peer, "http://0.0.0.0:24380");
        for addr in a.peer_addresses() {
            let ips = interface_ips(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(
                ips.is_empty() || !addr.starts_with("127."),
                "{addr} advertised while the host has {ips:?}"
            );
        }
        // Loopback and foreign addresses are never learned.
        assert!(!a.learn(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap());
        assert!(!a.learn("192.0.2.77".parse().unwrap()).unwrap());
        let Some(ip) = interface_ips(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            .into_iter()
            .next()
        else {
            return; // a host without a non-loopback address has nothing to learn
        };
        assert!(a.learn(ip).unwrap());
        assert!(!a.learn(ip).unwrap());
        assert_eq!(a.peer_addresses()[0], format!("{ip}:24007"));
        assert_eq!(a.etcd_urls().peer, format!("http://{ip}:24380"));
        // A restart advertises the same.
        let again = Addresses::load(&cfg).unwrap();
        assert_eq!(again.advertised_ip(), ip);
    }

    #[test]
    fn a_damaged_address_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "advertise = \"127.0.0.1\"\n").unwrap();
        let e = Addresses::load(&config(dir.path(), &[])).unwrap_err();
        assert!(e.to_string().contains("address.toml is damaged"), "{e}");
        std::fs::write(dir.path().join(FILE), "advertise = 12\n").unwrap();
        let e = Addresses::load(&config(dir.path(), &[])).unwrap_err();
        assert!(e.to_string().contains("address.toml is damaged"), "{e}");
    }

    #[test]
    fn the_source_toward_a_local_address_is_none() {
        assert_eq!(source_toward("127.0.0.1:24007".parse().unwrap()), None);
    }
}
