"""A numpy reference of FFN linearization (sinter-linearize-ffn, TARDIS):
the same fit, neuron choice, predictor and correction as the compiler, from
the same calibration profile, written independently of its C++ so that tests
can hold the compiled model to it (docs/compression.md)."""
import json
import math

import numpy as np

POINTS_PER_STEP = 8


def activation(kind, z):
    z = np.asarray(z, dtype=np.float64)
    if kind == "gelu":
        erf = np.vectorize(math.erf)
        return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))
    return np.maximum(z, 0.0)


def load_profile(path):
    with open(path) as f:
        p = json.load(f)
    assert p["format"] == "sinter-profile" and p["version"] == 1
    levels = p["levels"]
    layers = {}
    for layer in p["layers"]:
        q = np.asarray(layer["quantiles"], dtype=np.float32).reshape(layer["neurons"], levels)
        layers[layer["name"]] = dict(layer, quantiles=q)
        if "inputs" in layer:
            layers[layer["name"]]["inputs"] = np.asarray(layer["inputs"], np.float32).reshape(-1, layer["input_width"])
    return levels, layers


def _points(q, first, last):
    """The evenly spread points of quantile steps [first, last) and their weight."""
    q = q.astype(np.float64)
    s = (np.arange(POINTS_PER_STEP) + 0.5) / POINTS_PER_STEP
    z = (q[first:last, None] + s[None, :] * (q[first + 1:last + 1, None] - q[first:last, None])).ravel()
    return z, 1.0 / ((len(q) - 1) * POINTS_PER_STEP)


def fit_neuron(q, coverage, kind):
    """(lower, upper, slope, intercept, outside_error) as float32/float64."""
    steps = len(q) - 1
    k = min(max(int(round(coverage * steps)), 1), steps)
    widths = q[k:].astype(np.float64) - q[:steps - k + 1].astype(np.float64)
    best = int(np.argmin(widths))
    z, w = _points(q, best, best + k)
    y = activation(kind, z)
    sw, sz, szz, sy, szy = w * len(z), w * z.sum(), w * (z * z).sum(), w * y.sum(), w * (z * y).sum()
    var = sw * szz - sz * sz
    slope = (sw * szy - sz * sy) / var if var > 1e-12 * sw * szz else 0.0
    slope32 = np.float32(slope)
    intercept32 = np.float32((sy - slope * sz) / sw)
    err = 0.0
    for a, b in ((0, best), (best + k, steps)):
        if b > a:
            zo, wo = _points(q, a, b)
            e = activation(kind, zo) - (np.float64(slope32) * zo + np.float64(intercept32))
            err += wo * (e * e).sum()
    return q[best], q[best + k], slope32, intercept32, err


def quantize_row(w, bits):
    """(levels as float64, scale as float32): the codes' odd levels and scale."""
    top = (1 << bits) - 1
    w = w.astype(np.float64)
    max_abs = np.abs(w).max()
    if max_abs == 0:
        return np.zeros_like(w), np.float32(0)

    def code(scale):
        return np.clip(np.round((w / scale + top) / 2), 0, top)

    best, best_err = max_abs / top, math.inf
    for g in range(1, 41):
        scale = max_abs / top * g / 40.0
        err = ((w - scale * (2 * code(scale) - top)) ** 2).sum()
        if err < best_err:
            best, best_err = scale, err
    scale = np.float32(best)
    return 2 * code(np.float64(scale)) - top, scale


class LinearizedFFN:
    """One FFN (weights as numpy arrays, [d, h] and [h, d_out]) rewritten."""

    def __init__(self, wu, bu, wd, bd, layer, levels, kind, coverage, exact, bits, linear_coverage=0):
        h = wu.shape[1]
        fits = [fit_neuron(layer["quantiles"][i], coverage, kind) for i in range(h)]
        importance = np.array([f[4] for f in fits]) * (wd.astype(np.float64) ** 2).sum(axis=1)
        count = min(int(round(exact * h)), h)
        order = sorted(range(h), key=lambda i: (-importance[i], i))[:count]
        self.exact = sorted(i for i in order if importance[i] > 0)
        # Neurons without an exact path may take a line fitted more widely.
        if linear_coverage and linear_coverage != coverage:
            for i in set(range(h)) - set(self.exact):
                fits[i] = fit_neuron(layer["quantiles"][i], linear_coverage, kind)
        self.lower = np.array([f[0] for f in fits], np.float32)
        self.upper = np.array([f[1] for f in fits], np.float32)
        self.slope = np.array([f[2] for f in fits], np.float32)
        self.intercept = np.array([f[3] for f in fits], np.float32)
        a = self.slope.astype(np.float64)
        self.wf = (wu.astype(np.float64) * a) @ wd.astype(np.float64)
        self.bf = bd.astype(np.float64) + (a * bu + self.intercept) @ wd.astype(np.float64)
        self.wu, self.bu, self.wd, self.kind, self.bits = wu, bu, wd, kind, bits
        self.pred = [quantize_row(wu[:, i], bits) for i in self.exact]

    def __call__(self, x, margin=1e-5):
        """Rows of x → (output, ambiguous): `ambiguous` marks rows where an
        estimate lies within `margin` (relative) of its range's bound, where
        float rounding may decide either way; both outcomes are returned."""
        x = x.astype(np.float64)
        base = x @ self.wf + self.bf
        outs = [base.copy(), base.copy()]
        ambiguous = np.zeros(len(x), bool)
        for n, i in enumerate(self.exact):
            levels, scale = self.pred[n]
            est = self.bu[i] + np.float64(scale) * (x @ levels)
            lo, hi = np.float64(self.lower[i]), np.float64(self.upper[i])
            out = (est < lo) | (est > hi)
            tol = margin * np.maximum(1.0, np.abs(est))
            near = (np.abs(est - lo) < tol) | (np.abs(est - hi) < tol)
            z = x @ self.wu[:, i].astype(np.float64) + self.bu[i]
            delta = activation(self.kind, z) - (np.float64(self.slope[i]) * z + np.float64(self.intercept[i]))
            corr = delta[:, None] * self.wd[i][None, :].astype(np.float64)
            outs[0] += np.where(out[:, None], corr, 0.0)
            outs[1] += np.where((out ^ near)[:, None], corr, 0.0)
            ambiguous |= near
        return outs[0], outs[1], ambiguous

    def outlier_rates(self, x):
        """On rows x: the fraction of (row, exact neuron) pairs the predictor
        sends to the exact path, the fraction truly outside the range, the
        predictor's recall of those, and the fraction of (row, neuron) pairs
        of all neurons outside their ranges."""
        x = x.astype(np.float64)
        z = x @ self.wu.astype(np.float64) + self.bu
        outside = (z < self.lower) | (z > self.upper)
        if not self.exact:
            return 0.0, 0.0, 1.0, float(outside.mean())
        est = np.stack([self.bu[i] + np.float64(s) * (x @ lv) for i, (lv, s) in zip(self.exact, self.pred)], 1)
        lo, hi = self.lower[self.exact], self.upper[self.exact]
        predicted = (est < lo) | (est > hi)
        true = outside[:, self.exact]
        recall = float((predicted & true).sum() / max(true.sum(), 1))
        return float(predicted.mean()), float(true.mean()), recall, float(outside.mean())
