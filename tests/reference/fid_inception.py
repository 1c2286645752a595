#!/usr/bin/python3
"""Independent reference for ganpp's FID Inception-v3 feature extractor.

What it computes
    pytorch-fid's FID Inception-v3 (`fid_inception_v3`) built from torchvision's
    `Inception3(num_classes=1008, aux_logits=False, transform_input=False,
    init_weights=False)` with the FID patches:
      * Mixed_5b/5c/5d  -> InceptionA with avg_pool2d(3, 1, 1, count_include_pad=False) in the pool branch
      * Mixed_6b..6e    -> InceptionC with the same pool change
      * Mixed_7b        -> InceptionE with the same pool change (pytorch-fid's FIDInceptionE_1)
      * Mixed_7c        -> InceptionE with max_pool2d(3, 1, 1) in the pool branch (FIDInceptionE_2)
      * Mixed_6a, 7a unchanged. BasicConv2d = conv (no bias) -> BN(eps=1e-3) -> ReLU.
    Forward = pytorch-fid InceptionV3, output block 3 (pool3):
      x in [0,1], [N,3,H,W] -> F.interpolate(size=(299,299), bilinear, align_corners=False)
      -> 2x-1 -> Conv2d_1a, 2a, 2b -> max_pool(3, s2) -> Conv2d_3b, 4a -> max_pool(3, s2)
      -> Mixed_5b..7c -> adaptive_avg_pool2d(1) -> pool3 [N,2048]
    logits = pool3 @ fc.weight^T  (no bias: torch-fidelity's convention) -> [N,1008]
    Eval mode, float32, torch.no_grad().

Usage (always Debian's interpreter, which has torch/torchvision):
    /usr/bin/python3 tests/reference/fid_inception.py --weights W.npz --input IN.npz --out OUT.npz \
        [--resize {bilinear,none}] [--threads T]
        W.npz   float32 arrays keyed by the network's state_dict names (pytorch-fid layout,
                e.g. Conv2d_1a_3x3.conv.weight, Conv2d_1a_3x3.bn.running_var, ..., fc.weight, fc.bias);
                loaded strictly, except that `*.num_batches_tracked` keys are ignored whether
                present or missing.
        IN.npz  `x` float32 [N,3,H,W] in [0,1].  --resize none skips the interpolation (input is
                expected to be 299x299 already; other sizes >= 75 still run, with a warning) but
                still applies 2x-1.
        OUT.npz `pool3` float32 [N,2048], `logits` float32 [N,1008].
    /usr/bin/python3 tests/reference/fid_inception.py --make-weights W.npz [--seed S] [--gain G]
        Writes a random, well-scaled weight file for this architecture: conv weights
        N(0, G^2/fan_in) with G = sqrt(2) by default (pool3 RMS ~10 for uniform-noise input),
        BN weight U(0.5,1.5), bias N(0,0.1), running_mean N(0,0.1), running_var U(0.5,1.5),
        fc.weight N(0, 0.01^2), fc.bias 0; drawn from numpy RandomState(S) in state_dict order.
    /usr/bin/python3 tests/reference/fid_inception.py --dump-keys
        Prints `name shape` (shape as AxBxC) for every state_dict key in state_dict order,
        num_batches_tracked keys omitted (this is tests/reference/fid_inception_keys.txt).
"""

import argparse
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.models.inception as tvi


# --------------------------------------------------------------------------------------------
# FID-patched Inception blocks. They inherit the submodules (and hence the state_dict names)
# of torchvision's blocks and only replace the forward pass.
# --------------------------------------------------------------------------------------------

def _avg_pool_tf(x):
    # TensorFlow's average pool does not count padded zeros.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FidInceptionA(tvi.InceptionA):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([b1, b5, bd, bp], 1)


class FidInceptionC(tvi.InceptionC):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                  self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        bp = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([b1, b7, bd, bp], 1)


class FidInceptionE(tvi.InceptionE):
    """pool='avg' -> pytorch-fid FIDInceptionE_1 (Mixed_7b); pool='max' -> FIDInceptionE_2 (Mixed_7c)."""

    def __init__(self, in_channels, pool):
        super().__init__(in_channels)
        assert pool in ("avg", "max")
        self.pool_kind = pool

    def forward(self, x):
        b1 = self.branch1x1(x)
        t = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
        t = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(t), self.branch3x3dbl_3b(t)], 1)
        if self.pool_kind == "avg":
            p = _avg_pool_tf(x)
        else:
            p = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        bp = self.branch_pool(p)
        return torch.cat([b1, b3, bd, bp], 1)


def build_fid_inception():
    # init_weights=False: with the default (None) torchvision 0.14 emits a FutureWarning and runs
    # a slow truncated-normal init that we would overwrite anyway.
    net = tvi.Inception3(num_classes=1008, aux_logits=False, transform_input=False,
                         init_weights=False)
    net.Mixed_5b = FidInceptionA(192, pool_features=32)
    net.Mixed_5c = FidInceptionA(256, pool_features=64)
    net.Mixed_5d = FidInceptionA(288, pool_features=64)
    net.Mixed_6b = FidInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FidInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FidInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FidInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FidInceptionE(1280, pool="avg")
    net.Mixed_7c = FidInceptionE(2048, pool="max")
    net.eval()
    return net


def param_keys(net):
    """(name, shape) for every state_dict entry except num_batches_tracked, in state_dict order."""
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")]


def forward_pool3_logits(net, x, resize):
    """pytorch-fid InceptionV3 forward up to block 3 (pool3), plus logits = pool3 @ fc.weight^T."""
    if resize == "bilinear":
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    x = net.Conv2d_1a_3x3(x)
    x = net.Conv2d_2a_3x3(x)
    x = net.Conv2d_2b_3x3(x)
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    x = net.Conv2d_3b_1x1(x)
    x = net.Conv2d_4a_3x3(x)
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                 "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
        x = getattr(net, name)(x)
    pool3 = F.adaptive_avg_pool2d(x, output_size=1).flatten(1)
    logits = pool3 @ net.fc.weight.t()
    return pool3, logits


def load_weights(net, path):
    with np.load(path) as f:
        given = {k: f[k] for k in f.files}
    expected = dict(param_keys(net))
    given_keys = {k for k in given if not k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in given_keys]
    unexpected = sorted(k for k in given_keys if k not in expected)
    bad_shape = [(k, tuple(given[k].shape), expected[k]) for k in expected
                 if k in given_keys and tuple(given[k].shape) != expected[k]]
    if missing or unexpected or bad_shape:
        msg = ["weight file %s does not match the FID Inception-v3 layout:" % path]
        if missing:
            msg.append("  missing keys (%d): %s" % (len(missing), ", ".join(missing)))
        if unexpected:
            msg.append("  unexpected keys (%d): %s" % (len(unexpected), ", ".join(unexpected)))
        for k, g, e in bad_shape:
            msg.append("  shape mismatch %s: file %s, expected %s" % (k, g, e))
        sys.exit("\n".join(msg))
    sd = {k: torch.from_numpy(np.ascontiguousarray(given[k], dtype=np.float32)) for k in expected}
    # strict=False only because num_batches_tracked is absent; every other key was checked above.
    res = net.load_state_dict(sd, strict=False)
    leftover = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    if leftover or res.unexpected_keys:
        sys.exit("internal key mismatch: missing %s unexpected %s" % (leftover, res.unexpected_keys))


def make_weights(net, path, seed, gain=np.sqrt(2.0)):
    rng = np.random.RandomState(seed)
    out = {}
    for k, shape in param_keys(net):
        if k == "fc.weight":
            a = rng.normal(0.0, 0.01, size=shape)
        elif k == "fc.bias":
            a = np.zeros(shape)
        elif k.endswith(".conv.weight"):
            fan_in = int(np.prod(shape[1:]))
            a = rng.normal(0.0, gain / np.sqrt(fan_in), size=shape)  # He init when gain = sqrt(2)
        elif k.endswith(".bn.weight"):
            a = rng.uniform(0.5, 1.5, size=shape)
        elif k.endswith(".bn.bias"):
            a = rng.normal(0.0, 0.1, size=shape)
        elif k.endswith(".bn.running_mean"):
            a = rng.normal(0.0, 0.1, size=shape)
        elif k.endswith(".bn.running_var"):
            a = rng.uniform(0.5, 1.5, size=shape)
        else:
            sys.exit("make-weights: no rule for key %s" % k)
        out[k] = a.astype(np.float32)
    np.savez(path, **out)
    counts = {}
    for k, shape in param_keys(net):
        kind = k.rsplit(".", 2)
        kind = ".".join(kind[-2:]) if k.startswith(("Conv2d", "Mixed")) else k
        counts[kind] = counts.get(kind, 0) + 1
    n_params = sum(int(np.prod(s)) for _, s in param_keys(net))
    print("wrote %s: %d arrays, %d scalars (seed %d, conv gain %g)" % (path, len(out), n_params, seed, gain))
    for kind in sorted(counts):
        print("  %-18s %d" % (kind, counts[kind]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights")
    ap.add_argument("--input")
    ap.add_argument("--out")
    ap.add_argument("--resize", choices=["bilinear", "none"], default="bilinear")
    ap.add_argument("--make-weights", metavar="W.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gain", type=float, default=float(np.sqrt(2.0)),
                    help="--make-weights: conv weight std = gain/sqrt(fan_in) (default sqrt(2))")
    ap.add_argument("--dump-keys", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    net = build_fid_inception()

    if a.dump_keys:
        for k, s in param_keys(net):
            print("%s %s" % (k, "x".join(str(d) for d in s)))
        return
    if a.make_weights:
        make_weights(net, a.make_weights, a.seed, a.gain)
        return
    if not (a.weights and a.input and a.out):
        ap.error("need --weights, --input and --out (or --make-weights / --dump-keys)")

    load_weights(net, a.weights)
    with np.load(a.input) as f:
        if "x" not in f.files:
            sys.exit("input %s has no array 'x' (has: %s)" % (a.input, ", ".join(f.files)))
        x = np.ascontiguousarray(f["x"], dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 3:
        sys.exit("input x must be [N,3,H,W], got %s" % (x.shape,))
    if a.resize == "none" and x.shape[2:] != (299, 299):
        print("warning: --resize none with %dx%d input (pytorch-fid feeds 299x299)"
              % x.shape[2:], file=sys.stderr)
    t0 = time.time()
    with torch.no_grad():
        pool3, logits = forward_pool3_logits(net, torch.from_numpy(x), a.resize)
    dt = time.time() - t0
    pool3 = pool3.numpy().astype(np.float32)
    logits = logits.numpy().astype(np.float32)
    np.savez(a.out, pool3=pool3, logits=logits)
    print("wrote %s: pool3 %s logits %s (N=%d, resize=%s, forward %.2fs)"
          % (a.out, pool3.shape, logits.shape, x.shape[0], a.resize, dt))


if __name__ == "__main__":
    main()
