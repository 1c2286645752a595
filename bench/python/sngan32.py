#!/usr/bin/python3
"""SNGAN-ResNet training step in PyTorch (Debian's python3-torch), the baseline for ganpp's configs/bench-sngan32.yaml.

The same networks as ganpp's model.name=resnet at 32x32 (src/models/resnet.cpp): G = linear z(128) -> 4x4x32, three
residual up blocks (BN-ReLU-nearest x2-conv3, BN-ReLU-conv3, shortcut conv1 of the upsampled input), BN-ReLU-conv3 ->
tanh; D = down block (first: conv3, ReLU, conv3, avgpool; shortcut conv1 of the pooled input), down block (ReLU-conv3,
ReLU-conv3, avgpool; shortcut avgpool of conv1), two plain blocks (identity shortcut), ReLU, sum over pixels, linear;
spectral norm (one power iteration per forward) on every D layer; Xavier init (gain sqrt 2 in residual branches).
Hinge loss, Adam 2e-4 (0, 0.9), batch 64, one G forward per step, no D weight gradients in the G update.

    /usr/bin/python3 bench/python/sngan32.py [--steps 40] [--warmup 5] [--threads 2]
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from dcgan32 import load_fashion


def conv(i, o, k, gain, sn):
    c = nn.Conv2d(i, o, k, padding=k // 2)
    nn.init.xavier_uniform_(c.weight, gain)
    nn.init.zeros_(c.bias)
    return spectral_norm(c) if sn else c


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c), nn.BatchNorm2d(c)
        self.c1, self.c2, self.sc = conv(c, c, 3, math.sqrt(2), False), conv(c, c, 3, math.sqrt(2), False), conv(c, c, 1, 1.0, False)

    def forward(self, x):
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
        h = self.c1(up(F.relu(self.bn1(x))))
        h = self.c2(F.relu(self.bn2(h)))
        return h + self.sc(up(x))


class Down(nn.Module):
    def __init__(self, i, o, down, first):
        super().__init__()
        self.down, self.first, self.learn = down, first, i != o or down
        self.c1, self.c2 = conv(i, o, 3, math.sqrt(2), True), conv(o, o, 3, math.sqrt(2), True)
        if self.learn:
            self.sc = conv(i, o, 1, 1.0, True)

    def forward(self, x):
        h = self.c1(x if self.first else F.relu(x))
        h = self.c2(F.relu(h))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.learn:
            if self.first:
                s = self.sc(F.avg_pool2d(x, 2) if self.down else x)
            else:
                s = self.sc(x)
                if self.down:
                    s = F.avg_pool2d(s, 2)
        return h + s


class G(nn.Module):
    def __init__(self, z=128, c=32):
        super().__init__()
        self.c = c
        self.fc = nn.Linear(z, c * 16)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)
        self.blocks = nn.Sequential(Up(c), Up(c), Up(c))
        self.bn, self.out = nn.BatchNorm2d(c), conv(c, 1, 3, 1.0, False)

    def forward(self, z):
        h = self.blocks(self.fc(z).view(-1, self.c, 4, 4))
        return torch.tanh(self.out(F.relu(self.bn(h))))


class D(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.blocks = nn.Sequential(Down(1, c, True, True), Down(c, c, True, False), Down(c, c, False, False),
                                    Down(c, c, False, False))
        fc = nn.Linear(c, 1)
        nn.init.xavier_uniform_(fc.weight)
        nn.init.zeros_(fc.bias)
        self.fc = spectral_norm(fc)

    def forward(self, x):
        return self.fc(F.relu(self.blocks(x)).sum((2, 3))).view(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    data = load_fashion(64 * (a.steps + a.warmup))
    g, d = G(), D()
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.0, 0.9))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.0, 0.9))
    times = []
    for step in range(a.steps + a.warmup):
        t0 = time.perf_counter()
        real = data[step * 64:(step + 1) * 64]
        fake = g(torch.randn(64, 128))
        loss_d = F.relu(1 - d(real)).mean() + F.relu(1 + d(fake.detach())).mean()
        od.zero_grad(set_to_none=False)
        loss_d.backward()
        od.step()
        for p in d.parameters():
            p.requires_grad_(False)
        loss_g = -d(fake).mean()
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
    print(f"pytorch-python sngan32: median {statistics.median(ms):.1f} ms/step (IQR {q[0]:.1f}-{q[2]:.1f}), "
          f"{1000 / statistics.median(ms):.2f} it/s, torch {torch.__version__}, {a.threads} threads")


if __name__ == "__main__":
    main()
