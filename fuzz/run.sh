#!/usr/bin/env bash
# Builds ganpp's libFuzzer targets (clang-14, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for a
# set time. Any crash, hang (>10 s per input), out-of-memory (>2 GiB) or sanitizer report stops that target and
# leaves the input in fuzz/out/<target>/; copy it to tests/fuzz_regressions/<target>/ to make it a regression test.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET=600] [TARGETS="idx image yaml archive npz table layout"] [JOBS=1]
#
# JOBS targets run at a time; NINJA_JOBS limits the build. Needs: clang-14 libclang-rt-14-dev (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}
TARGETS=${2:-"idx image yaml archive npz table layout"}
JOBS=${3:-1}
missing=()
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DGANPP_FUZZ=ON -DGANPP_BUILD_TESTS=OFF > /dev/null
ninja -C build-fuzz ${NINJA_JOBS:+-j $NINJA_JOBS} $(for t in $TARGETS; do echo fuzz_$t; done) fuzz_make_seeds

mkdir -p fuzz/out
rm -rf fuzz/out/seeds && build-fuzz/fuzz_make_seeds fuzz/out/seeds > /dev/null
mkdir -p fuzz/out/seeds/yaml && cp configs/*.yaml fuzz/out/seeds/yaml/
# torch keeps some allocations until exit on purpose; leak reports from it would be noise, not ganpp bugs.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local t=$1 corpus=fuzz/out/corpus/$1 art=fuzz/out/$1
  mkdir -p "$corpus" "$art"
  local regress=()
  [ -d "tests/fuzz_regressions/$t" ] && regress=("tests/fuzz_regressions/$t")
  local start=$(date +%s) rc=0
  build-fuzz/fuzz_$t "$corpus" "fuzz/out/seeds/$t" "${regress[@]}" -max_total_time="$SECS" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$art/" -print_final_stats=1 > "fuzz/out/$t.log" 2>&1 || rc=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/out/$t.log" | grep -o '[0-9]*$' || echo "?")
  if [ $rc -eq 0 ]; then
    echo "$t: OK, $(( $(date +%s) - start )) s, $execs inputs, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "$t: FAILED (exit $rc) after $(( $(date +%s) - start )) s; see fuzz/out/$t.log and $art/"
    grep -m3 -E 'ERROR|SUMMARY|runtime error|deadly signal|timeout' "fuzz/out/$t.log" || true
  fi
  return $rc
}

fail=0
pids=()
for t in $TARGETS; do
  run_one "$t" > "fuzz/out/$t.result" & pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
for t in $TARGETS; do cat "fuzz/out/$t.result"; done
exit $fail
