#!/usr/bin/python3
"""Plain DCGAN on Fashion-MNIST in PyTorch (Debian's python3-torch): the quality baseline of bench/zoo_quality.sh.

The textbook recipe (Radford et al. 2016, as in pytorch/examples' dcgan): z 100, 64 base channels in G and D, batch
norm, non-saturating loss, Adam 2e-4 (0.5, 0.999), batch 64, N(0, 0.02) initialisation; 32x32 images (Fashion-MNIST
padded from 28x28, scaled to [-1, 1]), the training set reshuffled every epoch. Trains for --minutes of wall time,
then writes --n samples from G (eval mode, raw weights: the recipe keeps no EMA) as 32x32 grayscale PNGs.

    /usr/bin/python3 bench/python/dcgan_fashion.py --minutes 8 --out DIR [--n 10000] [--threads 2] [--seed 0]
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

# The same networks as the step-time baseline (this folder is on sys.path when the script runs).
from dcgan32 import discriminator, generator


def load_fashion():
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb") as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    x = torch.full((len(data), 1, 32, 32), -1.0)
    x[:, :, 2:30, 2:30] = torch.from_numpy(data.astype(np.float32)) / 127.5 - 1
    return x


def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = load_fashion()
    g, d = generator(), discriminator()
    g.apply(init)
    d.apply(init)
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bs, steps, perm, pos = 64, 0, torch.randperm(len(data)), 0
    t0 = time.time()
    while time.time() - t0 < a.minutes * 60:
        if pos + bs > len(data):
            perm, pos = torch.randperm(len(data)), 0
        real = data[perm[pos:pos + bs]]
        pos += bs
        fake = g(torch.randn(bs, 100, 1, 1))
        loss_d = (F.binary_cross_entropy_with_logits(d(real), torch.ones(bs))
                  + F.binary_cross_entropy_with_logits(d(fake.detach()), torch.zeros(bs)))
        od.zero_grad(set_to_none=True)
        loss_d.backward()
        od.step()
        loss_g = F.binary_cross_entropy_with_logits(d(fake), torch.ones(bs))
        og.zero_grad(set_to_none=True)
        loss_g.backward()
        og.step()
        steps += 1
        if steps % 200 == 0:
            print(f"step {steps}: loss_d {loss_d.item():.3f} loss_g {loss_g.item():.3f} {time.time() - t0:.0f} s",
                  flush=True)
    print(f"trained {steps} steps in {time.time() - t0:.0f} s", flush=True)
    os.makedirs(a.out, exist_ok=True)
    g.eval()
    with torch.no_grad():
        for s in range(0, a.n, 500):
            x = g(torch.randn(min(500, a.n - s), 100, 1, 1))
            u8 = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
            for i, img in enumerate(u8):
                Image.fromarray(img[0], mode="L").save(os.path.join(a.out, f"sample_{s + i:06d}.png"))
    print(f"wrote {a.n} samples to {a.out}")


if __name__ == "__main__":
    main()
