#!/usr/bin/env bash
# Data-parallel scaling on this machine: the reference DCGAN-32 (configs/bench-dcgan32.yaml, global batch 64) as
# 1 process with all threads and as 2 workers (c10d/Gloo on loopback) with the threads split between them; REPS
# alternating runs. Prints steps/s (median of the log windows after the first) and, for 2 workers, the time per
# step spent in collectives (gradient all-reduce, batch-norm statistics, loss averaging, including waiting for the
# slower worker) and the size of the gradients exchanged per step; and 2 workers with one bucket per network reduced
# after backward (train.bucket_mb=1024) against the default buckets that start during backward.
#
#   bash bench/distributed.sh [REPS=3] [STEPS=60]      (repository root, after `make build`)
set -euo pipefail
REPS=${1:-3}; STEPS=${2:-60}; CORES=$(nproc)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
summary() {  # $1 = metrics.jsonl -> "it/s comm_ms"
  /usr/bin/python3 -c "
import json, statistics, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and 'it_per_s' in l][1:]
print(statistics.median(x['it_per_s'] for x in r), statistics.median(x.get('comm_ms_per_step', 0) for x in r))" "$1"
}
echo "$(date -u +%F), $CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $REPS alternating runs of $STEPS steps"
for i in $(seq "$REPS"); do
  rm -rf "$tmp/one" "$tmp/two" "$tmp/late"
  build/ganpp train -q --config configs/bench-dcgan32.yaml --out "$tmp/one" --max-steps "$STEPS" --threads "$CORES" --set log.every=10
  build/ganpp train -q --config configs/bench-dcgan32.yaml --out "$tmp/two" --max-steps "$STEPS" --nproc 2 --set log.every=10
  # The same with one bucket per network, reduced only after backward (no overlap: the "before" of the buckets).
  build/ganpp train -q --config configs/bench-dcgan32.yaml --out "$tmp/late" --max-steps "$STEPS" --nproc 2 --set log.every=10 \
    --set train.bucket_mb=1024
  echo "run $i: 1 process $(summary "$tmp/one/metrics.jsonl" | cut -d' ' -f1) it/s; 2 workers $(summary "$tmp/two/metrics.jsonl");" \
       "one bucket after backward $(summary "$tmp/late/metrics.jsonl")" | tee -a "$tmp/runs"
done
/usr/bin/python3 - "$tmp/runs" <<'PY'
import statistics, sys
one, two, comm, late, late_comm = [], [], [], [], []
for line in open(sys.argv[1]):
    w = line.replace(";", " ").split()
    one.append(float(w[4])); two.append(float(w[8])); comm.append(float(w[9]))
    late.append(float(w[-2])); late_comm.append(float(w[-1]))
m1, m2, c = statistics.median(one), statistics.median(two), statistics.median(comm)
ml, cl = statistics.median(late), statistics.median(late_comm)
print(f"1 process: {m1:.2f} it/s ({1000 / m1:.0f} ms/step); 2 workers: {m2:.2f} it/s ({1000 / m2:.0f} ms/step), "
      f"{c:.1f} ms/step in collectives ({100 * c / (1000 / m2):.0f} % of the step); speed-up {m2 / m1:.2f}x")
print(f"2 workers, one bucket per network after backward: {ml:.2f} it/s ({1000 / ml:.0f} ms/step), {cl:.1f} ms/step in "
      f"collectives")
PY
