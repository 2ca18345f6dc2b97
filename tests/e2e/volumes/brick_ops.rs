//! glusterd2's brick-op client against the real daemons: bricks and self-heal daemons answer
//! the STATUS and NODE_STATUS calls GD1 makes on their `-S` sockets.

use gd_daemon::sunrpc::client::BrickCall;
use gd_sunrpc::{
    Dict,
    programs::brick::{self, BrickOpReq},
};
use gd_testkit::*;
use serde_json::json;

use super::{WAIT, post_volume};

/// The `-S` socket of the process `pid`, from its command line, as an administrator finds it.
fn control_socket(pid: u32) -> String {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).expect("the process runs");
    let args: Vec<String> = String::from_utf8_lossy(&cmd)
        .split('\0')
        .map(String::from)
        .collect();
    let at = args
        .iter()
        .position(|a| a == "-S")
        .expect("started with -S");
    args[at + 1].clone()
}

fn keys(d: &Dict) -> Vec<String> {
    d.iter().map(|(k, _)| k.to_owned()).collect()
}

#[test]
fn bricks_and_self_heal_daemons_answer_status_on_their_sockets() {
    let t = three(61);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "ops")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "ops",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/ops/start", None);
    assert_eq!(s, 200, "{b}");
    let status: Vec<gd_api::BrickStatus> = wait_for("every brick online", WAIT, || {
        let (_, b) = t.api(0, "GET", "/v1/volumes/ops/bricks", None);
        let s: Vec<gd_api::BrickStatus> = serde_json::from_value(b).ok()?;
        (s.len() == 3 && s.iter().all(|b| b.online && b.pid > 0)).then_some(s)
    })
    .unwrap();
    let mount = Mount::new(&t.ips[0], "ops").unwrap();
    std::fs::write(mount.dir.join("f"), b"data").unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    for b in &status {
        let call = BrickCall::to(control_socket(b.pid));
        let path = &b.info.path;
        // Its clients: the mount and the three self-heal daemons, each with its address.
        let req = BrickOpReq::brick_status(path, brick::STATUS_CLIENTS).unwrap();
        let hosts = wait_for("the mount and 3 self-heal daemons connected", WAIT, || {
            let rsp = rt.block_on(call.call(brick::STATUS, &req)).unwrap();
            assert_eq!((rsp.op_ret, rsp.op_errstr.as_str()), (0, ""), "{path}");
            let out = rsp.decode_output().unwrap();
            let count = out.get_i32("clientcount").unwrap().expect("clientcount");
            let hosts: Vec<String> = (0..count)
                .map(|i| {
                    let key = format!("client{i}.hostname");
                    out.get_str(&key)
                        .unwrap()
                        .expect("every client's address")
                        .to_owned()
                })
                .collect();
            (count == 4).then_some(hosts)
        })
        .unwrap();
        assert!(hosts.iter().all(|h| h.contains(':')), "{hosts:?}");
        // Its memory.
        let req = BrickOpReq::brick_status(path, brick::STATUS_MEM).unwrap();
        let rsp = rt.block_on(call.call(brick::STATUS, &req)).unwrap();
        assert_eq!(rsp.op_ret, 0, "{path}: {}", rsp.op_errstr);
        let out = rsp.decode_output().unwrap();
        assert!(
            keys(&out).iter().any(|k| k.starts_with("pool")),
            "{path}: {:?}",
            keys(&out)
        );
        // A status op a brick does not answer is refused in the brick's words.
        let req = BrickOpReq::brick_status(path, brick::STATUS_DETAIL).unwrap();
        let rsp = rt.block_on(call.call(brick::STATUS, &req)).unwrap();
        assert_eq!(
            (rsp.op_ret, rsp.op_errstr.as_str()),
            (-1, "Unknown status op")
        );
    }

    // The self-heal daemon of each node answers NODE_STATUS for the volume.
    for d in &t.dirs {
        let pidfile = d.run.join("shd").join("ops").join("ops-shd.pid");
        let pid: u32 = read(&pidfile).trim().parse().unwrap();
        let mut input = Dict::new();
        input.set_u32(brick::KEY_CMD, brick::STATUS_SHD | brick::STATUS_MEM);
        input.set_str(brick::KEY_VOLNAME, "ops");
        let req = BrickOpReq::new("", 0, &input).unwrap();
        let call = BrickCall::to(control_socket(pid));
        let rsp = rt.block_on(call.call(brick::NODE_STATUS, &req)).unwrap();
        assert_eq!(rsp.op_ret, 0, "{}", rsp.op_errstr);
        let out = rsp.decode_output().unwrap();
        assert!(
            keys(&out).iter().any(|k| k.starts_with("pool")),
            "{:?}",
            keys(&out)
        );
    }
    drop(mount);
}

/// The rebalance process's volfile (`rebalance/<vol>`) is served to this machine's processes
/// for a volume of several sets — trusted clients under DHT, no mount caches — and not for a
/// volume of one set.
#[test]
fn the_rebalance_volfile_is_served_for_a_volume_of_several_sets() {
    let t = three(62);
    let two = [brick(&t, 0, "d1"), brick(&t, 1, "d2")];
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body("spread", "distribute", &two, json!({}))),
    );
    assert_eq!(s, 201, "{b}");
    let rep: Vec<_> = (0..3).map(|i| brick(&t, i, "r")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "one-set",
            "replicate",
            &rep,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");

    let socket = t.dirs[1].run.join("glusterd2.socket");
    let mut rpc = Rpc::new(std::os::unix::net::UnixStream::connect(&socket).unwrap());
    let rsp = rpc.getspec("rebalance/spread");
    assert!(rsp.op_ret > 0, "{rsp:?}");
    let spec = rsp.spec;
    for line in [
        "volume spread-dht\n    type cluster/distribute",
        "    subvolumes spread-client-0 spread-client-1\n",
        "    option username ",
        "volume spread\n    type debug/io-stats",
    ] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    assert!(
        !spec.contains("write-behind") && !spec.contains("send-gids"),
        "{spec}"
    );
    let rsp = rpc.getspec("rebalance/one-set");
    assert_eq!((rsp.op_ret, rsp.op_errno), (-1, 2), "{rsp:?}");
}
