#!/usr/bin/python3
"""A stand-in for NVIDIA's TorchScript Inception (inception-2015-12-05.pt), which cannot be downloaded here.

It has the same calling convention as the StyleGAN2-ADA metrics use it: forward(img, return_features) where img is a
uint8 tensor [N, 3, H, W] of any size (grey images repeated to 3 channels by the caller) and the result is a float32
feature matrix [N, F]. The module asserts the dtype and channel count, so a caller that gets the protocol wrong fails.

  torchscript_detector.py make OUT.pt
      script and save the module (fixed random projection of 4x4 average-pooled pixels, 64-d features)
  torchscript_detector.py check MODEL.pt REAL_DIR FAKE_DIR FEATURES.npz
      load every image of each folder (sorted by name) with torchvision, run the module, and compare with the
      arrays 'real' and 'fake' of FEATURES.npz (relative error <= 1e-5); exit status 0 when they agree.
Runs with Debian's python3-torch and python3-torchvision.
"""
import os
import sys

import numpy as np
import torch
import torchvision.io


class Detector(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.proj = torch.nn.Parameter(torch.randn(3 * 4 * 4, 64, generator=g))

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert img.dtype == torch.uint8, "expects uint8 images"
        assert img.shape[1] == 3, "expects 3 channels"
        x = torch.nn.functional.adaptive_avg_pool2d(img.to(torch.float32), [4, 4]).flatten(1) / 255.0
        f = x @ self.proj
        if return_features:
            return f
        return torch.softmax(f, 1)


def features(model, folder):
    imgs = []
    for name in sorted(os.listdir(folder)):
        t = torchvision.io.read_image(os.path.join(folder, name))
        if t.shape[0] == 1:
            t = t.repeat(3, 1, 1)
        imgs.append(t)
    with torch.no_grad():
        return model(torch.stack(imgs), return_features=True).numpy()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        torch.jit.script(Detector()).save(sys.argv[2])
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "check":
        model = torch.jit.load(sys.argv[2])
        saved = np.load(sys.argv[5])
        ok = True
        for key, folder in (("real", sys.argv[3]), ("fake", sys.argv[4])):
            want, got = features(model, folder), saved[key]
            if want.shape != got.shape:
                print("%s: shape %s, expected %s" % (key, got.shape, want.shape))
                ok = False
                continue
            err = float(np.max(np.abs(want - got)) / max(1e-12, float(np.max(np.abs(want)))))
            print("%s: %d x %d, max relative error %.3g" % (key, got.shape[0], got.shape[1], err))
            ok = ok and err <= 1e-5
        return 0 if ok else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
