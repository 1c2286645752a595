#!/usr/bin/python3
"""2-D mixture MLP GAN training step in PyTorch (Debian's python3-torch), the baseline for configs/bench-mlp2d.yaml.

Same model and step as ganpp: G z(2) -> 3 x [Linear 256 (--hidden) + ReLU] -> Linear 2; D 2 -> 3 x [Linear 256 +
LeakyReLU(0.2)] -> Linear 1; batch 500 (--batch) from 100,000 samples of the 25-Gaussian grid (spacing 2, sigma 0.05),
reshuffled each epoch; non-saturating loss; Adam 5e-4 (0.5, 0.999); one G forward per step (the G update reuses
the D step's fake batch), D's weight gradients skipped during the G update; EMA of G (0.99) after every step;
both losses read back every step (as ganpp's NaN check does). Prints the median and spread of the step time.

    /usr/bin/python3 bench/python/mlp2d.py [--steps 600] [--warmup 50] [--threads 2] [--batch 500] [--hidden 256]
"""
import argparse
import copy
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(i, h, o, act):
    layers = []
    for _ in range(3):
        layers += [nn.Linear(i, h), act()]
        i = h
    return nn.Sequential(*layers, nn.Linear(i, o))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--hidden", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    centres = torch.tensor([[x, y] for x in (-4., -2., 0., 2., 4.) for y in (-4., -2., 0., 2., 4.)])
    data = centres[torch.randint(0, 25, (100000,))] + 0.05 * torch.randn(100000, 2)
    g = mlp(2, a.hidden, 2, lambda: nn.ReLU(True))
    d = mlp(2, a.hidden, 1, lambda: nn.LeakyReLU(0.2, True))
    g_ema = copy.deepcopy(g).requires_grad_(False)
    og = torch.optim.Adam(g.parameters(), 5e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 5e-4, betas=(0.5, 0.999))
    bs = a.batch
    perm, pos, times = torch.randperm(100000), 0, []
    for step in range(a.steps + a.warmup):
        t0 = time.perf_counter()
        if pos + bs > 100000:
            perm, pos = torch.randperm(100000), 0
        real = data[perm[pos:pos + bs]]
        pos += bs
        fake = g(torch.randn(bs, 2))
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
        with torch.no_grad():
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.lerp_(p, 0.01)
        loss_d.item(), loss_g.item()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    ms = [t * 1000 for t in times]
    q = statistics.quantiles(ms, n=4)
    print(f"pytorch-python mlp2d: median {statistics.median(ms):.2f} ms/step (IQR {q[0]:.2f}-{q[2]:.2f}), "
          f"{1000 / statistics.median(ms):.1f} it/s, torch {torch.__version__}, {a.threads} threads, batch {bs}, hidden {a.hidden}")


if __name__ == "__main__":
    main()
