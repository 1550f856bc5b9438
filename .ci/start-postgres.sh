#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth for user postgres on
# loopback) and that the test database exists, then print the environment for the tests.
#
#   eval "$(bash .ci/start-postgres.sh)"
#
# Idempotent: a running server is left alone; a stopped Debian cluster is started; on a machine
# without PostgreSQL it is installed from Debian's packages and a cluster is created.
# stdout carries only `export NAME=value` lines; everything else goes to stderr.
#
# Environment:
#   SANXIANG_TEST_PG_DB   database to create (default: sanxiang_test)
set -euo pipefail

readonly PG_ADDR=127.0.0.1
readonly PG_PORT=5432
readonly PG_USER=postgres
readonly DB_NAME="${SANXIANG_TEST_PG_DB:-sanxiang_test}"

log() { printf 'start-postgres: %s\n' "$*" >&2; }
die() { printf 'start-postgres: error: %s\n' "$*" >&2; exit 1; }

[[ "$DB_NAME" =~ ^[a-z_][a-z0-9_]*$ ]] || die "SANXIANG_TEST_PG_DB must be a plain identifier, got '$DB_NAME'"

is_ready() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PG_ADDR" -p "$PG_PORT" >/dev/null 2>&1
}

# psql against the server as the postgres user; never prompts for a password.
pg_sql() {
    psql -w -X -q -v ON_ERROR_STOP=1 -h "$PG_ADDR" -p "$PG_PORT" -U "$PG_USER" -d postgres -Atc "$1"
}

# Highest installed major version that has a config directory, or nothing.
pg_version() {
    local v
    v="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$v" && -d "/usr/lib/postgresql/$v/bin" ]] && printf '%s\n' "$v"
    return 0
}

install_postgres() {
    [[ "$(id -u)" -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available"
    log "PostgreSQL not installed; installing it from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || die "apt-get update failed"
    apt-get install -y -q postgresql >&2 || die "apt-get install postgresql failed"
}

# Loopback trust for the postgres user, placed before any other rule so it wins.
ensure_trust_hba() {
    local hba="$1"
    [[ -f "$hba" ]] || die "pg_hba.conf not found at $hba"
    if ! grep -Eq '^host[[:space:]]+all[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        log "adding loopback trust rules for user postgres to $hba"
        local tmp
        tmp="$(mktemp)"
        {
            echo '# added by sanxiang .ci/start-postgres.sh: trust the postgres user on loopback'
            echo 'host    all    postgres    127.0.0.1/32    trust'
            echo 'host    all    postgres    ::1/128         trust'
            cat "$hba"
        } >"$tmp"
        cat "$tmp" >"$hba"   # keep owner and mode of the original file
        rm -f "$tmp"
        return 0
    fi
    return 1
}

wait_ready() {
    local i
    for ((i = 0; i < 120; i++)); do
        is_ready && return 0
        sleep 0.5
    done
    return 1
}

start_cluster() {
    local v
    v="$(pg_version)"
    if [[ -z "$v" ]] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
        install_postgres
        v="$(pg_version)"
        [[ -n "$v" ]] || die "PostgreSQL was installed but no version is found under /etc/postgresql"
    fi
    if [[ ! -f "/etc/postgresql/$v/main/postgresql.conf" ]]; then
        log "creating PostgreSQL $v cluster 'main' on port $PG_PORT"
        pg_createcluster "$v" main -p "$PG_PORT" >&2 || die "pg_createcluster $v main failed"
    fi
    ensure_trust_hba "/etc/postgresql/$v/main/pg_hba.conf" || true
    log "starting PostgreSQL $v cluster 'main'"
    if ! pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2; then
        # "already running" also lands here; readiness below decides.
        log "pg_ctlcluster start returned an error; checking whether the server answers anyway"
    fi
    wait_ready || die "PostgreSQL did not become ready on $PG_ADDR:$PG_PORT within 60 s (see /var/log/postgresql/postgresql-$v-main.log)"
}

if ! is_ready; then
    start_cluster
fi

# Connect as postgres; if a local Debian cluster refuses us, add the trust rules and reload once.
if ! pg_sql 'SELECT 1' >/dev/null 2>&1; then
    v="$(pg_version)"
    if [[ -n "$v" && -f "/etc/postgresql/$v/main/pg_hba.conf" ]]; then
        # The rules may have been added before a server that was already running (a fresh
        # package install starts one) read them: reload either way.
        ensure_trust_hba "/etc/postgresql/$v/main/pg_hba.conf" || true
        pg_ctlcluster --skip-systemctl-redirect "$v" main reload >&2 || die "reloading PostgreSQL $v failed"
    fi
    err="$(pg_sql 'SELECT 1' 2>&1 >/dev/null)" || die "cannot connect as $PG_USER to $PG_ADDR:$PG_PORT: $err"
fi

if [[ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]]; then
    log "creating database $DB_NAME"
    if ! err="$(pg_sql "CREATE DATABASE \"$DB_NAME\"" 2>&1)"; then
        # A concurrent run may have created it meanwhile.
        [[ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" == "1" ]] ||
            die "could not create database $DB_NAME: $err"
    fi
fi

echo "export SANXIANG_TEST_DATABASE_URL=postgres://$PG_USER@$PG_ADDR:$PG_PORT/$DB_NAME"
