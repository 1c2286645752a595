#!/usr/bin/python3
"""Torch operators dispatched per training step by a PyTorch-Python benchmark script, counted as bench/opcount.cpp
counts ganpp's: every operator and autograd node (nested calls included), through torch's profiler. Runs SCRIPT
with --steps WARM and --steps WARM+STEPS (plus ARGS, 1 thread) and prints the difference per step.

    /usr/bin/python3 bench/python/opcount.py SCRIPT STEPS [ARGS...]
    e.g. /usr/bin/python3 bench/python/opcount.py bench/python/mlp2d.py 1000 --batch 64 --hidden 64
"""
import collections
import contextlib
import io
import runpy
import sys

import torch


def count(script, steps, args):
    sys.argv = [script, "--steps", str(steps), "--warmup", "0", "--threads", "1", *args]
    with torch.autograd.profiler.profile() as prof, contextlib.redirect_stdout(io.StringIO()):
        runpy.run_path(script, run_name="__main__")
    return collections.Counter(e.name for e in prof.function_events)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    script, steps, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    warm = max(steps // 10, 10)
    a = count(script, warm, args)
    b = count(script, warm + steps, args)
    per_step = sorted(((b[k] - a[k]) / steps, k) for k in b if (b[k] - a[k]) / steps > 0.005)[::-1]
    print(f"{sum(d for d, _ in per_step):.1f} operators per step (nested calls and autograd nodes included), "
          f"over {steps} steps")
    for d, k in per_step:
        print(f"{d:8.2f}  {k}")


if __name__ == "__main__":
    main()
