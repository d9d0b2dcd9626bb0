#!/usr/bin/env bash
# Bundles bench/run.ts (and every bench/suites/*.ts it can load) into .device/bench.mjs for the GPU
# machine, which has no npm packages: only the dawn.node package that device-prep.sh puts in .device/.
# Usage (project root): bash ../shared/scripts/device-prep.sh && bash bench/device-bundle.sh
# Then: run(carry [".device"]): source .device/prelude.sh && node .device/bench.mjs --suite ops --out $OUT/ops.json
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f .device/prelude.sh ] || { echo "device-bundle: run bash ../shared/scripts/device-prep.sh first" >&2; exit 1; }
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- gpu bench main 2>/dev/null || echo '+dirty')"
npx esbuild bench/run.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.device/bench.mjs \
  --define:process.env.STATELAB_COMMIT="\"$commit\"" --log-level=warning
echo "bundled .device/bench.mjs (commit $commit, $(du -h .device/bench.mjs | cut -f1))"
