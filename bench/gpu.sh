#!/usr/bin/env bash
# GPU timings in one short run, for a machine with an NVIDIA GPU and a CUDA build of PyTorch (its LibTorch builds
# ganpp): configure and build ganpp against it, then time on --device cuda
#   1. the reference DCGAN-32 step (configs/bench-dcgan32.yaml): float32, channels-last, bf16 and fp16 autocast;
#   2. the SNGAN-ResNet step (configs/sngan-fashion.yaml) in float32 and bf16;
#   3. the FID pipeline: `ganpp eval` of 10,000 generated vs 10,000 real images with the Fashion evaluator on the GPU;
# and the same PyTorch-Python DCGAN-32 baseline (bench/python/dcgan32.py --device cuda) for the ratio.
# Prints one line per measurement; the whole script is sized to end within 10 minutes on one GPU.
#
#   bash bench/gpu.sh [OUT=bench-out/gpu] [STEPS=300]
#
# Needs on that machine: python3 with a CUDA torch, cmake, ninja, a C++17 compiler, and the headers/libraries
# ganpp builds with (yaml-cpp, fmt, nlohmann-json, CLI11, libpng, zlib, gloo headers as shipped with torch).
# Status: written on a machine without a GPU; not yet run (the development machine has no GPU and none was lent).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-out/gpu}; STEPS=${2:-300}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
prefix=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
$PY -c 'import torch; assert torch.cuda.is_available(), "no CUDA device visible to torch"; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DGANPP_BUILD_TESTS=OFF > "$OUT/cmake.log"
cmake --build build-gpu -j "$(nproc)" > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
ms() {  # median ms/step over the log windows after the first of a metrics.jsonl
  $PY -c "
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f'{statistics.median(1000.0 / x[\"it_per_s\"] for x in r[1:]):.2f}')" "$1"
}
run() {  # name config extra-args...
  local name=$1 cfg=$2; shift 2
  rm -rf "$OUT/$name"
  build-gpu/ganpp train -q --config "$cfg" --out "$OUT/$name" --device cuda --max-steps "$STEPS" \
    --set log.every=50 --set log.sample_every=0 --set log.checkpoint_every=0 "$@"
  echo "$name: $(ms "$OUT/$name/metrics.jsonl") ms/step"
}
run dcgan32-fp32 configs/bench-dcgan32.yaml
run dcgan32-cl configs/bench-dcgan32.yaml --set model.channels_last=true
run dcgan32-bf16 configs/bench-dcgan32.yaml --set train.amp=bf16 --set model.channels_last=true
run dcgan32-fp16 configs/bench-dcgan32.yaml --set train.amp=fp16 --set model.channels_last=true
$PY bench/python/dcgan32.py --steps "$STEPS" --warmup 20 --device cuda | tail -1 | sed 's/^/python dcgan32-fp32: /'
run sngan-fp32 configs/sngan-fashion.yaml
run sngan-bf16 configs/sngan-fashion.yaml --set train.amp=bf16 --set model.channels_last=true
start=$(date +%s.%N)
build-gpu/ganpp eval --real fashion-mnist --fake "$OUT/dcgan32-fp32" --features fashion --metrics fid --n 10000 \
  --device cuda --no-cache --json > "$OUT/fid.json"
echo "FID pipeline (10k real + 10k generated, Fashion evaluator): $(echo "$(date +%s.%N) - $start" | bc) s," \
     "$($PY -c "import json; j=json.load(open('$OUT/fid.json')); print(round(j['fake_images_per_s']), 'generated img/s')")"
