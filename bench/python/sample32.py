#!/usr/bin/python3
"""Sampling throughput of the DCGAN-32 generator in PyTorch (Debian's python3-torch), the baseline for
`ganpp sample --run RUN --n N --out DIR` on a run of configs/bench-dcgan32.yaml.

Same work as ganpp: the DCGAN-32 G of bench/python/dcgan32.py (z 100, 64 base channels, BN in eval mode), N samples
from N(0, I) in batches of 256 without autograd, each written as an 8-bit grayscale PNG (x * 127.5 + 127.5, rounded
and clamped; zlib level 6, the default of both libpng and Pillow). Prints images/s over the whole command
(forward passes and PNG writes).

    /usr/bin/python3 bench/python/sample32.py --out DIR [--n 5000] [--batch 256] [--threads 2]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcgan32 import generator  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)
    g = generator().eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        parts = [g(torch.randn(min(a.batch, a.n - i), 100, 1, 1)) for i in range(0, a.n, a.batch)]
    x = torch.cat(parts)
    t1 = time.perf_counter()
    img = (x * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    for i in range(a.n):
        Image.fromarray(img[i, 0]).save(os.path.join(a.out, "sample_%06d.png" % i), compress_level=6)
    t2 = time.perf_counter()
    print(f"pytorch-python sample32: {a.n / (t2 - t0):.1f} images/s ({a.n} images in {t2 - t0:.2f} s: "
          f"forward {t1 - t0:.2f} s, PNG {t2 - t1:.2f} s), torch {torch.__version__}, {a.threads} threads")


if __name__ == "__main__":
    main()
