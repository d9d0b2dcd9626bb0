#!/usr/bin/env bash
# The MQAR worked example on the GPU machine: seven models (six hybrids and a plain attention control) trained at once, one process each (a step of
# these small models is bound by the CPU's command encoding, so the processes overlap), then the
# collection step (capacity across runs, summary.json). Expects .device/ (device-prep.sh) and the bundle
# .device/examples/run.mjs (see README.md).   bash docs/examples/mqar-parallel.sh <out dir> [seconds]
set -u
out=${1:?out dir}
seconds=${2:-140}
mkdir -p "$out"
pids=()
for model in llama-d32 gla-d32 mamba-d32 llama-d64 gla-d64 mamba-d64 llama-d64-plain; do
  node .device/examples/run.mjs "$out" - --mqar-model "$model" --seconds "$seconds" >"$out/log-$model.txt" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || echo "a model process ended with status $?"; done
node .device/examples/run.mjs "$out" - --mqar-collect
