#!/usr/bin/env bash
# The end-to-end benchmark: synthetic inputs at SCALE (33 = ~95k
# opportunities, ~420k history rows, ~3.1M activities, all Parquet), then one
# full `salesops run`, timed with /usr/bin/time -v (wall time, peak memory).
# Measured here, never asserted in a test.
#
#   bash benches/bench.sh              # release build, scale 33
#   SCALE=5 PROFILE=dev bash benches/bench.sh
#
# Then the same data as a Salesforce export, run through the preset, and
# the ratio of the two wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-33}
PROFILE=${PROFILE:-release}
WORK=${WORK:-/tmp/salesops-bench}
DATA="$WORK/data-$SCALE"
OUT="$WORK/out"

if [ "$PROFILE" = release ]; then
  cargo build --release --locked --bin salesops
  BIN=target/release/salesops
else
  cargo build --locked --bin salesops
  BIN=target/debug/salesops
fi

if [ ! -d "$DATA/reps" ]; then
  "$BIN" generate --output "$DATA" --scale "$SCALE" --parquet
fi
echo "inputs: $(du -sh "$DATA" | cut -f1) in $DATA"
rm -rf "$OUT"
/usr/bin/time -v "$BIN" --log-format json run --pipeline pipelines/bench.toml --source "$DATA" --output "$OUT" --as-of 2025-11-15 \
  2> "$WORK/run.log" || { tail -5 "$WORK/run.log"; exit 1; }
grep -E '"step":"[a-z:_]+"' "$WORK/run.log" | grep -E 'Step finished|Mart built|Table read' \
  | sed -E 's/.*"(step|mart|table)":"([^"]+)".*"rows":([0-9]+).*"ms":([0-9]+).*/  \2 rows=\3 ms=\4/' || true
grep -E 'Elapsed \(wall clock\)|Maximum resident set size' "$WORK/run.log"

# The same data as a Salesforce export (SPEC 1.2's goal: the mapped run
# takes at most 1.2x the contract-shaped one). Both with their default
# pipelines, one run each after a warm-up of the file cache.
SF="$WORK/salesforce-$SCALE"
if [ ! -f "$SF/Opportunity.parquet" ]; then
  "$BIN" generate --output "$SF" --scale "$SCALE" --parquet --preset salesforce
fi
timed() {
  rm -rf "$WORK/out-$3"
  /usr/bin/time -f %e "$BIN" run --pipeline "$1" --source "$2" --output "$WORK/out-$3" \
    --as-of 2025-11-15 >/dev/null 2>"$WORK/$3.log" || { tail -5 "$WORK/$3.log"; exit 1; }
  tail -1 "$WORK/$3.log"
}
contract=$(timed pipelines/default.toml "$DATA" contract)
salesforce=$(timed pipelines/salesforce.toml "$SF" salesforce)
echo "contract-shaped run: ${contract} s; salesforce-shaped run: ${salesforce} s;" \
  "ratio $(python3 -c "print(round($salesforce / $contract, 2))")"
