#!/usr/bin/python3
"""The FID pipeline in PyTorch + numpy/scipy (Debian's packages), the baseline for
`ganpp eval --real DIR --fake DIR --features inception:W.npz --metrics fid --no-cache`.

Same work as ganpp: read every PNG of two folders (sorted names, the first N), scale to [0, 1], repeat grey to 3
channels, bilinear resize to 299x299 (align_corners=False), 2x - 1, pytorch-fid's FID Inception-v3 (built from
torchvision as tests/reference/fid_inception.py builds it, loading the same weight file) up to pool3 in batches,
then FID with pytorch-fid's formula (float64 statistics, scipy sqrtm). Prints images/s over both folders and the FID.

    /usr/bin/python3 bench/python/fid_pipeline.py --real DIR --fake DIR --weights W.npz [--n 500] [--batch 50]
        [--threads 2]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "reference"))
from fid_inception import build_fid_inception, forward_pool3_logits, load_weights  # noqa: E402
from metrics_reference import compute_fid  # noqa: E402


def features(net, folder, n, batch):
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(".png"))[:n]
    out = []
    for s in range(0, len(files), batch):
        imgs = [np.asarray(Image.open(os.path.join(folder, f)).convert("L"), dtype=np.float32)
                for f in files[s:s + batch]]
        x = torch.from_numpy(np.stack(imgs))[:, None] / 255.0
        with torch.no_grad():
            pool3, _ = forward_pool3_logits(net, x.expand(-1, 3, -1, -1), "bilinear")
        out.append(pool3.double().numpy())
    return np.concatenate(out), len(files)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", required=True)
    ap.add_argument("--fake", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    net = build_fid_inception()
    load_weights(net, a.weights)
    t1 = time.perf_counter()
    real, nr = features(net, a.real, a.n, a.batch)
    fake, nf = features(net, a.fake, a.n, a.batch)
    fid = compute_fid(real, fake, method="sqrtm")["fid"]
    t2 = time.perf_counter()
    print(f"pytorch-python fid: {(nr + nf) / (t2 - t1):.2f} images/s ({nr} + {nf} images in {t2 - t1:.1f} s after "
          f"{t1 - t0:.1f} s of set-up), FID {fid}, torch {torch.__version__}, {a.threads} threads")


if __name__ == "__main__":
    main()
