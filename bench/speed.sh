#!/usr/bin/env bash
# Training-step speed, ganpp versus the same model in PyTorch-Python (Debian's python3-torch, same version of torch),
# on this machine, REPS alternating runs per side (ganpp, Python, ganpp, Python, ...):
#   dcgan32  configs/bench-dcgan32.yaml   vs bench/python/dcgan32.py   (z 100, 64 channels, 32x32, batch 64, BN, NS),
#            and the same ganpp model with torch's own transposed convolution (model.conv_transpose=native),
#            channels-last (model.channels_last), bf16 autocast (train.amp=bf16) and both
#   sngan32  configs/bench-sngan32.yaml   vs bench/python/sngan32.py   (ResNet G/D width 32, SN in D, hinge, batch 64)
#   mlp2d    configs/bench-mlp2d.yaml     vs bench/python/mlp2d.py     (2-D grid mixture, 3x256 MLPs, batch 500, EMA),
#            with the fused D pass (train.fuse_d), and the same at batch 50 (mlp2d-b50), where per-step overhead dominates
# Per run: the median step time over the run's steady part (ganpp: the it/s of each 10/100-step log window after the
# first window of metrics.jsonl; Python: per-step timers after the warm-up). Prints each run, the median and range
# of the per-run medians, the ratio, and for DCGAN-32 the achieved GFLOP/s from an analytic FLOP count.
#
#   bash bench/speed.sh [REPS=3] [THREADS=$(nproc)]        (repository root, after `make build`)
set -euo pipefail
REPS=${1:-3}; THREADS=${2:-$(nproc)}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ganpp_ms() {  # $1 = metrics.jsonl -> median ms/step over log windows after the first
  /usr/bin/python3 -c "
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(statistics.median(1000.0 / x['it_per_s'] for x in r[1:]))" "$1"
}
python_ms() { sed -n 's/.*median \([0-9.]*\) ms\/step.*/\1/p'; }

ganpp_run() {  # $1 = result name, $2 = config, $3 = steps, $4... = extra ganpp arguments
  local name=$1 cfg=$2 steps=$3; shift 3
  rm -rf "$tmp/run"
  build/ganpp train -q --config "$cfg" --out "$tmp/run" --max-steps "$steps" --threads "$THREADS" "$@"
  ganpp_ms "$tmp/run/metrics.jsonl" >> "$tmp/$name"
}
python_run() {  # $1 = result name, $2 = script, $3 = steps, $4 = warm-up, $5... = extra script arguments
  local name=$1 script=$2 steps=$3 warm=$4; shift 4
  /usr/bin/python3 "$script" --steps "$steps" --warmup "$warm" --threads "$THREADS" "$@" | python_ms >> "$tmp/$name"
}

echo "$(date -u +%F), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $THREADS threads, $REPS alternating runs"
for i in $(seq "$REPS"); do
  # model.conv_transpose=native is the same model with torch's own transposed convolution (the "before").
  ganpp_run dcgan32.ganpp configs/bench-dcgan32.yaml 80
  ganpp_run dcgan32-native.ganpp configs/bench-dcgan32.yaml 80 --set model.conv_transpose=native
  # Ways in, one at a time: channels-last layout; bfloat16 autocast (a different precision from the Python side's
  # float32, so its ratio is not like for like); both.
  ganpp_run dcgan32-cl.ganpp configs/bench-dcgan32.yaml 80 --set model.channels_last=true
  ganpp_run dcgan32-bf16.ganpp configs/bench-dcgan32.yaml 80 --set train.amp=bf16
  ganpp_run dcgan32-bf16-cl.ganpp configs/bench-dcgan32.yaml 80 --set train.amp=bf16 --set model.channels_last=true
  python_run dcgan32.python bench/python/dcgan32.py 60 10
  echo "dcgan32 run $i: ganpp $(tail -1 "$tmp/dcgan32.ganpp" | cut -c1-6) ms/step," \
       "ganpp native tconv $(tail -1 "$tmp/dcgan32-native.ganpp" | cut -c1-6)," \
       "channels-last $(tail -1 "$tmp/dcgan32-cl.ganpp" | cut -c1-6), bf16 $(tail -1 "$tmp/dcgan32-bf16.ganpp" | cut -c1-6)," \
       "bf16+cl $(tail -1 "$tmp/dcgan32-bf16-cl.ganpp" | cut -c1-6), python $(tail -1 "$tmp/dcgan32.python")"
done
for i in $(seq "$REPS"); do
  ganpp_run sngan32.ganpp configs/bench-sngan32.yaml 40 --set log.every=5
  python_run sngan32.python bench/python/sngan32.py 30 5
  echo "sngan32 run $i: ganpp $(tail -1 "$tmp/sngan32.ganpp" | cut -c1-6) ms/step, python $(tail -1 "$tmp/sngan32.python")"
done
for i in $(seq "$REPS"); do
  ganpp_run mlp2d.ganpp configs/bench-mlp2d.yaml 800
  ganpp_run mlp2d-fused.ganpp configs/bench-mlp2d.yaml 800 --set train.fuse_d=true  # one D pass over [real; fake]
  python_run mlp2d.python bench/python/mlp2d.py 600 50
  # Batch 50: the overhead-bound regime of the same model (per-step framework cost dominates the arithmetic).
  ganpp_run mlp2d-b50.ganpp configs/bench-mlp2d.yaml 2000 --set train.batch_size=50 --set log.every=250
  python_run mlp2d-b50.python bench/python/mlp2d.py 1500 100 --batch 50
  echo "mlp2d run $i: ganpp $(tail -1 "$tmp/mlp2d.ganpp" | cut -c1-6) ms/step, fused D $(tail -1 "$tmp/mlp2d-fused.ganpp" | cut -c1-6)," \
       "python $(tail -1 "$tmp/mlp2d.python");" \
       "batch 50: ganpp $(tail -1 "$tmp/mlp2d-b50.ganpp" | cut -c1-6), python $(tail -1 "$tmp/mlp2d-b50.python")"
done
/usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
t = sys.argv[1]
def macs_dcgan32(z=100, c=64):
    # Per-sample multiply-accumulates of each (transposed) convolution: input pixels x C_in x C_out x k^2 for the
    # transposed ones, output pixels x C_in x C_out x k^2 for the strided ones (BN, activations: negligible).
    g = 1 * 1 * z * 4 * c * 16 + 4 * 4 * 4 * c * 2 * c * 16 + 8 * 8 * 2 * c * c * 16 + 16 * 16 * c * 1 * 16
    d = 16 * 16 * 1 * c * 16 + 8 * 8 * c * 2 * c * 16 + 4 * 4 * 2 * c * 4 * c * 16 + 1 * 4 * c * 16
    return g, d
g, d = macs_dcgan32()
# The step as both sides run it: D forward on real and fake and their weight gradients (fake is detached; real
# needs no input gradient): 4 D-forwards of work; G update: D forward on the same fake batch and its input gradient
# (no D weight gradients): 2; G forward 1 and backward (weights + inputs) 2. FLOPs = 2 x MACs x batch 64.
flops = 2 * 64 * (6 * d + 3 * g)
naive = 2 * 64 * (9 * d + 3 * g)  # every backward counted as weights + inputs, D weight grads in the G update
for name, base in (("dcgan32", "dcgan32"), ("dcgan32-native", "dcgan32"), ("dcgan32-cl", "dcgan32"),
                   ("dcgan32-bf16", "dcgan32"), ("dcgan32-bf16-cl", "dcgan32"), ("sngan32", "sngan32"), ("mlp2d", "mlp2d"), ("mlp2d-fused", "mlp2d"),
                   ("mlp2d-b50", "mlp2d-b50")):
    a, b = np.loadtxt(f"{t}/{name}.ganpp", ndmin=1), np.loadtxt(f"{t}/{base}.python", ndmin=1)
    ma, mb = np.median(a), np.median(b)
    line = (f"{name:14s} ganpp {ma:8.2f} ms/step (range {a.min():.2f}-{a.max():.2f})   python {mb:8.2f} ms/step "
            f"(range {b.min():.2f}-{b.max():.2f})   ganpp is {mb / ma:.2f}x the Python speed")
    if name.startswith("dcgan32"):
        line += (f"\n         {flops / 1e9:.1f} GFLOP per step (naive count {naive / 1e9:.1f}): ganpp {flops / ma / 1e6:.1f} "
                 f"GFLOP/s, python {flops / mb / 1e6:.1f} GFLOP/s")
    print(line)
PY
