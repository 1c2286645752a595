#!/usr/bin/env bash
# Where the training time goes, and what memory it takes, on this machine:
#   1. the GEMM ceiling: float32 2048x2048 matmul GFLOP/s through the same torch + OpenBLAS (Debian python3-torch);
#   2. DCGAN-32 (configs/bench-dcgan32.yaml) step time versus batch size (width 64) and versus width (batch 64),
#      with the achieved GFLOP/s from an analytic FLOP count, and the 2-D mixture MLP GAN (configs/bench-mlp2d.yaml)
#      versus batch size: per-sample time falling with the batch means per-step overhead, flat means compute-bound;
#   3. peak resident memory of training (metrics.jsonl's peak_rss_mb) and of `ganpp eval` FID with the Fashion
#      evaluator on 10,000 and 50,000 samples (features stream: memory must not grow with the sample count).
# Writes OUT/scaling.csv, OUT/memory.csv and plots OUT/*.png (ganpp plot), prints a summary.
#
#   bash bench/scaling.sh [OUT=bench-out/scaling] [THREADS=$(nproc)]        (repository root, after `make build`)
set -euo pipefail
OUT=${1:-bench-out/scaling}; THREADS=${2:-$(nproc)}
mkdir -p "$OUT"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "$(date -u +%F), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $THREADS threads"

ceiling=$(/usr/bin/python3 - "$THREADS" <<'PY'
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
for _ in range(3): a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(10))
print(f"{2 * 2048 ** 3 / best / 1e9:.1f}")
PY
)
echo "GEMM ceiling (2048^2 float32 matmul, best of 10): $ceiling GFLOP/s"

# Analytic FLOPs per training step, counted as bench/speed.sh does: D forward on real and fake with weight gradients
# (4 D-forwards of work), the G update's D forward + input gradient (2), G forward (1) + backward (2).
flops() {  # $1 = kind, $2 = batch, $3 = width
  /usr/bin/python3 -c "
import sys
kind, b, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if kind == 'dcgan32':
    z = 100
    g = z * 4 * c * 16 + 16 * 4 * c * 2 * c * 16 + 64 * 2 * c * c * 16 + 256 * c * 16
    d = 256 * c * 16 + 64 * c * 2 * c * 16 + 16 * 2 * c * 4 * c * 16 + 4 * c * 16
else:
    h = c
    g = 2 * h + 2 * h * h + h * 2
    d = 2 * h + 2 * h * h + h
print(2 * b * (6 * d + 3 * g))" "$@"
}
step_ms() {  # $1 = metrics.jsonl -> median ms/step over the log windows after the first
  /usr/bin/python3 -c "
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and 'it_per_s' in l]
print(statistics.median(1000.0 / x['it_per_s'] for x in r[1:]))" "$1"
}
peak() { /usr/bin/python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if 'peak_rss_mb' in l][-1]['peak_rss_mb'])" "$1"; }

echo "kind,sweep,batch,width,ms_per_step,us_per_sample,gflops_per_s,peak_rss_mb" > "$OUT/scaling.csv"
point() {  # $1 = kind, $2 = sweep, $3 = config, $4 = batch, $5 = width, $6 = steps, $7 = log every
  local kind=$1 sweep=$2 cfg=$3 b=$4 w=$5 steps=$6 every=$7 extra=()
  if [ "$kind" = dcgan32 ]; then extra=(--set model.g_channels="$w" --set model.d_channels="$w"); else extra=(--set model.hidden="$w"); fi
  rm -rf "$tmp/run"
  build/ganpp train -q --config "$cfg" --out "$tmp/run" --max-steps "$steps" --threads "$THREADS" \
    --set train.batch_size="$b" --set log.every="$every" "${extra[@]}"
  local ms f rss
  ms=$(step_ms "$tmp/run/metrics.jsonl"); f=$(flops "$kind" "$b" "$w"); rss=$(peak "$tmp/run/metrics.jsonl")
  /usr/bin/python3 -c "
import sys
kind, sweep, b, w, ms, f, rss = sys.argv[1:]
ms, f = float(ms), float(f)
print(f'{kind},{sweep},{b},{w},{ms:.3f},{1000 * ms / int(b):.2f},{f / ms / 1e6:.1f},{float(rss):.0f}')" \
    "$kind" "$sweep" "$b" "$w" "$ms" "$f" "$rss" | tee -a "$OUT/scaling.csv"
}
for b in 16 32 64 128 256; do point dcgan32 batch configs/bench-dcgan32.yaml "$b" 64 40 10; done
for w in 16 32 64 96 128; do point dcgan32 width configs/bench-dcgan32.yaml 64 "$w" 40 10; done
for b in 50 100 250 500 1000 2000; do point mlp2d batch configs/bench-mlp2d.yaml "$b" 256 300 50; done

grep -E '^kind|,batch,' "$OUT/scaling.csv" | grep -E '^kind|^dcgan32' > "$tmp/dc_batch.csv"
grep -E '^kind|^dcgan32,width' "$OUT/scaling.csv" > "$tmp/dc_width.csv"
grep -E '^kind|^mlp2d' "$OUT/scaling.csv" > "$tmp/mlp_batch.csv"
build/ganpp plot "$tmp/dc_batch.csv" --x batch --y us_per_sample --out "$OUT/dcgan32_batch.png" \
  --title "DCGAN-32 (width 64): time per sample vs batch" --ylabel "microseconds per sample per step"
build/ganpp plot "$tmp/dc_width.csv" --x width --y gflops_per_s --out "$OUT/dcgan32_width.png" \
  --title "DCGAN-32 (batch 64): achieved GFLOP/s vs width (GEMM ceiling $ceiling)" --ylabel "GFLOP/s"
build/ganpp plot "$tmp/mlp_batch.csv" --x batch --y us_per_sample --out "$OUT/mlp2d_batch.png" \
  --title "2-D MLP GAN (3x256): time per sample vs batch" --ylabel "microseconds per sample per step"

# Memory of FID: a short run gives the generator of the fake side (10,000 and 50,000 samples, streamed); the real
# side is the 10,000 Fashion-MNIST test images.
build/ganpp train -q --config configs/dcgan-fashion.yaml --out "$tmp/g" --max-steps 20 --threads "$THREADS" \
  --set log.sample_every=0
echo "what,samples,peak_rss_mb,seconds" > "$OUT/memory.csv"
echo "train dcgan32 batch 64,-,$(grep '^dcgan32,batch,64,64' "$OUT/scaling.csv" | cut -d, -f8),-" >> "$OUT/memory.csv"
for n in 10000 50000; do
  t0=$(date +%s.%N)
  build/ganpp eval --real fashion-mnist --fake "$tmp/g" --features fashion --n "$n" --metrics fid --no-cache --json \
    --threads "$THREADS" > "$tmp/ev.json" 2>/dev/null
  t1=$(date +%s.%N)
  /usr/bin/python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
print(f\"eval fid (fashion evaluator),{j['fake']['samples']},{j['peak_rss_mb']:.0f},{float(sys.argv[3]) - float(sys.argv[2]):.1f}\")" \
    "$tmp/ev.json" "$t0" "$t1" >> "$OUT/memory.csv"
done
cat "$OUT/memory.csv"
