//! A stand-in for `glusterfsd` and `glusterfs`, for the benchmarks that start more bricks and
//! self-heal daemons than one machine can run real processes for (`volumes_scale`: thousands
//! of bricks over 100 node agents in one process). Installed under both names first on the
//! `PATH` of the bench, it is started by glusterd2's own code with GD1's command lines and
//! keeps the daemons' contract with their launcher, so everything glusterd2 does around them
//! runs for real:
//!
//! - the launcher forks the brick process and exits 0 once that one serves (98 when its port
//!   is taken, 1 on any other failure);
//! - the brick process listens on `--brick-port` (at `transport.socket.bind-address` when
//!   given), fetches its volfile from the `-s` server (GETSPEC with `--volfile-id`), writes
//!   its pid file (`-p`) and signs in to the server's port map (PMAP SIGNIN) on that same
//!   management connection, which it keeps; a self-heal daemon (no `--brick-name`) fetches
//!   its volfile and writes its pid file;
//! - SIGTERM ends it (its connection closes, and the port map forgets it, as for a brick that
//!   died); it also ends when the server closes the connection (a real brick would reconnect:
//!   the stand-in leaves nothing behind once its bench is over).
//!
//! It serves no file: no client mounts the volumes of such a bench.

use std::{
    io::{Read, Write},
    net::{IpAddr, SocketAddr, TcpListener, TcpStream},
    process::exit,
};

use gd_sunrpc::programs::portmap;

#[path = "../rpc.rs"]
#[allow(dead_code)]
mod rpc;

/// What the command line says (GD1 10.3's brick command line).
struct Args {
    server: IpAddr,
    server_port: u16,
    volfile_id: String,
    pidfile: String,
    /// The brick's path and port; none for a self-heal daemon.
    brick: Option<(String, u16)>,
    bind: Option<IpAddr>,
}

fn parse() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<&str> {
        argv.windows(2)
            .find(|w| w[0] == flag)
            .map(|w| w[1].as_str())
    };
    let need = |flag: &str| value(flag).ok_or_else(|| format!("{flag} is missing"));
    let bind = argv
        .windows(2)
        .filter(|w| w[0] == "--xlator-option")
        .find_map(|w| w[1].strip_prefix("transport.socket.bind-address="))
        .map(|ip| ip.parse().map_err(|_| format!("bad bind address {ip}")))
        .transpose()?;
    Ok(Args {
        server: need("-s")?.parse().map_err(|_| "bad -s".to_owned())?,
        server_port: need("--volfile-server-port")?
            .parse()
            .map_err(|_| "bad --volfile-server-port".to_owned())?,
        volfile_id: need("--volfile-id")?.to_owned(),
        pidfile: need("-p")?.to_owned(),
        brick: match value("--brick-name") {
            Some(name) => Some((
                name.to_owned(),
                need("--brick-port")?
                    .parse()
                    .map_err(|_| "bad --brick-port".to_owned())?,
            )),
            None => None,
        },
        bind,
    })
}

/// The brick process: serves, then tells its launcher through `ready` (one byte: 0 serving,
/// else its exit status) and lives on its management connection.
fn brick(args: &Args, mut ready: std::fs::File) -> ! {
    let (_listener, mut rpc) = match serve(args) {
        Ok(up) => up,
        Err(code) => {
            let _ = ready.write_all(&[code]);
            exit(i32::from(code))
        }
    };
    let _ = ready.write_all(&[0]);
    drop(ready);
    // Until the server goes (calls it makes, a graph change's FETCHSPEC, are not answered).
    let mut buf = [0u8; 4096];
    while matches!(rpc.s.read(&mut buf), Ok(n) if n > 0) {}
    exit(0)
}

/// Listens on the brick port (a brick), fetches the volfile, writes the pid file and signs in
/// (a brick); the exit status otherwise (98: the port is taken, 1: anything else).
fn serve(args: &Args) -> Result<(Option<TcpListener>, rpc::Rpc<TcpStream>), u8> {
    let listener = match &args.brick {
        Some((_, port)) => {
            let bind = SocketAddr::new(args.bind.unwrap_or(IpAddr::from([0, 0, 0, 0])), *port);
            Some(TcpListener::bind(bind).map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => 98,
                _ => 1,
            })?)
        }
        None => None,
    };
    let conn = TcpStream::connect((args.server, args.server_port)).map_err(|_| 1)?;
    let mut rpc = rpc::Rpc::new(conn);
    if rpc.getspec(&args.volfile_id).op_ret < 0 {
        return Err(1);
    }
    let pid = std::process::id();
    std::fs::write(&args.pidfile, format!("{pid}\n")).map_err(|_| 1)?;
    if let Some((brick, port)) = &args.brick {
        let req = portmap::SigninReq {
            brick: brick.clone(),
            port: i32::from(*port),
            pid: pid as i32,
        };
        let rsp: portmap::SigninRsp =
            rpc.call(portmap::PROGRAM, portmap::VERSION, portmap::SIGNIN, &req);
        if rsp.op_ret < 0 {
            return Err(1);
        }
    }
    Ok((listener, rpc))
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fake glusterfsd: {e}");
            exit(1)
        }
    };
    let (r, w) = nix::unistd::pipe().unwrap_or_else(|_| exit(1));
    // SAFETY: one thread runs here; the child only goes on with this program.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(r);
            // Its stdio is its launcher's: glusterd2 gives bricks /dev/null.
            let _ = nix::unistd::setsid();
            brick(&args, std::fs::File::from(w))
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            drop(w);
            let mut r = std::fs::File::from(r);
            let mut byte = [1u8];
            let code = match r.read(&mut byte) {
                Ok(1) => i32::from(byte[0]),
                _ => 1,
            };
            exit(code)
        }
        Err(_) => exit(1),
    }
}
