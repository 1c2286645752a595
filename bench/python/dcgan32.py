#!/usr/bin/python3
"""DCGAN-32 training step in PyTorch (Debian's python3-torch), the baseline for ganpp's configs/bench-dcgan32.yaml.

Same model and step as ganpp: z 100, 64 base channels in G and D, 32x32 Fashion-MNIST padded from 28x28, batch 64,
batch norm, non-saturating loss, Adam 2e-4 (0.5, 0.999), one G forward per step (the G update reuses the D step's
fake batch), D's weight gradients skipped during the G update. Prints the median and spread of the step time.

    /usr/bin/python3 bench/python/dcgan32.py [--steps 60] [--warmup 10] [--threads 2]
"""
import argparse
import gzip
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_fashion(n):
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb") as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    x = torch.zeros(len(data), 1, 32, 32)
    x[:, :, 2:30, 2:30] = torch.from_numpy(data.astype(np.float32))
    return x / 127.5 - 1


def generator(z=100, c=64):
    return nn.Sequential(
        nn.ConvTranspose2d(z, c * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(c * 4), nn.ReLU(True),
        nn.ConvTranspose2d(c * 4, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.ReLU(True),
        nn.ConvTranspose2d(c * 2, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
        nn.ConvTranspose2d(c, 1, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(c=64):
    return nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(c * 2, c * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(c * 4, 1, 4, 1, 0, bias=False), nn.Flatten(0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    data = load_fashion(64 * (a.steps + a.warmup)).to(dev)
    g, d = generator().to(dev), discriminator().to(dev)
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    times = []
    for step in range(a.steps + a.warmup):
        t0 = time.perf_counter()
        real = data[step * 64:(step + 1) * 64]
        fake = g(torch.randn(64, 100, 1, 1, device=dev))
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        od.zero_grad(set_to_none=False)
        loss_d.backward()
        od.step()
        for p in d.parameters():
            p.requires_grad_(False)
        loss_g = F.softplus(-d(fake)).mean()
        og.zero_grad(set_to_none=False)
        loss_g.backward()
        for p in d.parameters():
            p.requires_grad_(True)
        og.step()
        loss_d.item(), loss_g.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    ms = [t * 1000 for t in times]
    q = statistics.quantiles(ms, n=4)
    print(f"pytorch-python dcgan32: median {statistics.median(ms):.1f} ms/step (IQR {q[0]:.1f}-{q[2]:.1f}), "
          f"{1000 / statistics.median(ms):.2f} it/s, torch {torch.__version__}, {a.threads} threads")


if __name__ == "__main__":
    main()
