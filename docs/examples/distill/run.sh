#!/usr/bin/env bash
# The distillation worked example (README.md): a small Llama-style Transformer trained in StateLab on
# byte-level text, distilled into a GLA student and a 50% hybrid (Mamba-2 + attention), then the length
# extrapolation of all three. Every step is the `statelab` CLI (bundled to $CLI for the GPU machine).
#   bash docs/examples/distill/run.sh <corpus.txt> <runs dir> <out dir> <teacher steps> <distill steps>
set -euo pipefail
corpus=$1 runs=$2 out=$3 tsteps=$4 dsteps=$5
CLI=${CLI:-node bin/statelab.mjs}
mkdir -p "$runs" "$out"
common=(--batch 16 --seq 128 --runs "$runs" --json)
$CLI train "${TEACHER_GRAPH:-llama}" --data "$corpus" --steps "$tsteps" --lr 0.003 --eval-every 250 --checkpoint-every "$tsteps" \
  --name teacher "${common[@]}" > "$out/teacher.jsonl"
teacher=$(ls -d "$runs"/*teacher* | head -1)
$CLI distill "$teacher" --student gla --print-transfer > "$out/transfer-gla.txt"
$CLI distill "$teacher" --student gla --steps "$dsteps" --eval-every 100 --checkpoint-every "$dsteps" \
  --name student-gla "${common[@]}" > "$out/student-gla.jsonl"
$CLI distill "$teacher" --student mamba2 --hybrid every:2 --steps "$dsteps" --eval-every 100 \
  --checkpoint-every "$dsteps" --name hybrid-mamba2 "${common[@]}" > "$out/hybrid-mamba2.jsonl"
# The baseline: the GLA student's own graph trained from scratch for as many steps as the distillation.
student=$(ls -d "$runs"/*student-gla* | head -1)
$CLI train "$student/graph.json" --data "$corpus" --steps "$dsteps" --lr 0.003 --eval-every 100 \
  --checkpoint-every "$dsteps" --name scratch-gla "${common[@]}" > "$out/scratch-gla.jsonl"
for run in "$runs"/*; do
  [ -f "$run/run.json" ] || continue
  $CLI inspect "$run" --analysis extrapolation --factor 8 --batch 8 --runs "$runs" --json > /dev/null
  name=$(basename "$run")
  cp "$run/analyses/extrapolation.json" "$out/extrapolation-${name#*-*-}.json"
  cp "$run/metrics.jsonl" "$out/metrics-${name#*-*-}.jsonl"
  cp "$run/run.json" "$out/run-${name#*-*-}.json"
done
