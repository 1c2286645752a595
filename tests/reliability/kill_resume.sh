#!/usr/bin/env bash
# Kill test: a training run is killed with SIGKILL at KILLS random moments (a share of them exactly while a
# checkpoint is being written), resumed after each kill, and its final weights are compared bit for bit with an
# uninterrupted run of the same config. After every kill each checkpoint on disk must still verify (both CRC-32s).
#
#   bash tests/reliability/kill_resume.sh [KILLS=20] [GANPP=build/ganpp]
#
# Runs three configs: a plain DCGAN, a DCGAN with ADA (adaptive augmentation probability) and EMA of G, and a
# progressive-growing WGAN-GP run whose kills land mid-fade too.
# Each config takes ~2-4 minutes on a 2-core machine. Exits non-zero on the first mismatch or corrupt checkpoint.
set -euo pipefail
KILLS=${1:-20}
GANPP=${2:-build/ganpp}
GANPP=$(realpath "$GANPP")
WORK=$(mktemp -d /tmp/ganpp-kill.XXXXXX)
trap 'jobs -p | xargs -r kill -9 2>/dev/null || true' EXIT
RANDOM=${KILL_SEED:-7}

write_config() {  # $1 = file, $2 = extra YAML
  cat > "$1" <<YAML
seed: 3
threads: 1
data:
  dataset: fashion-mnist
  resolution: 28
  limit: 2048
model:
  name: dcgan
  z_dim: 32
  g_channels: 32
  d_channels: 32
train:
  batch_size: 32
  max_steps: 800
log:
  every: 5
  sample_every: 60
  samples: 16
  checkpoint_every: 4
  keep_checkpoints: 3
$2
YAML
}

verify_all() {  # every checkpoint in the run must load and verify
  local f
  for f in "$1"/checkpoints/*.ckpt; do
    [ -e "$f" ] || continue
    "$GANPP" inspect "$f" > /dev/null || { echo "CORRUPT checkpoint after a kill: $f"; exit 1; }
  done
}

metrics_lines() { if [ -f "$1/metrics.jsonl" ]; then wc -l < "$1/metrics.jsonl"; else echo 0; fi; }

tensor_lines() { "$GANPP" inspect --tensors "$1" | grep '^tensor '; }

one_config() {  # $1 = name, $2 = extra YAML, $3 = extra `ganpp train` arguments (--set ...)
  local name=$1 dir="$WORK/$1" cfg="$WORK/$1.yaml" sets=${3:-}
  write_config "$cfg" "$2"
  echo "== $name: uninterrupted reference run"
  local t0=$SECONDS
  "$GANPP" train -q --config "$cfg" --out "$dir/ref" $sets
  local ref_s=$((SECONDS - t0))
  echo "   ${ref_s} s"
  local run="$dir/killed" kills=0 during_write=0 pid
  while [ $kills -lt "$KILLS" ]; do
    if compgen -G "$run/checkpoints/*.ckpt" > /dev/null; then
      "$GANPP" resume -q --run "$run" & pid=$!
    else
      "$GANPP" train -q --config "$cfg" --out "$run" $sets & pid=$!
    fi
    if [ $((kills % 2)) -eq 1 ]; then
      # Kill while a checkpoint write is in flight: poll (bash builtins only, no forks) for its temporary file.
      local hit=0 n=0
      while kill -0 $pid 2>/dev/null && [ $n -lt 2000000 ]; do
        if compgen -G "$run/checkpoints/*.tmp.*" > /dev/null; then hit=1; break; fi
        n=$((n + 1))
      done
      kill -9 $pid 2>/dev/null || true
      wait $pid 2>/dev/null || true
      # A temporary file still on disk after the kill proves the process died mid-write.
      if [ $hit -eq 1 ] && compgen -G "$run/checkpoints/*.tmp.*" > /dev/null; then during_write=$((during_write + 1)); fi
    else
      # Kill at a random moment: one kill in four 0-2 s after launch (start-up, data loading), the others 0-2 s after
      # the relaunched process has logged a step, so that they land among steps, samples and checkpoint writes even
      # on a loaded machine where start-up alone takes seconds.
      if [ $((kills % 4)) -ne 0 ]; then
        local before waited=0
        before=$(metrics_lines "$run")
        while kill -0 $pid 2>/dev/null && [ "$(metrics_lines "$run")" -le "$before" ] && [ $waited -lt 600 ]; do
          sleep 0.05; waited=$((waited + 1))
        done
      fi
      sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
      kill -9 $pid 2>/dev/null || true
      wait $pid 2>/dev/null || true
    fi
    kills=$((kills + 1))
    verify_all "$run"
    local last
    last=$(ls "$run"/checkpoints/*.ckpt 2>/dev/null | tail -1 || true)
    echo "   kill $kills: latest checkpoint ${last##*/}"
    if [ -n "$last" ] && [ "$(basename "$last")" = "$(basename "$(ls "$dir"/ref/checkpoints/*.ckpt | tail -1)")" ]; then
      echo "   (the run had already finished; no further kills)"; break
    fi
  done
  echo "   resuming to the end after $kills kills ($during_write of them left a half-written checkpoint behind)"
  if compgen -G "$run/checkpoints/*.ckpt" > /dev/null; then
    "$GANPP" resume -q --run "$run"
  else
    "$GANPP" train -q --config "$cfg" --out "$run"
  fi
  local a b
  a=$(ls "$dir"/ref/checkpoints/*.ckpt | tail -1)
  b=$(ls "$run"/checkpoints/*.ckpt | tail -1)
  [ "$(basename "$a")" = "$(basename "$b")" ] || { echo "FAIL: final checkpoints differ: $a vs $b"; exit 1; }
  if ! diff <(tensor_lines "$a") <(tensor_lines "$b") > "$dir/diff.txt"; then
    echo "FAIL: $name: weights after kills differ from the uninterrupted run:"; head -20 "$dir/diff.txt"; exit 1
  fi
  # metrics.jsonl: every logged value (losses, D outputs, ADA's p and r_t, gradient norms ...) equal to the
  # uninterrupted run's, each step exactly once (lines logged after the last checkpoint by a killed process are
  # dropped on resume); only the timing and memory fields differ.
  /usr/bin/python3 - "$dir/ref/metrics.jsonl" "$run/metrics.jsonl" <<'PY'
import json, sys
def rows(p):
    out = []
    for l in open(p):
        if l.strip():
            j = json.loads(l)
            for k in ("it_per_s", "wall_s", "peak_rss_mb"): j.pop(k, None)  # timing and memory of the process
            out.append(j)
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert [r["step"] for r in a] == [r["step"] for r in b], "metrics.jsonl steps differ"
for x, y in zip(a, b):
    assert x == y, f"metrics.jsonl differs at step {x['step']}: {x} vs {y}"
print(f"   metrics.jsonl: {len(a)} lines identical ({', '.join(sorted(a[-1]))})")
PY
  echo "   PASS: $(tensor_lines "$a" | wc -l) tensors bit-identical to the uninterrupted run; metrics.jsonl identical"
  echo "$name kills=$kills during_write=$during_write" >> "$WORK/summary.txt"
}

one_config plain ""
one_config ada-ema "augment:
  policy: color,translation,cutout
  ada: true
  ada_target: 0.6
  ada_interval: 4
  ada_kimg: 1
  p: 0
ema:
  enabled: true
  decay: 0.99"
# Progressive growing with WGAN-GP: 16x16 in three levels, each fade-in and stabilisation 100 steps, so kills land
# mid-fade as well as between phases.
one_config progan-fade "ema:
  enabled: true
  decay: 0.99" "--set model.name=progan --set data.resolution=16 --set model.grow_steps=100 --set loss.name=wgan-gp
  --set loss.drift=0.001 --set model.mbstd_group=4 --set optim.beta1=0 --set optim.beta2=0.99 --set model.g_channels=16
  --set model.d_channels=16"
echo "== all configs passed"; cat "$WORK/summary.txt"
rm -rf "$WORK"
