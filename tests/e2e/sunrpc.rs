//! The SunRPC server of a real glusterd2, over TCP 24007 (shared with the REST API) and over
//! its unix socket, spoken to with gd-sunrpc and by the real GlusterFS 10.3 client.
//!
//! Addresses: 127.0.40.1–127.0.40.9.

use std::{
    io::{Read, Write},
    net::TcpStream,
    os::unix::net::UnixStream,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use gd_sunrpc::{
    programs::{dump, handshake, portmap},
    rpc::CallHeader,
};
use gd_testkit::*;

const ENOENT: i32 = 2;

/// DUMP, GETSPEC of an unknown key, SIGNIN → PORTBYBRICK → SIGNOUT → PORTBYBRICK.
fn exercise<S: Read + Write>(rpc: &mut Rpc<S>, brick: &str, port: i32) {
    let progs = rpc.dump();
    assert_eq!(progs.op_ret, 0);
    assert!(progs.lists(dump::PROGRAM, dump::VERSION));
    assert!(progs.lists(handshake::PROGRAM, handshake::VERSION));
    assert!(progs.lists(portmap::PROGRAM, portmap::VERSION));

    let spec = rpc.getspec("/nosuchvol");
    assert_eq!(spec, handshake::GetspecRsp::error(ENOENT));

    assert_eq!(rpc.port_by_brick(brick).op_ret, -1);
    let signin: portmap::SigninRsp = rpc.call(
        portmap::PROGRAM,
        portmap::VERSION,
        portmap::SIGNIN,
        &portmap::SigninReq {
            brick: brick.into(),
            port,
            pid: 4321,
        },
    );
    assert_eq!((signin.op_ret, signin.op_errno), (0, 0));
    assert_eq!(
        rpc.port_by_brick(brick),
        portmap::PortByBrickRsp {
            port,
            ..Default::default()
        }
    );
    let signout: portmap::SignoutRsp = rpc.call(
        portmap::PROGRAM,
        portmap::VERSION,
        portmap::SIGNOUT,
        &portmap::SignoutReq {
            brick: brick.into(),
            port,
            rdma_port: 0,
        },
    );
    assert_eq!(signout.op_ret, 0);
    assert_eq!(
        rpc.port_by_brick(brick),
        portmap::PortByBrickRsp {
            op_ret: -1,
            ..Default::default()
        }
    );
}

fn tcp(ip: &str) -> TcpStream {
    let s = TcpStream::connect((ip, 24007)).expect("connect to 24007");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn unix(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).expect("connect to the unix socket");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Whether the server closes `s` (EOF or reset) within `within`; bytes it sends first, such
/// as an HTTP 400, are returned.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn sunrpc_and_rest_share_the_client_port_and_the_unix_socket_serves_rpc() {
    let dirs = NodeDirs::new();
    let ip = "127.0.40.1";
    let d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();

    // (a) over TCP 24007
    let mut rpc = Rpc::new(tcp(ip));
    exercise(&mut rpc, "/data/brick-tcp", 49152);

    // (b) over <rundir>/glusterd2.socket
    let socket = dirs.run.join("glusterd2.socket");
    let mut local = Rpc::new(unix(&socket));
    exercise(&mut local, "/data/brick-unix", 49153);

    // A brick signed in on one connection is seen from the other, and goes when its
    // connection closes.
    let _: portmap::SigninRsp = local.call(
        portmap::PROGRAM,
        portmap::VERSION,
        portmap::SIGNIN,
        &portmap::SigninReq {
            brick: "/data/b9".into(),
            port: 49160,
            pid: 1,
        },
    );
    assert_eq!(rpc.port_by_brick("/data/b9").port, 49160);
    drop(local);
    wait_for(
        "the brick to go with its connection",
        Duration::from_secs(10),
        || (rpc.port_by_brick("/data/b9").op_ret == -1).then_some(()),
    )
    .unwrap();

    // (c) HTTP on the same port, while the RPC connection stays open.
    assert_eq!(http_status(&format!("{}/ping", d.url())), Some(200));
    let resp = blocking_client()
        .get(format!("{}/version", d.url()))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(rpc.dump().op_ret, 0);

    let log = d.log();
    assert!(log.contains("serving SunRPC"), "{log}");
    assert!(
        log.lines().any(|l| l.contains("GETSPEC")
            && l.contains("key=/nosuchvol")
            && l.contains("peer=127.")),
        "the GETSPEC request is logged with its key and peer:\n{log}"
    );

    // A clean stop removes the socket.
    let status = d.stop().unwrap();
    assert!(status.success(), "{status}");
    assert!(!socket.exists());
}

#[test]
fn garbage_oversized_and_silent_connections_are_closed_without_harm() {
    let dirs = NodeDirs::new();
    let ip = "127.0.40.2";
    let mut d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();

    // (d) Garbage bytes: not RPC, so HTTP, which answers 400 and closes.
    let mut junk = tcp(ip);
    junk.write_all(b"\x01\x02\x03 this is not a protocol\r\n\r\n")
        .unwrap();
    let got = closed_by_server(&mut junk, Duration::from_secs(20)).expect("closed");
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 400"),
        "{got:?}"
    );

    // An RPC-looking header whose record mark announces 2 GiB.
    let mut huge = tcp(ip);
    let mut header = CallHeader::new(1, dump::PROGRAM, dump::VERSION, dump::DUMP)
        .to_record(&())
        .unwrap();
    header[..4].copy_from_slice(&0xffff_ffffu32.to_be_bytes());
    huge.write_all(&header).unwrap();
    let got = closed_by_server(&mut huge, Duration::from_secs(20)).expect("closed");
    assert!(got.is_empty(), "{got:?}");

    // A malformed record after a good call: the connection closes.
    let mut rpc = Rpc::new(tcp(ip));
    assert_eq!(rpc.dump().op_ret, 0);
    rpc.s
        .write_all(&gd_sunrpc::record::encode_record(&[0, 0, 0, 1, 0, 0, 0, 9]).unwrap())
        .unwrap();
    assert!(rpc.next_record().is_none(), "closed");

    // A connection that never says anything is closed after the classification timeout.
    let mut silent = tcp(ip);
    let started = Instant::now();
    let got = closed_by_server(&mut silent, Duration::from_secs(30)).expect("closed");
    assert!(got.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // The daemon is unharmed.
    assert_eq!(http_status(&format!("{}/ping", d.url())), Some(200));
    let mut rpc = Rpc::new(tcp(ip));
    assert_eq!(rpc.getspec("vol").op_ret, -1);
    assert!(d.try_exit().is_none(), "glusterd2 is still running");
    assert!(d.log().contains("bad SunRPC record"), "{}", d.log());
}

/// (e) The real GlusterFS client asks us for a volfile we do not have: it fails cleanly and
/// says so in its log. First without a mount point (glusterfs then runs as a plain volfile
/// client, as the self-heal daemon does, and mounts nothing), then as a FUSE mount would.
#[test]
fn real_glusterfs_client_is_told_there_is_no_such_volfile() {
    let Some(glusterfs) = ["/usr/sbin/glusterfs", "/sbin/glusterfs"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        panic!("glusterfs is not installed (apt-get install glusterfs-client)");
    };
    let dirs = NodeDirs::new();
    let ip = "127.0.40.3";
    let d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();
    let tmp = tempfile::tempdir().unwrap();

    let log = run_glusterfs(
        glusterfs,
        ip,
        "nosuchvol",
        &tmp.path().join("client.log"),
        None,
    );
    assert!(
        log.contains("failed to get the 'volume file' from server"),
        "the client got our error:\n{log}"
    );
    assert!(
        log.contains("failed to fetch volume file (key:nosuchvol)"),
        "the client asked for its key:\n{log}"
    );

    if Path::new("/dev/fuse").exists() {
        let mnt = tmp.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let _unmount = Unmount(mnt.clone());
        let log = run_glusterfs(
            glusterfs,
            ip,
            "/nosuchvol",
            &tmp.path().join("mount.log"),
            Some(&mnt),
        );
        assert!(
            log.contains("failed to fetch volume file (key:/nosuchvol)"),
            "the mount asked for its key and failed:\n{log}"
        );
        assert!(
            !is_mounted(&mnt),
            "glusterfs left {} mounted",
            mnt.display()
        );
    } else {
        eprintln!("/dev/fuse is missing: the mount variant is skipped");
    }

    let ours = d.log();
    for key in ["key=nosuchvol", "key=/nosuchvol"] {
        assert!(
            ours.lines()
                .any(|l| l.contains("GETSPEC") && l.contains(key) && l.contains("peer=127.")),
            "glusterd2 logged the request ({key}):\n{ours}"
        );
    }
    // The daemon is unharmed.
    assert_eq!(http_status(&format!("{}/ping", d.url())), Some(200));
}

/// Runs `glusterfs` in the foreground against `ip` for `key` (at most 60 s, then killed);
/// asserts it exited and returns its log.
fn run_glusterfs(glusterfs: &Path, ip: &str, key: &str, log: &Path, mnt: Option<&Path>) -> String {
    let mut cmd = Command::new(glusterfs);
    cmd.arg("--no-daemon")
        .arg(format!("--volfile-server={ip}"))
        .arg("--volfile-server-port=24007")
        .arg(format!("--volfile-id={key}"))
        .arg(format!("--log-file={}", log.display()))
        .args(mnt)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let exited = wait_for("glusterfs to give up", Duration::from_secs(60), || {
        child.try_wait().ok().flatten()
    });
    if exited.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let text = read(log);
    assert!(exited.is_ok(), "glusterfs did not exit:\n{text}");
    text
}

fn is_mounted(dir: &Path) -> bool {
    let dir = dir.to_string_lossy();
    read(Path::new("/proc/mounts"))
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(&*dir))
}

/// Lazily unmounts a directory left mounted, also when the test fails.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        if is_mounted(&self.0) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// (f) A stranger — a connection that was neither served a volfile nor signed a brick in —
/// lives at most the stranger bound (`STRANGER_TIMEOUT`, 60 s; the daemon has no flag for
/// it, so this test waits the real bound): a raw TCP connection that sends one NULL call and
/// then idles is closed, and its slot is free again; a brick's connection opened at the same
/// time stays open. (Real bricks and FUSE clients are known connections: every test that
/// mounts a volume or starts bricks for longer than the bound shows they are unaffected.)
#[test]
fn an_idle_stranger_is_closed_after_the_bound_and_a_brick_is_not() {
    use gd_daemon::sunrpc::conn::STRANGER_TIMEOUT;
    use gd_sunrpc::{
        RpcMessage,
        rpc::{AcceptStat, ReplyBody},
    };

    let dirs = NodeDirs::new();
    let ip = "127.0.40.4";
    let d = start_daemon(&dirs, ip, &["--store", "local"]).unwrap();

    let started = Instant::now();
    let mut stranger = Rpc::new(tcp(ip));
    stranger
        .s
        .write_all(
            &CallHeader::new(7, dump::PROGRAM, dump::VERSION, dump::NULL)
                .to_record(&())
                .unwrap(),
        )
        .unwrap();
    let reply = stranger.next_record().expect("a reply to NULL");
    let Ok((RpcMessage::Reply(reply), _)) = RpcMessage::decode(&reply) else {
        panic!("not a reply: {reply:?}");
    };
    assert!(
        matches!(
            reply.body,
            ReplyBody::Accepted {
                stat: AcceptStat::ProcUnavail,
                ..
            }
        ),
        "GD1 answers NULL with PROC_UNAVAIL: {reply:?}"
    );
    let mut brick = Rpc::new(tcp(ip));
    let signin: portmap::SigninRsp = brick.call(
        portmap::PROGRAM,
        portmap::VERSION,
        portmap::SIGNIN,
        &portmap::SigninReq {
            brick: "/data/brick-known".into(),
            port: 49170,
            pid: 4321,
        },
    );
    assert_eq!(signin.op_ret, 0);

    // Open until shortly before the bound, closed soon after it.
    let early = STRANGER_TIMEOUT - Duration::from_secs(5);
    let wait = early.saturating_sub(started.elapsed());
    assert!(
        closed_by_server(&mut stranger.s, wait).is_none(),
        "the stranger was closed before the bound ({:?})",
        started.elapsed()
    );
    let got = closed_by_server(&mut stranger.s, Duration::from_secs(25))
        .expect("the idle stranger is closed after the bound");
    assert!(got.is_empty(), "{got:?}");
    let lived = started.elapsed();
    assert!(
        lived >= STRANGER_TIMEOUT - Duration::from_secs(1)
            && lived < STRANGER_TIMEOUT + Duration::from_secs(15),
        "closed after {lived:?}"
    );

    // The brick's connection, idle as long, still answers, and its sign-in holds.
    assert_eq!(brick.port_by_brick("/data/brick-known").port, 49170);
    assert_eq!(rpc_on(ip).port_by_brick("/data/brick-known").port, 49170);
    assert!(
        d.log()
            .contains("neither served a volfile nor signed a brick in"),
        "the closed stranger is logged:\n{}",
        d.log()
    );
}

fn rpc_on(ip: &str) -> Rpc<TcpStream> {
    Rpc::new(tcp(ip))
}
