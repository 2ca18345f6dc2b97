//! End-to-end on real hosts with the defaults (DESIGN §3.14): three servers and a client, each
//! a network namespace with its own hostname and `/etc/hosts`, the servers running `glusterd2`
//! with only its directories given. Peers are added by name and by IP; the store grows to three
//! voting etcd members reached at the hosts' own addresses; a replica-3 volume with one brick
//! per host, named by hostname, is mounted on the client host through one server; a server's
//! glusterd2 is killed and restarted under the live mount; heal info, heal count, status
//! detail and clients, and profile answer from every host's part.

use std::time::Duration;

use gd_testkit::{netns::*, *};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn three_hosts_with_the_defaults_form_a_cluster_and_serve_a_mount() {
    let net = Net::new(
        "gd2h",
        "198.51.100",
        &["server1", "server2", "server3", "client1"],
    )
    .unwrap();
    let servers = ["server1", "server2", "server3"];
    let dirs: Vec<NodeDirs> = servers.iter().map(|_| NodeDirs::new()).collect();
    let _reaper = Reaper(
        dirs.iter()
            .map(|d| node_root(d).display().to_string())
            .collect(),
    );
    let mut daemons: Vec<Daemon> = servers
        .iter()
        .zip(&dirs)
        .map(|(h, d)| net.start_glusterd2(h, d).unwrap())
        .collect();

    // The README's flow, on server1: a peer by name, a peer by IP.
    succeeded(
        &net.cli(
            "server1",
            &dirs[0],
            &[
                "peer",
                "add",
                "server2",
                "--token",
                &net.join_token("server2", &dirs[1]),
            ],
        ),
        "peer add server2",
    );
    let ip3 = net.host("server3").ip.clone();
    succeeded(
        &net.cli(
            "server1",
            &dirs[0],
            &[
                "peer",
                "add",
                &ip3,
                "--token",
                &net.join_token("server3", &dirs[2]),
            ],
        ),
        "peer add by IP",
    );
    for (d, n) in dirs.iter().zip(&daemons) {
        wait_peers(d, n, 3, true, WAIT).unwrap();
    }
    let peers = peers_of(&dirs[0], &daemons[0]).unwrap();
    for p in &peers {
        for a in p.peer_addresses.iter().chain(&p.client_addresses) {
            assert!(
                !a.starts_with("127.") && !a.starts_with("[::1]") && !a.starts_with("localhost"),
                "peer {} advertises {a} to other hosts: {peers:?}",
                p.name
            );
        }
    }
    let by_name = |n: &str| peers.iter().find(|p| p.name == n).unwrap();
    assert_eq!(
        by_name("server2").peer_addresses[0],
        "server2:24007",
        "{peers:?}"
    );
    assert!(
        by_name("server3")
            .peer_addresses
            .contains(&format!("{ip3}:24007")),
        "{peers:?}"
    );
    assert!(
        by_name("server1")
            .peer_addresses
            .contains(&format!("{}:24007", net.host("server1").ip)),
        "{peers:?}"
    );

    // Three voting etcd members, each advertising its host's own address.
    let ips: Vec<String> = servers.iter().map(|h| net.host(h).ip.clone()).collect();
    wait_voters(&ips, 3, Duration::from_secs(120)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let members = rt
        .block_on(etcd_members(&format!("http://{}:24379", ips[1])))
        .unwrap();
    let mut peer_urls: Vec<String> = members.iter().flat_map(|m| m.peer_urls.clone()).collect();
    peer_urls.sort();
    let mut want: Vec<String> = ips.iter().map(|ip| format!("http://{ip}:24380")).collect();
    want.sort();
    assert_eq!(peer_urls, want, "{members:?}");

    // A replica-3 volume, one brick per host named by hostname, created and started from
    // server2.
    let bricks: Vec<_> = dirs
        .iter()
        .map(|d| node_root(d).join("bricks").join("rep3"))
        .collect();
    let specs: Vec<String> = servers
        .iter()
        .zip(&bricks)
        .map(|(h, p)| format!("{h}:{}", p.display()))
        .collect();
    let mut args = vec!["volume", "create", "rep3", "replica", "3"];
    args.extend(specs.iter().map(String::as_str));
    args.extend(["--create-brick-dir", "--allow-root-dir"]);
    succeeded(&net.cli("server2", &dirs[1], &args), "volume create");
    succeeded(
        &net.cli("server2", &dirs[1], &["volume", "start", "rep3"]),
        "volume start",
    );
    let info = succeeded(
        &net.cli("server3", &dirs[2], &["--json", "volume", "info", "rep3"]),
        "volume info",
    );
    for h in servers {
        assert!(
            info.contains(&format!("\"{h}\"")),
            "brick host {h} kept as given: {info}"
        );
    }

    // Mounted on the client host through server1; the data is on every brick.
    let m = ClientMount::new(&net, "client1", "server1", "rep3").unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    m.write("before", &data).unwrap();
    assert_eq!(m.read("before").unwrap(), data);
    for b in &bricks {
        assert_eq!(
            std::fs::read(b.join("before")).unwrap(),
            data,
            "{}",
            b.display()
        );
    }

    // server1's glusterd2 (the mount's volfile server) killed and restarted: the mount keeps
    // working, and the node comes back with the same addresses.
    daemons.remove(0).kill9();
    m.write("during", b"written while server1's glusterd2 is down")
        .unwrap();
    daemons.insert(0, net.start_glusterd2("server1", &dirs[0]).unwrap());
    for (d, n) in dirs.iter().zip(&daemons) {
        wait_peers(d, n, 3, true, WAIT).unwrap();
    }
    let again = peers_of(&dirs[1], &daemons[1]).unwrap();
    assert_eq!(
        again
            .iter()
            .find(|p| p.name == "server1")
            .unwrap()
            .peer_addresses,
        by_name("server1").peer_addresses
    );
    // server2 restarted too (a clean stop): it keeps the name it was added by.
    daemons.remove(1).stop().unwrap();
    daemons.insert(1, net.start_glusterd2("server2", &dirs[1]).unwrap());
    wait_peers(&dirs[1], &daemons[1], 3, true, WAIT).unwrap();
    let again = peers_of(&dirs[2], &daemons[2]).unwrap();
    let server2 = again.iter().find(|p| p.name == "server2").unwrap();
    assert_eq!(server2.peer_addresses[0], "server2:24007", "{again:?}");
    assert!(
        server2
            .peer_addresses
            .contains(&format!("{}:24007", net.host("server2").ip)),
        "{again:?}"
    );
    m.write("after", &data[..1000]).unwrap();
    assert_eq!(m.read("after").unwrap(), &data[..1000]);
    for b in &bricks {
        assert_eq!(std::fs::read(b.join("after")).unwrap(), &data[..1000]);
        assert!(b.join("during").exists(), "{}", b.display());
    }
    let status = succeeded(
        &net.cli("server1", &dirs[0], &["--json", "volume", "status", "rep3"]),
        "volume status",
    );
    let st: serde_json::Value = serde_json::from_str(&status).unwrap();
    let online = st.to_string().matches("\"online\":true").count();
    assert!(
        online >= 3,
        "every brick online after the restart: {status}"
    );

    // Heal and diagnostics between hosts: glfsheal on server3 reads every brick by its
    // host's name; counts, status detail, clients and profile gather each host's part.
    let info = succeeded(
        &net.cli("server3", &dirs[2], &["volume", "heal", "rep3", "info"]),
        "heal info",
    );
    for spec in &specs {
        assert!(
            info.contains(&format!(
                "Brick {spec}\nStatus: Connected\nNumber of entries: 0"
            )),
            "{info}"
        );
    }
    succeeded(
        &net.cli("server2", &dirs[1], &["volume", "heal", "rep3"]),
        "heal launch",
    );
    let counts = succeeded(
        &net.cli(
            "server1",
            &dirs[0],
            &["volume", "heal", "rep3", "statistics", "heal-count"],
        ),
        "heal count",
    );
    assert_eq!(
        counts.matches("Number of entries: 0").count(),
        3,
        "{counts}"
    );
    let detail = succeeded(
        &net.cli("server2", &dirs[1], &["volume", "status", "rep3", "detail"]),
        "status detail",
    );
    assert_eq!(detail.matches("Total Disk Space").count(), 3, "{detail}");
    let client_ip = net.host("client1").ip.clone();
    let clients = succeeded(
        &net.cli(
            "server1",
            &dirs[0],
            &["volume", "status", "rep3", "clients"],
        ),
        "status clients",
    );
    assert!(
        clients.matches(&format!("{client_ip}:")).count() >= 3,
        "client1 ({client_ip}) is connected to every brick: {clients}"
    );
    succeeded(
        &net.cli("server3", &dirs[2], &["volume", "profile", "rep3", "start"]),
        "profile start",
    );
    m.write("profiled", &data[..4096]).unwrap();
    let profile = succeeded(
        &net.cli(
            "server1",
            &dirs[0],
            &["--json", "volume", "profile", "rep3", "info"],
        ),
        "profile info",
    );
    let profiles: Vec<gd_api::BrickProfile> = serde_json::from_str(&profile).unwrap();
    assert_eq!(profiles.len(), 3, "{profile}");
    for p in &profiles {
        let written = p.cumulative.as_ref().map_or(0, |c| c.total_write);
        assert!(written >= 4096, "each brick counts the write: {profile}");
    }
    succeeded(
        &net.cli("server3", &dirs[2], &["volume", "profile", "rep3", "stop"]),
        "profile stop",
    );

    drop(m);
    succeeded(
        &net.cli("server3", &dirs[2], &["volume", "stop", "rep3"]),
        "volume stop",
    );
    succeeded(
        &net.cli("server3", &dirs[2], &["volume", "delete", "rep3"]),
        "volume delete",
    );

    // The rest of the README's flow: edit a peer by name, remove one by IP; it goes back to
    // a fresh single node with a store of its own, and the other two carry on.
    succeeded(
        &net.cli(
            "server1",
            &dirs[0],
            &[
                "peer", "edit", "server2", "--key", "role", "--value", "spare",
            ],
        ),
        "peer edit",
    );
    succeeded(
        &net.cli("server1", &dirs[0], &["peer", "remove", &ip3]),
        "peer remove",
    );
    wait_peers(&dirs[0], &daemons[0], 2, true, WAIT).unwrap();
    wait_peers(&dirs[2], &daemons[2], 1, true, WAIT).unwrap();
    let left = peers_of(&dirs[1], &daemons[1]).unwrap();
    assert_eq!(
        left.iter()
            .find(|p| p.name == "server2")
            .and_then(|p| p.metadata.get("role"))
            .map(String::as_str),
        Some("spare"),
        "{left:?}"
    );
    let list = succeeded(
        &net.cli("server3", &dirs[2], &["peer", "list"]),
        "peer list",
    );
    assert!(
        list.contains("server3") && !list.contains("server1"),
        "{list}"
    );
}

/// Whether the server has closed `s` (without waiting: a silent open connection would block).
fn closed(s: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 512];
    let r = match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).unwrap();
    r
}

/// `GET /ping` over a fresh connection; the time to the whole answer.
fn ping(target: std::net::SocketAddr) -> Duration {
    use std::io::{Read, Write};
    let t = std::time::Instant::now();
    let mut s = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /ping HTTP/1.1\r\nHost: target\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    t.elapsed()
}

/// Waits (at most `bound`) until the server has closed every one of `conns`; the time it took.
fn wait_all_closed(conns: &mut [std::net::TcpStream], bound: Duration) -> Duration {
    let t = std::time::Instant::now();
    wait_for("the server to close the connections", bound, || {
        conns.iter_mut().all(closed).then_some(())
    })
    .unwrap();
    t.elapsed()
}

#[test]
fn a_flood_from_one_address_locks_no_one_out() {
    use gd_daemon::sunrpc::listener::{
        CLASSIFY_TIMEOUT, HTTP_HEADER_TIMEOUT, MAX_CLASSIFYING_PER_ADDRESS, MAX_HTTP_PER_ADDRESS,
    };
    use std::io::{Read, Write};
    const FLOOD: usize = 1100;
    let net = Net::new("gd2s", "198.18.9", &["target", "attacker", "admin"]).unwrap();
    let dirs = NodeDirs::new();
    let _reaper = Reaper(vec![node_root(&dirs).display().to_string()]);
    let d = net.start_glusterd2("target", &dirs).unwrap();
    let target: std::net::SocketAddr = format!("{}:24007", net.host("target").ip).parse().unwrap();
    let endpoint = format!("http://{target}");
    let admin_checks = |what: &str| {
        let took = net.in_host("admin", || ping(target));
        assert!(
            took < Duration::from_secs(1),
            "/ping took {took:?} during {what}"
        );
        let t = std::time::Instant::now();
        let out = net.cli(
            "admin",
            &dirs,
            &["--endpoints", &endpoint, "volume", "list"],
        );
        let cli = t.elapsed();
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        assert!(
            cli < Duration::from_secs(1),
            "volume list took {cli:?} during {what}"
        );
        eprintln!("during {what}: /ping {took:?}, glustercli volume list {cli:?}");
    };

    // The daemon raised its soft open-files limit to the hard one.
    let limits = read(std::path::Path::new(&format!("/proc/{}/limits", d.pid())));
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let nums: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(nums[0], nums[1], "{line}");

    // 1. Silent connections from one address: all but a few are closed at once, the rest when
    //    they have said nothing for the first-byte timeout, and nobody else notices.
    let mut silent: Vec<std::net::TcpStream> = net.in_host("attacker", || {
        (0..FLOOD)
            .filter_map(|_| {
                std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5)).ok()
            })
            .collect()
    });
    assert_eq!(silent.len(), FLOOD, "every connect reached the listener");
    std::thread::sleep(Duration::from_millis(500));
    let open = silent.iter_mut().map(|s| !closed(s)).filter(|o| *o).count();
    assert!(
        open <= MAX_CLASSIFYING_PER_ADDRESS,
        "{open} silent connections held"
    );
    admin_checks("a silent flood");
    let took = wait_all_closed(&mut silent, CLASSIFY_TIMEOUT + Duration::from_secs(5));
    eprintln!("silent flood: {open} of {FLOOD} held, all closed after {took:?}");
    drop(silent);

    // 2. Keep-alive connections from one address that made a request and went idle: at most
    //    the per-address bound is served, and idle ones close after the header timeout.
    let mut idle: Vec<std::net::TcpStream> = net.in_host("attacker", || {
        (0..FLOOD)
            .filter_map(|_| {
                let mut s =
                    std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5)).ok()?;
                s.write_all(b"GET /ping HTTP/1.1\r\nHost: target\r\n\r\n")
                    .ok()?;
                Some(s)
            })
            .collect()
    });
    let mut served = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 512];
        if matches!(s.read(&mut b), Ok(n) if n > 0 && b.starts_with(b"HTTP/1.1 200")) {
            served += 1;
        }
    }
    assert!(
        served > 0 && served <= MAX_HTTP_PER_ADDRESS,
        "{served} keep-alive connections served"
    );
    admin_checks("an idle keep-alive flood");
    let took = wait_all_closed(&mut idle, HTTP_HEADER_TIMEOUT + Duration::from_secs(10));
    assert!(
        took >= HTTP_HEADER_TIMEOUT - Duration::from_secs(6),
        "{took:?}"
    );
    eprintln!("keep-alive flood: {served} of {FLOOD} served, idle ones closed after {took:?}");
}
