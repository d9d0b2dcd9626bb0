#!/usr/bin/env bash
# On the GPU machine: runs a sweep file as N processes sharing the one GPU (each a shard i/N of the grid,
# each with its own runs folder and the same wall-time budget), then joins the shards and writes the
# results table of the whole grid to $OUT.
#   bash docs/examples/sweep-mqar/run-shards.sh <sweep.json> <shards> <seconds per shard>
# Needs .device/ (device-prep.sh) with .device/sweep/{run,merge}.mjs bundled (see README.md).
set -uo pipefail
sweep=$1 shards=$2 seconds=$3
source .device/prelude.sh
mkdir -p /tmp/shards "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/device.txt"
for i in $(seq 0 $((shards - 1))); do
  node .device/sweep/run.mjs "$sweep" "/tmp/shards/runs-$i" "/tmp/shards/out-$i" "$seconds" "$i/$shards" \
    > "/tmp/shards/stdout-$i.txt" 2>&1 &
done
wait
node .device/sweep/merge.mjs "$sweep" /tmp/shards/runs "$OUT" /tmp/shards/runs-*
for i in $(seq 0 $((shards - 1))); do
  echo "=== shard $i"; cat "/tmp/shards/out-$i/log.txt" 2>/dev/null || cat "/tmp/shards/stdout-$i.txt"
done > "$OUT/log.txt"
tail -n 3 /tmp/shards/stdout-*.txt
