"""numpy reference of sinter-sparsify-ffn's dynamic mode (nn.sparse_ffn), in
float64: per row of x, the chosen neurons i contribute h_i · W_d[i], with

    h_i = σ(x·W_u[:, i] + b_u[i])                      (non-gated)
    h_i = σ(x·W_g[:, i] + b_g[i]) · (x·W_u[:, i] + b_u[i])   (gated)

chosen as the `kept` largest predictor logits (x·A)·B + c, ties to the lower
index, or, without a predictor, those with |h_i| > threshold."""
import math

import numpy as np

_erf = np.vectorize(math.erf)


def activation(z, kind):
    if kind == "gelu":
        return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))
    if kind == "silu":
        return z / (1.0 + np.exp(-z))
    return np.maximum(z, 0.0)


def sparse_ffn(x, wu, bu, wd, bd, kind, wg=None, bg=None, predictor=None, kept=0, threshold=0.0, margin=1e-4):
    """(output [rows, d_out], ambiguous [rows]): `ambiguous` marks rows whose
    choice is within `margin` of a tie, where float32 sums may choose
    otherwise. `predictor` is (A [d, r], B [r, h], c [h]); biases may be None."""
    x = np.asarray(x, dtype=np.float64)
    h_dim = wu.shape[1]
    zero = np.zeros(h_dim)
    z = x @ wu + (zero if bu is None else bu)
    if wg is None:
        h = activation(z, kind)
    else:
        h = activation(x @ wg + (zero if bg is None else bg), kind) * z
    if predictor is not None:
        a, b, c = predictor
        logits = (x @ a) @ b + c
        order = np.argsort(-logits, axis=1, kind="stable")
        keep = np.zeros_like(h, dtype=bool)
        np.put_along_axis(keep, order[:, :kept], True, axis=1)
        sorted_logits = np.take_along_axis(logits, order, axis=1)
        ambiguous = sorted_logits[:, kept - 1] - sorted_logits[:, kept] < margin if kept < h_dim else \
            np.zeros(len(x), dtype=bool)
    else:
        keep = np.abs(h) > threshold
        ambiguous = (np.abs(np.abs(h) - threshold) < margin).any(axis=1)
    out = (h * keep) @ wd + (0.0 if bd is None else bd)
    return out, ambiguous
