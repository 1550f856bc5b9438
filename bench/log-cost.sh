#!/usr/bin/env bash
# The verifiable log's cost on appends: the `append` figure against a freshly spawned server with
# the log's sequencer on and off (SANXIANG_LOG_SEQUENCER=false), interleaved RUNS times so that
# the machine's drift falls on both alike, then the mean and median of each side's events/s, of
# the server's CPU time per event and of the p99 latency, and the ratios on/off.
#
#   bench/log-cost.sh                 # 8 pairs, 64 clients on 64 cases x 200 events
#   RUNS=16 BENCH_EVENTS=100 bench/log-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RUNS="${RUNS:-8}"
EVENTS="${BENCH_EVENTS:-200}"
export SANXIANG_WRITE_RATE_BURST="${SANXIANG_WRITE_RATE_BURST:-100000000}"
export SANXIANG_WRITE_RATE_PER_SECOND="${SANXIANG_WRITE_RATE_PER_SECOND:-100000000}"

cargo build --release -p sanxiang-server -p sanxiang-bench
BENCH="$CARGO_TARGET_DIR/release/sanxiang-bench"
SERVER="$CARGO_TARGET_DIR/release/sanxiang"
ROWS="$(mktemp)"
trap 'rm -f "$ROWS"' EXIT

for i in $(seq 1 "$RUNS"); do
  for side in on off; do
    sequencer=true
    [ "$side" = off ] && sequencer=false
    SANXIANG_LOG_SEQUENCER=$sequencer "$BENCH" --spawn --server-bin "$SERVER" \
      append --clients 64 --cases 64 --events "$EVENTS" | grep '^|' | sed "s/^/$side /" >>"$ROWS"
    echo "run $i, log $side: $(grep "^$side " "$ROWS" | grep -v 'server CPU' | tail -1 | cut -d'|' -f4)" >&2
  done
done

# Columns of a row: | figure | database | result | baseline | ratio | p50 | p99 | ...
awk -F'|' '
  function num(s) { split(s, a, " "); return a[1] + 0 }
  function median(v, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  {
    side = substr($1, 1, index($1, " ") - 1)
    if ($2 ~ /server CPU/) { c[side]++; cpu[side, c[side]] = num($4); cs[side] += num($4) }
    else { r[side]++; rate[side, r[side]] = num($4); rs[side] += num($4); p99[side, r[side]] = num($8) }
  }
  END {
    for (s in r) {
      n = r[s]
      for (i = 1; i <= n; i++) { a[i] = rate[s, i]; b[i] = p99[s, i] }
      for (i = 1; i <= c[s]; i++) d[i] = cpu[s, i]
      mr[s] = rs[s] / n; dr[s] = median(a, n); dp[s] = median(b, n)
      mc[s] = cs[s] / c[s]; dc[s] = median(d, c[s])
    }
    printf "| log | runs | events/s mean | events/s median | server CPU µs/event mean | median | p99 median |\n|---|---|---|---|---|---|---|\n"
    for (s in r) printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.1f ms |\n", s, r[s], mr[s], dr[s], mc[s], dc[s], dp[s]
    printf "\nthroughput on/off: %.3f (means), %.3f (medians); CPU per event on/off: %.3f (means)\n", mr["on"] / mr["off"], dr["on"] / dr["off"], mc["on"] / mc["off"]
  }' "$ROWS"
