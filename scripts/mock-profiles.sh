#!/bin/sh
# Remakes profiles/mock-llama-3-8b-<gpu>.json: `brixlet profile` against `brixlet mock-engine` for
# each of its GPU models, on one common grid. Needs `npm run build` (or BRIXLET="brixlet"). Usage: scripts/mock-profiles.sh [gpu…]
# (default: h100 a100 l20 a10). The engines run TIME_SCALE times faster than the clock (default 5
# for the h100, whose steps are shortest, 10 for the others); the profiler converts back. A busy
# machine inflates latencies: run it on an idle one. Evenly spaced arrivals (not Poisson) keep the
# offered rate exact with few requests per point, so the four files differ by their GPUs, not the draw.
set -eu
cd "$(dirname "$0")/.."
PORT="${PORT:-18100}"
BRIXLET="${BRIXLET:-node dist/cli/main.js}"
GPUS="${*:-h100 a100 l20 a10}"
for gpu in $GPUS; do
  case "$gpu" in h100) cost=4 ;; a100) cost=2 ;; l20) cost=1.2 ;; a10) cost=0.75 ;; *) echo "unknown gpu $gpu" >&2; exit 2 ;; esac
  if [ "$gpu" = h100 ]; then SCALE="${TIME_SCALE:-5}"; else SCALE="${TIME_SCALE:-10}"; fi
  $BRIXLET mock-engine --gpu "$gpu" --time-scale "$SCALE" --port "$PORT" --log.level warn >/dev/null &
  engine=$!
  trap 'kill $engine 2>/dev/null' EXIT INT TERM
  i=0; until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
  $BRIXLET profile --endpoint "http://127.0.0.1:$PORT" --model mock-llama-3-8b --gpu "$gpu" --cost "$cost" \
    --slo e2e=10 --percentile 99 --inputs 128,256,512,1024,2048 --outputs 16,32,64,128,256 --rates 0.5,1,2,4,8,16,32,64 \
    --arrivals uniform --requests 20 --point-seconds 20 --timeout 30 --time-scale "$SCALE" --out "profiles/mock-llama-3-8b-$gpu.json"
  kill "$engine"
  wait "$engine" 2>/dev/null || true
  trap - EXIT INT TERM
done
