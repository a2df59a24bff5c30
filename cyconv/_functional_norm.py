"""The checked entry points of batch normalization (part of :mod:`cyconv.functional`)."""
from typing import NamedTuple

import numpy as np

from . import _plans
from ._checks import check_float_array, check_same_shape, fmt
from ._kernels import _batchnorm

# The input each type normalizes, by the number of dimensions: (N, C, H, W) or (N, C).
_LAYOUTS = {"BatchNorm2D": (4, "(N, C, H, W)"), "BatchNorm1D": (2, "(N, C)")}


class BatchNormCache(NamedTuple):
    shape: tuple
    xhat: np.ndarray      # (N, C, P), the normalized input
    gamma: np.ndarray
    inv_std: np.ndarray   # (C,) float64, 1/√(var + eps) of the batch


def _as_channels(x, type_name, num_features, layer):
    """x as (N, C, P) after checking its layout and channel count."""
    ndim, layout = _LAYOUTS[type_name]
    if x.ndim != ndim:
        raise ValueError(f"{layer}: {type_name} normalizes {layout} input, got shape "
                         f"{fmt(x.shape)}")
    if x.shape[1] != num_features:
        raise ValueError(f"{layer}: x {fmt(x.shape)} has {x.shape[1]} channels but "
                         f"num_features = {num_features} (gamma, beta and the running "
                         f"statistics have one value per channel)")
    return x.reshape(x.shape[0], x.shape[1], -1)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, *, training=True,
                      momentum=0.1, eps=1e-5, type_name="BatchNorm2D", layer=None):
    """Batch normalization of x per channel: (out, cache); the cache is None in inference.

    Training: normalize with the batch's mean and biased variance, y = gamma·x̂ + beta, and
    update the running statistics in place as PyTorch does:
    running = (1 − momentum)·running + momentum·batch, with the unbiased variance
    (·M/(M − 1), M values per channel). Inference: normalize with the running statistics.
    """
    layer = layer or type_name
    gamma = check_float_array(gamma, "gamma", layer, ndim=1)
    beta = check_float_array(beta, "beta", layer, ndim=1, dtype=gamma.dtype)
    check_same_shape(gamma, beta, "gamma", "beta", layer)
    x = check_float_array(x, "x", layer, dtype=gamma.dtype)
    flat = _as_channels(x, type_name, gamma.shape[0], layer)
    N, C, P = flat.shape
    out = np.empty_like(flat)
    threads = _plans.num_threads(flat.size)
    if not training:
        inv_std = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
        scale = (gamma * inv_std).astype(x.dtype)
        shift = (beta - running_mean * gamma * inv_std).astype(x.dtype)
        _batchnorm.batchnorm_forward_eval(flat, scale, shift, out, threads)
        return out.reshape(x.shape), None
    if N * P < 2:
        raise ValueError(f"{layer}: training needs more than 1 value per channel to estimate "
                         f"a variance, got input {fmt(x.shape)} (M = N·H·W = {N * P}); use a "
                         f"batch of at least 2")
    xhat = np.empty_like(flat)
    mean, var, inv_std = (np.empty(C) for _ in range(3))
    _batchnorm.batchnorm_forward_train(flat, gamma, beta, float(eps), xhat, out, mean, var,
                                       inv_std, threads)
    count = N * P
    running_mean *= 1 - momentum
    running_mean += (momentum * mean).astype(running_mean.dtype)
    running_var *= 1 - momentum
    running_var += (momentum * var * count / (count - 1)).astype(running_var.dtype)
    return out.reshape(x.shape), BatchNormCache(x.shape, xhat, gamma, inv_std)


def batchnorm_backward(dout, cache, *, layer="BatchNorm"):
    """(dx, dgamma, dbeta) of a training forward pass."""
    dout = check_float_array(dout, "dout", layer, dtype=cache.xhat.dtype)
    if dout.shape != cache.shape:
        raise ValueError(f"{layer}: dout {fmt(dout.shape)} must match the forward output "
                         f"{fmt(cache.shape)}")
    flat = dout.reshape(cache.xhat.shape)
    C = flat.shape[1]
    dx = np.empty_like(flat)
    dgamma = np.empty(C, dtype=flat.dtype)
    dbeta = np.empty(C, dtype=flat.dtype)
    _batchnorm.batchnorm_backward(flat, cache.xhat, cache.gamma, cache.inv_std, dx, dgamma,
                                  dbeta, _plans.num_threads(flat.size))
    return dx.reshape(cache.shape), dgamma, dbeta
