#!/usr/bin/env bash
# Image-synthesis quality at equal wall-clock budgets on Fashion-MNIST: ganpp's DCGAN (configs/dcgan-fashion.yaml),
# class-conditional DCGANs (configs/cdcgan-fashion.yaml: projection D; configs/acgan-fashion.yaml: AC-GAN), SNGAN-ResNet (configs/sngan-fashion.yaml), progressive
# growing (configs/progan-fashion.yaml) and a plain
# DCGAN written in PyTorch-Python (bench/python/dcgan_fashion.py), each trained for MINUTES of wall time on THREADS
# threads, one after the other, then scored alike with ganpp's Fashion-MNIST evaluator (evaluators/fashion.ganpp):
# FID, KID, precision/recall, density/coverage and IS on N generated images against the N test images, padded to
# 32x32 as the models see them; for the conditional model also the share of samples the evaluator assigns to the
# requested class and the per-class FID.
#
#   bash bench/zoo_quality.sh [OUT=bench-out/zoo] [MINUTES=8] [THREADS=$(nproc)] [N=10000]   (after `make build`)
# MODELS="dcgan-fashion progan-fashion" limits the ganpp rows; SKIP_PYTHON=1 reuses OUT/python-dcgan; SKIP_TRAIN=1
# rescores the runs already in OUT; FEATURES=evaluator:evaluators/fashion-v1.ganpp scores with the first evaluator
# (the table of 2026-12-04 used it; the default is the current `fashion`).
set -euo pipefail
OUT=${1:-bench-out/zoo}; MINUTES=${2:-8}; THREADS=${3:-$(nproc)}; N=${4:-10000}
mkdir -p "$OUT"
FEATURES=${FEATURES:-fashion}
echo "$(date -u +%F) $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $MINUTES min each, $THREADS threads"
for cfg in ${MODELS:-dcgan-fashion cdcgan-fashion acgan-fashion sngan-fashion progan-fashion}; do
  if [ -z "${SKIP_TRAIN:-}" ]; then
    rm -rf "${OUT:?}/$cfg"
    build/ganpp train -q --config "configs/$cfg.yaml" --out "$OUT/$cfg" --max-minutes "$MINUTES" --threads "$THREADS"
  fi
  echo "$cfg: $(tail -1 "$OUT/$cfg/metrics.jsonl" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["step"], "steps")')"
done
if [ -z "${SKIP_PYTHON:-}" ] && [ -z "${SKIP_TRAIN:-}" ]; then
  rm -rf "${OUT:?}/python-dcgan"
  /usr/bin/python3 bench/python/dcgan_fashion.py --minutes "$MINUTES" --threads "$THREADS" --n "$N" --out "$OUT/python-dcgan" | tail -2
fi
for cfg in ${MODELS:-dcgan-fashion cdcgan-fashion acgan-fashion sngan-fashion progan-fashion}; do
  build/ganpp eval --real fashion-mnist --fake "$OUT/$cfg" --features "$FEATURES" --metrics fid,kid,pr,dc,is --n "$N" \
    --threads "$THREADS" --json > "$OUT/$cfg.json" 2> /dev/null
done
# The Python samples against the same real images (the test split prepared like the ganpp runs: 32x32 padded).
build/ganpp eval --real "fashion-mnist@$OUT/dcgan-fashion" --fake "$OUT/python-dcgan" --features "$FEATURES" \
  --metrics fid,kid,pr,dc,is --n "$N" --threads "$THREADS" --json > "$OUT/python-dcgan.json" 2> /dev/null
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = [("ganpp DCGAN (dcgan-fashion)", "dcgan-fashion"), ("ganpp conditional DCGAN, projection (cdcgan-fashion)", "cdcgan-fashion"),
        ("ganpp conditional DCGAN, AC-GAN (acgan-fashion)", "acgan-fashion"), ("ganpp SNGAN-ResNet (sngan-fashion)", "sngan-fashion"), ("ganpp progressive growing (progan-fashion)", "progan-fashion"),
        ("PyTorch-Python DCGAN (bench/python/dcgan_fashion.py)", "python-dcgan")]
base = json.load(open(f"{out}/python-dcgan.json"))["fid"]
print("| model | FID | FID / Python | KID x1e3 | precision | recall | density | coverage | IS | class acc |")
print("|---|---|---|---|---|---|---|---|---|---|")
import os
for name, key in rows:
    if not os.path.exists(f"{out}/{key}.json"):
        continue
    r = json.load(open(f"{out}/{key}.json"))
    acc = f"{100 * r['class_accuracy']:.1f} %" if "class_accuracy" in r else "-"
    print(f"| {name} | {r['fid']:.2f} | {r['fid'] / base:.2f} | {1e3 * r['kid']['mean']:.2f} | {r['precision']:.3f} | "
          f"{r['recall']:.3f} | {r['density']:.3f} | {r['coverage']:.3f} | {r['is']['mean']:.2f} | {acc} |")
r = json.load(open(f"{out}/cdcgan-fashion.json")) if os.path.exists(f"{out}/cdcgan-fashion.json") else {}
if "per_class" in r:
    print("\nconditional DCGAN per class: " + ", ".join(f"{c}: FID {v['fid']:.2f}, acc {100 * v['accuracy']:.1f} %"
                                                    for c, v in sorted(r["per_class"].items(), key=lambda kv: int(kv[0]))))
PY
