#!/usr/bin/env bash
# Regenerates the results section of docs/PERFORMANCE.md: builds the release binaries, runs every
# figure against a freshly spawned server on SQLite (and on PostgreSQL when
# SANXIANG_BENCH_DATABASE_URL names a server: a fresh database per figure), then the criterion
# micro-benchmarks, and replaces the text between the results markers.
#
# Sizes can be lowered for a quick run, e.g. BENCH_SCALE_EVENTS=0 bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

EVENTS="${BENCH_EVENTS:-200}"                     # per client, 64 clients
UPLOAD_BYTES="${BENCH_UPLOAD_BYTES:-1073741824}"  # the issue's 1 GiB file
VERIFY_EVENTS="${BENCH_VERIFY_EVENTS:-100000}"
SCALE_EVENTS="${BENCH_SCALE_EVENTS:-10000000}"    # stored (seeded) before the scale run's measured appends
PG_SCALE_EVENTS="${BENCH_PG_SCALE_EVENTS:-$SCALE_EVENTS}"  # the same on PostgreSQL
FEED_ENTRIES="${BENCH_FEED_ENTRIES:-1100000}"      # published disclosures in the listing
FEED_DEPTH="${BENCH_FEED_DEPTH:-1000000}"          # how deep the second measured page is
MICRO="${BENCH_MICRO:-1}"                         # 0: skip the criterion micro-benchmarks
LOG_EVENTS="${BENCH_LOG_EVENTS:-100}"             # per client, 8 clients, for the checkpoint latency
LOG_PROOFS="${BENCH_LOG_PROOFS:-2000}"            # inclusion proofs asked for
# The upload figures again with the evidence in S3 when set: s3://BUCKET[/PREFIX] of an
# S3-compatible server, with AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# (and AWS_ALLOW_HTTP for a loopback server) in the environment, as .ci/start-s3.sh prints them.
S3_URL="${BENCH_S3_URL:-}"

# Every figure's clients act as one principal: lift the per-principal write rate limit
# (default 2000 in a burst, 1000 a second), or it caps the append figures and counts as errors.
export SANXIANG_WRITE_RATE_BURST="${SANXIANG_WRITE_RATE_BURST:-100000000}"
export SANXIANG_WRITE_RATE_PER_SECOND="${SANXIANG_WRITE_RATE_PER_SECOND:-100000000}"
# The same for the public HTTP surface's per-address limit: every feed reader is on 127.0.0.1.
export SANXIANG_HTTP_RATE_BURST="${SANXIANG_HTTP_RATE_BURST:-100000000}"
export SANXIANG_HTTP_RATE_PER_SECOND="${SANXIANG_HTTP_RATE_PER_SECOND:-100000000}"

cargo build --release -p sanxiang-server -p sanxiang-bench
BENCH="$CARGO_TARGET_DIR/release/sanxiang-bench"
SERVER="$CARGO_TARGET_DIR/release/sanxiang"
ROWS="$(mktemp)"
MICRO_ROWS="$(mktemp)"
trap 'rm -f "$ROWS" "$MICRO_ROWS"' EXIT

# One figure against a freshly spawned server: run LABEL DATABASE_URL ARGS...
run() {
    local label="$1" url="$2"
    shift 2
    local db=() name=""
    if [ -n "$url" ]; then
        name="sx_bench_$(date +%s%N)"
        psql -q "$url" -c "CREATE DATABASE $name" >&2
        db=(--database-url "${url%/*}/$name")
    fi
    echo "== $label: $*" >&2
    # `env -u`: the bench reads SANXIANG_BENCH_DATABASE_URL itself, which must not turn the
    # SQLite figures into PostgreSQL ones.
    if ! env -u SANXIANG_BENCH_DATABASE_URL "$BENCH" --spawn --server-bin "$SERVER" --label "$label" "${db[@]}" "$@" \
        | grep '^| [a-z]' >>"$ROWS"; then
        echo "| $* | $label | failed (see the log of the run) | | | | | | | |" >>"$ROWS"
    fi
    if [ -n "$name" ]; then
        psql -q "$url" -c "DROP DATABASE $name WITH (FORCE)" >&2 || true
    fi
}

figures() {
    local label="$1" url="$2" scale="$3"
    run "$label" "$url" append --clients 64 --cases 64 --events "$EVENTS"
    # The same without the verifiable log's sequencer (the tree and checkpoints are not maintained).
    SANXIANG_LOG_SEQUENCER=false run "$label, log off" "$url" append --clients 64 --cases 64 --events "$EVENTS"
    run "$label" "$url" append --clients 64 --cases 1 --events "$EVENTS"
    # The log: commit → signed checkpoint latency, and inclusion proof generation.
    run "$label" "$url" log --clients 8 --events "$LOG_EVENTS" --proofs "$LOG_PROOFS"
    run "$label" "$url" append --clients 1 --cases 1 --events "$EVENTS"
    run "$label" "$url" upload --size "$UPLOAD_BYTES" --concurrency 1
    run "$label" "$url" upload --size $((64 << 20)) --concurrency 8
    run "$label" "$url" verify --events "$VERIFY_EVENTS"
    run "$label" "$url" verify --events "$VERIFY_EVENTS" --rehash
    if [ "$scale" -gt 0 ]; then
        run "$label" "$url" append --clients 64 --cases 64 --events "$EVENTS" --seed "$scale"
    fi
    run "$label" "$url" feed --entries "$FEED_ENTRIES" --depth "$FEED_DEPTH"
}

figures SQLite "" "$SCALE_EVENTS"
if [ -n "$S3_URL" ]; then
    # Each run under its own prefix; the baseline writes beside it and deletes what it wrote.
    SANXIANG_OBJECT_STORE_URL="$S3_URL/bench-$(date +%s%N)" run "SQLite, S3" "" upload --size "$UPLOAD_BYTES" --concurrency 1
    SANXIANG_OBJECT_STORE_URL="$S3_URL/bench-$(date +%s%N)" run "SQLite, S3" "" upload --size $((64 << 20)) --concurrency 8
else
    echo "BENCH_S3_URL is not set: the S3 upload figures skipped" >&2
fi
if [ -n "${SANXIANG_BENCH_DATABASE_URL:-}" ]; then
    figures PostgreSQL "$SANXIANG_BENCH_DATABASE_URL" "$PG_SCALE_EVENTS"
else
    echo "SANXIANG_BENCH_DATABASE_URL is not set: PostgreSQL figures skipped" >&2
fi

if [ "$MICRO" = 0 ]; then
    echo "| (not run: BENCH_MICRO=0) | |" >"$MICRO_ROWS"
else
    cargo bench -p sanxiang-domain --bench domain -- --warm-up-time 1 --measurement-time 3 2>/dev/null \
    | tee -a /dev/stderr \
    | awk '/time:/ { sub(/^ +/, ""); name = prev; if ($0 ~ /^time:/) {} else { name = $0; sub(/ +time:.*/, "", name) }
                     match($0, /\[.*\]/); split(substr($0, RSTART + 1, RLENGTH - 2), t, " ");
                     printf "| %s | %s %s |\n", name, t[3], t[4] }
           { prev = $0 }' >"$MICRO_ROWS"
fi

{
    echo
    echo "Generated by \`bench/run.sh\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD)\`"
    echo "(sizes: BENCH_EVENTS=$EVENTS per client, BENCH_UPLOAD_BYTES=$UPLOAD_BYTES,"
    echo "BENCH_VERIFY_EVENTS=$VERIFY_EVENTS, BENCH_SCALE_EVENTS=$SCALE_EVENTS, BENCH_PG_SCALE_EVENTS=$PG_SCALE_EVENTS, BENCH_MICRO=$MICRO,"
    echo "BENCH_LOG_EVENTS=$LOG_EVENTS, BENCH_LOG_PROOFS=$LOG_PROOFS, BENCH_S3_URL=${S3_URL:-unset})."
    echo
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
    echo "$(free -g | awk '/^Mem:/ { print $2 }') GiB of memory, $(uname -sr)."
    echo
    echo "| figure | database | result | baseline | ratio | p50 | p99 | p999 | errors | server peak RSS |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    cat "$ROWS"
    echo
    echo "Micro-benchmarks (criterion, median time per iteration):"
    echo
    echo "| benchmark | time |"
    echo "|---|---|"
    cat "$MICRO_ROWS"
    echo
} >"$ROWS.section"

awk -v section="$ROWS.section" '
    /<!-- results:begin -->/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- results:end -->/ { skip = 0 }
    !skip { print }
' docs/PERFORMANCE.md >"$ROWS.doc"
mv "$ROWS.doc" docs/PERFORMANCE.md
rm -f "$ROWS.section"
echo "docs/PERFORMANCE.md updated" >&2
