#!/usr/bin/env bash
# Metrics speed, ganpp versus the numpy/scipy reference (tests/reference/metrics_reference.py), same machine.
#
# Part 1: FID + KID (50 subsets of 1,000, and the full-sample unbiased MMD²) + precision/recall (k=3) +
# density/coverage (k=5) on N x N precomputed D-dimensional features (default 10,000 x 10,000 x 2,048), REPS
# alternating runs of each side; prints every run, the medians, the speed-up and the agreement of the numbers.
# Both sides compute the same quantities: the reference with pytorch-fid's sqrtm FID (--fid-method sqrtm), ganpp with
# its eigenvalue form; both compute the full-sample KID.
# Part 2: images/s of the Fashion-MNIST evaluator over the 10,000 test images (decode + features).
#
# Usage (repository root, after `make build`): bash bench/metrics_speed.sh [N] [D] [REPS]
set -euo pipefail
N=${1:-10000}; D=${2:-2048}; REPS=${3:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Informative synthetic features: a 20-cluster mixture for both sides, the fake side with slightly wider clusters and
# one cluster missing, so that precision/recall/density/coverage are neither 0 nor 1.
/usr/bin/python3 - "$tmp/f.npz" "$N" "$D" <<'PY'
import sys
import numpy as np
out, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = np.random.RandomState(0)
centres = r.randn(20, d) * 0.35
real = (centres[r.randint(0, 20, n)] + r.randn(n, d) * 1.0).astype(np.float32)
fake = (centres[r.randint(0, 19, n)] + r.randn(n, d) * 1.03).astype(np.float32)
np.savez(out, real=real, fake=fake)
PY
echo "features: $N x $D per side, $REPS alternating runs per side, $(nproc) cores"
for i in $(seq "$REPS"); do
  t0=$(date +%s.%N)
  build/ganpp eval --from-features "$tmp/f.npz" --metrics fid,kid,pr,dc --json > "$tmp/ganpp.json"
  t1=$(date +%s.%N)
  /usr/bin/python3 tests/reference/metrics_reference.py --features "$tmp/f.npz" --out "$tmp/ref.json" \
    --metrics fid,kid,prdc --fid-method sqrtm > /dev/null
  t2=$(date +%s.%N)
  /usr/bin/python3 -c "print($t1 - $t0)" >> "$tmp/t_ganpp"
  /usr/bin/python3 -c "print($t2 - $t1)" >> "$tmp/t_ref"
  echo "run $i: ganpp $(tail -1 "$tmp/t_ganpp") s, reference $(tail -1 "$tmp/t_ref") s"
done
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
import numpy as np
t = sys.argv[1]
g, r = json.load(open(t + "/ganpp.json")), json.load(open(t + "/ref.json"))
tg, tr = np.loadtxt(t + "/t_ganpp", ndmin=1), np.loadtxt(t + "/t_ref", ndmin=1)
print(f"ganpp     median {np.median(tg):6.1f} s (min {tg.min():.1f}, max {tg.max():.1f})  FID {g['fid']:.6f}  KID(all) {g['kid']['full']:.8f}  "
      f"P {g['precision']:.4f} R {g['recall']:.4f} D {g['density']:.4f} C {g['coverage']:.4f}")
print(f"reference median {np.median(tr):6.1f} s (min {tr.min():.1f}, max {tr.max():.1f})  FID {r['fid']:.6f}  KID(all) {r['kid_full']:.8f}  "
      f"P {r['precision']:.4f} R {r['recall']:.4f} D {r['density']:.4f} C {r['coverage']:.4f}")
print(f"speed-up {np.median(tr) / np.median(tg):.2f}x (median over median)")
print(f"FID rel. diff {abs(g['fid'] - r['fid']) / abs(r['fid']):.2e}; full-sample KID rel. diff "
      f"{abs(g['kid']['full'] - r['kid_full']) / abs(r['kid_full']):.2e}; KID subset means "
      f"{g['kid']['mean']:.8f} vs {r['kid_mean']:.8f} (different random subsets)")
same = all(g[k] == r[k] for k in ("precision", "recall", "density", "coverage"))
print("precision/recall/density/coverage identical: " + ("yes" if same else "NO"))
PY
if [ -f evaluators/fashion.ganpp ]; then
  mkdir -p "$tmp/two"
  /usr/bin/python3 -c "
import zlib, struct, sys
def png(path, v):
    raw = b''.join(b'\x00' + bytes([v] * 28) for _ in range(28))
    c = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + c(b'IHDR', struct.pack('>IIBBBBB', 28, 28, 8, 0, 0, 0, 0)) + c(b'IDAT', zlib.compress(raw)) + c(b'IEND', b''))
png('$tmp/two/a.png', 10); png('$tmp/two/b.png', 200)"
  build/ganpp eval --real fashion-mnist --fake "$tmp/two" --features fashion --n 10000 --metrics fid --no-cache --json \
    > "$tmp/ev.json" 2>/dev/null
  /usr/bin/python3 -c "
import json; j = json.load(open('$tmp/ev.json'))
print('evaluator (fashion.ganpp): %d test images, %.0f images/s (IDX decode + features, batch 250)' % (j['real']['samples'], j['real_images_per_s']))"
fi
