"""One-shot initialisation of a single-node Garage for deploy/compose.yaml.

Runs in a stock python image (standard library only) against Garage's admin API v2, and is safe
to run again: it gives the node a role if the layout has none, imports the access key the
sanxiang replicas use, creates the bucket and grants the key read, write and owner on it.

Environment:
  GARAGE_ADMIN_URL       e.g. http://garage:3903
  GARAGE_ADMIN_TOKEN     the admin token the Garage server was started with
  S3_BUCKET              bucket to create (e.g. sanxiang)
  S3_ACCESS_KEY_ID       access key id to import (8+ characters: letters, digits, - _ .)
  S3_SECRET_ACCESS_KEY   its secret (16+ printable ASCII characters)
  GARAGE_ZONE            zone of the node (default dc1)
  GARAGE_CAPACITY_BYTES  capacity given to the node (default 100 GB)
  GARAGE_INIT_TIMEOUT    seconds to wait for Garage (default 120)
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None or value == "":
        sys.exit(f"garage-init: error: environment variable {name} is not set")
    return value


ADMIN_URL = env("GARAGE_ADMIN_URL").rstrip("/")
TOKEN = env("GARAGE_ADMIN_TOKEN")
BUCKET = env("S3_BUCKET")
KEY_ID = env("S3_ACCESS_KEY_ID")
KEY_SECRET = env("S3_SECRET_ACCESS_KEY")
ZONE = env("GARAGE_ZONE", "dc1")
CAPACITY = int(env("GARAGE_CAPACITY_BYTES", str(100 * 10**9)))
TIMEOUT = float(env("GARAGE_INIT_TIMEOUT", "120"))


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


def log(msg):
    print(f"garage-init: {msg}", file=sys.stderr, flush=True)


def call(endpoint, body=None, **query):
    """GET (no body) or POST (JSON body) /v2/<endpoint>; returns the decoded JSON answer."""
    url = f"{ADMIN_URL}/v2/{endpoint}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise ApiError(e.code, e.read().decode(errors="replace")) from None
    return json.loads(raw) if raw else None


def wait_for(what, probe):
    """Poll probe() until it returns a true value or TIMEOUT passes."""
    deadline = time.monotonic() + TIMEOUT
    last = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except ApiError as e:
            if e.status in (401, 403):  # a wrong token will not fix itself by waiting
                sys.exit(f"garage-init: error: Garage admin API refused GARAGE_ADMIN_TOKEN: {e}")
            last = e
        except OSError as e:  # not up yet
            last = e
        time.sleep(0.5)
    sys.exit(f"garage-init: error: timed out after {TIMEOUT:.0f} s waiting for {what} (last error: {last})")


def ensure_layout():
    status = wait_for("the Garage admin API", lambda: call("GetClusterStatus"))
    layout = call("GetClusterLayout")
    if layout["roles"]:
        return
    nodes = [n for n in status["nodes"] if n.get("isUp")]
    if len(nodes) != 1:
        sys.exit(f"garage-init: error: expected exactly one live node, found {len(nodes)}")
    node_id = nodes[0]["id"]
    version = layout["version"] + 1
    log(f"assigning node {node_id[:16]} (zone {ZONE}, {CAPACITY} bytes) and applying layout v{version}")
    call("UpdateClusterLayout", {"roles": [{"id": node_id, "zone": ZONE, "capacity": CAPACITY, "tags": []}]})
    call("ApplyClusterLayout", {"version": version})


def ensure_key():
    try:
        key = call("GetKeyInfo", id=KEY_ID, showSecretKey="true")
    except ApiError as e:
        if e.status != 404:
            raise
        log(f"importing access key {KEY_ID}")
        call("ImportKey", {"accessKeyId": KEY_ID, "secretAccessKey": KEY_SECRET, "name": BUCKET})
        return
    if key.get("secretAccessKey") != KEY_SECRET:
        sys.exit(f"garage-init: error: key {KEY_ID} exists with a different secret; refusing to continue")


def ensure_bucket():
    try:
        bucket = call("GetBucketInfo", globalAlias=BUCKET)
    except ApiError as e:
        if e.status != 404:
            raise
        log(f"creating bucket {BUCKET}")
        bucket = call("CreateBucket", {"globalAlias": BUCKET})
    call(
        "AllowBucketKey",
        {"bucketId": bucket["id"], "accessKeyId": KEY_ID, "permissions": {"read": True, "write": True, "owner": True}},
    )


def main():
    ensure_layout()
    wait_for("a healthy cluster", lambda: call("GetClusterHealth")["status"] == "healthy")
    ensure_key()
    ensure_bucket()
    log(f"ready: bucket {BUCKET}, key {KEY_ID}")


if __name__ == "__main__":
    try:
        main()
    except ApiError as e:
        sys.exit(f"garage-init: error: Garage admin API: {e}")
