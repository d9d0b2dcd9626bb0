#!/usr/bin/env bash
# One command on the GPU machine: for each suite, the WebGPU side then its PyTorch baseline, each with a
# time limit, and finally the joined table (ours vs PyTorch, ratio). Results land in $OUT (or ./bench/results).
# Usage there:  source .device/prelude.sh && bash bench/device-run.sh ops,train [--toggles a,b]
# (prepare here first: bash ../shared/scripts/device-prep.sh && bash bench/device-bundle.sh)
set -uo pipefail
suites=${1:?usage: device-run.sh suite[,suite…] [extra bench args]}
shift
out=${OUT:-bench/results}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
# At most 8 files come back from $OUT: two JSON files per suite there, logs in /tmp.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for suite in ${suites//,/ }; do
  py=bench/torch/${suite//-/_}.py
  echo "=== $suite: PyTorch baseline ($py)"
  timeout "${TORCH_TIMEOUT:-240}" python3 "$py" --out "$out/torch-$suite.json" > "/tmp/torch-$suite.log" 2>&1 || echo "torch $suite exited $?"
  tail -3 "/tmp/torch-$suite.log"
  echo "=== $suite: WebGPU"
  timeout "${OURS_TIMEOUT:-300}" node .device/bench.mjs --suite "$suite" --out "$out/ours-$suite.json" --torch "$out/torch-$suite.json" "$@" \
    > "/tmp/ours-$suite.log" 2>&1 || echo "bench $suite exited $?"
  grep -v '^Warning: maxDynamic' "/tmp/ours-$suite.log" | tail -40
done
echo DEVICE-RUN-DONE
