#!/usr/bin/env bash
# Multi-host data-parallel training on one machine: two network namespaces joined by a veth pair act as two hosts
# (10.77.0.1 and 10.77.0.2), one ganpp worker each, rendezvous at host 0 as torchrun-style workers do (RANK,
# WORLD_SIZE, --rdzv HOST:PORT); the run trains to completion and rank 0 writes the final checkpoint.
# On real hosts: the same two commands, one per host, with the run folder on a shared filesystem.
#   bash tests/distributed/two_hosts_netns.sh [GANPP_BINARY]      (needs root; exit 77 = skipped when unavailable)
set -euo pipefail
GANPP=${1:-build/ganpp}
if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null; then echo "skipped: needs root and iproute2"; exit 77; fi
ns0=ganpp-h0-$$ ns1=ganpp-h1-$$ v0=gv0-$$ v1=gv1-$$
dir=$(mktemp -d)
cleanup() { ip netns del "$ns0" 2> /dev/null || true; ip netns del "$ns1" 2> /dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
if ! ip netns add "$ns0" 2> /dev/null; then echo "skipped: cannot create network namespaces here"; exit 77; fi
ip netns add "$ns1"
ip link add "$v0" type veth peer name "$v1"
ip link set "$v0" netns "$ns0"
ip link set "$v1" netns "$ns1"
ip -n "$ns0" addr add 10.77.0.1/24 dev "$v0"
ip -n "$ns1" addr add 10.77.0.2/24 dev "$v1"
for ns in "$ns0" "$ns1"; do ip -n "$ns" link set lo up; done
ip -n "$ns0" link set "$v0" up
ip -n "$ns1" link set "$v1" up
cat > "$dir/c.yaml" <<'YAML'
seed: 1
threads: 1
data: {dataset: fashion-mnist, resolution: 16, limit: 256}
model: {name: dcgan, z_dim: 16, g_channels: 8, d_channels: 8}
train: {batch_size: 16, max_steps: 6}
log: {every: 2, sample_every: 0, checkpoint_every: 3}
YAML
run() {  # $1 = namespace, $2 = rank
  ip netns exec "$1" env RANK="$2" WORLD_SIZE=2 GANPP_DIST_TIMEOUT=60 \
    "$GANPP" train -q --config "$dir/c.yaml" --out "$dir/run" --rdzv 10.77.0.1:29555
}
run "$ns0" 0 > "$dir/h0.log" 2>&1 &
h0=$!
run "$ns1" 1 > "$dir/h1.log" 2>&1 &
h1=$!
rc=0
wait $h0 || rc=1
wait $h1 || rc=1
cat "$dir/h0.log" "$dir/h1.log"
[ $rc -eq 0 ] || { echo "FAIL: a worker failed"; exit 1; }
[ -f "$dir/run/checkpoints/step_00000006.ckpt" ] || { echo "FAIL: no final checkpoint"; exit 1; }
grep -q '"workers":2' "$dir/run/metrics.jsonl" || { echo "FAIL: metrics do not show 2 workers"; exit 1; }
"$GANPP" inspect "$dir/run/checkpoints/step_00000006.ckpt" > /dev/null
echo "OK: two hosts (network namespaces 10.77.0.1, 10.77.0.2) trained to step 6"
