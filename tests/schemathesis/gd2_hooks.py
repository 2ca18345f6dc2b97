"""schemathesis hooks for glusterd2: request signing, and the "no state change on a 4xx" check.

Loaded by `SCHEMATHESIS_HOOKS=gd2_hooks` (with this directory on PYTHONPATH) from the
end-to-end test `tests/e2e/schemathesis.rs`, which sets:

  GD2_URL          the node's base URL (http://127.0.95.1:24007)
  GD2_SECRET_FILE  the node's REST secret (<localstatedir>/auth)

and runs schemathesis with `schemathesis.toml` beside this file.

Signing. glusterd2 wants a fresh HS256 JWT per request (crates/gd-auth): claims iss, iat,
exp and qsh, the hex SHA-256 of "METHOD&path", or of "METHOD&path&canonical-query" when the
request has a query. The token is computed from the request as it goes on the wire (requests'
PreparedRequest: the path as encoded and the query as sent), which is what the daemon hashes,
so nothing schemathesis generates (odd characters in a path, repeated query keys) can make the
signature disagree with the request. A mismatch would show up as 401s, which the checks and
the test would see.

Bricks stay off this machine. A volume create whose brick names this node (by its id, name or
an address) would make a root daemon create and mark brick directories at generated paths on
the machine running the test. `before_call` points such a brick at a peer that does not exist
(a UUID and an address no peer has), so the request is refused for that reason at worst; every
other part of the request is sent as generated. The test also checks that the run made no
volume.

The check. Every request that is not a GET is bracketed by two views of the cluster's state
(peers, volumes, option groups, cluster options, each as GET answers them): one taken just
before it (`before_call`), one after it when it was answered with a 4xx. They must be equal:
a refused request changes nothing. Run with one worker (`--workers 1`), so no other request
runs in between.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import socket
import time

import requests
import schemathesis

USER = "glustercli"  # gd_auth::CLI_USER
VALIDITY_S = 120  # gd_auth::TOKEN_VALIDITY

BASE_URL = os.environ["GD2_URL"].rstrip("/")
with open(os.environ["GD2_SECRET_FILE"], encoding="ascii") as f:
    SECRET = f.read().strip().encode()

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEX = set(b"0123456789abcdefABCDEF")


def form_decode(s: str) -> bytes:
    """gd_auth's form_decode: `+` is a blank, `%XX` a byte, anything else (a lone `%`) as is."""
    b = s.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == ord("%") and i + 2 < len(b) and b[i + 1] in HEX and b[i + 2] in HEX:
            out.append(int(b[i + 1 : i + 3], 16))
            i += 3
        elif c == ord("+"):
            out.append(ord(" "))
            i += 1
        else:
            out.append(c)
            i += 1
    return bytes(out)


def percent_encode(b: bytes) -> str:
    return "".join(chr(c) if c in UNRESERVED else "%%%02X" % c for c in b)


def canonical_query(query: str) -> str:
    """gd_auth::canonical_query: decoded, sorted by key then value (bytes), encoded one way."""
    params = []
    for p in query.split("&"):
        if not p:
            continue
        k, _, v = p.partition("=")
        params.append((form_decode(k), form_decode(v)))
    params.sort()
    return "&".join(percent_encode(k) + "=" + percent_encode(v) for k, v in params)


def qsh(method: str, target: str) -> str:
    """gd_auth::qsh of a request target (path, and `?query` when there is one)."""
    path, _, query = target.partition("?")
    query = canonical_query(query)
    text = f"{method.upper()}&{path}" + (f"&{query}" if query else "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token(method: str, target: str) -> str:
    """An HS256 JWT for one request, as gd_auth::issue_token makes it."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "HS256"}
    claims = {"iss": USER, "iat": now, "exp": now + VALIDITY_S, "qsh": qsh(method, target)}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = hmac.new(SECRET, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


class Gd2Auth(requests.auth.AuthBase):
    """Signs a prepared request: its method and its target exactly as sent."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer " + token(r.method, r.path_url)
        return r


schemathesis.auth.set_from_requests(Gd2Auth())

# ---- no state change on a 4xx ----

STATE_PATHS = ["/v1/peers", "/v1/volumes", "/v1/volumes/options-group", "/v1/cluster/options"]
_session = requests.Session()
_session.auth = Gd2Auth()
_before = None  # the state before the request in flight (one worker)


def cluster_state() -> dict:
    """What a GET of each state path answers: status and JSON body."""
    state = {}
    for path in STATE_PATHS:
        resp = _session.get(BASE_URL + path, timeout=30)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        state[path] = (resp.status_code, body)
    return state


def without_liveness(state: dict) -> dict:
    """The state without what changes by itself (a peer's pid and online flag follow its
    process, not requests)."""
    status, peers = state["/v1/peers"]
    if isinstance(peers, list):
        peers = [{k: v for k, v in p.items() if k not in ("pid", "online")} for p in peers]
    return {**state, "/v1/peers": (status, peers)}


# ---- bricks stay off this machine ----

NOBODY_ID = "00000000-0000-4000-8000-000000000000"
NOBODY_HOST = "192.0.2.1"  # TEST-NET-1: parsed by the daemon, never contacted


def _this_node() -> dict:
    peers = _session.get(BASE_URL + "/v1/peers", timeout=30).json()
    (me,) = peers
    hosts = {
        a.rsplit(":", 1)[0].strip("[]").lower()
        for a in me["peer-addresses"] + me["client-addresses"]
    }
    return {"id": me["id"].lower(), "name": me["name"].lower(), "hosts": hosts}


def _ips(host: str) -> set:
    """The addresses `host` is or resolves to (the daemon looks names up the same way)."""
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, 0)
    except (OSError, UnicodeError, ValueError):
        return set()
    out = set()
    for info in infos:
        try:
            out.add(ipaddress.ip_address(info[4][0].split("%")[0]))
        except ValueError:
            pass
    return out


def names_this_node(host) -> bool:
    """Whether the daemon would take `host` for this node (volumes.rs `known_as`, or a name
    that resolves to one of its addresses)."""
    if not isinstance(host, str):
        return False
    h = host.strip("[]").lower()
    name = THIS_NODE["name"]
    first = lambda x: x.split(".")[0]
    if h in THIS_NODE["hosts"] or h == name:
        return True
    if name and (("." not in name and first(h) == name) or ("." not in h and first(name) == h)):
        return True
    node_ips = {ip for x in THIS_NODE["hosts"] for ip in _ips(x)}
    return bool(_ips(h) & node_ips)


def _uuid_hex(value) -> str:
    """A UUID's 32 hex digits, however it is spelled (the daemon parses every spelling)."""
    if not isinstance(value, str):
        return ""
    v = value.strip().lower().removeprefix("urn:uuid:")
    return "".join(c for c in v if c in "0123456789abcdef")


def keep_bricks_off_this_node(body) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("subvols"), list):
        return
    for subvol in body["subvols"]:
        if not isinstance(subvol, dict) or not isinstance(subvol.get("bricks"), list):
            continue
        for brick in subvol["bricks"]:
            if not isinstance(brick, dict):
                continue
            if _uuid_hex(brick.get("peerid")) == _uuid_hex(THIS_NODE["id"]):
                brick["peerid"] = NOBODY_ID
            if names_this_node(brick.get("host")):
                brick["host"] = NOBODY_HOST


THIS_NODE = _this_node()


@schemathesis.hook
def before_call(context, case, **kwargs):
    global _before
    if case.method.upper() == "POST" and case.path == "/v1/volumes":
        keep_bricks_off_this_node(case.body)
    _before = cluster_state() if case.method.upper() != "GET" else None


@schemathesis.check
def no_state_change_on_4xx(ctx, response, case):
    """A request answered with a 4xx changed nothing."""
    if case.method.upper() == "GET" or not 400 <= response.status_code < 500 or _before is None:
        return None
    after = cluster_state()
    before, now = without_liveness(_before), without_liveness(after)
    changed = [p for p in STATE_PATHS if before[p] != now[p]]
    if changed:
        detail = "; ".join(
            f"{p}: {json.dumps(before[p])} -> {json.dumps(now[p])}" for p in changed
        )
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code} but changed {detail}"
        )
    return None
