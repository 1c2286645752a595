#!/usr/bin/env bash
# FID + KID + precision/recall + density/coverage on 10,000 x 10,000 samples of 2,048-d features: ganpp versus the
# numpy/scipy reference (tests/reference/metrics_reference.py, pytorch-fid's sqrtm FID), same features, same machine.
# Usage: bash bench/metrics_speed.sh [N] [D]   (run from the repository root after `make build`)
set -euo pipefail
N=${1:-10000}; D=${2:-2048}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c "
import numpy as np
r = np.random.RandomState(0)
real = r.randn($N, $D).astype(np.float32)
fake = (r.randn($N, $D) * 1.1 + 0.05).astype(np.float32)
np.savez('$tmp/f.npz', real=real, fake=fake)"
echo "features: $N x $D per side"
t0=$(date +%s.%N)
build/ganpp eval --from-features "$tmp/f.npz" --metrics fid,kid,pr,dc --json > "$tmp/ganpp.json"
t1=$(date +%s.%N)
/usr/bin/python3 tests/reference/metrics_reference.py --features "$tmp/f.npz" --out "$tmp/ref.json" --metrics fid,kid,prdc > /dev/null
t2=$(date +%s.%N)
/usr/bin/python3 - "$tmp/ganpp.json" "$tmp/ref.json" "$t0" "$t1" "$t2" <<'PY'
import json, sys
g, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
t0, t1, t2 = map(float, sys.argv[3:6])
print(f"ganpp     {t1 - t0:8.1f} s  FID {g['fid']:.6f}  KID {g['kid']['mean']:.6f}  P {g['precision']:.4f} R {g['recall']:.4f} D {g['density']:.4f} C {g['coverage']:.4f}")
print(f"reference {t2 - t1:8.1f} s  FID {r['fid']:.6f}  KID {r['kid_mean']:.6f}  P {r['precision']:.4f} R {r['recall']:.4f} D {r['density']:.4f} C {r['coverage']:.4f}")
print(f"speed-up  {(t2 - t1) / (t1 - t0):.2f}x   FID rel. diff {abs(g['fid'] - r['fid']) / abs(r['fid']):.2e}")
PY
