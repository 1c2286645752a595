#!/usr/bin/env bash
# Progressive growing up to 64x64 on colour photo crops (configs/progan-photos.yaml). Installs the photo packages
# of DATA.md (lomiri-wallpapers-16.04: /usr/share/backgrounds/*.jpg; mate-backgrounds: .../mate/nature/*.jpg),
# links the photos (not the illustrations next to them) into OUT/../photos, trains for MINUTES and writes the
# schedule reached, the step time per resolution and the last EMA sample grid.
#
#   bash bench/progan_photos.sh [OUT=bench-out/progan-photos] [MINUTES=30] [THREADS=$(nproc)]   (after `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench-out/progan-photos}; MINUTES=${2:-30}; THREADS=${3:-$(nproc)}
missing=()
for p in lomiri-wallpapers-16.04 mate-backgrounds; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
PHOTOS=bench-out/photos
rm -rf "$PHOTOS" && mkdir -p "$PHOTOS"
for f in /usr/share/backgrounds/*.jpg /usr/share/backgrounds/mate/nature/*.jpg; do ln -s "$f" "$PHOTOS/"; done
echo "$(date -u +%F) $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(ls "$PHOTOS" | wc -l) photos, $MINUTES min, $THREADS threads"
rm -rf "$OUT"
build/ganpp train -q --config configs/progan-photos.yaml --out "$OUT" --set data.path="$PHOTOS" \
  --max-minutes "$MINUTES" --threads "$THREADS"
/usr/bin/python3 - "$OUT/metrics.jsonl" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if "grow_resolution" in r]
last = rows[-1]
print(f"reached step {last['step']}: resolution {int(last['grow_resolution'])}, level {int(last['grow_level'])}, alpha {last['grow_alpha']:.2f}, {last['wall_s']:.0f} s")
by = {}
for r in rows:
    by.setdefault(int(r["grow_resolution"]), []).append(1000.0 / r["it_per_s"])
for res in sorted(by):
    print(f"  {res}x{res}: median {statistics.median(by[res]):.0f} ms/step over {len(by[res])} log windows")
PY
ls "$OUT"/samples | tail -1 | sed "s|^|last sample grid: $OUT/samples/|"
