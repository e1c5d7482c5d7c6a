"""The GSE number format in numpy (METHODS.md §2; docs/dialects/gse.md): the
reference the compiler's quantizer and integer kernels are tested against.

Values are grouped along the last axis in groups of `group` (the last one
may be partial). A group's exponent is e = floor(log2 max|x|) - (m - 2),
clipped to the exponent's range ([-2^(b-1), 2^(b-1) - 1], or [-127, 127]
for b = 8, OCP MX's E8M0 scale); mantissas are rint(x / 2^e) (ties to
even) clipped to +-(2^(m-1) - 1). All-zero groups take the smallest
exponent; NaN becomes 0 and infinities saturate."""
import numpy as np


def exponent_range(exponent):
    if exponent >= 8:
        return -127, 127
    return -(1 << (exponent - 1)), (1 << (exponent - 1)) - 1


def _grouped(x, group):
    """x [..., K] as [..., G, group], zero-padded."""
    k = x.shape[-1]
    groups = -(-k // group)
    pad = np.zeros(x.shape[:-1] + (groups * group - k,), x.dtype)
    return np.concatenate([x, pad], axis=-1).reshape(x.shape[:-1] + (groups, group))


def quantize(x, group=32, mantissa=8, exponent=5):
    """(mantissas int8 [..., K], exponents int8 [..., ceil(K/group)])."""
    x = np.asarray(x, np.float32)
    k = x.shape[-1]
    lo, hi = exponent_range(exponent)
    g = _grouped(x, group)
    top = np.max(np.where(np.isnan(g), np.float32(0), np.abs(g)), axis=-1)
    _, p = np.frexp(top)
    e = np.clip(p.astype(np.int64) - 1 - (mantissa - 2), lo, hi)
    e = np.where(top == 0, lo, np.where(np.isinf(top), hi, e))
    scaled = np.ldexp(g, (-e)[..., None].astype(np.int32))
    limit = (1 << (mantissa - 1)) - 1
    q = np.where(np.isnan(scaled), 0, np.clip(np.rint(scaled), -limit, limit))
    q = q.reshape(x.shape[:-1] + (-1,))[..., :k]
    return q.astype(np.int8), e.astype(np.int8)


def dequantize(mantissas, exponents, group=32):
    """q * 2^e as float32."""
    q = np.asarray(mantissas)
    k = q.shape[-1]
    e = np.repeat(np.asarray(exponents, np.int32), group, axis=-1)[..., :k]
    return np.ldexp(q.astype(np.float32), e)


def matmul(qa, ea, qb, eb, group=32):
    """y[..., m, n] = sum_g 2^(ea[m,g] + eb[n,g]) * sum_{k in g} qa[m,k] qb[n,k]:
    integer dot products per group pair (exact, int64 here; int32 suffices
    for K-groups of up to 2^16 8-bit products), scaled once per pair, in
    float64."""
    a = _grouped(np.asarray(qa, np.int64), group)  # [..., M, G, group]
    b = _grouped(np.asarray(qb, np.int64), group)  # [N, G, group]
    dots = np.einsum("...mgk,ngk->...mng", a, b)  # [..., M, N, G]
    scale = np.ldexp(1.0, (np.asarray(ea, np.int64)[..., :, None, :] + np.asarray(eb, np.int64)[None, :, :]))
    return (dots * scale).sum(-1)
