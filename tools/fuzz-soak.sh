#!/usr/bin/env bash
# Soak run of the property-based fuzz targets: every target with a large number of cases.
#
#   tools/fuzz-soak.sh [CASES]        default 100000 cases per target
#
# Targets: services/domain/tests/fuzz.rs (canonical JSON encoder, decoder and check_canonical,
# masking, catalog and calendar TOML, credit codes, ID numbers, Luhn) and tests/tests/fuzz.rs (the
# public HTTP surface's paths, queries and cursors through a real server; the offline export
# reader on damaged archives). `cargo test` runs the same targets with SANXIANG_FUZZ_CASES unset
# (256 cases each), which is what CI runs.
#
# Environment:
#   CARGO            the cargo to use (default: cargo)
#   FUZZ_PROFILE     release (default) or dev: the build profile
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cases="${1:-100000}"
cargo="${CARGO:-cargo}"
profile="${FUZZ_PROFILE:-release}"
export SANXIANG_FUZZ_CASES="$cases"
for target in "sanxiang-domain fuzz" "sanxiang-tests fuzz"; do
    set -- $target
    echo "fuzz-soak: $1 --test $2, $cases cases per target ($profile)" >&2
    start=$(date +%s)
    "$cargo" test --profile "$profile" -p "$1" --test "$2" -- --test-threads 1
    echo "fuzz-soak: $1 --test $2 passed in $(($(date +%s) - start)) s" >&2
done
