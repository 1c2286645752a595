#!/usr/bin/env python3
"""Convert pytorch-fid's Inception weights (pt_inception-2015-12-05-6726825d.pth, a torch state dict) into the
.npz that ganpp loads with `--features inception:FILE.npz`. Run with a python3 that has torch and numpy
(Debian: /usr/bin/python3 with python3-torch):

    /usr/bin/python3 scripts/convert_fid_weights.py pt_inception-2015-12-05-6726825d.pth fid_inception.npz
"""
import sys

import numpy as np
import torch


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    state = torch.load(sys.argv[1], map_location="cpu")
    if not isinstance(state, dict):
        sys.exit(f"{sys.argv[1]}: expected a state dict (pytorch-fid's .pth), got {type(state).__name__}")
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state.items()
              if not k.endswith("num_batches_tracked")}
    if "fc.weight" not in arrays or "Mixed_7c.branch_pool.conv.weight" not in arrays:
        sys.exit(f"{sys.argv[1]}: does not look like pytorch-fid's FID Inception state dict")
    np.savez(sys.argv[2], **arrays)
    print(f"wrote {len(arrays)} arrays to {sys.argv[2]}")


if __name__ == "__main__":
    main()
