"""Dense, activations, softmax, losses, LRN and dropout in plain NumPy (see the package
docstring)."""
import numpy as np

__all__ = ["batchnorm_backward", "batchnorm_forward", "dense_backward", "dense_forward", "dropout_backward", "dropout_forward",
           "elu_backward", "elu_forward", "l1_loss",
           "leaky_relu_backward", "leaky_relu_forward", "lrn_backward", "lrn_forward",
           "mse_loss", "relu_backward", "relu_forward", "sigmoid_backward", "sigmoid_forward",
           "softmax_backward", "softmax_cross_entropy", "softmax_forward", "tanh_backward",
           "tanh_forward"]


def dense_forward(x, w, b=None):
    """Fully connected (affine) layer.

    x: (N, in); w: (out, in); b: (out,) or None -> out: (N, out)
        out[n, o] = b[o] + sum_i x[n, i] * w[o, i]        i.e.  out = x @ w.T + b
    """
    out = x @ w.T
    if b is not None:
        out = out + b
    return out.astype(x.dtype, copy=False)


def dense_backward(dout, x, w, has_bias=True):
    """Gradients of ``dense_forward``.

    dout: (N, out); x: (N, in); w: (out, in) -> dx: (N, in), dw: (out, in), db: (out,) or None

        dx[n, i] = sum_o dout[n, o] * w[o, i]      dx = dout @ w
        dw[o, i] = sum_n dout[n, o] * x[n, i]      dw = dout.T @ x
        db[o]    = sum_n dout[n, o]
    """
    dx = (dout @ w).astype(x.dtype, copy=False)
    dw = (dout.T @ x).astype(x.dtype, copy=False)
    db = dout.sum(axis=0).astype(x.dtype, copy=False) if has_bias else None
    return dx, dw, db


# --------------------------------------------------------------------------- activations
def relu_forward(x):
    """ReLU: out = max(x, 0), elementwise, any shape."""
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def relu_backward(dout, x):
    """d relu / dx = 1 where x > 0, else 0 (0 at x == 0, as PyTorch): dx = dout * (x > 0)."""
    return np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)


def leaky_relu_forward(x, negative_slope=0.01):
    """Leaky ReLU: out = x where x > 0, else negative_slope * x."""
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)


def leaky_relu_backward(dout, x, negative_slope=0.01):
    """dx = dout where x > 0, else negative_slope * dout."""
    return np.where(x > 0, dout, negative_slope * dout).astype(dout.dtype, copy=False)


def elu_forward(x, alpha=1.0):
    """out = x where x > 0, else alpha * (exp(x) - 1)   (ELU: smooth at 0, bounded by -alpha)."""
    negative = alpha * (np.exp(np.minimum(x, 0)) - 1)
    return np.where(x > 0, x, negative).astype(x.dtype, copy=False)


def elu_backward(dout, x, alpha=1.0):
    """d elu / dx = 1 where x > 0, else alpha * exp(x): dx = dout * that (from the input x)."""
    slope = np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))
    return (dout * slope).astype(dout.dtype, copy=False)


def sigmoid_forward(x):
    """Logistic sigmoid: out = 1 / (1 + exp(-x)).

    Written with z = exp(-|x|) <= 1 so that exp never overflows:
    out = 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0 (the same function).
    """
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def sigmoid_backward(dout, out):
    """With out = sigmoid(x): d out / dx = out * (1 - out), so dx = dout * out * (1 - out)."""
    return dout * out * (1 - out)


def tanh_forward(x):
    """Hyperbolic tangent, elementwise."""
    return np.tanh(x)


def tanh_backward(dout, out):
    """With out = tanh(x): d out / dx = 1 - out^2, so dx = dout * (1 - out^2)."""
    return dout * (1 - out * out)


def softmax_forward(x):
    """Row-wise softmax. x: (N, K) -> out: (N, K), each row sums to 1.

        out[n, k] = exp(x[n, k] - m_n) / sum_j exp(x[n, j] - m_n),   m_n = max_j x[n, j]

    Subtracting the row maximum changes nothing mathematically but keeps exp() <= 1.
    """
    shifted = x - x.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=1, keepdims=True)


def softmax_backward(dout, out):
    """Gradient of softmax. dout, out: (N, K) -> dx: (N, K).

    d out[n, k] / d x[n, j] = out[n, k] * (delta_kj - out[n, j]), hence
        dx[n, j] = out[n, j] * (dout[n, j] - sum_k dout[n, k] * out[n, k])
    """
    return out * (dout - (dout * out).sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------- losses
def softmax_cross_entropy(logits, labels, label_smoothing=0.0, weight=None, ignore_index=-100,
                          reduction="mean"):
    """Softmax followed by cross-entropy, fused for numerical stability (PyTorch's
    cross_entropy).

    logits: (N, K); labels: int (N,) -> (loss, dlogits: (N, K)); loss is a float, or the (N,)
    losses for reduction "none" (dlogits is then the gradient of their sum).

        log_softmax[n, k] = logits[n, k] - logsumexp_j logits[n, j]
        logsumexp_j z_j   = m + log sum_j exp(z_j - m),   m = max_j z_j

    With label smoothing ε the one-hot target becomes q = (1 − ε)·onehot + ε/K; with class
    weights w each target entry is weighted by its class, so row n costs
        loss[n] = −Σ_k w_k q[n, k] log_softmax[n, k]   (w_k = 1 without weights)
    i.e. (1 − ε)·w_y·(−log p_y) + (ε/K)·Σ_k w_k·(−log p_k); a row labelled ignore_index costs 0.
    Since d(−log p_k)/dz_j = p_j − [j = k]:
        dloss[n]/dz[n, j] = p[n, j]·Σ_k w_k q[n, k] − w_j q[n, j]
    "mean" divides by Σ_n w_{labels[n]} over the rows that count (N without weights and
    ignored rows), "sum" adds.

    Working with log-softmax keeps logits like [1000, 0] finite: loss 0 for label 0,
    1000 for label 1, where softmax-then-log would give log(0) = -inf.
    """
    n, k = logits.shape
    weight = np.ones(k) if weight is None else np.asarray(weight, dtype=np.float64)
    row_max = logits.max(axis=1, keepdims=True)
    log_sum_exp = row_max + np.log(np.exp(logits - row_max).sum(axis=1, keepdims=True))
    log_probs = logits - log_sum_exp
    counts = labels != ignore_index
    rows = np.arange(n)[counts]
    target = np.zeros(logits.shape)
    target[rows] = label_smoothing / k
    target[rows, labels[counts]] += 1 - label_smoothing
    weighted = target * weight
    losses = -(weighted * log_probs).sum(axis=1)
    dlogits = np.exp(log_probs) * weighted.sum(axis=1, keepdims=True) - weighted
    if reduction == "none":
        return losses.astype(logits.dtype), dlogits.astype(logits.dtype, copy=False)
    denominator = weight[labels[counts]].sum() if reduction == "mean" else 1.0
    scale = 1.0 / denominator if denominator else 0.0
    return float(losses.sum() * scale), (dlogits * scale).astype(logits.dtype, copy=False)


def mse_loss(pred, target):
    """Mean squared error over ALL elements (PyTorch MSELoss, reduction='mean').

    pred, target: same shape, S elements -> (loss: float, dpred: like pred)
        loss  = (1/S) sum (pred - target)^2
        dpred = 2 (pred - target) / S
    """
    diff = pred - target
    loss = np.mean(diff * diff)
    return float(loss), (2 * diff / diff.size).astype(pred.dtype, copy=False)


def l1_loss(pred, target):
    """Mean absolute error over all elements (PyTorch L1Loss, reduction='mean').

    pred, target: same shape, S elements -> (loss: float, dpred: like pred)
        loss  = (1/S) sum |pred - target|
        dpred = sign(pred - target) / S       (sign(0) = 0, as PyTorch)
    """
    diff = pred - target
    loss = np.mean(np.abs(diff))
    return float(loss), (np.sign(diff) / diff.size).astype(pred.dtype, copy=False)


# --------------------------------------------------------------------------- local response norm
def _lrn_window(c, size, channels):
    """Channels c' that normalise channel c: c - size//2 .. c + (size-1)//2, clipped to the input.

    This is PyTorch's window (it zero-pads size//2 channels before and (size-1)//2 after).
    Returned as a ``range``.
    """
    return range(max(c - size // 2, 0), min(c + (size - 1) // 2, channels - 1) + 1)


def _lrn_scale(x, size, alpha, k):
    """s[n, c, h, w] = k + alpha/size * sum_{c' in window(c)} x[n, c', h, w]^2."""
    channels = x.shape[1]
    squares = x * x
    scale = np.empty_like(x)
    for c in range(channels):
        window = _lrn_window(c, size, channels)
        scale[:, c] = k + alpha / size * squares[:, window.start:window.stop].sum(axis=1)
    return scale


def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Local response normalisation across channels (AlexNet's "NORM"), as PyTorch computes it.

    x: (N, C, H, W) -> out: (N, C, H, W)
        s[n, c, h, w]   = k + (alpha / size) * sum_{c' in window(c)} x[n, c', h, w]^2
        out[n, c, h, w] = x[n, c, h, w] * s[n, c, h, w]^(-beta)
    with window(c) = c - size//2 .. c + (size-1)//2, clipped to 0 .. C-1.
    Note that PyTorch divides alpha by size (an average of squares); AlexNet's paper does not.
    The defaults follow AlexNet (k=2); torch.nn.LocalResponseNorm's own default k is 1.
    """
    return x * _lrn_scale(x, size, alpha, k) ** (-beta)


def lrn_backward(dout, x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Gradient of ``lrn_forward``. dout, x: (N, C, H, W) -> dx: (N, C, H, W).

    out[c] = x[c] * s[c]^(-beta) depends on x[j] directly (j = c) and through s[c] for every
    j in window(c), with d s[c] / d x[j] = 2 (alpha/size) x[j]. So

        dx[j] = dout[j] * s[j]^(-beta)
                - 2 beta (alpha/size) x[j] * sum_{c : j in window(c)} dout[c] x[c] s[c]^(-beta-1)

    and j in window(c)  <=>  c in j - (size-1)//2 .. j + size//2 (the window mirrored).
    """
    channels = x.shape[1]
    scale = _lrn_scale(x, size, alpha, k)
    dx = dout * scale ** (-beta)
    through_scale = dout * x * scale ** (-beta - 1)  # the factor each c contributes
    for j in range(channels):
        first = max(j - (size - 1) // 2, 0)
        last = min(j + size // 2, channels - 1)
        dx[:, j] -= 2 * beta * alpha / size * x[:, j] * through_scale[:, first:last + 1].sum(axis=1)
    return dx


# --------------------------------------------------------------------------- dropout
def dropout_forward(x, p, rng):
    """Inverted dropout (training mode): drop each element with probability p, scale the rest.

    x: any shape; p in [0, 1]; rng: numpy.random.Generator -> (out, mask), both like x
        mask = [u >= p] / (1 - p),  u ~ Uniform[0, 1) drawn per element
        out  = x * mask
    Scaling by 1/(1-p) keeps E[out] = x, so nothing changes at test time (dropout is then the
    identity). p == 0 keeps everything (no random numbers drawn); p == 1 drops everything.
    """
    if p == 0:
        mask = np.ones_like(x)
    elif p == 1:
        mask = np.zeros_like(x)
    else:
        keep = rng.random(x.shape) >= p
        mask = (keep / (1 - p)).astype(x.dtype)
    return x * mask, mask


def dropout_backward(dout, mask):
    """out = x * mask, so dx = dout * mask."""
    return dout * mask


def _channel_axes(x):
    """The axes a channel's statistics run over: N, and H, W for images."""
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(values, x):
    """A (C,) array shaped to broadcast against x (N, C) or (N, C, H, W)."""
    return values.reshape((1, -1) + (1,) * (x.ndim - 2))


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
                      eps=1e-5):
    """Batch normalization of x (N, C) or (N, C, H, W), per channel c:

        training:  mean_c, var_c over the M = N·H·W values of channel c (var biased, /M);
                   running_mean ← (1 − momentum)·running_mean + momentum·mean_c,
                   running_var  ← (1 − momentum)·running_var + momentum·var_c·M/(M − 1)
        inference: mean_c, var_c = running_mean_c, running_var_c
        x̂ = (x − mean_c)/√(var_c + eps),  out = gamma_c·x̂ + beta_c

    Returns (out, new_running_mean, new_running_var, xhat, inv_std).
    """
    axes = _channel_axes(x)
    if training:
        count = x.size // x.shape[1]
        mean = x.astype(np.float64).mean(axis=axes)
        var = ((x - _per_channel(mean, x)) ** 2).mean(axis=axes)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * count / (count - 1)
    else:
        mean, var = running_mean.astype(np.float64), running_var.astype(np.float64)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - _per_channel(mean, x)) * _per_channel(inv_std, x)
    out = _per_channel(gamma, x) * xhat + _per_channel(beta, x)
    return out.astype(x.dtype), running_mean, running_var, xhat, inv_std


def batchnorm_backward(dout, xhat, gamma, inv_std):
    """Gradients of training-mode batch norm (mean and var depend on x too):

        dbeta_c  = Σ dout,   dgamma_c = Σ dout·x̂
        dx = gamma_c/(M·√(var_c + eps)) · (M·dout − dbeta_c − x̂·dgamma_c)

    (from dx̂ = gamma·dout and differentiating x̂ = (x − mean)/√(var + eps) through mean and
    var). Returns (dx, dgamma, dbeta)."""
    axes = _channel_axes(dout)
    count = dout.size // dout.shape[1]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    factor = _per_channel(gamma * inv_std / count, dout)
    dx = factor * (count * dout - _per_channel(dbeta, dout) - xhat * _per_channel(dgamma, dout))
    return (dx.astype(dout.dtype), dgamma.astype(dout.dtype), dbeta.astype(dout.dtype))
