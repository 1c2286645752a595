#!/usr/bin/python3
"""Independent reference for ganpp's feature-space metrics: FID, KID, IS, precision/recall,
density/coverage. Follows /work/shared/PROTOCOLS.md ("FID, KID, IS" and "Precision / recall /
density / coverage"). Everything is computed in float64 with numpy/scipy.

Usage (Debian's interpreter; it has numpy and scipy):
    /usr/bin/python3 tests/reference/metrics_reference.py --features F.npz --out OUT.json \
        [--kid-subset-size S] [--kid-subsets K] [--kid-seed 123] [--is-splits 10] \
        [--is-split-style {array_split,floor}] [--pr-k 3] [--dc-k 5] [--metrics fid,kid,is,prdc]
    F.npz: `real` [N,D], `fake` [M,D] (float32 or float64); optional `logits` [M,C] for IS.
    The JSON written to OUT.json is also printed to stdout (floats with full repr precision).
    Keys: n_real n_fake dim | fid fid_eig fid_mean_term fid_trace_real fid_trace_fake
    fid_trace_sqrt fid_trace_sqrt_eig [fid_note] [fid_error] | kid_mean kid_std kid_full
    kid_subset_size kid_subsets kid_seed | (only with logits) is_mean is_std is_scores is_splits
    is_split_style | precision recall precision_count recall_count pr_k density coverage
    density_count coverage_count dc_k.  --metrics drops whole groups.

Conventions (X = real, Y = fake)
  FID   `fid`: pytorch-fid's calculate_frechet_distance: mu = mean, C = np.cov(rowvar=False) (N-1),
        covmean = scipy.linalg.sqrtm(C1 @ C2, disp=False); if not finite, retry with eps=1e-6 added
        to both diagonals; complex results keep the real part (pytorch-fid raises if the diagonal's
        imaginary part exceeds 1e-3: then `fid` is null and `fid_error` says why).
        fid = |mu1-mu2|^2 + tr C1 + tr C2 - 2 tr covmean.
        `fid_eig`: same, but tr (C1 C2)^1/2 = sum sqrt(max(lambda,0)) over the eigenvalues of the
        symmetric matrix sqrt(C1) C2 sqrt(C1) (scipy.linalg.eigh; sqrt(C1) from eigh of C1 with
        eigenvalues clipped at 0). This is the definition PROTOCOLS.md asks ganpp to implement.
        Also reported: fid_mean_term, fid_trace_real, fid_trace_fake, fid_trace_sqrt (sqrtm),
        fid_trace_sqrt_eig.
  KID   k(x,y) = (x.y/d + 1)^3. Unbiased MMD^2 of sets of sizes n, m:
            sum_{i!=j} k(x_i,x_j)/(n(n-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1)) - 2 sum_ij k(x_i,y_j)/(nm)
        (for n = m this is torch-fidelity's mmd2(..., 'unbiased')).
        Subsets: S = min(1000, N, M) by default (a larger S is clamped with a warning), K = 50;
        rng = numpy RandomState(kid_seed=123); for each subset, as torch-fidelity does with
        input1 = generated: fake_idx = rng.choice(M, S, replace=False), then
        real_idx = rng.choice(N, S, replace=False).  (torch-fidelity's default seed is 2020.)
        kid_mean = mean, kid_std = np.std with ddof=0 (torch-fidelity's convention) over subsets.
        `kid_full`: the unbiased MMD^2 of all N real vs all M fake samples (no sampling,
        deterministic) -- ganpp's tests compare against this.
  IS    p = softmax(logits) in float64 (log p via log-sum-exp); rows split into `is_splits`
        contiguous chunks, in the given row order (no shuffling; torch-fidelity shuffles by default).
        --is-split-style array_split (default): np.array_split semantics, i.e. the first M % splits
        chunks get one extra row.  floor: torch-fidelity's boundaries [i*M//s, (i+1)*M//s).
        Per chunk: exp(mean_x KL(p(y|x) || p(y))), p(y) = mean of p(y|x) over the chunk, terms with
        p(y|x) = 0 count as 0.  is_mean, is_std = np.mean / np.std (ddof=0) over chunks.
  P/R   Improved precision & recall (Kynkaenniemi et al. 2019), k = pr_k = 3: r_i^2 = squared
        distance from real x_i to its k-th nearest real neighbour, itself excluded (duplicates of
        x_i do count as neighbours). precision_count = #{fake y : exists i, |y - x_i|^2 <= r_i^2},
        precision = precision_count / M. recall: roles swapped (radii from fake-fake distances),
        recall_count over real points, recall = recall_count / N.
  D/C   Density & coverage (Naeem et al. 2020), k = dc_k = 5, plain Euclidean, strict '<':
        R_i = NND_k(x_i) (k-th nearest real neighbour, itself excluded).
        density_count = sum_j sum_i 1[|y_j - x_i| < R_i], density = density_count / (k M);
        coverage_count = #{i : exists j, |y_j - x_i| < R_i}, coverage = coverage_count / N.
  All distances are compared as squared distances (d^2 < R^2, which is equivalent to d < R),
  computed blockwise in float64 as |a|^2 + |b|^2 - 2 a.b (clipped at 0) after subtracting the
  real mean from both sets (distances are translation invariant; centering reduces cancellation).
  Memory stays O(block * max(N, M)), so 10,000 x 10,000 fits easily. Realism is not computed.
"""

import argparse
import json
import sys
import warnings

import numpy as np
import scipy.linalg

BLOCK = 1024


# ------------------------------------------------------------------------------------- FID ---

def fid_pytorch_fid(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance (sqrtm of the non-symmetric product)."""
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    note = None
    if not np.isfinite(covmean).all():
        note = "singular product; added %g to the diagonals" % eps
        off = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + off).dot(s2 + off))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component %g" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    tr_covmean = float(np.trace(covmean))
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * tr_covmean), tr_covmean, note


def trace_sqrt_product_eig(s1, s2):
    """tr (C1 C2)^1/2 via the eigenvalues of the symmetric PSD matrix sqrt(C1) C2 sqrt(C1)."""
    w, v = scipy.linalg.eigh(s1)
    sq1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = sq1 @ s2 @ sq1
    m = 0.5 * (m + m.T)
    lam = scipy.linalg.eigh(m, eigvals_only=True)
    return float(np.sqrt(np.clip(lam, 0, None)).sum())


def compute_fid(real, fake, method="both"):
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1 = np.atleast_2d(np.cov(real, rowvar=False))
    s2 = np.atleast_2d(np.cov(fake, rowvar=False))
    diff = mu1 - mu2
    out = {
        "fid_mean_term": float(diff.dot(diff)),
        "fid_trace_real": float(np.trace(s1)),
        "fid_trace_fake": float(np.trace(s2)),
    }
    try:
        fid, trs, note = fid_pytorch_fid(mu1, s1, mu2, s2)
        out["fid"] = fid
        out["fid_trace_sqrt"] = trs
        if note:
            out["fid_note"] = note
            print("fid: " + note, file=sys.stderr)
    except (ValueError, np.linalg.LinAlgError) as e:
        out["fid"] = None
        out["fid_trace_sqrt"] = None
        out["fid_error"] = str(e)
        print("fid (sqrtm) failed: %s" % e, file=sys.stderr)
    if method == "both":
        tre = trace_sqrt_product_eig(s1, s2)
        out["fid_trace_sqrt_eig"] = tre
        out["fid_eig"] = float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * tre)
    return out


# ------------------------------------------------------------------------------------- KID ---

def _kernel_sum(a, b, same):
    """sum_{i,j} (a_i.b_j/d + 1)^3, excluding i == j when `same` (a is b). Blockwise."""
    d = a.shape[1]
    total = 0.0
    for s in range(0, a.shape[0], BLOCK):
        k = (a[s:s + BLOCK] @ b.T / d + 1.0) ** 3
        if same:
            r = np.arange(k.shape[0])
            k[r, s + r] = 0.0
        total += k.sum()
    return total


def mmd2_unbiased(x, y):
    n, m = x.shape[0], y.shape[0]
    kxx = _kernel_sum(x, x, True)
    kyy = _kernel_sum(y, y, True)
    kxy = _kernel_sum(x, y, False)
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (n * m)


def compute_kid(real, fake, subset_size, subsets, seed):
    n, m = real.shape[0], fake.shape[0]
    s_max = min(n, m)
    if subset_size is None:
        subset_size = min(1000, s_max)
    elif subset_size > s_max:
        print("warning: KID subset size %d clamped to %d (sample count)" % (subset_size, s_max),
              file=sys.stderr)
        subset_size = s_max
    rng = np.random.RandomState(seed)
    mmds = np.zeros(subsets)
    for i in range(subsets):
        fi = rng.choice(m, subset_size, replace=False)  # input1 = generated first (torch-fidelity)
        ri = rng.choice(n, subset_size, replace=False)
        mmds[i] = mmd2_unbiased(real[ri], fake[fi])
    return {
        "kid_mean": float(np.mean(mmds)),
        "kid_std": float(np.std(mmds)),  # ddof=0, as torch-fidelity
        "kid_full": float(mmd2_unbiased(real, fake)),
        "kid_subset_size": int(subset_size),
        "kid_subsets": int(subsets),
        "kid_seed": int(seed),
    }


# -------------------------------------------------------------------------------------- IS ---

def compute_is(logits, splits, style):
    logits = np.asarray(logits, dtype=np.float64)
    mx = logits.max(axis=1, keepdims=True)
    log_p = logits - mx - np.log(np.exp(logits - mx).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    n = p.shape[0]
    if style == "array_split":
        chunks = np.array_split(np.arange(n), splits)
    else:
        chunks = [np.arange(i * n // splits, (i + 1) * n // splits) for i in range(splits)]
    scores = []
    for idx in chunks:
        if len(idx) == 0:
            raise SystemExit("IS: a split is empty (M=%d < splits=%d)" % (n, splits))
        pc, lpc = p[idx], log_p[idx]
        py = pc.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(pc > 0, pc * (lpc - np.log(py)), 0.0)
        scores.append(float(np.exp(terms.sum(axis=1).mean())))
    return {
        "is_mean": float(np.mean(scores)),
        "is_std": float(np.std(scores)),  # ddof=0, as torch-fidelity
        "is_splits": int(splits),
        "is_split_style": style,
        "is_scores": scores,
    }


# ------------------------------------------------------------------------------------ PRDC ---

def _sqdist(a, b, a2, b2):
    d = a2[:, None] + b2[None, :] - 2.0 * (a @ b.T)
    np.maximum(d, 0.0, out=d)
    return d


def kth_nn_sqdist(x, k):
    """Squared distance of every row of x to its k-th nearest other row (itself excluded)."""
    n = x.shape[0]
    if n <= k:
        raise SystemExit("need more than k=%d samples per set for k-NN radii, got %d" % (k, n))
    x2 = (x * x).sum(axis=1)
    out = np.empty(n)
    for s in range(0, n, BLOCK):
        d = _sqdist(x[s:s + BLOCK], x, x2[s:s + BLOCK], x2)
        r = np.arange(d.shape[0])
        d[r, s + r] = np.inf
        out[s:s + BLOCK] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out


def compute_prdc(real, fake, pr_k, dc_k):
    c = real.mean(axis=0)
    x, y = real - c, fake - c
    n, m = x.shape[0], y.shape[0]
    r_pr = kth_nn_sqdist(x, pr_k)                       # real radii^2 for precision
    f_pr = kth_nn_sqdist(y, pr_k)                       # fake radii^2 for recall
    r_dc = r_pr if dc_k == pr_k else kth_nn_sqdist(x, dc_k)  # real radii^2 for density/coverage
    x2, y2 = (x * x).sum(axis=1), (y * y).sum(axis=1)
    prec = np.zeros(m, dtype=bool)
    rec = np.zeros(n, dtype=bool)
    cov = np.zeros(n, dtype=bool)
    dens = 0
    for s in range(0, m, BLOCK):
        d = _sqdist(y[s:s + BLOCK], x, y2[s:s + BLOCK], x2)   # [fake block, real]
        prec[s:s + BLOCK] = (d <= r_pr[None, :]).any(axis=1)
        rec |= (d <= f_pr[s:s + BLOCK, None]).any(axis=0)
        inside = d < r_dc[None, :]
        dens += int(inside.sum())
        cov |= inside.any(axis=0)
    return {
        "precision": float(prec.sum() / m),
        "recall": float(rec.sum() / n),
        "precision_count": int(prec.sum()),
        "recall_count": int(rec.sum()),
        "pr_k": int(pr_k),
        "density": float(dens / (dc_k * m)),
        "coverage": float(cov.sum() / n),
        "density_count": int(dens),
        "coverage_count": int(cov.sum()),
        "dc_k": int(dc_k),
    }


# ------------------------------------------------------------------------------------ main ---

def main():
    ap = argparse.ArgumentParser(description="FID/KID/IS/PRDC reference (see module docstring)")
    ap.add_argument("--features", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--kid-subset-size", type=int, default=None)
    ap.add_argument("--kid-subsets", type=int, default=50)
    ap.add_argument("--kid-seed", type=int, default=123)
    ap.add_argument("--is-splits", type=int, default=10)
    ap.add_argument("--is-split-style", choices=["array_split", "floor"], default="array_split")
    ap.add_argument("--pr-k", type=int, default=3)
    ap.add_argument("--dc-k", type=int, default=5)
    ap.add_argument("--fid-method", choices=["both", "sqrtm"], default="both",
                    help="both: pytorch-fid's sqrtm FID and the eigenvalue form (fid_eig); sqrtm: pytorch-fid's only")
    ap.add_argument("--metrics", default="fid,kid,is,prdc",
                    help="comma-separated subset of fid,kid,is,prdc")
    a = ap.parse_args()
    want = set(t.strip() for t in a.metrics.split(",") if t.strip())
    bad = want - {"fid", "kid", "is", "prdc"}
    if bad:
        ap.error("unknown metrics: %s" % ", ".join(sorted(bad)))

    with np.load(a.features) as f:
        for key in ("real", "fake"):
            if key not in f.files:
                sys.exit("%s has no array '%s' (has: %s)" % (a.features, key, ", ".join(f.files)))
        real = np.asarray(f["real"], dtype=np.float64)
        fake = np.asarray(f["fake"], dtype=np.float64)
        logits = np.asarray(f["logits"], dtype=np.float64) if "logits" in f.files else None
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        sys.exit("real/fake must be [N,D] and [M,D], got %s and %s" % (real.shape, fake.shape))

    res = {"n_real": int(real.shape[0]), "n_fake": int(fake.shape[0]), "dim": int(real.shape[1])}
    if "fid" in want:
        res.update(compute_fid(real, fake, a.fid_method))
    if "kid" in want:
        res.update(compute_kid(real, fake, a.kid_subset_size, a.kid_subsets, a.kid_seed))
    if "is" in want and logits is not None:
        if logits.ndim != 2 or logits.shape[0] != fake.shape[0]:
            print("warning: logits %s do not have one row per fake sample (M=%d)"
                  % (logits.shape, fake.shape[0]), file=sys.stderr)
        res.update(compute_is(logits, a.is_splits, a.is_split_style))
    if "prdc" in want:
        res.update(compute_prdc(real, fake, a.pr_k, a.dc_k))

    text = json.dumps(res, indent=1, allow_nan=False)
    with open(a.out, "w") as fo:
        fo.write(text + "\n")
    print(text)


if __name__ == "__main__":
    warnings.simplefilter("default")
    main()
