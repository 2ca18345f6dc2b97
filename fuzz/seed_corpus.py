#!/usr/bin/env python3
"""Writes the committed seed corpus (fuzz/corpus/<target>/) from the project's fixtures.

Seeds are valid inputs the fuzzer starts from and mutates: the libgfxdr/libtirpc fixtures of
gd-sunrpc (crates/gd-sunrpc/fixtures/*.hex), a few of GD1's volfiles (crates/gd-volgen/tests/
fixtures/gd1-volfiles/), and configuration files (etc/glusterd2.toml.example and variants).
Run from anywhere: `python3 fuzz/seed_corpus.py`. It rewrites only the seed files it names
(`seed-*`); inputs added by hand (crashes found, kept as regression inputs) stay.
"""

import hashlib
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates/gd-sunrpc/fixtures"
VOLFILES = ROOT / "crates/gd-volgen/tests/fixtures/gd1-volfiles"
CORPUS = ROOT / "fuzz/corpus"


def hexfile(name):
    text = (FIXTURES / f"{name}.hex").read_text()
    digits = "".join(
        c for line in text.splitlines() if not line.startswith("#") for c in line
        if c in "0123456789abcdefABCDEF"
    )
    return bytes.fromhex(digits)


def fixtures(prefix):
    return sorted(p.stem for p in FIXTURES.glob(f"{prefix}*.hex"))


RECORDS = fixtures("call_") + fixtures("reply_")


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def main():
    for old in CORPUS.glob("*/seed-*"):
        old.unlink()

    # Record marking: [bound index, push size] + a stream of records.
    stream = b"".join(hexfile(r) for r in RECORDS)
    for r in RECORDS:
        write("sunrpc_record", r, bytes([7, 255]) + hexfile(r))
    write("sunrpc_record", "all-bytewise", bytes([7, 1]) + stream)
    write("sunrpc_record", "all-small-bound", bytes([4, 13]) + stream)
    # Two fragments: 3 bytes, then a last fragment of 2.
    write("sunrpc_record", "two-fragments", bytes([3, 2, 0, 0, 0, 3]) + b"abc" + bytes([0x80, 0, 0, 2]) + b"de")

    # RPC headers: record payloads (the record mark removed).
    for r in RECORDS:
        write("sunrpc_rpc", r, hexfile(r)[4:])
    # Callback: what clients send back (replies) and the callback calls themselves.
    for r in fixtures("reply_") + ["call_fetchspec", "call_statedump"]:
        write("sunrpc_callback", r, hexfile(r)[4:])

    # Auth bodies, and each as an opaque_auth on the wire (flavor, length, body, padding).
    flavors = {"auth_unix": 1, "auth_glusterfs_v1": 5, "auth_glusterfs_v2_groups": 390039,
               "auth_glusterfs_v2_notes": 390039, "auth_glusterfs_v3": 390040}
    for a in fixtures("auth_"):
        body = hexfile(a)
        write("sunrpc_auth", a, body)
        pad = b"\0" * ((4 - len(body) % 4) % 4)
        wire = flavors[a].to_bytes(4, "big") + len(body).to_bytes(4, "big") + body + pad
        write("sunrpc_auth", f"{a}-opaque", wire)

    for d in fixtures("dict_"):
        write("sunrpc_dict", d, hexfile(d))

    for m in fixtures("dump_") + ["common_rsp"]:
        write("sunrpc_dump", m, hexfile(m))
    for m in fixtures("getspec_") + fixtures("event_notify_") + fixtures("get_volume_info_") + fixtures("getsnap_"):
        write("sunrpc_handshake", m, hexfile(m))
    for m in fixtures("pmap_"):
        write("sunrpc_portmap", m, hexfile(m))
    write("sunrpc_callback", "statedump", hexfile("statedump"))
    for m in fixtures("brick_op_"):
        write("sunrpc_brick", m, hexfile(m))

    # The server's path: each call record alone, and all calls in one stream.
    calls = fixtures("call_")
    for c in calls:
        write("sunrpc_stream", c, hexfile(c))
    write("sunrpc_stream", "all-calls", b"".join(hexfile(c) for c in calls))

    # Volfiles: one of each kind GD1 writes, for a few volume types.
    picks = [
        "dist/dist.tcp-fuse.vol",
        "dist/trusted-dist.tcp-fuse.vol",
        "dist/dist.127.1.1.1.data-bricks-dist-b1.vol",
        "dist/dist-rebalance.vol",
        "dist/dist.gfproxyd.vol",
        "dist/trusted-dist.tcp-gfproxy-fuse.vol",
    ]
    for vol in sorted(VOLFILES.iterdir()):
        if not vol.is_dir() or vol.name == "dist":
            continue
        fuse = sorted(vol.glob("*.tcp-fuse.vol"))
        shd = sorted(vol.glob("*shd*.vol")) + sorted(VOLFILES.glob("glustershd*"))
        picks += [str(p.relative_to(VOLFILES)) for p in fuse[:1] + shd[:1]]
    seen = set()
    for p in picks:
        data = (VOLFILES / p).read_bytes()
        digest = hashlib.sha1(data).hexdigest()[:8]
        if digest in seen:
            continue
        seen.add(digest)
        write("volgen_volfile", p.replace("/", "-"), data)
    write("volgen_volfile", "quoted-words", b'volume "a b"\n    type "debug/io-stats"\n'
          b'    option "k\\"ey" "v\\\\al"\nend-volume\n\n# comment\nvolume top\n'
          b'    type debug/trace\n    subvolumes "a b"\nend-volume\n')

    # Configuration files.
    write("daemon_config", "example", (ROOT / "etc/glusterd2.toml.example").read_bytes())
    write("daemon_config", "every-key", b'''localstatedir = "/var/lib/glusterd2"
rundir = "run"
logdir = "/var/log/glusterd2"
logfile = "stderr"
loglevel = "info,gd_store=debug"
clientaddress = "127.0.0.1:24007"
peeraddress = ":24008"
etcdendpoints = ["http://192.0.2.1:2379", "https://[2001:db8::1]:2379"]
etcdcurls = "http://127.0.0.1:24379"
etcdpurls = "http://127.0.0.1:24380"
store = "etcd"
pidfile = "/run/glusterd2.pid"
peer-join = "open"
restauth = true
etcd-voter-grace = "5m 30s"
token-max-lifetime = "1day"
etcd-five-voters-from = 9
''')
    write("daemon_config", "endpoints-string", b'store = "managed"\netcdendpoints = "http://a:2379,http://b:2379"\nclientaddress = "[::1]:24007"\n')
    write("daemon_config", "bad-values", b'store = "cloud"\ntoken-max-lifetime = "forever"\nclientaddress = "nohost:port"\n')
    write("daemon_config", "empty", b"")


if __name__ == "__main__":
    main()
