#!/usr/bin/env bash
# Training-step speed, ganpp versus the same model in PyTorch-Python (Debian's python3-torch, same version of torch),
# on this machine, REPS alternating runs per side (ganpp, Python, ganpp, Python, ...):
#   dcgan32  configs/bench-dcgan32.yaml   vs bench/python/dcgan32.py   (z 100, 64 channels, 32x32, batch 64, BN, NS),
#            and the same ganpp model with torch's own transposed convolution (model.conv_transpose=native),
#            channels-last (model.channels_last), bf16 autocast (train.amp=bf16) and both
#   sngan32  configs/bench-sngan32.yaml   vs bench/python/sngan32.py   (ResNet G/D width 32, SN in D, hinge, batch 64)
#   mlp2d    configs/bench-mlp2d.yaml     vs bench/python/mlp2d.py     (2-D grid mixture, 3x256 MLPs, EMA) at batch 500,
#            at batch 50, and at batch 64 with 64 hidden units (overhead-bound); each also with the fused D pass
#            (train.fuse_d) and as before the flat Adam and the fused MLP (optim.flat=false, model.fused_mlp=false)
#   sample   `ganpp sample --n 5000` (one PNG per sample) of a configs/bench-dcgan32.yaml run vs bench/python/sample32.py
#            (the same G in eval mode, batches of 256, PNGs written with Pillow): images/s of the whole command
#   fid      `ganpp eval --features inception:W.npz --metrics fid` on two folders of FID_N (default 250) PNGs each vs
#            bench/python/fid_pipeline.py (pytorch-fid's Inception from torchvision with the same random weights,
#            scipy sqrtm FID): images/s of the whole command, and both FIDs
# Per run: the median step time over the run's steady part (ganpp: the it/s of each 10/100-step log window after the
# first window of metrics.jsonl; Python: per-step timers after the warm-up). Prints each run, the median and range
# of the per-run medians, the ratio, and for DCGAN-32 the achieved GFLOP/s from an analytic FLOP count.
#
#   bash bench/speed.sh [REPS=3] [THREADS=$(nproc)]        (repository root, after `make build`)
#   ONLY="mlp2d" bash bench/speed.sh 3                      (a subset: any of dcgan32 sngan32 mlp2d sample fid)
set -euo pipefail
REPS=${1:-3}; THREADS=${2:-$(nproc)}; ONLY=${ONLY:-dcgan32 sngan32 mlp2d sample fid}; FID_N=${FID_N:-250}
want() { [[ " $ONLY " == *" $1 "* ]]; }
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
want dcgan32 && for i in $(seq "$REPS"); do
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
want sngan32 && for i in $(seq "$REPS"); do
  ganpp_run sngan32.ganpp configs/bench-sngan32.yaml 40 --set log.every=5
  python_run sngan32.python bench/python/sngan32.py 30 5
  echo "sngan32 run $i: ganpp $(tail -1 "$tmp/sngan32.ganpp" | cut -c1-6) ms/step, python $(tail -1 "$tmp/sngan32.python")"
done
want mlp2d && for i in $(seq "$REPS"); do
  # Three sizes of the same model: batch 500 (the benchmark recipe; compute-bound), batch 50, and batch 64 with
  # 64 hidden units, where per-step framework cost dominates the arithmetic. Per size: ganpp as configured (flat
  # Adam, fused MLP), with the fused D pass, and the "before" (torch's per-parameter Adam, layer-by-layer autograd).
  line="mlp2d run $i:"
  for size in b500:500:256:800:600:50 b50:50:256:2000:1500:100 small:64:64:3000:2000:200; do
    IFS=: read -r tag batch hidden steps psteps pwarm <<< "$size"
    common=(--set train.batch_size="$batch" --set model.hidden="$hidden" --set log.every=$((steps / 8)))
    ganpp_run "mlp2d-$tag.ganpp" configs/bench-mlp2d.yaml "$steps" "${common[@]}"
    ganpp_run "mlp2d-$tag-fusedd.ganpp" configs/bench-mlp2d.yaml "$steps" "${common[@]}" --set train.fuse_d=true
    ganpp_run "mlp2d-$tag-before.ganpp" configs/bench-mlp2d.yaml "$steps" "${common[@]}" --set optim.flat=false \
      --set model.fused_mlp=false
    python_run "mlp2d-$tag.python" bench/python/mlp2d.py "$psteps" "$pwarm" --batch "$batch" --hidden "$hidden"
    line+=" $tag: ganpp $(tail -1 "$tmp/mlp2d-$tag.ganpp" | cut -c1-6), fused D $(tail -1 "$tmp/mlp2d-$tag-fusedd.ganpp" | cut -c1-6),"
    line+=" before $(tail -1 "$tmp/mlp2d-$tag-before.ganpp" | cut -c1-6), python $(tail -1 "$tmp/mlp2d-$tag.python");"
  done
  echo "$line"
done
secs() { /usr/bin/python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$(date +%s.%N)"; }
if want sample || want fid; then  # a DCGAN-32 generator to sample from (one training step is enough for timing)
  build/ganpp train -q --config configs/bench-dcgan32.yaml --out "$tmp/g32" --max-steps 1 --threads "$THREADS"
fi
want sample && for i in $(seq "$REPS"); do
  rm -rf "$tmp/s_ganpp" "$tmp/s_python"
  t0=$(date +%s.%N)
  build/ganpp sample --run "$tmp/g32" --n 5000 --out "$tmp/s_ganpp" --threads "$THREADS" 2> /dev/null
  secs "$t0" >> "$tmp/sample.ganpp"
  t0=$(date +%s.%N)
  /usr/bin/python3 bench/python/sample32.py --out "$tmp/s_python" --n 5000 --threads "$THREADS" > /dev/null
  secs "$t0" >> "$tmp/sample.python"
  echo "sample run $i: ganpp $(tail -1 "$tmp/sample.ganpp" | cut -c1-5) s, python $(tail -1 "$tmp/sample.python" | cut -c1-5) s for 5,000 PNGs"
done
if want fid; then
  [ -d "$tmp/s_ganpp" ] || build/ganpp sample --run "$tmp/g32" --n "$FID_N" --out "$tmp/s_ganpp" 2> /dev/null
  [ -d "$tmp/s_python" ] || /usr/bin/python3 bench/python/sample32.py --out "$tmp/s_python" --n "$FID_N" > /dev/null
  /usr/bin/python3 tests/reference/fid_inception.py --make-weights "$tmp/w.npz" --seed 0 > /dev/null
  for i in $(seq "$REPS"); do
    t0=$(date +%s.%N)
    build/ganpp eval --real "$tmp/s_python" --fake "$tmp/s_ganpp" --features "inception:$tmp/w.npz" --metrics fid \
      --n "$FID_N" --no-cache --json --threads "$THREADS" 2> /dev/null > "$tmp/fid_ganpp.json"
    secs "$t0" >> "$tmp/fid.ganpp"
    t0=$(date +%s.%N)
    /usr/bin/python3 bench/python/fid_pipeline.py --real "$tmp/s_python" --fake "$tmp/s_ganpp" --weights "$tmp/w.npz" \
      --n "$FID_N" --threads "$THREADS" > "$tmp/fid_python.txt"
    secs "$t0" >> "$tmp/fid.python"
    echo "fid run $i: ganpp $(tail -1 "$tmp/fid.ganpp" | cut -c1-5) s, python $(tail -1 "$tmp/fid.python" | cut -c1-5) s" \
         "for 2 x $FID_N images; FID ganpp $(/usr/bin/python3 -c "import json; print(json.load(open('$tmp/fid_ganpp.json'))['fid'])")," \
         "python $(sed -n 's/.*FID \([0-9.e+-]*\),.*/\1/p' "$tmp/fid_python.txt")"
  done
fi
/usr/bin/python3 - "$tmp" "$FID_N" <<'PY'
import os
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
                   ("dcgan32-bf16", "dcgan32"), ("dcgan32-bf16-cl", "dcgan32"), ("sngan32", "sngan32")) + tuple(
                   (f"mlp2d-{tag}{v}", f"mlp2d-{tag}") for tag in ("b500", "b50", "small") for v in ("", "-fusedd", "-before")):
    if not os.path.exists(f"{t}/{name}.ganpp"):
        continue  # not in ONLY
    a, b = np.loadtxt(f"{t}/{name}.ganpp", ndmin=1), np.loadtxt(f"{t}/{base}.python", ndmin=1)
    ma, mb = np.median(a), np.median(b)
    line = (f"{name:14s} ganpp {ma:8.2f} ms/step (range {a.min():.2f}-{a.max():.2f})   python {mb:8.2f} ms/step "
            f"(range {b.min():.2f}-{b.max():.2f})   ganpp is {mb / ma:.2f}x the Python speed")
    if name.startswith("dcgan32"):
        line += (f"\n         {flops / 1e9:.1f} GFLOP per step (naive count {naive / 1e9:.1f}): ganpp {flops / ma / 1e6:.1f} "
                 f"GFLOP/s, python {flops / mb / 1e6:.1f} GFLOP/s")
    print(line)
for name, images in (("sample", 5000), ("fid", 2 * int(sys.argv[2]))):  # whole-command seconds for `images` images
    if not os.path.exists(f"{t}/{name}.ganpp"):
        continue
    a, b = np.loadtxt(f"{t}/{name}.ganpp", ndmin=1), np.loadtxt(f"{t}/{name}.python", ndmin=1)
    ma, mb = np.median(a), np.median(b)
    print(f"{name:14s} ganpp {images / ma:8.1f} images/s ({ma:.2f} s, range {a.min():.2f}-{a.max():.2f})   python "
          f"{images / mb:8.1f} images/s ({mb:.2f} s, range {b.min():.2f}-{b.max():.2f})   ganpp is {mb / ma:.2f}x the Python speed")
PY
