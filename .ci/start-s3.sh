#!/usr/bin/env bash
# Make sure a single-node Garage (S3-compatible object store) answers on 127.0.0.1:3900 with a
# bucket and an access key for the tests, then print the environment for the tests.
#
#   eval "$(bash .ci/start-s3.sh)"
#
# Idempotent: a running server, an applied layout, the key and the bucket are all reused.
# Garage comes from crates.io (`cargo install garage`), built once into a cache directory; a fresh
# machine builds it here (tens of minutes on 2 cores). stdout carries only `export NAME=value`
# lines; everything else goes to stderr.
#
# Ports: S3 API 127.0.0.1:3900 (region "garage"), RPC 127.0.0.1:3901, admin API 127.0.0.1:3903.
#
# Environment:
#   SANXIANG_CI_CACHE            cache root (default: ~/.cache/sanxiang-ci)
#   SANXIANG_GARAGE_DIR          config, metadata, data, secrets and log (default: $SANXIANG_CI_CACHE/garage-data)
#   SANXIANG_GARAGE_BUILD_JOBS   cargo -j for a build of Garage (default: 1, so the machine stays usable)
set -euo pipefail

readonly GARAGE_VERSION=2.5.0
readonly CACHE_DIR="${SANXIANG_CI_CACHE:-$HOME/.cache/sanxiang-ci}"
readonly GARAGE_ROOT="$CACHE_DIR/garage-$GARAGE_VERSION"
readonly GARAGE_BIN="$GARAGE_ROOT/bin/garage"
readonly BUILD_LOG="$CACHE_DIR/garage-build.log"
readonly BUILD_JOBS="${SANXIANG_GARAGE_BUILD_JOBS:-1}"
readonly STATE_DIR="${SANXIANG_GARAGE_DIR:-$CACHE_DIR/garage-data}"
readonly CONFIG="$STATE_DIR/garage.toml"
readonly SERVER_LOG="$STATE_DIR/garage.log"
readonly PID_FILE="$STATE_DIR/garage.pid"

readonly S3_ADDR=127.0.0.1:3900
readonly RPC_ADDR=127.0.0.1:3901
readonly ADMIN_ADDR=127.0.0.1:3903
readonly REGION=garage
readonly BUCKET=sanxiang-test
readonly KEY_NAME=sanxiang-test
readonly ZONE=dc1
readonly CAPACITY=1G

log() { printf 'start-s3: %s\n' "$*" >&2; }
die() { printf 'start-s3: error: %s\n' "$*" >&2; exit 1; }

[[ "$BUILD_JOBS" =~ ^[1-9][0-9]*$ ]] || die "SANXIANG_GARAGE_BUILD_JOBS must be a positive integer, got '$BUILD_JOBS'"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read Garage's JSON answers"

# ---- the binary -----------------------------------------------------------------------------

build_running() { pgrep -f "cargo install garage --version $GARAGE_VERSION" >/dev/null 2>&1; }

ensure_binary() {
    [[ -x "$GARAGE_BIN" ]] && return 0
    mkdir -p "$CACHE_DIR"
    if build_running; then
        # Another run (or a warm-up in the background) is building it: wait instead of racing it.
        log "waiting for the running build of Garage $GARAGE_VERSION (log: $BUILD_LOG)"
        local waited=0
        while build_running; do
            ((waited < 7200)) || die "Garage build still running after 2 h; see $BUILD_LOG"
            sleep 10
            waited=$((waited + 10))
            ((waited % 300 == 0)) && log "still building Garage after $((waited / 60)) min: $(tail -n 1 "$BUILD_LOG" 2>/dev/null || true)"
        done
        [[ -x "$GARAGE_BIN" ]] || die "the Garage build finished without producing $GARAGE_BIN; see $BUILD_LOG"
        return 0
    fi
    command -v cargo >/dev/null 2>&1 || die "Garage is not built ($GARAGE_BIN missing) and cargo is not on PATH"
    log "building Garage $GARAGE_VERSION from crates.io with -j $BUILD_JOBS; this takes a while (log: $BUILD_LOG)"
    if ! nice -n 10 cargo install garage --version "$GARAGE_VERSION" --locked --root "$GARAGE_ROOT" \
        -j "$BUILD_JOBS" >>"$BUILD_LOG" 2>&1; then
        tail -n 20 "$BUILD_LOG" >&2 || true
        die "building Garage failed; see $BUILD_LOG"
    fi
    [[ -x "$GARAGE_BIN" ]] || die "cargo install succeeded but $GARAGE_BIN is missing"
}

# ---- configuration --------------------------------------------------------------------------

random_hex32() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

write_config() {
    mkdir -p "$STATE_DIR/meta" "$STATE_DIR/data"
    chmod 700 "$STATE_DIR"
    # Secrets are made once and kept: the metadata on disk is tied to them.
    (
        umask 077
        [[ -s "$STATE_DIR/rpc_secret" ]] || random_hex32 >"$STATE_DIR/rpc_secret"
        [[ -s "$STATE_DIR/admin_token" ]] || random_hex32 >"$STATE_DIR/admin_token"
    )
    chmod 600 "$STATE_DIR/rpc_secret" "$STATE_DIR/admin_token"
    local tmp="$CONFIG.tmp.$$"
    cat >"$tmp" <<EOF
# Written by .ci/start-s3.sh: a single-node Garage for sanxiang's tests. Rewritten on every run.
metadata_dir = "$STATE_DIR/meta"
data_dir = "$STATE_DIR/data"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "$RPC_ADDR"
rpc_public_addr = "$RPC_ADDR"
rpc_secret_file = "$STATE_DIR/rpc_secret"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "$S3_ADDR"

[admin]
api_bind_addr = "$ADMIN_ADDR"
admin_token_file = "$STATE_DIR/admin_token"
EOF
    mv -f "$tmp" "$CONFIG"
}

garage() { "$GARAGE_BIN" -c "$CONFIG" "$@"; }

# Read one value out of a JSON document on stdin with a Python expression over `d`.
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

# ---- the server -----------------------------------------------------------------------------

server_pid() {
    local pid
    [[ -s "$PID_FILE" ]] || return 1
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

start_server() {
    if garage status >/dev/null 2>&1; then
        return 0
    fi
    local addr
    for addr in "$S3_ADDR" "$RPC_ADDR" "$ADMIN_ADDR"; do
        if port_open "$addr"; then
            server_pid >/dev/null && break # ours, still starting up
            die "something else listens on $addr but does not answer as this Garage (config $CONFIG)"
        fi
    done
    if ! server_pid >/dev/null; then
        log "starting Garage $GARAGE_VERSION (log: $SERVER_LOG)"
        # fd 9 (the lock) must not be inherited, or the server would hold the lock forever.
        setsid "$GARAGE_BIN" -c "$CONFIG" server </dev/null >>"$SERVER_LOG" 2>&1 9>&- &
        echo $! >"$PID_FILE"
    fi
    local i pid
    for ((i = 0; i < 240; i++)); do # 60 s
        garage status >/dev/null 2>&1 && return 0
        if ! pid="$(server_pid)"; then
            tail -n 20 "$SERVER_LOG" >&2 || true
            die "Garage exited during start-up; see $SERVER_LOG"
        fi
        sleep 0.25
    done
    tail -n 20 "$SERVER_LOG" >&2 || true
    die "Garage (pid $pid) did not answer 'garage status' within 60 s; see $SERVER_LOG"
}

ensure_layout() {
    local node_id layout roles version
    node_id="$(garage node id -q 2>/dev/null)" || die "'garage node id' failed"
    node_id="${node_id%%@*}"
    [[ "$node_id" =~ ^[0-9a-f]{64}$ ]] || die "unexpected node id from 'garage node id -q': $node_id"

    layout="$(garage json-api GetClusterLayout)" || die "reading the cluster layout failed"
    roles="$(json_get "len(d['roles'])" <<<"$layout")"
    if [[ "$roles" == 0 ]]; then
        version="$(json_get "d['version']" <<<"$layout")"
        log "assigning this node ($ZONE, $CAPACITY) and applying layout version $((version + 1))"
        garage layout assign -z "$ZONE" -c "$CAPACITY" "$node_id" >/dev/null ||
            die "garage layout assign failed"
        garage layout apply --version "$((version + 1))" >/dev/null ||
            die "garage layout apply --version $((version + 1)) failed"
    fi

    # The S3 API answers only once the layout is in force on this node.
    local i status
    for ((i = 0; i < 240; i++)); do # 60 s
        status="$(garage json-api GetClusterHealth 2>/dev/null | json_get "d['status']" 2>/dev/null || true)"
        [[ "$status" == healthy ]] && return 0
        sleep 0.25
    done
    die "Garage cluster is not healthy after 60 s (status: ${status:-unknown}); see $SERVER_LOG"
}

ensure_key_and_bucket() {
    if ! garage key info "$KEY_NAME" --key-id >/dev/null 2>&1; then
        log "creating access key $KEY_NAME"
        garage key create "$KEY_NAME" >/dev/null || die "garage key create $KEY_NAME failed"
    fi
    if ! garage bucket info "$BUCKET" >/dev/null 2>&1; then
        log "creating bucket $BUCKET"
        garage bucket create "$BUCKET" >/dev/null || die "garage bucket create $BUCKET failed"
    fi
    garage bucket allow --read --write --owner "$BUCKET" --key "$KEY_NAME" >/dev/null ||
        die "garage bucket allow on $BUCKET for key $KEY_NAME failed"
    KEY_ID="$(garage key info "$KEY_NAME" --key-id)" || die "reading key $KEY_NAME failed"
    KEY_SECRET="$(garage key info "$KEY_NAME" --secret-key)" || die "reading the secret of key $KEY_NAME failed"
    [[ -n "$KEY_ID" && -n "$KEY_SECRET" && "$KEY_SECRET" != "(redacted)" ]] ||
        die "could not read the id and secret of key $KEY_NAME"
}

# ---- main -----------------------------------------------------------------------------------

ensure_binary
mkdir -p "$STATE_DIR"
# One run at a time per state directory: concurrent runs would race to start the server.
exec 9>"$STATE_DIR/.lock"
flock -w 120 9 || die "another start-s3.sh run holds $STATE_DIR/.lock for over 2 min"

write_config
start_server
ensure_layout
ensure_key_and_bucket

printf 'export %s=%q\n' \
    SANXIANG_TEST_S3_URL "s3://$BUCKET" \
    AWS_ENDPOINT "http://$S3_ADDR" \
    AWS_REGION "$REGION" \
    AWS_ACCESS_KEY_ID "$KEY_ID" \
    AWS_SECRET_ACCESS_KEY "$KEY_SECRET" \
    AWS_ALLOW_HTTP true \
    SANXIANG_GARAGE_PID_FILE "$PID_FILE"
